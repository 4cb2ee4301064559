"""Great Expectations suites as Dagster asset checks: the write-audit-publish gate.

Each suite in expectations/ becomes a check on the asset its `meta` names
(pipelines/quality/suites.py). A stage's suites run together in one step: the raw layer's after
ingestion (raw__gx_checks), the staging tables' and marts' after the dbt build (marts__gx_checks),
on the engine that built the tables (Settings.engine): inside
DuckDB (gx_duckdb.py) or, on Spark, over the table's folder in a Spark session of the run's
process (gx_spark.py, which imports pyspark only then). Either way the result is recorded in
DuckDB's audit.quality_results and gates publication the same way. A blocking check that fails
stops the publish asset (Dagster skips what is downstream of a failed blocking check) and records
the withheld release in audit.publications. Non-blocking suites (raw volumes: incomplete data)
only warn.

A step that cannot read the warehouse (another process holds it past the wait) has not looked at
the data: it ends as a failed execution (dg.Failure: "did not run"), not as a failed
expectation, and what depends on it (publication) is skipped, not withheld for bad data.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg

from pipelines.defs.executor import ONE_AT_A_TIME
from pipelines.ingestion.raw_layer import RAW_FOLDER, committed_loads
from pipelines.quality.suites import SuiteFile, record_validation, suite_files
from pipelines.settings import Settings
from pipelines.warehouse import WarehouseBusyError, duckdb_config, open_warehouse, writing

if TYPE_CHECKING:  # GX loads when a check runs
    from pipelines.quality.gx_common import ValidationOutcome

# The command line's progress (pipelines/command_line/progress.py) tells the two stages apart by
# these names: "_gx_" in a check step, "raw__" at the start of the raw layer's.
RAW_CHECKS_STEP = "raw__gx_checks"
WAREHOUSE_CHECKS_STEP = "marts__gx_checks"


def check_key(suite: SuiteFile) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(suite.asset.split("/")), f"gx_{suite.name}")


def gx_checks(step: str, suites: list[SuiteFile], settings: Settings) -> dg.AssetChecksDefinition:
    """The suites of one stage as one step: one warehouse read, one GX context, one Data Docs build
    and one write of the results, instead of a step, a context and a Data Docs index rebuilt per
    suite (docs/performance.md). Each suite is still a check of its own asset, blocking or not."""
    specs = [dg.AssetCheckSpec(check_key(suite).name, asset=check_key(suite).asset_key, blocking=suite.blocking,
                               description=suite.purpose) for suite in suites]

    # can_subset: a run that selects some of the assets (a backfill, a materialisation in the UI)
    # runs the checks of those only
    @dg.multi_asset_check(specs=specs, name=step, can_subset=True, op_tags=ONE_AT_A_TIME,
                          description=f"The Great Expectations suites: {', '.join(s.name for s in suites)}.")
    def checks(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        from pipelines.quality.gx_common import load_suite  # GX loads when a check runs

        selected = [suite for suite in suites if check_key(suite) in context.selected_asset_check_keys]
        docs_dir = settings.home / "quality" / "docs"
        try:
            # Waits, like every step, for a process writing the file to let go, and names it when
            # it does not: the checks then did not run, rather than failing on data they never read.
            con = open_warehouse(settings, read_only=True)
            try:
                loads = committed_loads(con)  # the raw files that count (Spark reads them itself)
            finally:
                con.close()
            if settings.engine == "spark":
                from pipelines.quality.gx_spark import validate_tables as validate_on_spark  # starts Spark

                # In this process's Spark session, over each table's folder (the rows stay in Spark).
                outcomes = validate_on_spark(settings, [(suite.table, load_suite(suite.path)) for suite in selected],
                                             committed_loads=loads, docs_dir=docs_dir)
            else:
                from pipelines.quality.gx_duckdb import TableSuite, validate_tables

                # Read-only, in DuckDB: the rows never come into Python; GX's engines are disposed after.
                outcomes = validate_tables(settings.warehouse, [TableSuite(suite.table, load_suite(suite.path)) for suite in selected],
                                           docs_dir=docs_dir, duckdb_config=duckdb_config(settings))
            with writing(settings, context.run.run_id) as con:
                for suite, outcome in zip(selected, outcomes, strict=True):
                    record_validation(con, context.run.run_id, outcome, suite.blocking)
        except WarehouseBusyError as busy:
            raise dg.Failure(
                description=f"{', '.join(s.name for s in selected)} did not run: the warehouse could not be opened. {busy}",
                metadata={"suites": dg.MetadataValue.text(", ".join(s.name for s in selected)),
                          "did_not_run": dg.MetadataValue.text(str(busy))},
                allow_retries=False,
            ) from None
        for suite, outcome in zip(selected, outcomes, strict=True):
            yield check_result(suite, outcome)

    return checks


def check_result(suite: SuiteFile, outcome: "ValidationOutcome") -> dg.AssetCheckResult:
    metadata = {
        "suite": dg.MetadataValue.text(suite.name),
        "expectations_evaluated": dg.MetadataValue.int(outcome.evaluated),
        "expectations_failed": dg.MetadataValue.int(len(outcome.failed)),
        "seconds": dg.MetadataValue.float(round(outcome.seconds, 3)),
        "failures": dg.MetadataValue.md("\n".join(f"- {line}" for line in outcome.summary().splitlines()[1:]) or "none"),
    }
    if outcome.data_docs_path:
        # a link the UI shows as such: the page opens from disk (offline, docs/quality_gx.md)
        metadata["data_docs"] = dg.MetadataValue.url(outcome.data_docs_path.as_uri())
    key = check_key(suite)
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def quality_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    """The raw layer's suites, run after ingestion, and the warehouse's (staging and marts), run
    after the dbt build; the step names say which (the command line's progress reads them)."""
    suites = suite_files()
    raw = [suite for suite in suites if suite.asset.split("/")[0] == RAW_FOLDER]
    built = [suite for suite in suites if suite not in raw]
    return [gx_checks(RAW_CHECKS_STEP, raw, settings), gx_checks(WAREHOUSE_CHECKS_STEP, built, settings)]
