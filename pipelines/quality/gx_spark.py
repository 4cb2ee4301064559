"""Run Great Expectations (GX Core 1.24) suites on the tables dbt built on Spark.

The Spark engine's counterpart of gx_duckdb.py: the same suites (expectations/*.json), the same
GX context, checkpoint and `ValidationOutcome` (gx_common.py), so a suite's verdict, its failed
expectations and their observed values read the same on both engines and are recorded the same
way (suites.py). Only the batch differs: GX's Spark datasource over a DataFrame, which GX's
SparkDFExecutionEngine validates in Spark (aggregates; a few example values reach Python).

Where the rows come from (pipelines/transformation/spark.py):

- a dbt table ('marts.x', 'staging.y'): its Parquet folder in the Spark warehouse, declared as an
  external table of this process's in-memory catalogue (`declare_table`: partition columns with
  the type the model declares). Never Hive's catalogue in the home: dbt's process holds it.
  Through a Spark Connect server (SOVEREIGNTY_SPARK_MASTER=sc://...), the table of the server's
  catalogue, which dbt's models wrote (`make_readable`); GX 1.24's Spark datasource takes a
  Connect DataFrame and runs its metrics on the server.
- a raw table ('raw.trade'): the committed loads' raw files, money cast to DECIMAL(18,3), as
  DuckDB's raw.<kind> view reads them.

An `unexpected_rows_expectation` runs its SQL in Spark with `{batch}` standing for the DataFrame
(GX registers it as the temporary view tmp_view). Every other table its SQL names (a
cross-table rule: 'marts.product_independence') is declared the same way before the run. The
suites' SQL is written in the dialect both engines share (`is distinct from`, `any_value`,
`median`, window functions); tests/test_gx_spark.py runs every suite on both engines.

GX's regex expectations need nothing here: GX's Spark metrics use `rlike`, which, like DuckDB's
`regexp_matches` and pandas, matches anywhere in the value.

Not thread-safe (GX's "current context", and the session's catalogue is shared).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import great_expectations as gx
from great_expectations.core.batch_definition import BatchDefinition

from pipelines.ingestion.raw_layer import RAW_FOLDER
from pipelines.quality.gx_common import (
    DEFAULT_RESULT_FORMAT,
    Failure,
    ValidationOutcome,
    asset_name,
    ephemeral_context,
    outcomes,
    run_validation,
)
from pipelines.settings import Settings
from pipelines.transformation import spark

# A table a suite's SQL may name: schema.name in lower case, as every dbt relation is here.
RELATION = re.compile(r"\b([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\b")


def validate_tables(
    settings: Settings,
    checks: Sequence[tuple[str, gx.ExpectationSuite]],
    *,
    committed_loads: set[int] | None = None,
    docs_dir: Path | None = None,
    result_format: str | dict = DEFAULT_RESULT_FORMAT,
) -> list[ValidationOutcome]:
    """Validate suites on tables built on Spark (("schema.name", suite) each) in a Spark session of
    this process (`spark.reading_session`, started at the first call), in one GX context; the
    outcomes come in the order asked.

    committed_loads: the loads whose raw files count (raw_layer.committed_loads, read from the
    DuckDB warehouse); required for a raw table. A table whose folder is missing does not raise:
    every expectation of its suite fails with the error, as on DuckDB, so nothing passes by accident.
    """
    session = spark.reading_session(settings)
    context = ephemeral_context(docs_dir)
    # persist=False: GX would cache each batch in Spark's memory and never release it; a suite
    # has a few expectations, each one scan of the folder.
    datasource = context.data_sources.add_spark(name="warehouse", persist=False)
    unreadable: dict[int, ValidationOutcome] = {}
    batches: dict[str, BatchDefinition] = {}  # one per table: suites on the same table share it
    validated = []
    for position, (table, suite) in enumerate(checks):
        try:
            frame = _frame(session, settings, table, suite, committed_loads)
        except FileNotFoundError as missing:
            unreadable[position] = _unreadable(suite, table, str(missing))
            continue
        if table not in batches:
            asset = datasource.add_dataframe_asset(name=asset_name(table))  # Data Docs name the page after it
            batches[table] = asset.add_batch_definition_whole_dataframe("all rows")
        validated.append(run_validation(context, batches[table], suite, table, result_format, {"dataframe": frame}))
    read = iter(outcomes(context, validated, docs_dir))
    return [unreadable[position] if position in unreadable else next(read) for position in range(len(checks))]


def validate_table(settings: Settings, table: str, suite: gx.ExpectationSuite, **options) -> ValidationOutcome:
    """One suite on one table (validate_tables, whose options it takes)."""
    (outcome,) = validate_tables(settings, [(table, suite)], **options)
    return outcome


def _frame(session, settings: Settings, table: str, suite: gx.ExpectationSuite, committed_loads: set[int] | None):
    schema, name = table.split(".")
    # Declare the tables the suite's SQL names besides its own (those built on Spark: a name
    # with no folder is left for Spark to report as unknown, failing that expectation only).
    text = json.dumps([e.configuration.to_json_dict() for e in suite.expectations], default=str)
    named = {f"{s}.{n}" for s, n in RELATION.findall(text) if spark.table_folder(settings, f"{s}.{n}").is_dir()}
    for relation in sorted(named - {table}):
        spark.make_readable(session, settings, relation)
    if schema == RAW_FOLDER:
        if committed_loads is None:
            raise ValueError(f"{table}: a raw table is read from the committed loads' files; pass committed_loads")
        return spark.raw_frame(session, settings, name, committed_loads)
    spark.make_readable(session, settings, table)
    return session.table(table)


def _unreadable(suite: gx.ExpectationSuite, target: str, message: str) -> ValidationOutcome:
    failed = [Failure(e.expectation_type, dict(e.configuration.kwargs), f"error: {message}", e.description)
              for e in suite.expectations]
    return ValidationOutcome(suite=suite.name, target=target, success=False, evaluated=len(failed), failed=failed)
