"""The Dagster definitions load, and the sensor and schedule request runs over the inbox's quarters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dagster as dg
import pytest

from pipelines.transformation.dbt_project import dbt_project
from pipelines.defs.definitions import build_definitions
from pipelines.defs.jobs import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, partition_range_tags
from pipelines.ingestion.planning import inbox_plan
from pipelines.settings import DEFAULT_FIRST_PARTITION, Settings, SettingsError
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
        "insert into audit.builds values (1, 'killed-run', 1, now()::timestamp, null, 'started')")
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


def test_every_dbt_data_test_is_an_asset_check(home):
    """Singular tests that read several models name the one they guard (meta.dagster.ref)."""
    manifest = json.loads(Path(dbt_project().manifest_path).read_text())
    tests = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"}
    checks = {key.name for key in build_definitions(Settings.from_env()).resolve_asset_graph().asset_check_keys}
    assert len(tests) > 400
    assert tests <= checks


def test_dbt_checks_have_readable_names(home):
    """dbt names a test with arguments after them (between_product_independence_import_hhi__1__0,
    bounds reversed): each such test is named in its YAML instead, after what it checks."""
    defs = build_definitions(Settings.from_env())
    names = [spec.key.name for checks in defs.assets for spec in getattr(checks, "check_specs", [])]
    generated = re.compile(r"__|^(accepted_values|relationships|between|unique_combination|expression_is_true)_")
    assert len(names) > 400 and [name for name in names if generated.search(name)] == []
    assert {"product_independence_import_hhi_between_0_and_1", "area_independence_one_row_per_period_project_code",
            "product_independence_output_value_at_least_0", "not_null_product_independence_okpd2"} <= set(names)


def test_every_check_job_sensor_and_schedule_is_described(home):
    """The UI shows these descriptions; a dbt test's says in words what its generated name encodes."""
    defs = build_definitions(Settings.from_env())
    specs = {spec.key.name: spec for checks in [*defs.assets, *defs.asset_checks] for spec in getattr(checks, "check_specs", [])}
    assert len(specs) > 400 and [name for name, spec in specs.items() if not spec.description] == []
    assert specs["not_null_product_independence_okpd2"].description == "`okpd2` is never NULL in marts.product_independence."
    assert specs["product_independence_quarter_in_1_2_3_4"].description == (
        "`quarter` in marts.product_independence takes only the values 1, 2, 3, 4.")
    assert specs["product_independence_okpd2_exists_in_products"].description == (
        "Every `okpd2` of marts.product_independence exists as `okpd2` in products.")
    assert "does not withhold the release" in specs["reports_for_areas_before_they_exist"].description
    for definition in (defs.resolve_job_def("sovereignty_run"), defs.resolve_job_def("sovereignty_publish"),
                       defs.resolve_sensor_def("inbox_arrivals"), defs.resolve_schedule_def("nightly_run")):
        assert definition.description, definition.name
