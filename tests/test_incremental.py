"""A new quarter's reports rebuild only that quarter, and the result equals a full refresh."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.command_line.cli import main
from pipelines.transformation.dbt_command import run_dbt
from demo.generator import generate_demo
from pipelines.settings import Settings
from pipelines.transformation.builds import drop_reshaped_incremental_tables
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
    years_before = first_rowid_by_period(warehouse, YEARLY_TABLE, "year")
    assert all(latest not in rows for rows in before.values())

    for f in new_quarter_files:
        target = home / "inbox" / f["kind"] / f["file"]
        shutil.move(held / f["kind"] / f["file"], target)
        os.utime(target)  # arrives now, after everything ingested so far
    assert main(["run"]) == 0
    incremental = snapshot(warehouse)

    years_after = first_rowid_by_period(warehouse, YEARLY_TABLE, "year")
    rebuilt_years = {year for year, rowid in years_before.items() if years_after[year] != rowid}
    assert rebuilt_years == {int(latest[:4])}, f"{YEARLY_TABLE}: years {rebuilt_years} were rebuilt for {latest}"
    for table in QUARTERLY_MARTS:
        after = first_rowid_by_period(warehouse, f"marts.{table}")
        assert latest in after
        rewritten = {period for period, rowid in before[table].items() if after[period] != rowid}
        assert rewritten == set(), f"{table}: quarters {rewritten} were rebuilt for a new {latest}"

    dbt(warehouse, tmp_path, "build", "--full-refresh")
    full_refresh = snapshot(warehouse)
    assert incremental.keys() == full_refresh.keys()
    for table in incremental:
        assert incremental[table] == full_refresh[table], table

    dbt(warehouse, tmp_path, "docs", "generate")  # analysts' documentation site builds on real data
    assert (tmp_path / "dbt_target" / "catalog.json").exists()


def dbt(warehouse: Path, tmp_path: Path, *args: str) -> None:
    settings = dataclasses.replace(Settings.from_env(), home=warehouse.parent)
    run_dbt(settings, [*args, "--quiet", "--target-path", str(tmp_path / "dbt_target")], check=True)


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
