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


def record_tested_rows(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any], tested: set[str]) -> dict[str, int]:
    """After a DuckDB build that succeeded: each incremental table whose data tests it ran (tested:
    model names) has passed them up to its newest stamp (audit.tested_rows, which the dbt macro
    get_where_subquery reads, so that the next build tests only the rows above it); the newest
    stamps recorded, by schema.name.

    A build rewrites a quarter (year) exactly when an input holds a newer load for it, and load ids
    grow with arrival, so the rows a later build writes are stamped above every row a table holds
    now, and the rows it keeps are the ones tested here. A table's record moves only when its
    tests ran and passed: after a build that failed, its tables are tested from where they were
    last passed (the failing rows included), and a run that built other models leaves it as it is."""
    recorded = {}
    for node in incremental_models(manifest):
        if node["name"] not in tested:
            continue
        table = f"{node['schema']}.{node['alias']}"
        (newest,) = con.execute(f'select max(last_load_id) from "{node["schema"]}"."{node["alias"]}"').fetchall()[0]
        con.execute("delete from audit.tested_rows where table_name = ?", [table])
        if newest is not None:
            con.execute("insert into audit.tested_rows values (?, ?)", [table, newest])
            recorded[table] = newest
    return recorded


def forget_tested_rows(con: duckdb.DuckDBPyConnection, tables: list[str] | None = None) -> None:
    """Test these tables (schema.name; None: every table) whole in the next build: a table dropped
    to be made anew, or any after a Spark build (whose views may have replaced DuckDB's tables, which
    dbt then makes anew), holds rows stamped below its record that no test has read."""
    if tables is None:
        con.execute("delete from audit.tested_rows")
    else:
        for table in tables:
            con.execute("delete from audit.tested_rows where table_name = ?", [table])


def incremental_models(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [node for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"]


def drop_reshaped_incremental_tables(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any]) -> list[str]:
    """Drop the table of each incremental model whose columns are not the ones its YAML declares
    now (a new version added or renamed one), so that the build makes it whole again; the tables
    dropped, as schema.name.

    An incremental build only adds the rebuilt quarters (years) to the table it finds; with a
    changed column list it would stop (on_schema_change='fail'), and a home kept over an upgrade
    would need a full rebuild by hand. Every incremental model declares all its columns
    (tests/test_end_to_end.py), so a difference means the model changed."""
    dropped = []
    for node in incremental_models(manifest):
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
