"""The main job and how a run over the pending inbox files is requested.

`sovereignty run`, the inbox sensor and the schedule all start the same job the same way:
the quarters of the pending files become the run's partition range, so the quarterly
ingestion assets ingest exactly those files in one run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from pipelines.contracts import KINDS
from pipelines.ingest import file_periods, pending_files
from pipelines.settings import Settings

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
        if not self.quarters:
            return {}
        return {
            ASSET_PARTITION_RANGE_START_TAG: min(self.quarters),
            ASSET_PARTITION_RANGE_END_TAG: max(self.quarters),
        }


def inbox_plan(settings: Settings) -> InboxPlan:
    plan = InboxPlan()
    for kind in KINDS.values():
        paths = pending_files(settings.home, kind.name)
        plan.files[kind.name] = paths
        if kind.quarterly:
            for path in paths:
                plan.quarters.update(file_periods(path, kind, settings.today))
    return plan


def run_request(settings: Settings) -> dg.RunRequest | dg.SkipReason:
    """A request to run the main job over the pending files (sensor and schedule)."""
    plan = inbox_plan(settings)
    if plan.empty:
        return dg.SkipReason("the inbox is empty")
    return dg.RunRequest(run_key=plan.fingerprint, tags=plan.run_tags())
