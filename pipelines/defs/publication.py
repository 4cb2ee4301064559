"""The publish asset and the alert check on the release it writes.

The release asset runs only when every blocking quality check upstream passed (write, audit,
publish): Dagster skips it when one failed, and the failing check records the withheld release
itself. What publishing does and checks is pipelines/publication/publish.py; the alerts,
pipelines/publication/alerts.py.
"""

import dagster as dg

from pipelines.defs.executor import ONE_AT_A_TIME
from pipelines.defs.jobs import RELEASE
from pipelines.publication.alerts import alert_delivery
from pipelines.publication.attempts import InconsistentMarts
from pipelines.publication.extracts import EXTRACTS
from pipelines.publication.publish import publish
from pipelines.settings import Settings
from pipelines.warehouse import open_warehouse, writing


def publication_asset(settings: Settings, blocking_suites: list[str]) -> dg.AssetsDefinition:
    @dg.asset(
        key=RELEASE,
        deps=[dg.AssetKey(["marts", name]) for name in EXTRACTS],
        group_name="publication",
        kinds={"parquet", "html"},
        op_tags=ONE_AT_A_TIME,
        description="The stakeholders' release: disclosure-controlled Parquet extracts, manifest.json and "
        "report.html in published/<release_id>/, with published/latest naming the newest (outputs.md).",
    )
    def release(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        with writing(settings, context.run.run_id) as con:
            try:
                publication = publish(con, settings, context.run.run_id, blocking_suites)
            except InconsistentMarts as why:
                raise dg.Failure(description=f"release withheld: {why}") from None
        if publication.blocked_reason is not None:
            return dg.MaterializeResult(metadata={
                "outcome": dg.MetadataValue.text("blocked"),
                "reason": dg.MetadataValue.text(publication.blocked_reason),
            })
        assert publication.release_id is not None and publication.path is not None  # published or unchanged
        return dg.MaterializeResult(
            metadata={
                "outcome": dg.MetadataValue.text(publication.outcome),
                "release_id": dg.MetadataValue.text(publication.release_id),
                "path": dg.MetadataValue.path(str(publication.path)),
                "report": dg.MetadataValue.path(str(publication.path / "report.html")),
                "suppressed_cells": dg.MetadataValue.int(publication.suppressed_cells),
                "secondary_suppression": dg.MetadataValue.text(str(publication.secondary_suppression)),
                "solver_seconds": dg.MetadataValue.float(round(publication.solver_seconds, 3)),
            }
        )

    return release


def alert_check(settings: Settings) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=RELEASE,
        name="high_severity_signals",
        blocking=False,
        op_tags=ONE_AT_A_TIME,
        description="Marks the new high-severity risk signals of the release (it fails, as a warning, when there "
        "are any) and POSTs them as JSON to SOVEREIGNTY_ALERT_WEBHOOK (docs/early_warning.md).",
    )
    def high_severity_signals(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        with open_warehouse(settings, read_only=True) as con:
            release_id, signals, delivery = alert_delivery(con, settings, context.run.run_id)
        if signals and not delivery.delivered:
            context.log.warning(f"{len(signals)} high-severity signals not delivered: {delivery.detail}")
        return dg.AssetCheckResult(
            passed=not signals,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "release_id": dg.MetadataValue.text(release_id or "none (unchanged)"),
                "new_high_signals": dg.MetadataValue.int(len(signals)),
                "signals": dg.MetadataValue.md("\n".join(f"- {s['message']}" for s in signals) or "none"),
                "delivered": dg.MetadataValue.bool(delivery.delivered),
                "delivery": dg.MetadataValue.text(delivery.detail),
            },
        )

    return high_severity_signals
