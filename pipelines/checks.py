"""Great Expectations suites as Dagster asset checks: the write-audit-publish gate.

Each file in expectations/ is a GX suite whose `meta` names the asset it checks, the table it
reads and whether it is blocking. A blocking check that fails stops the publish asset
(Dagster skips what is downstream of a failed blocking check) and records the withheld release
in audit.publications, so the attempt and its reasons are on record even though publication
never ran. Non-blocking suites (raw volumes: incomplete data) only warn.

A check that cannot read the warehouse (another process holds it past the wait) has not looked at
the data: it ends as a failed execution (dg.Failure: "did not run"), not as a failed
expectation, and what depends on it (publication) is skipped, not withheld for bad data.
"""

import json
import time
from pathlib import Path

import dagster as dg

from pipelines.publish.attempts import record_blocked_release
from pipelines.quality.gx_duckdb import ValidationOutcome, load_suite, validate_table
from pipelines.resources import WarehouseResource
from pipelines.settings import REPO_ROOT
from pipelines.warehouse import WarehouseBusyError, connect, ingested_state, latest_build, utc_now

EXPECTATIONS_DIR = REPO_ROOT / "expectations"


def suite_paths() -> list[Path]:
    return sorted(EXPECTATIONS_DIR.glob("*.json"))


def failures_as_json(outcome: ValidationOutcome) -> list[dict]:
    return [{"expectation": f.expectation, "kwargs": f.kwargs, "observed": f.observed} for f in outcome.failed]


def record_validation(warehouse: WarehouseResource, run_id: str, outcome: ValidationOutcome, blocking: bool, seconds: float) -> None:
    """Keep the result (audit.quality_results); a blocking failure also records the withheld release."""
    now = utc_now()
    failed = json.dumps(failures_as_json(outcome), ensure_ascii=False, default=str)
    with warehouse.writer() as con:
        build = latest_build(con)
        con.execute(
            "insert into audit.quality_results (run_id, suite, target, blocking, success, evaluated, failed, data_docs, "
            "seconds, validated_at, build_id, ingested_state) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, outcome.suite, outcome.target, blocking, outcome.success, outcome.evaluated, failed,
             str(outcome.data_docs_path) if outcome.data_docs_path else None, seconds, now, build[0] if build else None,
             ingested_state(con)],
        )
        if blocking and not outcome.success:
            failures = {"suite": outcome.suite, "target": outcome.target, "failed": failures_as_json(outcome)}
            record_blocked_release(con, run_id, failures, now, build[0] if build else None)


def gx_check(path: Path) -> dg.AssetChecksDefinition:
    suite = load_suite(path)  # at definition time: a broken suite file fails loudly, early
    meta = suite.meta
    blocking = bool(meta["blocking"])

    @dg.asset_check(
        asset=dg.AssetKey(meta["asset"].split("/")),
        name=f"gx_{suite.name}",
        blocking=blocking,
        description=meta.get("purpose"),
    )
    def check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        started = time.monotonic()
        try:
            # Waits, like every step, for a process writing the file to let go, and names it when
            # it does not: the check then did not run, rather than failing on data it never read.
            connect(warehouse.path, read_only=True, memory_limit=warehouse.memory_limit,
                    wait_seconds=warehouse.lock_wait_seconds).close()
            # Read-only, in DuckDB: the rows never come into Python; GX's engines are disposed after.
            outcome = validate_table(warehouse.path, meta["table"], load_suite(path), docs_dir=warehouse.home_path / "quality" / "docs")
            seconds = time.monotonic() - started
            record_validation(warehouse, context.run.run_id, outcome, blocking, seconds)
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
            severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
            metadata=metadata,
        )

    return check


def quality_checks() -> list[dg.AssetChecksDefinition]:
    return [gx_check(path) for path in suite_paths()]


def blocking_suites() -> list[str]:
    """The suites that guard the release: publication checks each passed on the build it publishes."""
    return sorted(suite.name for suite in map(load_suite, suite_paths()) if suite.meta["blocking"])
