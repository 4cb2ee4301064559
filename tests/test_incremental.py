"""A new quarter's reports rebuild only that quarter, and the result equals a full refresh."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.command_line.cli import main
from pipelines.transformation.dbt_command import run_dbt
from demo.generator import generate_demo
from pipelines.settings import Settings
from pipelines.transformation.builds import (
    drop_reshaped_incremental_tables,
    forget_tested_rows,
    incremental_models,
    record_tested_rows,
)
from pipelines.transformation.dbt_project import dbt_project
from pipelines.warehouse import create_schemas
from tests.conftest import TODAY

QUARTERLY_MARTS = ("product_independence", "area_independence", "regional_development")
YEARLY_TABLE = "intermediate.int_cell_producer_totals_yearly"  # incremental by year


def mart_tables(con) -> list[str]:
    return [t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
    ).fetchall()]


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in mart_tables(con)}


def first_rowid_by_period(warehouse: Path, table: str, grain: str = "period") -> dict:
    """Where each quarter's (year's) rows sit in the table: rows a build rewrites get new row ids."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(con.execute(f"select {grain}, min(rowid) from {table} group by {grain}").fetchall())


@pytest.mark.slow
def test_incremental_run_equals_full_refresh(tmp_path, monkeypatch):
    home, held = tmp_path / "home", tmp_path / "held"
    monkeypatch.setenv("SOVEREIGNTY_HOME", str(home))
    monkeypatch.setenv("SOVEREIGNTY_TODAY", TODAY.isoformat())
    manifest = generate_demo(home, scale="small", seed=7, today=TODAY)
    latest = manifest["quarters"][-1]
    new_quarter_files = [f for f in manifest["files"] if f.get("quarters") == [latest]]
    assert new_quarter_files
    for f in new_quarter_files:  # the latest quarter arrives later
        (held / f["kind"]).mkdir(parents=True, exist_ok=True)
        shutil.move(home / "inbox" / f["kind"] / f["file"], held / f["kind"] / f["file"])

    assert main(["run"]) == 0
    warehouse = home / "warehouse.duckdb"
    before = {t: first_rowid_by_period(warehouse, f"marts.{t}") for t in QUARTERLY_MARTS}
    assert recorded_as_tested(warehouse) == newest_stamps(warehouse)  # every incremental table passed its tests
    years_before = first_rowid_by_period(warehouse, YEARLY_TABLE, "year")
    assert all(latest not in rows for rows in before.values())

    for f in new_quarter_files:
        target = home / "inbox" / f["kind"] / f["file"]
        shutil.move(held / f["kind"] / f["file"], target)
        os.utime(target)  # arrives now, after everything ingested so far
    assert main(["run"]) == 0
    incremental = snapshot(warehouse)
    assert recorded_as_tested(warehouse) == newest_stamps(warehouse)

    # the next build's test reads only the rows above the record: it fails on two such rows with
    # one key, and does not read the rows that passed before (a duplicate among them goes unseen,
    # which `dbt test` by hand, reading whole tables, finds)
    table = "intermediate.int_producer_quarter_outputs"
    passed = recorded_as_tested(warehouse)[table]
    uniqueness = "int_producer_quarter_outputs_one_row_per_period_inn_okpd2_region_code"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"insert into {table} select * from {table} limit 1")
    assert dbt_outcome(warehouse, tmp_path, "build", "--select", uniqueness) == 0
    assert dbt_outcome(warehouse, tmp_path, "test", "--select", uniqueness) != 0
    with duckdb.connect(str(warehouse)) as con:
        for _ in range(2):
            con.execute(f"insert into {table} select * replace ({passed + 1} as last_load_id) from {table} limit 1")
    assert dbt_outcome(warehouse, tmp_path, "build", "--select", uniqueness) != 0
    # one test holds the model's required columns, and fails on a NULL in any of them
    required = "int_producer_quarter_outputs_required_columns_not_null"
    assert dbt_outcome(warehouse, tmp_path, "build", "--select", required) == 0
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"insert into {table} select * replace ({passed + 1} as last_load_id, null as period) from {table} limit 1")
    assert dbt_outcome(warehouse, tmp_path, "build", "--select", required) != 0

    dbt(warehouse, tmp_path, "build", "--full-refresh")  # tests whole tables (and rebuilds the duplicates away)
    full_refresh = snapshot(warehouse)
    assert incremental.keys() == full_refresh.keys()
    for table in incremental:
        assert incremental[table] == full_refresh[table], table

    dbt(warehouse, tmp_path, "docs", "generate")  # analysts' documentation site builds on real data
    assert (tmp_path / "dbt_target" / "catalog.json").exists()


def dbt(warehouse: Path, tmp_path: Path, *args: str) -> None:
    assert dbt_outcome(warehouse, tmp_path, *args) == 0


def dbt_outcome(warehouse: Path, tmp_path: Path, *args: str) -> int:
    settings = dataclasses.replace(Settings.from_env(), home=warehouse.parent)
    return run_dbt(settings, [*args, "--quiet", "--target-path", str(tmp_path / "dbt_target")]).returncode


def newest_stamps(warehouse: Path) -> dict[str, int]:
    """The newest last_load_id of each incremental model's table, by schema.name."""
    manifest = json.loads(Path(dbt_project().manifest_path).read_text())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {f"{node['schema']}.{node['alias']}": con.execute(
                    f"select max(last_load_id) from {node['schema']}.{node['alias']}").fetchall()[0][0]
                for node in incremental_models(manifest)}


def recorded_as_tested(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(con.execute("select table_name, through_load_id from audit.tested_rows").fetchall())


def test_a_table_is_recorded_as_tested_only_when_its_tests_ran_and_forgotten_when_made_anew():
    """audit.tested_rows after a build (builds.record_tested_rows): the newest stamp of each
    incremental table whose tests ran; a table the run did not test keeps its record, an empty
    or unbuilt one has none; a table dropped (or every table, after a Spark build) is forgotten."""
    con = duckdb.connect()
    create_schemas(con)
    con.execute("create schema intermediate")
    con.execute("create table intermediate.quarters as select * from (values ('2025-Q1', 3), ('2025-Q2', 7)) t(period, last_load_id)")
    con.execute("create table intermediate.years as select * from (values (2025, 7)) t(year, last_load_id)")
    con.execute("create table intermediate.empty (period varchar, last_load_id bigint)")

    def model(name: str, materialized: str = "incremental") -> dict:
        return {"resource_type": "model", "config": {"materialized": materialized}, "schema": "intermediate",
                "name": name, "alias": name}

    manifest = {"nodes": {f"model.x.{name}": model(name) for name in ("quarters", "years", "empty")}}
    manifest["nodes"]["model.x.a_table"] = model("a_table", "table")

    def recorded() -> dict[str, int]:
        return dict(con.execute("select * from audit.tested_rows").fetchall())

    assert record_tested_rows(con, manifest, {"quarters", "years", "empty", "a_table"}) == recorded() == {
        "intermediate.quarters": 7, "intermediate.years": 7}
    con.execute("insert into intermediate.quarters values ('2025-Q3', 9)")
    con.execute("insert into intermediate.years values (2026, 9)")
    assert record_tested_rows(con, manifest, {"quarters"}) == {"intermediate.quarters": 9}
    assert recorded() == {"intermediate.quarters": 9, "intermediate.years": 7}  # years' tests did not run
    forget_tested_rows(con, ["intermediate.years"])
    assert recorded() == {"intermediate.quarters": 9}
    forget_tested_rows(con)
    assert recorded() == {}


def test_an_incremental_table_whose_columns_changed_is_dropped_to_be_built_whole(tmp_path):
    """A home kept over an upgrade that added a column to an incremental model: that model's
    table is dropped before the build (which then makes it whole); unchanged ones stay."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema intermediate")
    con.execute("create table intermediate.changed (year integer, output_value double)")
    con.execute("create table intermediate.unchanged (period varchar, last_load_id bigint)")
    manifest = {"nodes": {
        "model.x.changed": {"resource_type": "model", "config": {"materialized": "incremental"}, "schema": "intermediate",
                            "name": "changed", "columns": {"year": {}, "output_value": {}, "last_load_id": {}}},
        "model.x.unchanged": {"resource_type": "model", "config": {"materialized": "incremental"}, "schema": "intermediate",
                              "name": "unchanged", "columns": {"period": {}, "last_load_id": {}}},
        "model.x.not_built_yet": {"resource_type": "model", "config": {"materialized": "incremental"},
                                  "schema": "intermediate", "name": "not_built_yet", "columns": {"period": {}}},
        "model.x.a_table": {"resource_type": "model", "config": {"materialized": "table"}, "schema": "intermediate",
                            "name": "unchanged", "columns": {}},
    }}
    assert drop_reshaped_incremental_tables(con, manifest) == ["intermediate.changed"]
    tables = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert tables == {"unchanged"}
