"""The Dagster definitions: `dagster dev`, `make ui` and `sovereignty run` all load these.

The wiring of the stages, which never import it: ingestion assets (pipelines/defs/ingestion.py),
the dbt build with the computed layer's tables (transformation.py), the quality checks (quality.py) and the release with its
alerts (publication.py), with the jobs, sensor and schedule that start them.
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs.executor import run_executor
from pipelines.defs.ingestion import ingestion_assets
from pipelines.defs.jobs import main_job, publish_job
from pipelines.defs.publication import alert_check, publication_asset
from pipelines.defs.quality import quality_checks
from pipelines.defs.schedules import nightly_schedule
from pipelines.defs.sensors import inbox_sensor
from pipelines.defs.transformation import computed_asset_specs, dbt_resource, dbt_warehouse_assets
from pipelines.quality.suites import blocking_suites
from pipelines.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    checks = quality_checks(settings)
    alerts = alert_check(settings)
    return dg.Definitions(
        assets=[*ingestion_assets(settings), dbt_warehouse_assets(settings), *computed_asset_specs(),
                publication_asset(settings, blocking_suites())],
        asset_checks=[*checks, alerts],
        jobs=[main_job, publish_job(checks, alerts)],
        sensors=[inbox_sensor(settings)],
        schedules=[nightly_schedule(settings)],
        resources={"dbt": dbt_resource(settings)},
        executor=run_executor(settings),
    )


defs = build_definitions(Settings.from_env())


def job_named(name: str) -> dg.JobDefinition:
    """One of these definitions' jobs: how each step process of the multiprocess executor loads
    the job that `sovereignty run` runs (pipelines/defs/executor.py)."""
    return defs.resolve_job_def(name)
