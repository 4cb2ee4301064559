"""The jobs, and how a run over the pending inbox files is requested (sensor and schedule).

The run's plan comes from ingestion (pipelines/ingestion/planning.py: the pending files and their
quarters); whatever an interrupted run left undone comes from the warehouse's records
(pipelines/publication/attempts.py, docs/operations.md). Here both become Dagster run requests.
"""

from __future__ import annotations

import dagster as dg

from pipelines.ingestion.planning import InboxPlan, inbox_plan
from pipelines.publication.attempts import UnfinishedWork, unfinished_work
from pipelines.settings import Settings
from pipelines.warehouse import WarehouseBusyError, WarehouseDamagedError, ingested_state, latest_build, open_warehouse

MAIN_JOB = "sovereignty_run"

main_job = dg.define_asset_job(
    MAIN_JOB,
    selection=dg.AssetSelection.all(),
    description="Ingest the inbox, build the marts, check them and publish a release.",
)

PUBLISH_JOB = "sovereignty_publish"
RELEASE = dg.AssetKey(["published", "release"])

# Dagster's run tags for a single run over a range of partitions (its documented way of running a
# backfill as one run); dagster exports no public name for them.
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
# The file the dbt step writes dbt's lines to (`sovereignty run` names its run log; else one per run).
DBT_LOG_TAG = "sovereignty/dbt_log"


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


def job_finishing(unfinished: UnfinishedWork) -> str:
    """The job that finishes what an interrupted run left undone."""
    return MAIN_JOB if unfinished.needs_build else PUBLISH_JOB


def partition_range_tags(plan: InboxPlan) -> dict[str, str]:
    start, end = plan.partition_range()
    return {PARTITION_RANGE_START_TAG: start, PARTITION_RANGE_END_TAG: end}


def run_request(settings: Settings) -> dg.RunRequest | dg.SkipReason:
    """A request to run the main job over the pending files, or to finish what an interrupted run
    left undone (sensor and schedule)."""
    plan = inbox_plan(settings)
    if not plan.empty:
        return dg.RunRequest(run_key=plan.fingerprint, tags=partition_range_tags(plan))
    if not settings.warehouse.exists():
        return dg.SkipReason("the inbox is empty")
    try:
        with open_warehouse(settings, read_only=True) as con:
            unfinished = unfinished_work(con, settings.published)
            state, build = ingested_state(con), latest_build(con)
    except (WarehouseBusyError, WarehouseDamagedError) as why:
        return dg.SkipReason(f"the inbox is empty and the warehouse cannot be read now: {why}")
    if unfinished is None:
        return dg.SkipReason("the inbox is empty and the warehouse and release are up to date")
    # one request per unfinished state: a run that fails the same way is not requested again
    return dg.RunRequest(run_key=f"finish-{state}-{build[0] if build else 0}", tags=partition_range_tags(plan))
