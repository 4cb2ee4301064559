"""The Dagster definitions: `dagster dev` and `sovereignty run` both load these."""

from __future__ import annotations

import dagster as dg

from pipelines.assets.dbt import dbt_resource, dbt_warehouse_assets
from pipelines.assets.ingestion import ingestion_assets
from pipelines.assets.publication import publication_asset
from pipelines.checks import blocking_suites, quality_checks
from pipelines.jobs import main_job, publish_job
from pipelines.partitions import quarter_partitions
from pipelines.publish.alerts import alert_check
from pipelines.resources import WarehouseResource
from pipelines.schedules import nightly_schedule
from pipelines.sensors import inbox_sensor
from pipelines.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions = quarter_partitions(settings)
    checks = quality_checks()
    alerts = alert_check(settings)
    return dg.Definitions(
        assets=[*ingestion_assets(settings, partitions), dbt_warehouse_assets(settings), publication_asset(settings, blocking_suites())],
        asset_checks=[*checks, alerts],
        jobs=[main_job, publish_job(checks, alerts)],
        sensors=[inbox_sensor(settings)],
        schedules=[nightly_schedule(settings)],
        resources={"warehouse": WarehouseResource.from_settings(settings), "dbt": dbt_resource()},
        # One step at a time: DuckDB takes one writing process per file.
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
