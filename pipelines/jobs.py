"""The main job and how a run over the pending inbox files is requested.

`sovereignty run`, the inbox sensor and the schedule all start the same job the same way:
the quarters of the pending files become the run's partition range, so the quarterly
ingestion assets ingest exactly those files in one run. With no quarterly file pending (a
yearly or reference report alone, or work an interrupted run left undone) the range is the
current quarter, whose ingestion then finds nothing to do. Whatever an interrupted run left
undone is found by comparing the warehouse's records (`unfinished_work`, docs/operations.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from pipelines.contracts import KINDS
from pipelines.ingest import file_periods, pending_files
from pipelines.partitions import first_partition
from pipelines.periods import FIRST_QUARTER, quarter_of
from pipelines.publish.release import DamagedLatest, read_latest
from pipelines.settings import Settings
from pipelines.warehouse import (
    WarehouseBusyError,
    WarehouseDamagedError,
    connect,
    ingested_state,
    latest_build,
)

MAIN_JOB = "sovereignty_run"

main_job = dg.define_asset_job(
    MAIN_JOB,
    selection=dg.AssetSelection.all(),
    description="Ingest the inbox, build the marts, check them and publish a release.",
)

PUBLISH_JOB = "sovereignty_publish"
RELEASE = dg.AssetKey(["published", "release"])


def publish_job(checks: list[dg.AssetChecksDefinition], alerts: dg.AssetChecksDefinition) -> dg.UnresolvedAssetJobDefinition:
    """The marts as they are, checked again and published, without ingesting or rebuilding:
    after a blocked release was put right in the warehouse, or when the disclosure settings
    changed. The same blocking checks stand in front of the release as in the main job, and the
    release's new high-severity signals are raised as after a main run (alerts)."""
    blocking = [c for c in checks if all(spec.blocking for spec in c.check_specs)]
    return dg.define_asset_job(
        PUBLISH_JOB,
        selection=dg.AssetSelection.assets(RELEASE) | dg.AssetSelection.checks(*blocking, alerts),
        description="Check the warehouse again with the blocking quality checks and publish a release.",
    )


@dataclass
class InboxPlan:
    """What is waiting in the inbox, and the quarters a run must cover to ingest it."""

    current_quarter: str  # the newest partition: the run's range when no quarterly file waits
    # The oldest partition, which also ingests the quarters before it: earlier quarters are run as it.
    first_partition: str = FIRST_QUARTER
    files: dict[str, list[Path]] = field(default_factory=dict)
    quarters: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not any(self.files.values())

    @property
    def fingerprint(self) -> str:
        """Identifies this set of pending files, so a sensor requests one run for it."""
        digest = hashlib.sha256()
        for kind, paths in sorted(self.files.items()):
            for path in paths:
                stat = path.stat()
                digest.update(f"{kind}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]

    def run_tags(self) -> dict[str, str]:
        quarters = self.quarters or {self.current_quarter}
        return {
            ASSET_PARTITION_RANGE_START_TAG: max(min(quarters), self.first_partition),
            ASSET_PARTITION_RANGE_END_TAG: max(max(quarters), self.first_partition),
        }


def inbox_plan(settings: Settings) -> InboxPlan:
    plan = InboxPlan(current_quarter=quarter_of(settings.today), first_partition=first_partition(settings))
    for kind in KINDS.values():
        paths = pending_files(settings.home, kind.name)
        plan.files[kind.name] = paths
        if kind.quarterly:
            for path in paths:
                plan.quarters.update(file_periods(path, kind, settings.today))
    return plan


def run_request(settings: Settings) -> dg.RunRequest | dg.SkipReason:
    """A request to run the main job over the pending files, or to finish what an interrupted run
    left undone (sensor and schedule)."""
    plan = inbox_plan(settings)
    if not plan.empty:
        return dg.RunRequest(run_key=plan.fingerprint, tags=plan.run_tags())
    if not settings.warehouse.exists():
        return dg.SkipReason("the inbox is empty")
    try:
        with connect(settings.warehouse, read_only=True) as con:
            unfinished = unfinished_work(con, settings.published)
            state, build = ingested_state(con), latest_build(con)
    except (WarehouseBusyError, WarehouseDamagedError) as why:
        return dg.SkipReason(f"the inbox is empty and the warehouse cannot be read now: {why}")
    if unfinished is None:
        return dg.SkipReason("the inbox is empty and the warehouse and release are up to date")
    # one request per unfinished state: a run that fails the same way is not requested again
    return dg.RunRequest(run_key=f"finish-{state}-{build[0] if build else 0}", tags=plan.run_tags())


def unfinished_work(con: duckdb.DuckDBPyConnection, published: Path) -> tuple[str, str] | None:
    """What an interrupted run left undone, as (job, why); None when the home is consistent.

    The marts must be one finished build of everything ingested, and the latest release (or a
    withheld attempt) must be of that build. A build that did not finish (a killed process, a
    full disk, a reader holding the file) is built again; a build never published is published.
    """
    state, build = ingested_state(con), latest_build(con)
    if state == 0 and build is None:
        return None
    if build is None or build[2] != "succeeded" or build[1] != state:
        return MAIN_JOB, "the marts are not built from everything ingested (an earlier run stopped before its build finished)"
    attempt = con.execute(
        "select outcome, release_id from audit.publications where build_id = ? order by attempt_id desc limit 1", [build[0]]
    ).fetchone()
    if attempt is None:
        return PUBLISH_JOB, "the last build was never checked and published (an earlier run stopped before)"
    outcome, release_id = attempt
    if outcome == "blocked":
        return None
    try:
        latest = read_latest(published)
    except DamagedLatest as damage:
        return PUBLISH_JOB, f"the release pointer is damaged ({damage})"
    if latest != release_id:
        return PUBLISH_JOB, "published/latest does not name the release of the last build"
    return None

