"""The record of dbt builds (audit.builds): which ingested state the marts were built from.

Only a build that finished names the state the marts hold; a build whose process was killed stays
'started' for ever, which is how the next run knows to build again (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

import duckdb

from pipelines.warehouse import ingested_state, utc_now


def start_build(con: duckdb.DuckDBPyConnection, run_id: str, engine: str) -> int:
    return con.execute(
        "insert into audit.builds (build_id, run_id, ingested_state, started_at, outcome, engine) "
        "values (nextval('audit.build_id_seq'), ?, ?, ?, 'started', ?) returning build_id",
        [run_id, ingested_state(con), utc_now(), engine_version(engine)],
    ).fetchall()[0][0]


def engine_version(engine: str) -> str:
    """The engine and the version of its library in this environment: 'duckdb 2.0.1', 'spark 4.1.4'."""
    return f"{engine} {version('pyspark' if engine == 'spark' else 'duckdb')}"


def finish_build(con: duckdb.DuckDBPyConnection, build_id: int, outcome: str) -> None:
    con.execute("update audit.builds set outcome = ?, finished_at = ? where build_id = ?", [outcome, utc_now(), build_id])


def drop_reshaped_incremental_tables(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any]) -> list[str]:
    """Drop the table of each incremental model whose columns are not the ones its YAML declares
    now (a new version added or renamed one), so that the build makes it whole again; the tables
    dropped, as schema.name.

    An incremental build only adds the rebuilt quarters (years) to the table it finds; with a
    changed column list it would stop (on_schema_change='fail'), and a home kept over an upgrade
    would need a full rebuild by hand. Every incremental model declares all its columns
    (tests/test_end_to_end.py), so a difference means the model changed."""
    dropped = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["config"].get("materialized") != "incremental":
            continue
        found = {name for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [node["schema"], node["name"]]).fetchall()}
        if found and found != set(node["columns"]):
            con.execute(f'drop table "{node["schema"]}"."{node["name"]}"')
            dropped.append(f"{node['schema']}.{node['name']}")
    return dropped


# Tables an earlier version's dbt build made that no model makes any more, with what replaced
# them. dbt never drops a table whose model was removed: left in place, it would look current to
# an analyst while it stays as the last old build left it.
RETIRED_TABLES = {
    # a dbt Python model until the complexity moved out of dbt (dbt-spark runs no Python models)
    "intermediate.int_regional_complexity": "computed.regional_complexity",
}


def drop_retired_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Drop the retired tables a home kept over an upgrade still has; those dropped, as schema.name."""
    dropped = []
    for table in RETIRED_TABLES:
        schema, name = table.split(".")
        found = con.execute("select table_name from information_schema.tables where table_schema = ? and table_name = ? "
                            "and table_type = 'BASE TABLE'", [schema, name]).fetchall()
        if found:
            con.execute(f'drop table "{schema}"."{name}"')
            dropped.append(table)
    return dropped
