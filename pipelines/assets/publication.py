"""The publish asset: disclosure-controlled extracts, manifest and report as an immutable release.

It runs only when every blocking quality check upstream passed (write, audit, publish): Dagster
skips it when one failed, and the failing check records the withheld release itself.
"""

import hashlib
import subprocess
from datetime import datetime, timezone

import dagster as dg
import duckdb

from pipelines.jobs import RELEASE
from pipelines.publish.disclosure import DisclosurePolicy
from pipelines.publish.extracts import build_extracts
from pipelines.publish.release import parquet_bytes, publish_release
from pipelines.publish.report import render_report
from pipelines.resources import WarehouseResource
from pipelines.settings import REPO_ROOT, Settings

# outputs.md, "Publication": the marts stakeholders receive, one Parquet file each.
PUBLISHED_EXTRACTS = (
    "product_independence",
    "area_independence",
    "product_leadership",
    "area_leadership",
    "regional_development",
    "project_progress",
    "sovereignty_index",
    "sovereignty_index_uncertainty",
    # issue #13, early warning (docs/early_warning.md)
    "partner_exposure",
    "partner_exposure_yearly",
    "supply_stress",
    "risk_signals",
)


def code_version() -> str:
    """The commit the release was built from (with '+changes' when the work tree differs)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        from importlib.metadata import version

        return f"sovereignty-warehouse {version('sovereignty-warehouse')}"
    return commit.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def included_loads(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The loads a release is built from. File names are left out: senders put INNs in them."""
    rows = con.execute(
        "select load_id, kind, sha256, rows_loaded, periods from audit.loads where status = 'loaded' order by load_id"
    ).fetchall()
    return [dict(zip(("load_id", "kind", "sha256", "rows_loaded", "periods"), row)) for row in rows]


def validations(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    rows = con.execute(
        "select suite, target, blocking, success, evaluated from audit.quality_results where run_id = ? order by suite",
        [run_id],
    ).fetchall()
    return [dict(zip(("suite", "target", "blocking", "success", "expectations_evaluated"), row)) for row in rows]


def completeness_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("select detail from marts.data_quality where severity = 'warning' order by rule, detail").fetchall()
    return [detail for (detail,) in rows]


def publication_asset(settings: Settings) -> dg.AssetsDefinition:
    policy = DisclosurePolicy(settings.disclosure_min_producers, settings.disclosure_dominance_share)

    @dg.asset(
        key=RELEASE,
        deps=[dg.AssetKey(["marts", name]) for name in PUBLISHED_EXTRACTS],
        group_name="publication",
        kinds={"parquet", "html"},
        description="The stakeholders' release: disclosure-controlled Parquet extracts, manifest.json and "
        "report.html in published/<release_id>/, with published/latest naming the newest (outputs.md).",
    )
    def release(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.writer() as con:
            extracts = build_extracts(con, policy)
            files = {f"{name}.parquet": parquet_bytes(extract.frame) for name, extract in extracts.items()}

            def build_manifest(release_id: str, created_at: str) -> dict:
                return {
                    "release_id": release_id,
                    "created_at": created_at,
                    "code_version": code_version(),
                    "disclosure": {"min_producers": policy.min_producers, "dominance_share": policy.dominance_share},
                    "loads": included_loads(con),
                    "extracts": {
                        name: {
                            "file": f"{name}.parquet",
                            "rows": extract.frame.height,
                            "sha256": hashlib.sha256(files[f"{name}.parquet"]).hexdigest(),
                            "columns": [{"name": c, "type": str(t)} for c, t in extract.frame.schema.items()],
                            "suppressed_cells": extract.suppressed_cells,
                        }
                        for name, extract in extracts.items()
                    },
                    "validations": validations(con, context.run.run_id),
                    "warnings": completeness_warnings(con),
                }

            outcome = publish_release(
                settings.published,
                files,
                build_manifest,
                lambda manifest: render_report({name: e.frame for name, e in extracts.items()}, manifest),
            )
            con.execute(
                "insert into audit.publications values (nextval('audit.publication_attempt_seq'), ?, ?, ?, ?, ?, null)",
                [
                    context.run.run_id,
                    outcome.release_id,
                    datetime.now(timezone.utc).replace(tzinfo=None),
                    outcome.outcome,
                    "the data did not change since this release" if outcome.outcome == "unchanged" else None,
                ],
            )
        return dg.MaterializeResult(
            metadata={
                "outcome": dg.MetadataValue.text(outcome.outcome),
                "release_id": dg.MetadataValue.text(outcome.release_id),
                "path": dg.MetadataValue.path(str(outcome.path)),
                "report": dg.MetadataValue.path(str(outcome.path / "report.html")),
                "suppressed_cells": dg.MetadataValue.int(sum(e.suppressed_cells for e in extracts.values())),
            }
        )

    return release
