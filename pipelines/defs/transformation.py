"""Every dbt model, seed and snapshot as a Dagster asset; each model's dbt tests as one asset check;
the computed layer's tables, which the same step computes between two parts of the dbt build."""

import contextlib
import functools
import importlib.metadata
import re
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_EXCLUDE_METADATA_KEY,
    DAGSTER_DBT_SELECT_METADATA_KEY,
    DAGSTER_DBT_SELECTOR_METADATA_KEY,
    get_asset_check_key_for_test,
    get_subset_selection_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dagster_dbt.dbt_manifest import validate_manifest
from packaging import version

from pipelines.defs.executor import ONE_AT_A_TIME
from pipelines.defs.jobs import DBT_LOG_TAG
from pipelines.settings import Settings
from pipelines.transformation import spark
from pipelines.transformation.builds import (
    drop_reshaped_incremental_tables,
    drop_retired_tables,
    finish_build,
    forget_tested_rows,
    record_tested_rows,
    start_build,
)
from pipelines.transformation.computed import COMPUTED_SOURCE, COMPUTED_TABLES, ComputedTable, compute_table
from pipelines.transformation.computed_duckdb import duckdb_reader, show_computed_file
from pipelines.transformation.dbt_command import DBT_EXECUTABLE, dbt_vars, write_profile
from pipelines.transformation.dbt_in_process import dbt_runner
from pipelines.transformation.dbt_project import dbt_project
from pipelines.warehouse import writing

T = TypeVar("T")


class SovereigntyTranslator(DagsterDbtTranslator):
    """Maps dbt nodes onto the warehouse's schemas, so that lineage reads like the warehouse."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        """Models and seeds are keyed <schema>/<name> (marts/product_independence), the name an
        analyst types in SQL. Sources keep dbt's <source>/<table>, so source raw.producer is the
        asset raw/producer that the ingestion materialises: that is what links dbt to ingestion."""
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """One group per layer (reference, staging, intermediate, marts), as in the dbt project."""
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dbt_resource_props["schema"]
        return super().get_group_name(dbt_resource_props)

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: DbtProject | None) -> dg.AssetCheckSpec | None:
        """Every dbt data test of a model in one check, `dbt_tests`, whose description lists the
        tests in words and whose result names the failing ones (model_check_results).

        Why one check per model: a check per test made each run write two Dagster events for
        each of about 500 tests (some 15 s of every run at national scale, docs/performance.md)
        and showed a mart's page as forty checks nobody reads one by one. dagster-dbt asks for a
        spec per test; all tests of a model get the same one, so the asset has one check. Its
        own matching of test results to checks goes by test name, so the dbt step reports the
        results itself (warehouse_models)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        tests = [test for test in self.data_tests(manifest, project).values() if test.asset_key == spec.asset_key]
        table = spec.asset_key.to_user_string().replace("/", ".")
        lines = "\n".join(f"- `{test.name}`: {test.sentence}" for test in sorted(tests, key=lambda t: t.name))
        return dg.AssetCheckSpec(
            name=DBT_TESTS_CHECK,
            asset=spec.asset_key,
            description=(f"The {len(tests)} dbt data tests of {table}, run as the model is built. The check fails when "
                         "a test of severity error fails (the build then stops, and nothing is published), and warns "
                         f"when only tests of severity warn fail; its result lists the failing tests.\n\n{lines}"),
        )

    def data_tests(self, manifest: Mapping[str, Any], project: DbtProject | None) -> dict[str, "DataTest"]:
        """Every data test of the manifest by unique id, with the asset it checks (dagster-dbt's
        rule: the test's model, or the model its meta.dagster.ref names); worked out once."""
        if self._data_tests is None or self._data_tests[0] is not manifest:
            tests = {}
            for unique_id, node in manifest["nodes"].items():
                check_key = get_asset_check_key_for_test(manifest, self, unique_id, project)
                if node["resource_type"] == "test" and check_key is not None:
                    tests[unique_id] = DataTest(node["name"], check_key.asset_key, describe_test(node, check_key.asset_key))
            self._data_tests = (manifest, tests)
        return self._data_tests[1]

    _data_tests: tuple[Mapping[str, Any], dict[str, "DataTest"]] | None = None


@dataclass(frozen=True)
class DataTest:
    name: str
    asset_key: dg.AssetKey
    sentence: str  # what it checks, in words


DBT_TESTS_CHECK = "dbt_tests"


def describe_test(test: Mapping[str, Any], asset_key: dg.AssetKey) -> str:
    """A test in words: its own description (singular tests: dbt_project/tests/singular_tests.yml)
    or its generic test's sentence, with its severity when a failure only warns."""
    sentence = test.get("description") or describe_generic_test(test, asset_key.to_user_string())
    if test.get("config", {}).get("severity", "error").lower() == "warn":
        sentence += " A failure is a warning: it does not withhold the release."
    return sentence


def model_check_results(outcomes: list[dict], tests: Mapping[str, DataTest],
                        selected: AbstractSet[dg.AssetCheckKey]) -> Iterator[dg.AssetCheckResult]:
    """dbt's test results (LogTestResult events' data) as one result per model's `dbt_tests`
    check: passed when every test passed, of error severity when a failing test is (dbt's status
    fail or error; warn is a warning), with the failing tests (name, what it checks, status,
    failing rows) in its metadata."""
    by_asset: dict[dg.AssetKey, list[tuple[DataTest, dict]]] = {}
    for outcome in outcomes:
        test = tests.get(outcome["node_info"]["unique_id"])
        if test is not None:
            by_asset.setdefault(test.asset_key, []).append((test, outcome))
    for asset_key, found in by_asset.items():
        if dg.AssetCheckKey(asset_key, DBT_TESTS_CHECK) not in selected:
            continue
        failing = [(test, outcome) for test, outcome in found if outcome["node_info"]["node_status"] != "pass"]
        yield dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=DBT_TESTS_CHECK,
            passed=not failing,
            severity=(dg.AssetCheckSeverity.WARN if all(o["node_info"]["node_status"] == "warn" for _, o in failing)
                      else dg.AssetCheckSeverity.ERROR),
            metadata={
                "tests_run": len(found),
                "tests_failed": len(failing),
                "failing_tests": dg.MetadataValue.json(sorted(
                    ({"test": test.name, "checks": test.sentence, "status": outcome["node_info"]["node_status"],
                      "failing_rows": outcome.get("num_failures")} for test, outcome in failing),
                    key=lambda failure: failure["test"])),
            },
        )


def describe_generic_test(test: Mapping[str, Any], table: str) -> str:
    """dbt's generic tests (dbt's own and dbt_project/tests/generic/) as one sentence."""
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs", {})
    column = f"`{kwargs.get('column_name')}`"
    table = table.replace("/", ".")
    match metadata.get("name"):
        case "not_null":
            return f"{column} is never NULL in {table}."
        case "not_null_columns":
            names = [f"`{name}`" for name in kwargs["columns"]]
            return f"{in_words(names)} {'is' if len(names) == 1 else 'are'} never NULL in {table}."
        case "unique":
            return f"No two rows of {table} have the same {column}."
        case "unique_combination":
            return f"No two rows of {table} have the same ({', '.join(kwargs['columns'])})."
        case "accepted_values":
            return f"{column} in {table} takes only the values {', '.join(map(str, kwargs['values']))}."
        case "relationships":
            target = re.sub(r"^(ref|source)\((.*)\)$", r"\2", kwargs["to"]).replace("'", "").replace('"', "").replace(", ", ".")
            return f"Every {column} of {table} exists as `{kwargs['field']}` in {target}."
        case "values_within_bounds":
            ranges = [f"`{name}` {bounds_in_words(bound.get('min'), bound.get('max'))}" for name, bound in kwargs["bounds"].items()]
            return f"In {table}, {in_words(ranges)}, where not NULL."
    return f"dbt test {test['name']} on {table}: it fails when its query returns rows."


def in_words(items: list[str]) -> str:
    """a; a and b; a, b and c."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def bounds_in_words(low: float | None, high: float | None) -> str:
    """A column's range as values_within_bounds gives it (either bound may be missing)."""
    if low is not None and high is not None:
        return f"is between {low} and {high}"
    return f"is at least {low}" if low is not None else f"is at most {high}"


def echoed_to(log: TextIO, events: Iterator[T]) -> Iterator[T]:
    """The events, with what dagster-dbt echoes to sys.stdout while producing each going to log.

    stdout is redirected only while the next event is made, never while the step is suspended at
    a yield: if Dagster stops the step there (its event log on a full disk), stdout stays the
    terminal's instead of a log file that can no longer be written."""
    while True:
        with contextlib.redirect_stdout(log):
            event = next(events, None)
        if event is None:
            return
        yield event


class DbtCoreCli(DbtCliResource):
    """dagster-dbt's dbt resource, which starts dbt as a process of its own (the Spark engine's
    way: dbt_command_events), without two costs of every dbt command that this project has no
    use for. dagster-dbt asks the dbt executable for its version (a `dbt --version` process, 1.4 s
    of every run) to tell dbt Core from the Fusion engine: the executable is dbt-core's, installed
    with this package, whose version the package metadata gives. And before each command it loads
    the project's macros and opens a dbt adapter in the step's own process (1.6 s a command, two
    commands a run) for fetch_row_counts and fetch_column_metadata, which the dbt step does not
    call. Both are private methods of dagster-dbt (pinned in requirements.lock);
    tests/test_definitions.py fails if they are renamed or the versions disagree."""

    @functools.cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None  # DbtCliInvocation's adapter: None, as with the Fusion engine


def dbt_command_events(settings: Settings, dbt: DbtCliResource, args: list[str], log: TextIO, target_path: Path,
                       manifest: Mapping[str, Any], translator: DagsterDbtTranslator,
                       selection_of: dg.AssetExecutionContext | None = None) -> Iterator[dict[str, Any]]:
    """`dbt ARGS` on this home's warehouse: its events as dicts of dbt's JSON log, as dbt fires
    them, and its messages written to log. With selection_of, the run's selection of dbt assets is
    added, as dagster-dbt makes it (all of the project, or the subset launched).

    On DuckDB dbt runs in this process (dbt_in_process): no dbt start-up, and the project is
    parsed once a process. On Spark it runs in a dbt process of its own, through dagster-dbt:
    dbt-spark's session would otherwise start a JVM inside this process and keep it there."""
    variables = dbt_vars(settings)
    if settings.engine == "spark":
        invocation = dbt.cli([*args, *variables], context=selection_of, manifest=manifest,
                             dagster_dbt_translator=translator, target_path=target_path)
        for event in echoed_to(log, invocation.stream_raw_events()):
            yield event.raw_event
        return
    selection = run_selection(selection_of, manifest, translator) if selection_of is not None else []
    yield from dbt_runner(settings).stream([*args, *selection], log)


def run_selection(context: dg.AssetExecutionContext, manifest: Mapping[str, Any], translator: DagsterDbtTranslator) -> list[str]:
    """dbt's selection arguments for the dbt assets and checks of a run, made by dagster-dbt's own
    function, as its dbt.cli(context=...) adds them to a dbt process's command line."""
    selection, indirect_selection = get_subset_selection_for_context(
        context=context, manifest=manifest, select=context.op.tags.get(DAGSTER_DBT_SELECT_METADATA_KEY),
        exclude=context.op.tags.get(DAGSTER_DBT_EXCLUDE_METADATA_KEY),
        selector=context.op.tags.get(DAGSTER_DBT_SELECTOR_METADATA_KEY), dagster_dbt_translator=translator,
        current_dbt_indirect_selection_env=None)  # dbt itself reads DBT_INDIRECT_SELECTION, if set
    return [*selection, *(["--indirect-selection", indirect_selection] if indirect_selection else [])]


def dbt_resource(settings: Settings) -> dg.ResourceDefinition:
    """dbt on this home's warehouse. Made when a run starts, not when the definitions load: its
    profile is then written from the settings (dbt_command.py), so loading the definitions writes
    nothing into the home."""

    @dg.resource(description="dbt-core with this home's profile (written from the settings at each run).")
    def dbt(_) -> DbtCliResource:
        # DbtCliResource's own __init__ takes the DbtProject; mypy knows only the field's type (str)
        return DbtCoreCli(project_dir=dbt_project(), profiles_dir=str(write_profile(settings)),  # type: ignore[arg-type]
                          dbt_executable=DBT_EXECUTABLE)

    return dbt


@dataclass(frozen=True)
class BuildPlan:
    """The selected part of the dbt project as the dbt step runs it: dbt builds what does not read
    the computed layer (phase 1), the computed tables a selected model reads are computed, then
    dbt builds the selected models and tests downstream of them (phase 2)."""

    first_phase: bool  # anything selected outside the computed tables' downstream
    computed: tuple[ComputedTable, ...]  # the tables to compute: a selected model reads them
    second_phase: tuple[str, ...]  # the downstream models and tests selected, as dbt names (fqn)


# The computed layer's sources and everything built from them (dbt's graph selector): phase 1
# leaves them out, whatever dagster-dbt selects for the run.
COMPUTED_DOWNSTREAM = f"source:{COMPUTED_SOURCE}+"


def build_plan(manifest: Mapping[str, Any], translator: "SovereigntyTranslator", project: DbtProject | None,
               selected_assets: AbstractSet[dg.AssetKey], selected_checks: AbstractSet[dg.AssetCheckKey]) -> BuildPlan:
    """Split a run's selection of dbt assets and checks around the computed layer.

    Phase 1 is dagster-dbt's own selection for the run with COMPUTED_DOWNSTREAM excluded. Phase 2
    names its nodes explicitly: the selected models downstream of a computed table, and the tests
    downstream of one whose model's check is selected (dbt's indirect selection off, so exactly
    those). Each node is in exactly one phase, and together they are what dagster-dbt would run."""
    downstream: dict[str, set[str]] = {}  # computed table -> unique ids built from it
    for unique_id, source in manifest["sources"].items():
        if source["source_name"] == COMPUTED_SOURCE:
            downstream[source["name"]] = descendants(manifest, unique_id)
    nodes = manifest["nodes"]
    below = set().union(*downstream.values())
    asset_of = {unique_id: translator.get_asset_key(nodes[unique_id]) for unique_id in below
                if nodes[unique_id]["resource_type"] in ("model", "seed", "snapshot")}
    tests = translator.data_tests(manifest, project)
    checked = {check.asset_key for check in selected_checks if check.name == DBT_TESTS_CHECK}
    models = sorted(unique_id for unique_id, key in asset_of.items() if key in selected_assets)
    second = [*models, *sorted(unique_id for unique_id in below if unique_id in tests and tests[unique_id].asset_key in checked)]
    below_assets = set(asset_of.values())
    first = bool(selected_assets - below_assets) or any(check.asset_key not in below_assets for check in selected_checks)
    computed = tuple(COMPUTED_TABLES[name] for name, ids in downstream.items() if ids & set(models))
    return BuildPlan(first, computed, tuple(".".join(nodes[unique_id]["fqn"]) for unique_id in second))


def tested_models(manifest: Mapping[str, Any], translator: "SovereigntyTranslator", selected_assets: AbstractSet[dg.AssetKey],
                  selected_checks: AbstractSet[dg.AssetCheckKey]) -> set[str]:
    """The models a run built with their data tests (the asset and its dbt_tests check selected)."""
    return {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"
            and (key := translator.get_asset_key(node)) in selected_assets and dg.AssetCheckKey(key, DBT_TESTS_CHECK) in selected_checks}


def descendants(manifest: Mapping[str, Any], unique_id: str) -> set[str]:
    """Every node built from unique_id, directly or not (dbt's child map)."""
    found: set[str] = set()
    waiting = [unique_id]
    while waiting:
        for child in manifest["child_map"].get(waiting.pop(), []):
            if child not in found:
                found.add(child)
                waiting.append(child)
    return found


def computed_asset_specs() -> list[dg.AssetSpec]:
    """The computed layer's tables in the asset graph, between the model they are computed from
    and the dbt models that read them (the dbt step materialises them; they have no step of their
    own, so Dagster never launches them alone)."""
    return [
        dg.AssetSpec(
            key=computed_key(table),
            deps=[dg.AssetKey(table.input_table.split("."))],
            group_name=COMPUTED_SOURCE,
            kinds={"python", "parquet"},
            description=(f"computed/{table.name}.parquet in the home, read as the view {COMPUTED_SOURCE}.{table.name}: "
                         f"computed in Python (pipelines/transformation/computed.py) from {table.input_table} by "
                         "the dbt step, between the models it reads and the models that read it."),
        )
        for table in COMPUTED_TABLES.values()
    ]


def computed_key(table: ComputedTable) -> dg.AssetKey:
    """dagster-dbt's key for the source (<source>/<table>), so the dbt models that read it link to it."""
    return dg.AssetKey([COMPUTED_SOURCE, table.name])


def compute_in_warehouse(settings: Settings, table: ComputedTable, run_id: str) -> dg.AssetMaterialization:
    """Compute a table from what the engine built and point the warehouse's view at the new file
    (on Spark, dbt's next part declares its table: spark.file_sources)."""
    with writing(settings, run_id) as con:
        reader = spark.table_reader(settings) if settings.engine == "spark" else duckdb_reader(con)
        computed = compute_table(table, reader, settings.home)
        show_computed_file(con, table)
    return dg.AssetMaterialization(
        asset_key=computed_key(table),
        description=f"computed {COMPUTED_SOURCE}.{table.name} from {table.input_table}",
        metadata={
            "dagster/row_count": computed.rows,
            "path": dg.MetadataValue.path(str(settings.home / table.file)),
            "seconds": round(computed.seconds, 3),
        },
    )


def dbt_warehouse_assets(settings: Settings) -> dg.AssetsDefinition:
    project = dbt_project()
    translator = SovereigntyTranslator()

    @dbt_assets(manifest=project.manifest_path, project=project, dagster_dbt_translator=translator, op_tags=ONE_AT_A_TIME)
    def warehouse_models(context: dg.AssetExecutionContext, dbt: dg.ResourceParam[DbtCliResource]):
        """`dbt build` of the selected models: seeds, models and their tests, in dependency order,
        with the computed layer's tables computed in Python in the middle of it.

        The build runs in up to three parts (build_plan): dbt builds everything selected that does
        not read a computed table; the computed tables a selected model reads are computed from
        what dbt just built (pipelines/transformation/computed.py); dbt builds the selected models
        downstream of them. A part that fails stops the build there.

        Quarterly models are incremental by period, so a run after one new quarter's reports
        rebuilds only that quarter's rows. The build, all its parts, is recorded in audit.builds
        with the ingested state it started from; only a build that finished names the state the
        marts hold, which is what publication checks (a killed build stays 'started')."""
        manifest = validate_manifest(project.manifest_path)  # dagster-dbt's cached copy, the assets' own
        with writing(settings, context.run.run_id) as con:
            build_id = start_build(con, context.run.run_id, settings.engine)
            if settings.engine == "spark":
                spark.prepare_build(con, settings)
                forget_tested_rows(con)
            else:
                dropped_tables = drop_reshaped_incremental_tables(con, manifest)
                forget_tested_rows(con, dropped_tables)
                for dropped in dropped_tables:
                    context.log.info(f"{dropped}: its columns changed in this version; built whole again")
            for dropped in drop_retired_tables(con):
                context.log.info(f"{dropped}: no longer built by this version; dropped")
        plan = build_plan(manifest, translator, project, context.selected_asset_keys, context.selected_asset_check_keys)
        # Unit tests check the SQL, not the data: the test suite runs them, production runs skip them.
        build = ["build", "--exclude-resource-type", "unit_test"]
        target_path = settings.dbt_target
        # dbt's lines go to the run's dbt log (the one `sovereignty run` names, or one per run),
        # not to the terminal; the step's events go to Dagster.
        log_path = Path(context.run.tags.get(DBT_LOG_TAG) or settings.home / "logs" / f"dbt-{context.run.run_id}.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        outcomes: list[dict] = []  # dbt's test results, reported per model once dbt ends

        def dagster_events(raw_events: Iterator[dict[str, Any]]) -> Iterator:
            for raw_event in raw_events:
                if raw_event["info"]["name"] == "LogTestResult":
                    outcomes.append(raw_event["data"])
                    continue
                event = DbtCoreCliEventMessage(raw_event=raw_event, event_history_metadata={})
                yield from event.to_default_asset_events(
                    manifest=manifest, dagster_dbt_translator=translator, context=context,
                    target_path=target_path, project=project)

        try:
            with open(log_path, "a", buffering=1) as log:
                try:
                    if plan.first_phase:
                        # The run's selection (all of the project, or the subset launched), as
                        # dagster-dbt makes it; the computed layer's downstream is left to phase 2.
                        yield from dagster_events(dbt_command_events(
                            settings, dbt, [*build, "--exclude", COMPUTED_DOWNSTREAM], log, target_path,
                            manifest, translator, selection_of=context))
                    for table in plan.computed:
                        yield compute_in_warehouse(settings, table, context.run.run_id)
                    if plan.second_phase:
                        # Exactly these nodes (on Spark, its vars again: they now declare the
                        # computed tables' files).
                        yield from dagster_events(dbt_command_events(
                            settings, dbt, [*build, "--select", " ".join(plan.second_phase), "--indirect-selection", "empty"],
                            log, target_path, manifest, translator))
                except Exception:  # a failing test stopped the build: its check says which
                    yield from model_check_results(outcomes, translator.data_tests(manifest, project),
                                                   context.selected_asset_check_keys)
                    raise
                yield from model_check_results(outcomes, translator.data_tests(manifest, project),
                                               context.selected_asset_check_keys)
        except BaseException:
            # On a full disk even this record cannot be written: the build then stays 'started',
            # as a killed one, which is never published and which the next run finishes.
            with contextlib.suppress(OSError), writing(settings, context.run.run_id) as con:
                finish_build(con, build_id, "failed")
            raise
        with writing(settings, context.run.run_id) as con:
            if settings.engine == "spark":  # the warehouse's views of what Spark built
                spark.expose_tables(con, settings, manifest)
            else:  # the next build tests only the rows it writes (builds.record_tested_rows)
                record_tested_rows(con, manifest, tested_models(manifest, translator, context.selected_asset_keys,
                                                                context.selected_asset_check_keys))
            finish_build(con, build_id, "succeeded")

    return warehouse_models
