"""The Great Expectations suites in expectations/ and the record of their results.

Each file in expectations/ is a GX suite whose `meta` names the asset it checks, the table it
reads and whether it is blocking. Every result is kept in audit.quality_results with the build it
checked; a blocking failure also records the withheld release in audit.publications, so the
attempt and its reasons are on record even though publication never ran (docs/quality.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.publication.attempts import record_blocked_release
from pipelines.settings import REPO_ROOT
from pipelines.warehouse import ingested_state, latest_build, utc_now

if TYPE_CHECKING:  # GX (and with it pyspark's modules) loads when a check runs, not with the definitions
    from pipelines.quality.gx_common import ValidationOutcome

EXPECTATIONS_DIR = REPO_ROOT / "expectations"


@dataclass(frozen=True)
class SuiteFile:
    """A suite's name and what its `meta` says, read without GX (the definitions load fast)."""

    path: Path
    name: str
    asset: str  # the asset key it checks, "marts/product_independence"
    table: str  # the table it reads, "marts.product_independence"
    blocking: bool  # whether a failure withholds the release
    purpose: str | None  # one sentence: what it checks that dbt's tests do not

    @classmethod
    def read(cls, path: Path) -> SuiteFile:
        document = json.loads(path.read_text(encoding="utf-8"))
        meta = document["meta"]
        return cls(path, document["name"], meta["asset"], meta["table"], bool(meta["blocking"]), meta.get("purpose"))


def suite_files() -> list[SuiteFile]:
    return [SuiteFile.read(path) for path in sorted(EXPECTATIONS_DIR.glob("*.json"))]


def blocking_suites() -> list[str]:
    """The suites that guard the release: publication checks each passed on the build it publishes."""
    return sorted(suite.name for suite in suite_files() if suite.blocking)


def failures_as_json(outcome: ValidationOutcome) -> list[dict]:
    return [{"expectation": f.expectation, "kwargs": f.kwargs, "observed": f.observed} for f in outcome.failed]


def record_validation(con: duckdb.DuckDBPyConnection, run_id: str, outcome: ValidationOutcome, blocking: bool) -> None:
    """Keep the result (audit.quality_results); a blocking failure also records the withheld release."""
    now = utc_now()
    failed = json.dumps(failures_as_json(outcome), ensure_ascii=False, default=str)
    build = latest_build(con)
    con.execute(
        "insert into audit.quality_results (run_id, suite, target, blocking, success, evaluated, failed, data_docs, "
        "seconds, validated_at, build_id, ingested_state) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, outcome.suite, outcome.target, blocking, outcome.success, outcome.evaluated, failed,
         str(outcome.data_docs_path) if outcome.data_docs_path else None, outcome.seconds, now, build[0] if build else None,
         ingested_state(con)],
    )
    if blocking and not outcome.success:
        failures = {"suite": outcome.suite, "target": outcome.target, "failed": failures_as_json(outcome)}
        record_blocked_release(con, run_id, failures, now, build[0] if build else None)
