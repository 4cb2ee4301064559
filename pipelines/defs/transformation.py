"""Every dbt model, seed and snapshot as a Dagster asset; dbt tests as asset checks."""

import contextlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.defs.jobs import DBT_LOG_TAG
from pipelines.settings import Settings
from pipelines.transformation.builds import finish_build, start_build
from pipelines.transformation.dbt_command import DBT_EXECUTABLE, write_profile
from pipelines.transformation.dbt_project import dbt_project
from pipelines.warehouse import writing


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


def dbt_resource(settings: Settings) -> dg.ResourceDefinition:
    """dbt on this home's warehouse. Made when a run starts, not when the definitions load: its
    profile is then written from the settings (dbt_command.py), so loading the definitions writes
    nothing into the home."""

    @dg.resource(description="dbt-core with this home's profile (written from the settings at each run).")
    def dbt(_) -> DbtCliResource:
        return DbtCliResource(project_dir=dbt_project(), profiles_dir=str(write_profile(settings)), dbt_executable=DBT_EXECUTABLE)

    return dbt


def dbt_warehouse_assets(settings: Settings) -> dg.AssetsDefinition:
    project = dbt_project()

    @dbt_assets(manifest=project.manifest_path, project=project, dagster_dbt_translator=SovereigntyTranslator())
    def warehouse_models(context: dg.AssetExecutionContext, dbt: dg.ResourceParam[DbtCliResource]):
        """`dbt build` of the selected models: seeds, models and their tests, in dependency order.

        Quarterly models are incremental by period, so a run after one new quarter's reports
        rebuilds only that quarter's rows. The build is recorded in audit.builds with the
        ingested state it started from; only a build that finished names the state the marts
        hold, which is what publication checks (a killed build stays 'started')."""
        with writing(settings) as con:
            build_id = start_build(con, context.run.run_id)
        # Unit tests check the SQL, not the data: the test suite runs them, production runs skip
        # them. One target folder per home (not dagster-dbt's folder per run) keeps dbt's partial
        # parse state, so a run after the first re-parses only what changed.
        args = ["build", "--exclude-resource-type", "unit_test", *settings.dbt_vars()]
        # dagster-dbt echoes every dbt line to sys.stdout; here they go to the run's dbt log (the
        # one `sovereignty run` names, or one per run) and the step's events to Dagster.
        log_path = Path(context.run.tags.get(DBT_LOG_TAG) or settings.home / "logs" / f"dbt-{context.run.run_id}.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(log_path, "a") as log, contextlib.redirect_stdout(log):
                yield from dbt.cli(args, context=context, target_path=settings.home / "dbt" / "target").stream()
        except BaseException:
            with writing(settings) as con:
                finish_build(con, build_id, "failed")
            raise
        with writing(settings) as con:
            finish_build(con, build_id, "succeeded")

    return warehouse_models
