"""The computed layer: the regional complexity computed in Python outside dbt, between two parts of
the dbt build, written as computed/regional_complexity.parquet and read by DuckDB as a view.

The fast tests check the engine-neutral computation (any reader), DuckDB's two pieces, the split
of a run's selection into the build's parts, and the upgrade of an old home; the slow one runs the
real pipeline with a failing complexity step (the build is recorded failed, nothing is published)
and then a run that finishes it.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.command_line.cli import main
from pipelines.defs.transformation import (
    COMPUTED_DOWNSTREAM,
    DBT_TESTS_CHECK,
    SovereigntyTranslator,
    build_plan,
    computed_asset_specs,
)
from pipelines.publication.release import read_latest
from pipelines.settings import Settings
from pipelines.transformation.builds import RETIRED_TABLES, drop_retired_tables
from pipelines.transformation.complexity import economic_complexity
from pipelines.transformation.computed import REGIONAL_COMPLEXITY, compute_table
from pipelines.transformation.computed_duckdb import duckdb_reader, show_computed_file
from pipelines.transformation.dbt_project import dbt_project
from pipelines.warehouse import duckdb_config
from tests.runs import copy_home, marts_without_timestamps, release_extracts

OUTPUTS = pl.DataFrame(
    {
        "year": [2025, 2025, 2025, 2025, 2025, 2026, 2026, 2026],
        "region_code": ["77", "77", "50", "50", "16", "77", "50", "77"],
        "okpd2": ["30.30.32", "26.51.20", "30.30.32", "27.20.11", "26.51.20", "30.30.32", "30.30.32", "26.51.20"],
        "output_value": [Decimal(v) for v in ("1000.5", "400", "600.25", "10", "0", "7", "3", "2")],
    },
    schema={"year": pl.Int32, "region_code": pl.String, "okpd2": pl.String, "output_value": pl.Decimal(18, 3)},
)


def reader_of(frame: pl.DataFrame, calls: list | None = None):
    """An engine's reader, as a plain function over a Polars frame: the computation needs no engine."""

    def read(table: str, columns):
        if calls is not None:
            calls.append((table, tuple(columns)))
        return frame.select(columns)

    return read


def expected(frame: pl.DataFrame) -> pl.DataFrame:
    """What the dbt Python model int_regional_complexity returned for the same rows."""
    return economic_complexity(frame, location="region_code", product="okpd2", value="output_value", period="year")


def test_the_complexity_is_computed_from_any_reader_into_its_file(tmp_path):
    calls: list = []
    computed = compute_table(REGIONAL_COMPLEXITY, reader_of(OUTPUTS.reverse(), calls), tmp_path)

    assert calls == [("intermediate.int_region_product_yearly_output", ("year", "region_code", "okpd2", "output_value"))]
    path = tmp_path / "computed" / "regional_complexity.parquet"
    assert REGIONAL_COMPLEXITY.file == Path("computed/regional_complexity.parquet") and path.is_file()
    written = pl.read_parquet(path)
    key = ["year", "region_code", "okpd2"]
    assert computed.rows == written.height == OUTPUTS.height
    # the rows the Python model gave, whatever order the engine returns them in, sorted by the key
    assert written.equals(expected(OUTPUTS).sort(key))
    assert written.schema["output_value"] == pl.Decimal(18, 3)  # exact, as read
    assert [p.name for p in path.parent.iterdir()] == ["regional_complexity.parquet"]  # no temporary file left


def test_a_failing_computation_leaves_the_previous_file_and_no_temporary_one(tmp_path):
    compute_table(REGIONAL_COMPLEXITY, reader_of(OUTPUTS), tmp_path)
    path = tmp_path / REGIONAL_COMPLEXITY.file
    before = path.read_bytes()
    (path.parent / ".regional_complexity.parquet.4242").write_bytes(b"half a file from a killed write")
    duplicated = pl.concat([OUTPUTS, OUTPUTS.head(1)])
    with pytest.raises(ValueError, match="duplicate rows"):
        compute_table(REGIONAL_COMPLEXITY, reader_of(duplicated), tmp_path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["regional_complexity.parquet"]  # the killed write's leftover too


def test_duckdb_reads_the_input_exactly_and_the_file_through_a_view_named_relative_to_the_home(tmp_path):
    settings = dataclasses.replace(Settings.from_env(), home=tmp_path)
    with duckdb.connect(str(tmp_path / "w.duckdb"), config=duckdb_config(settings)) as con:
        con.execute("create schema intermediate")
        con.execute("create table intermediate.int_region_product_yearly_output (region_code varchar, okpd2 varchar, "
                    "project_code varchar, year integer, quarters_reported integer, output_value decimal(18, 3))")
        con.register("outputs", OUTPUTS.to_arrow())
        con.execute("insert into intermediate.int_region_product_yearly_output "
                    "select region_code, okpd2, 'X', year, 4, output_value from outputs")
        read = duckdb_reader(con)("intermediate.int_region_product_yearly_output", ["year", "output_value"])
        assert read.schema == pl.Schema({"year": pl.Int32, "output_value": pl.Decimal(18, 3)})

        compute_table(REGIONAL_COMPLEXITY, duckdb_reader(con), tmp_path)
        show_computed_file(con, REGIONAL_COMPLEXITY)
        ((sql,),) = con.execute("select sql from duckdb_views() where schema_name = 'computed'").fetchall()
        assert "'computed/regional_complexity.parquet'" in sql and str(tmp_path) not in sql  # the home may move
        view = con.sql("select * from computed.regional_complexity order by year, region_code, okpd2").pl()
    assert view.equals(expected(OUTPUTS).sort("year", "region_code", "okpd2"))


def test_an_old_homes_python_model_table_is_dropped(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema intermediate")
    con.execute("create table intermediate.int_regional_complexity (year integer)")
    con.execute("create table intermediate.int_region_product_yearly_output (year integer)")
    assert list(RETIRED_TABLES) == ["intermediate.int_regional_complexity"]
    assert drop_retired_tables(con) == ["intermediate.int_regional_complexity"]
    assert drop_retired_tables(con) == []
    assert [t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()] == ["int_region_product_yearly_output"]


# The split of a run's selection into the dbt build's parts, on the real manifest.
MART = dg.AssetKey(["marts", "regional_complexity"])
INPUT = dg.AssetKey(["intermediate", "int_region_product_yearly_output"])


@pytest.fixture(scope="module")
def project():
    project = dbt_project()
    manifest = json.loads(Path(project.manifest_path).read_text())
    translator = SovereigntyTranslator()
    assets = {translator.get_asset_key(node) for node in manifest["nodes"].values()
              if node["resource_type"] in ("model", "seed", "snapshot")}
    checks = {dg.AssetCheckKey(test.asset_key, DBT_TESTS_CHECK) for test in translator.data_tests(manifest, project).values()}
    return manifest, translator, project, assets, checks


def plan(project, assets, checks):
    manifest, translator, dbt, *_ = project
    return build_plan(manifest, translator, dbt, assets, checks)


def test_a_whole_run_builds_around_the_complexity(project):
    manifest, _, _, assets, checks = project
    whole = plan(project, assets, checks)
    assert whole.first_phase and whole.computed == (REGIONAL_COMPLEXITY,)
    tests = sorted(".".join(node["fqn"]) for node in manifest["nodes"].values()
                   if node["resource_type"] == "test" and "model.sovereignty.regional_complexity" in node["depends_on"]["nodes"])
    assert len(tests) == 5
    assert whole.second_phase == ("sovereignty.marts.regional_complexity", *tests)
    # no model left in dbt reads the complexity except through the computed source
    assert "model.sovereignty.int_regional_complexity" not in manifest["nodes"]
    assert manifest["parent_map"]["model.sovereignty.regional_complexity"] == [
        "model.sovereignty.int_region_product_yearly_output", "source.sovereignty.computed.regional_complexity"]
    assert COMPUTED_DOWNSTREAM == "source:computed+"


def test_a_subset_builds_only_the_parts_it_selects(project):
    *_, assets, checks = project
    without_mart = plan(project, assets - {MART}, {c for c in checks if c.asset_key != MART})
    assert without_mart.first_phase and without_mart.computed == () and without_mart.second_phase == ()

    only_mart = plan(project, {MART}, {dg.AssetCheckKey(MART, DBT_TESTS_CHECK)})
    assert not only_mart.first_phase and only_mart.computed == (REGIONAL_COMPLEXITY,)
    assert len(only_mart.second_phase) == 6

    mart_without_its_check = plan(project, {MART, INPUT}, {dg.AssetCheckKey(INPUT, DBT_TESTS_CHECK)})
    assert mart_without_its_check.first_phase and mart_without_its_check.second_phase == ("sovereignty.marts.regional_complexity",)

    only_the_check = plan(project, set(), {dg.AssetCheckKey(MART, DBT_TESTS_CHECK)})
    assert not only_the_check.first_phase and only_the_check.computed == () and len(only_the_check.second_phase) == 5


def test_the_computed_table_sits_between_its_input_and_the_mart_in_the_asset_graph(home):
    from pipelines.defs.definitions import build_definitions

    (spec,) = computed_asset_specs()
    assert spec.key == dg.AssetKey(["computed", "regional_complexity"]) and {dep.asset_key for dep in spec.deps} == {INPUT}
    graph = build_definitions(Settings.from_env()).resolve_asset_graph()
    assert spec.key in graph.get(MART).parent_keys and graph.get(spec.key).parent_keys == {INPUT}
    assert not graph.get(spec.key).is_executable  # only the dbt step computes it, inside its build
    assert spec.description and "computed/regional_complexity.parquet" in spec.description


@pytest.mark.slow
def test_a_failing_complexity_step_fails_the_build_and_the_next_run_finishes_it(uninterrupted, tmp_path, monkeypatch):
    """A home from before the computed layer (the Python model's table, no computed file) whose last
    build did not finish: a run whose complexity step fails records the build failed, leaves the
    mart and the release as they were; the next run builds, computes and publishes the same."""
    home = copy_home(uninterrupted, tmp_path)
    monkeypatch.setenv("SOVEREIGNTY_HOME", str(home))
    monkeypatch.setenv("SOVEREIGNTY_TODAY", "2026-11-28")
    marts, extracts, release = marts_without_timestamps(home), release_extracts(home), read_latest(home / "published")
    with duckdb.connect(str(home / "warehouse.duckdb"), config={"file_search_path": str(home)}) as con:
        con.execute("create table intermediate.int_regional_complexity as select * from computed.regional_complexity")
        con.execute("drop schema computed cascade")
        con.execute("insert into audit.builds select nextval('audit.build_id_seq'), 'killed', max(ingested_state), now()::timestamp, "
                    "null, 'started', 'duckdb' from audit.builds")
    (home / "computed" / "regional_complexity.parquet").unlink()

    def broken(*_args, **_kwargs):
        raise RuntimeError("the complexity step broke")

    monkeypatch.setattr("pipelines.defs.transformation.compute_table", broken)
    assert main(["run"]) != 0
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select outcome from audit.builds order by build_id desc limit 1").fetchone() == ("failed",)
        assert con.execute("select count(*) from duckdb_views() where schema_name = 'computed'").fetchone() == (0,)
        # phase 1 ran (and dropped the old model's table), phase 2 did not: the mart is the last build's
        assert con.execute("select count(*) from duckdb_tables() where table_name = 'int_regional_complexity'").fetchone() == (0,)
    assert not (home / "computed" / "regional_complexity.parquet").exists()
    assert marts_without_timestamps(home)["regional_complexity"] == marts["regional_complexity"]
    assert read_latest(home / "published") == release and release_extracts(home) == extracts

    monkeypatch.undo()
    monkeypatch.setenv("SOVEREIGNTY_HOME", str(home))
    monkeypatch.setenv("SOVEREIGNTY_TODAY", "2026-11-28")
    assert main(["run"]) == 0
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True, config={"file_search_path": str(home)}) as con:
        assert con.execute("select outcome from audit.builds order by build_id desc limit 1").fetchone() == ("succeeded",)
        assert con.execute("select count(*) from computed.regional_complexity").fetchone()[0] == len(marts["regional_complexity"])
    assert marts_without_timestamps(home) == marts
    assert release_extracts(home) == extracts
