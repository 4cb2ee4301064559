"""One ingestion asset per report kind, keyed raw/<kind> like the dbt sources that read them.

Quarterly kinds are partitioned by quarter. A run for a set of quarters ingests the pending
files whose rows all fall in those quarters; a file reaching outside them stays in the inbox
for a run that covers them (the sensor and `sovereignty run` choose the quarters from the
files, so in practice every file is covered). The first partition also ingests the quarters
before it (pipelines/ingestion/planning.py).

With SOVEREIGNTY_PROCESSES above 1 the kinds' steps run in parallel processes (executor.py).
"""


import functools
from collections import Counter

import dagster as dg

from pipelines.ingestion.contracts import KINDS, ReportKind
from pipelines.ingestion.ingest import Ingestor, LoadResult
from pipelines.ingestion.planning import first_partition, partition_keys, quarters_of_partitions
from pipelines.settings import Settings
from pipelines.warehouse import writing

INGESTION_GROUP = "ingestion"


def raw_asset_key(kind: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", kind])


def load_summary(results: list[LoadResult]) -> dict[str, dg.MetadataValue]:
    statuses = Counter(r.status for r in results)
    loads = [r for r in results if r.status not in ("deferred", "resumed")]  # counted by their own loads
    return {
        "files_loaded": dg.MetadataValue.int(statuses["loaded"]),
        "files_duplicate": dg.MetadataValue.int(statuses["duplicate"]),
        "files_rejected": dg.MetadataValue.int(statuses["rejected"]),
        "files_deferred": dg.MetadataValue.int(statuses["deferred"]),
        "files_resumed": dg.MetadataValue.int(statuses["resumed"]),
        "rows_read": dg.MetadataValue.int(sum(r.rows_read for r in loads)),
        "rows_loaded": dg.MetadataValue.int(sum(r.rows_loaded for r in loads)),
        "rows_quarantined": dg.MetadataValue.int(sum(r.rows_quarantined for r in loads)),
        "rows_skipped": dg.MetadataValue.int(sum(r.rows_skipped for r in loads)),
        "rejected_files": dg.MetadataValue.json([{"file": r.file_name, "reason": r.error} for r in results if r.status == "rejected"]),
        "loads": dg.MetadataValue.md(
            "\n".join(
                f"- `{r.file_name}`: {r.status}" + (f" ({r.error})" if r.error else f", {r.rows_loaded} rows")
                for r in results
            )
            or "no pending files"
        ),
    }


def ingestion_asset(kind: ReportKind, settings: Settings, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_asset_key(kind.name),
        group_name=INGESTION_GROUP,
        deps=[raw_asset_key(name) for name in kind.ingested_after],
        partitions_def=partitions if kind.quarterly else None,
        backfill_policy=dg.BackfillPolicy.single_run() if kind.quarterly else None,
        kinds={"polars", "duckdb"},
        description=f"Every accepted row of the '{kind.name}' reports, append-only (inputs.md); "
        "quarantined rows and the file's audit record go to the audit schema.",
    )
    def ingest(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        quarters = quarters_of_partitions(context.partition_keys, first_partition(settings)) if kind.quarterly else None
        if settings.processes > 1:
            # Other kinds' steps run beside this one: the warehouse is held while a load is recorded.
            connect = functools.partial(writing, settings, context.run.run_id)
            results = Ingestor(connect, settings.home, settings.today).ingest_kind(kind.name, quarters)
        else:
            with writing(settings, context.run.run_id) as con:
                results = Ingestor.on(con, settings.home, settings.today).ingest_kind(kind.name, quarters)
        for result in results:
            if result.status == "rejected":
                context.log.warning(f"{kind.name}: rejected {result.file_name}: {result.error}")
        return dg.MaterializeResult(metadata=load_summary(results))

    return ingest


def quarter_partitions(settings: Settings) -> dg.StaticPartitionsDefinition:
    """Quarterly partitions keyed '2025-Q1'. Dagster has no quarterly time window, and the
    warehouse's own key is the quarter label, so the keys are listed; the list grows by one key
    when a new quarter starts."""
    return dg.StaticPartitionsDefinition(partition_keys(settings))


def ingestion_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    partitions = quarter_partitions(settings)
    return [ingestion_asset(kind, settings, partitions) for kind in KINDS.values()]
