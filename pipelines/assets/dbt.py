"""Every dbt model, seed and snapshot as a Dagster asset; dbt tests as asset checks."""

import os
import re
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.dbt_command import DBT_EXECUTABLE
from pipelines.dbt_project import dbt_project
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

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: DbtProject | None) -> dg.AssetCheckSpec | None:
        """Each dbt test as a check that says in words what it checks.

        The name stays dbt's test name: dagster-dbt (0.29) keys a check by it both here and when
        it matches dbt's test results to checks (get_asset_check_key_for_test), so a check renamed
        here would never receive its result. Readable names are therefore given in the YAML: a
        test with arguments has its own `name:` (product_independence_quarter_in_1_2_3_4, where
        dbt would write accepted_values_product_independence_quarter__False__1__2__3__4), the
        others keep dbt's test_model_column (not_null_product_independence_okpd2). The
        description says the same as a sentence, with the severity, or is the test's own
        description (singular tests are described in dbt_project/tests/singular_tests.yml)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        test = manifest["nodes"][unique_id]
        description = test.get("description") or describe_generic_test(test, asset_spec.key.to_user_string())
        if test.get("config", {}).get("severity", "error").lower() == "warn":
            description += " A failure is a warning: it does not withhold the release."
        return dg.AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=description,
            additional_deps=spec.additional_deps,
            metadata=spec.metadata,
            blocking=spec.blocking,
        )


def describe_generic_test(test: Mapping[str, Any], table: str) -> str:
    """dbt's generic tests (dbt's own and dbt_project/tests/generic/) as one sentence."""
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs", {})
    column = f"`{kwargs.get('column_name')}`"
    table = table.replace("/", ".")
    match metadata.get("name"):
        case "not_null":
            return f"{column} is never NULL in {table}."
        case "unique":
            return f"No two rows of {table} have the same {column}."
        case "unique_combination":
            return f"No two rows of {table} have the same ({', '.join(kwargs['columns'])})."
        case "accepted_values":
            return f"{column} in {table} takes only the values {', '.join(map(str, kwargs['values']))}."
        case "relationships":
            target = re.sub(r"^(ref|source)\((.*)\)$", r"\2", kwargs["to"]).replace("'", "").replace('"', "").replace(", ", ".")
            return f"Every {column} of {table} exists as `{kwargs['field']}` in {target}."
        case "between":
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            bounds = (f"between {low} and {high}" if low is not None and high is not None
                      else f"at least {low}" if low is not None else f"at most {high}")
            return f"{column} in {table} is {bounds} where it is not NULL."
    return f"dbt test {test['name']} on {table}: it fails when its query returns rows."


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
