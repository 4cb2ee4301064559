"""Great Expectations suites as Dagster asset checks: the write-audit-publish gate.

Each suite in expectations/ becomes a check on the asset its `meta` names
(pipelines/quality/suites.py), run on the engine that built the tables (Settings.engine): inside
DuckDB (gx_duckdb.py) or, on Spark, over the table's folder in a Spark session of the run's
process (gx_spark.py, which imports pyspark only then). Either way the result is recorded in
DuckDB's audit.quality_results and gates publication the same way. A blocking check that fails
stops the publish asset (Dagster skips what is downstream of a failed blocking check) and records
the withheld release in audit.publications. Non-blocking suites (raw volumes: incomplete data)
only warn.

A check that cannot read the warehouse (another process holds it past the wait) has not looked at
the data: it ends as a failed execution (dg.Failure: "did not run"), not as a failed
expectation, and what depends on it (publication) is skipped, not withheld for bad data.
"""

import time

import dagster as dg

from pipelines.defs.executor import ONE_AT_A_TIME
from pipelines.ingestion.raw_layer import committed_loads
from pipelines.quality.suites import SuiteFile, record_validation, suite_files
from pipelines.settings import Settings
from pipelines.warehouse import WarehouseBusyError, duckdb_config, open_warehouse, writing


def gx_check(suite: SuiteFile, settings: Settings) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(suite.asset.split("/")),
        name=f"gx_{suite.name}",
        blocking=suite.blocking,
        description=suite.purpose,
        op_tags=ONE_AT_A_TIME,
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        from pipelines.quality.gx_common import load_suite  # GX loads when a check runs

        started = time.monotonic()
        docs_dir = settings.home / "quality" / "docs"
        try:
            # Waits, like every step, for a process writing the file to let go, and names it when
            # it does not: the check then did not run, rather than failing on data it never read.
            con = open_warehouse(settings, read_only=True)
            try:
                loads = committed_loads(con)  # the raw files that count (Spark reads them itself)
            finally:
                con.close()
            if settings.engine == "spark":
                from pipelines.quality.gx_spark import validate_table as validate_on_spark  # starts Spark

                # In this process's Spark session, over the table's folder (the rows stay in Spark).
                outcome = validate_on_spark(settings, suite.table, load_suite(suite.path),
                                            committed_loads=loads, docs_dir=docs_dir)
            else:
                from pipelines.quality.gx_duckdb import validate_table

                # Read-only, in DuckDB: the rows never come into Python; GX's engines are disposed after.
                outcome = validate_table(settings.warehouse, suite.table, load_suite(suite.path),
                                         docs_dir=docs_dir, duckdb_config=duckdb_config(settings))
            seconds = time.monotonic() - started
            with writing(settings, context.run.run_id) as con:
                record_validation(con, context.run.run_id, outcome, suite.blocking, seconds)
        except WarehouseBusyError as busy:
            raise dg.Failure(
                description=f"{suite.name} did not run: the warehouse could not be opened. {busy}",
                metadata={"suite": dg.MetadataValue.text(suite.name), "did_not_run": dg.MetadataValue.text(str(busy))},
                allow_retries=False,
            ) from None
        metadata = {
            "suite": dg.MetadataValue.text(suite.name),
            "expectations_evaluated": dg.MetadataValue.int(outcome.evaluated),
            "expectations_failed": dg.MetadataValue.int(len(outcome.failed)),
            "seconds": dg.MetadataValue.float(round(seconds, 3)),
            "failures": dg.MetadataValue.md("\n".join(f"- {line}" for line in outcome.summary().splitlines()[1:]) or "none"),
        }
        if outcome.data_docs_path:
            # a link the UI shows as such: the page opens from disk (offline, docs/quality_gx.md)
            metadata["data_docs"] = dg.MetadataValue.url(outcome.data_docs_path.as_uri())
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN,
            metadata=metadata,
        )

    return check


def quality_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    return [gx_check(suite, settings) for suite in suite_files()]
