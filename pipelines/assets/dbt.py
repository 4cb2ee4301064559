"""Every dbt model, seed and snapshot as a Dagster asset; dbt tests as asset checks."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.dbt_project import DBT_EXECUTABLE, dbt_project
from pipelines.resources import WarehouseResource
from pipelines.settings import Settings
from pipelines.warehouse import ingested_state, utc_now


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


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def dbt_warehouse_assets(settings: Settings) -> dg.AssetsDefinition:
    @dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=SovereigntyTranslator())
    def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
        """`dbt build` of the selected models: seeds, models and their tests, in dependency order.

        Quarterly models are incremental by period, so a run after one new quarter's reports
        rebuilds only that quarter's rows. The build is recorded in audit.builds with the
        ingested state it started from; only a build that finished names the state the marts
        hold, which is what publication checks (a killed build stays 'started')."""
        os.environ.update(settings.export_for_dbt())  # profiles.yml reads the warehouse path from it
        build_id = start_build(warehouse, context.run.run_id)
        # Unit tests check the SQL, not the data: the test suite runs them, production runs skip
        # them. One target folder per home (not dagster-dbt's folder per run) keeps dbt's partial
        # parse state, so a run after the first re-parses only what changed.
        args = ["build", "--exclude-resource-type", "unit_test", *settings.dbt_vars()]
        try:
            yield from dbt.cli(args, context=context, target_path=settings.home / "dbt" / "target").stream()
        except BaseException:
            finish_build(warehouse, build_id, "failed")
            raise
        finish_build(warehouse, build_id, "succeeded")

    return warehouse_models


def start_build(warehouse: WarehouseResource, run_id: str) -> int:
    with warehouse.writer() as con:
        return con.execute(
            "insert into audit.builds (build_id, run_id, ingested_state, started_at, outcome) "
            "values (nextval('audit.build_id_seq'), ?, ?, ?, 'started') returning build_id",
            [run_id, ingested_state(con), utc_now()],
        ).fetchall()[0][0]


def finish_build(warehouse: WarehouseResource, build_id: int, outcome: str) -> None:
    with warehouse.writer() as con:
        con.execute("update audit.builds set outcome = ?, finished_at = ? where build_id = ?", [outcome, utc_now(), build_id])
