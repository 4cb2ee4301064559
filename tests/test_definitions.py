"""The Dagster definitions load, and the sensor and schedule request runs over the inbox's quarters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dagster as dg
import pytest

from pipelines.command_line.cli import check_label
from pipelines.defs.definitions import build_definitions
from pipelines.defs.jobs import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, partition_range_tags
from pipelines.defs.transformation import DBT_TESTS_CHECK, DataTest, SovereigntyTranslator, model_check_results
from pipelines.ingestion.planning import inbox_plan
from pipelines.settings import DEFAULT_FIRST_PARTITION, Settings, SettingsError
from pipelines.transformation.dbt_project import dbt_project
from tests.reports import csv_bytes, deliver, row


def test_definitions_load_with_every_ingestion_asset(home):
    defs = build_definitions(Settings.from_env())
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {f"raw/{kind}" for kind in ("producer", "trade", "regional", "characteristics", "benchmarks", "targets")} <= keys
    job = defs.resolve_job_def("sovereignty_run")
    assert job.partitions_def is not None
    keys = job.partitions_def.get_partition_keys()
    # from the first partition setting's default (not 2000-Q1: no years of empty quarters) to today's
    assert keys[0] == DEFAULT_FIRST_PARTITION and keys[-1] == "2026-Q4" and len(keys) == 12


def test_the_first_partition_is_a_setting(home, monkeypatch):
    monkeypatch.setenv("SOVEREIGNTY_FIRST_PARTITION", "Q3 2025")
    keys = build_definitions(Settings.from_env()).resolve_job_def("sovereignty_run").partitions_def.get_partition_keys()
    assert keys[0] == "2025-Q3"
    for bad in ("2025", "1999-Q4"):
        monkeypatch.setenv("SOVEREIGNTY_FIRST_PARTITION", bad)
        with pytest.raises(SettingsError, match="SOVEREIGNTY_FIRST_PARTITION"):
            Settings.from_env()


def test_quarters_before_the_first_partition_are_ingested_by_it(home):
    """A late report of a quarter before the first partition is run as the first partition,
    which ingests it; rows before 2000-Q1 are still quarantined (period.before_2000)."""
    rows = [row("trade", period=p) for p in ("2019-Q2", "1999-Q4")]
    deliver(home, "trade", "old.csv", csv_bytes(rows))
    plan = inbox_plan(Settings.from_env())
    assert partition_range_tags(plan) == {PARTITION_RANGE_START_TAG: DEFAULT_FIRST_PARTITION,
                                          PARTITION_RANGE_END_TAG: DEFAULT_FIRST_PARTITION}
    # the tags are the ones Dagster reads as a run's partition range
    assert dg.RunRequest(tags=partition_range_tags(plan)).partition_key_range == dg.PartitionKeyRange(
        DEFAULT_FIRST_PARTITION, DEFAULT_FIRST_PARTITION)
    defs = build_definitions(Settings.from_env())
    result = defs.resolve_job_def("sovereignty_run").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), tags=partition_range_tags(plan), asset_selection=[dg.AssetKey(["raw", "trade"])],
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("raw__trade")
    assert materialization.metadata["files_loaded"].value == 1
    assert materialization.metadata["rows_loaded"].value == 1
    assert materialization.metadata["rows_quarantined"].value == 1


def test_the_module_level_definitions_load():
    from pipelines.defs import definitions

    assert isinstance(definitions.defs, dg.Definitions)


def test_sensor_requests_one_run_covering_the_pending_quarters(home):
    defs = build_definitions(Settings.from_env())
    sensor = defs.resolve_sensor_def("inbox_arrivals")
    with dg.build_sensor_context() as context:
        assert isinstance(sensor(context), dg.SkipReason)
    deliver(home, "trade", "q1.csv", csv_bytes([row("trade", period="2025-Q1")]))
    deliver(home, "producer", "q3.csv", csv_bytes([row("producer", period="2025-Q3")]))
    with dg.build_sensor_context() as context:
        request = sensor(context)
    assert request.tags[PARTITION_RANGE_START_TAG] == "2025-Q1"
    assert request.tags[PARTITION_RANGE_END_TAG] == "2025-Q3"
    with dg.build_sensor_context() as context:
        assert sensor(context).run_key == request.run_key  # same files, same run key


def test_quarters_outside_the_partitions_do_not_stretch_the_run(home):
    """A row for a future quarter or before 2000 is quarantined by the ingestion; the run's range
    must still consist of existing partition keys."""
    rows = [row("trade", period=p) for p in ("2025-Q2", "2031-Q1", "1999-Q4", "not a quarter", "II кв. 2025")]
    deliver(home, "trade", "mixed.csv", csv_bytes(rows))
    plan = inbox_plan(Settings.from_env())
    assert plan.quarters == {"2025-Q2"}


def test_sensor_requests_a_run_to_finish_an_interrupted_build_and_only_once(warehouse):
    """No file waits, but the last build was killed: the sensor asks for a run over the current
    quarter (whose ingestion finds nothing), keyed by the unfinished state."""
    settings = Settings.from_env()
    sensor = build_definitions(settings).resolve_sensor_def("inbox_arrivals")
    deliver(warehouse.home, "producer", "q1.csv", csv_bytes([row("producer", period="2025-Q1")]))
    warehouse.ingest("producer")
    warehouse.con.execute(
        "insert into audit.builds values (1, 'killed-run', 1, now()::timestamp, null, 'started', 'duckdb')")
    warehouse.con.close()  # the sensor opens the file read-only, as the daemon would

    with dg.build_sensor_context() as context:
        request = sensor(context)

    assert isinstance(request, dg.RunRequest) and request.run_key == "finish-1-1"
    assert request.tags[PARTITION_RANGE_START_TAG] == request.tags[PARTITION_RANGE_END_TAG] == "2026-Q4"
    with dg.build_sensor_context() as context:
        assert sensor(context).run_key == request.run_key


def test_schedule_skips_an_empty_inbox(home):
    defs = build_definitions(Settings.from_env())
    schedule = defs.resolve_schedule_def("nightly_run")
    with dg.build_schedule_context() as context:
        assert isinstance(schedule(context), dg.SkipReason)


def test_a_partitioned_run_ingests_the_pending_files(home):
    deliver(home, "trade", "q1.csv", csv_bytes([row("trade", period="2025-Q1")]))
    defs = build_definitions(Settings.from_env())
    result = defs.resolve_job_def("sovereignty_run").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={PARTITION_RANGE_START_TAG: "2025-Q1", PARTITION_RANGE_END_TAG: "2025-Q1"},
        asset_selection=[dg.AssetKey(["raw", "trade"])],
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("raw__trade")
    assert materialization.metadata["rows_loaded"].value == 1


def dbt_tests_checks(defs: dg.Definitions) -> dict[dg.AssetKey, dg.AssetCheckSpec]:
    return {spec.asset_key: spec for checks in defs.assets for spec in getattr(checks, "check_specs", [])
            if spec.name == DBT_TESTS_CHECK}


def test_every_dbt_data_test_belongs_to_its_models_one_check(home):
    """One check per model holds its tests (singular tests that read several models name the one
    they guard: meta.dagster.ref), so a run reports some 50 results, not 500."""
    manifest = json.loads(Path(dbt_project().manifest_path).read_text())
    tests = {unique_id for unique_id, node in manifest["nodes"].items() if node["resource_type"] == "test"}
    checks = dbt_tests_checks(build_definitions(Settings.from_env()))
    covered = SovereigntyTranslator().data_tests(manifest, dbt_project())
    assert len(tests) > 200 and set(covered) == tests
    assert {test.asset_key for test in covered.values()} == set(checks)
    assert 40 < len(checks) < 80


def test_dbt_tests_have_readable_names(home):
    """dbt names a test with arguments after them (accepted_values_product_independence_quarter__1__2__3__4,
    values run together): each such test is named in its YAML instead, after what it checks; the
    model's check lists them by these names."""
    manifest = json.loads(Path(dbt_project().manifest_path).read_text())
    names = [node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    generated = re.compile(r"__|^(accepted_values|relationships|values_within_bounds|unique_combination|expression_is_true|not_null_columns)_")
    assert len(names) > 200 and [name for name in names if generated.search(name)] == []
    description = dbt_tests_checks(build_definitions(Settings.from_env()))[
        dg.AssetKey(["marts", "product_independence"])].description
    for name in ("product_independence_values_within_bounds",
                 "product_independence_required_columns_not_null", "product_independence_one_row_per_period_okpd2"):
        assert f"- `{name}`: " in description


def test_every_check_job_sensor_and_schedule_is_described(home):
    """The UI shows these descriptions; a model's dbt check says in words what each test checks."""
    defs = build_definitions(Settings.from_env())
    specs = [spec for checks in [*defs.assets, *defs.asset_checks] for spec in getattr(checks, "check_specs", [])]
    assert len(specs) > 50 and [spec.key for spec in specs if not spec.description] == []
    description = dbt_tests_checks(defs)[dg.AssetKey(["marts", "product_independence"])].description
    assert description.startswith("The ") and "dbt data tests of marts.product_independence" in description
    for sentence in ("`period`, `year`, `quarter`, `okpd2`, `project_code`, `producer_reports_complete`, "
                     "`trade_files_complete` and `last_load_id` are never NULL in marts.product_independence.",
                     "`quarter` in marts.product_independence takes only the values 1, 2, 3, 4.",
                     "In marts.product_independence, `output_value` is at least 0, `imports` is at least 0, ",
                     "Every `okpd2` of marts.product_independence exists as `okpd2` in products."):
        assert sentence in description
    assert any("reports_for_areas_before_they_exist`: " in spec.description and "does not withhold the release"
               in spec.description for spec in dbt_tests_checks(defs).values())
    for definition in (defs.resolve_job_def("sovereignty_run"), defs.resolve_job_def("sovereignty_publish"),
                       defs.resolve_sensor_def("inbox_arrivals"), defs.resolve_schedule_def("nightly_run")):
        assert definition.description, definition.name


def test_a_models_test_results_make_one_check_result_naming_the_failing_tests():
    """dbt's per-test outcomes become one result per model: an error-severity failure fails it, a
    warn-severity one only warns, and the failing tests are listed; unselected checks get none."""
    product, area = dg.AssetKey(["marts", "product_independence"]), dg.AssetKey(["marts", "area_independence"])
    tests = {
        "test.a": DataTest("a_not_null", product, "`a` is never NULL."),
        "test.b": DataTest("b_between_0_and_1", product, "`b` is between 0 and 1."),
        "test.c": DataTest("c_warns", area, "`c` warns."),
        "test.d": DataTest("d_passes", area, "`d` passes."),
    }

    def outcome(unique_id: str, status: str, failures: int = 0) -> dict:
        return {"node_info": {"unique_id": unique_id, "node_status": status}, "num_failures": failures}

    outcomes = [outcome("test.a", "pass"), outcome("test.b", "fail", 3), outcome("test.c", "warn", 1),
                outcome("test.d", "pass"), outcome("test.elsewhere", "fail", 9)]
    selected = {dg.AssetCheckKey(product, DBT_TESTS_CHECK), dg.AssetCheckKey(area, DBT_TESTS_CHECK)}
    results = {r.asset_key: r for r in model_check_results(outcomes, tests, selected)}

    assert not results[product].passed and results[product].severity == dg.AssetCheckSeverity.ERROR
    assert results[product].metadata["tests_run"].value == 2 and results[product].metadata["tests_failed"].value == 1
    assert results[product].metadata["failing_tests"].value == [
        {"test": "b_between_0_and_1", "checks": "`b` is between 0 and 1.", "status": "fail", "failing_rows": 3}]
    assert not results[area].passed and results[area].severity == dg.AssetCheckSeverity.WARN
    only_area = list(model_check_results(outcomes, tests, {dg.AssetCheckKey(area, DBT_TESTS_CHECK)}))
    assert [r.asset_key for r in only_area] == [area]
    passing = list(model_check_results([outcome("test.a", "pass"), outcome("test.b", "pass")], tests, selected))
    assert [(r.passed, r.metadata["failing_tests"].value) for r in passing] == [(True, [])]


def test_the_run_summary_names_a_failing_dbt_check_by_its_model_and_tests():
    failing = dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(["marts", "product_independence"]), check_name=DBT_TESTS_CHECK, passed=False,
        metadata={"failing_tests": dg.MetadataValue.json([{"test": "a_not_null"}, {"test": "b_between_0_and_1"}])})
    assert check_label(failing) == "dbt tests of product_independence (a_not_null, b_between_0_and_1)"
    gx = dg.AssetCheckEvaluation(asset_key=dg.AssetKey(["marts", "product_independence"]),
                                 check_name="gx_product_independence", passed=False)
    assert check_label(gx) == "gx_product_independence"


def test_the_dbt_resource_skips_only_what_the_dbt_step_does_not_use(home):
    """DbtCoreCli (pipelines/defs/transformation.py) replaces two private methods of dagster-dbt's
    DbtCliResource: they must still exist under these names (else the replacements are silently
    unused after an upgrade), the version it states must be that of the dbt-core the dbt
    executable runs (this environment's: `dbt --version` itself would ask PyPI for the latest), and
    no adapter is opened in the step's process."""
    import functools
    import sys

    import dbt.version
    from dagster_dbt import DbtCliResource

    from pipelines.defs.transformation import DbtCoreCli
    from pipelines.transformation.dbt_command import DBT_EXECUTABLE, write_profile

    assert callable(DbtCliResource._initialize_dbt_core_adapter)
    assert isinstance(vars(DbtCliResource)["_cli_version"], functools.cached_property)
    assert Path(DBT_EXECUTABLE) == Path(sys.executable).with_name("dbt")
    profiles = str(write_profile(Settings.from_env()))
    resource = DbtCoreCli(project_dir=dbt_project(), profiles_dir=profiles, dbt_executable=DBT_EXECUTABLE)  # type: ignore[arg-type]
    assert str(resource._cli_version) == dbt.version.__version__
    assert resource._initialize_dbt_core_adapter(["build"]) is None
