"""Run Great Expectations (GX Core 1.24) suites on DuckDB tables.

Nothing reaches stakeholders unless its data passed these checks, so this module exists to make
GX's verdicts on DuckDB trustworthy. GX 1.24 as shipped cannot validate DuckDB at all
(docs/quality_gx.md has the details, with file and line references):

1. Every SQL metric reads an empty result. `SqlAlchemyExecutionEngine.execute_query` returns the
   result after leaving its `with engine.connect()` block; closing the connection rolls back the
   transaction SQLAlchemy 2 began, and a DuckDB ROLLBACK discards the pending result set
   (duckdb-engine's "cursor" is the DuckDB connection itself, so nothing was buffered).
   `fetchall()` then returns [] and `fetchone()` None, and every expectation fails with an
   error such as "list index out of range". `DuckDBExecutionEngine` keeps one connection open
   for the whole validation (as GX already does for sqlite, SQL Server, BigQuery and
   Databricks), gives each query a fresh transaction, and closes the connection in `close()`.
2. `expect_column_values_to_match_regex` (and its not/list variants) raise NotImplementedError:
   GX has no regex expression for the duckdb dialect. We add one (`regexp_matches`, which
   searches anywhere in the string like GX's pandas implementation).

A step's suites run in one ephemeral GX context over one connection (`validate_tables`), with
suites kept as plain JSON under expectations/ (`load_suite`; the context, the run and the outcome
are gx_common.py's, shared with the Spark engine's gx_spark.py), and every SQLAlchemy engine GX
opened on the warehouse is disposed before returning, so dbt or a writer process can take
DuckDB's file lock right after.

Large tables are validated inside DuckDB (given the file or a connection this process holds):
GX sends aggregate queries and fetches at most a few example values per expectation. Not
thread-safe: GX keeps a process-wide "current context".

`validate_tables` needs the SQLAlchemy driver duckdb-engine.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import NamedTuple

import duckdb

# First: it refuses a GX other than the verified series, before anything below touches GX.
from pipelines.quality.gx_common import (
    DEFAULT_RESULT_FORMAT,
    DOCS_SITE,
    GX_SERIES,
    Failure,
    ValidationOutcome,
    asset_name,
    ephemeral_context,
    load_suite,
    outcomes,
    run_validation,
    suite_from_dict,
)

# isort: split
# GX's internals only after the version guard, on purpose.
import great_expectations as gx
import sqlalchemy as sa
from great_expectations.core.batch_definition import BatchDefinition
from great_expectations.datasource.fluent.sql_datasource import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.metrics import util as _gx_metric_util

# The shared part, imported from here by existing callers (the Dagster checks, the benchmark).
__all__ = ["DEFAULT_RESULT_FORMAT", "DOCS_SITE", "GX_SERIES", "Failure", "TableSuite", "ValidationOutcome", "load_suite",
           "suite_from_dict", "validate_table", "validate_tables"]


# --------------------------------------------------------------------------------------------
# Fix 1: one connection per validation, closed explicitly.
# --------------------------------------------------------------------------------------------


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """GX's SQL execution engine, holding one DuckDB connection until `close()`."""

    @contextmanager
    def get_connection(self) -> Iterator[sa.Connection]:
        # Replaces the `with self.engine.connect() as connection: yield connection` branch of
        # SqlAlchemyExecutionEngine.get_connection, whose exit rolls back, and so empties, the
        # result the caller is about to fetch. Here the result stays readable until the next
        # query, and GX reads each result before it sends its next query.
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
        else:
            # Each query gets a fresh transaction: after a failed query (a bad column name in
            # one expectation, say) DuckDB refuses every later statement of the transaction,
            # which would turn every expectation after it into an error.
            self._connection.rollback()
        yield self._connection

    def close(self) -> None:
        # The stock close() only disposes the engine's pool, and a pool never closes a
        # connection that is checked out, like the one held above: DuckDB's file lock would
        # outlive the validation. Close that connection first, then dispose the pool.
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


class _DuckDBDatasource(SQLDatasource):
    """GX's generic SQL datasource, computing metrics with `DuckDBExecutionEngine`.

    The leading underscore keeps GX's datasource metaclass from registering a new datasource
    type: the `type` stays "sql" and an instance is handed to `data_sources.add_sql`.
    """

    execution_engine_override = DuckDBExecutionEngine  # a ClassVar hook on GX's Datasource


# --------------------------------------------------------------------------------------------
# Fix 2: a regex expression for the duckdb dialect.
# --------------------------------------------------------------------------------------------

# The metric modules import `get_dialect_regex_expression` by name, so each import site is
# patched, once, before the first validation; a site that is gone raises then rather than
# failing a single check.
_REGEX_IMPORT_SITES = (
    "great_expectations.expectations.metrics.util",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_not_match_regex",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex_list",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_not_match_regex_list",
)
_gx_regex_expression = _gx_metric_util.get_dialect_regex_expression


def _regex_expression(column, regex, dialect, positive: bool = True):
    """GX's `get_dialect_regex_expression`, plus DuckDB.

    For a dialect it has no module for (duckdb among them), GX passes the engine's Dialect
    instance. DuckDB's `regexp_matches` is true when the pattern matches anywhere in the
    string, as GX's pandas implementation (`Series.str.contains`) is; anchor with ^ and $.
    """
    if getattr(dialect, "name", None) == "duckdb":
        matches = sa.func.regexp_matches(column, sa.literal(regex))
        return matches if positive else sa.not_(matches)
    return _gx_regex_expression(column, regex, dialect, positive)


@cache
def _install_regex_fix() -> None:
    for module_name in _REGEX_IMPORT_SITES:
        module = importlib.import_module(module_name)
        current = getattr(module, "get_dialect_regex_expression", None)
        if current not in (_gx_regex_expression, _regex_expression):
            raise ImportError(
                f"{module_name}.get_dialect_regex_expression is not GX's regex helper any more: "
                "re-verify pipelines/quality/gx_duckdb.py (docs/quality_gx.md)."
            )
        vars(module)["get_dialect_regex_expression"] = _regex_expression


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


class TableSuite(NamedTuple):
    """A suite to validate on a table: "name" or "schema.name", and the rows checked (row_filter, an
    SQL boolean expression, e.g. "period >= '2025Q1'"; pasted into the query as is, so it must
    come from our code, never from user input; None: all)."""

    table: str
    suite: gx.ExpectationSuite
    row_filter: str | None = None


def validate_tables(
    warehouse: Path | duckdb.DuckDBPyConnection,
    checks: Sequence[TableSuite],
    *,
    docs_dir: Path | None = None,
    read_only: bool = True,
    duckdb_config: dict | None = None,
    result_format: str | dict = DEFAULT_RESULT_FORMAT,
) -> list[ValidationOutcome]:
    """Validate suites on warehouse tables or views inside DuckDB, in one GX context over one
    connection; their rows are not loaded into Python. The outcomes come in the order asked.

    warehouse: the DuckDB file, or a connection this process already holds to it. DuckDB
    refuses a second open of a file in the process that has it open with other settings, so a
    caller holding a connection (a writer, say) passes that; GX then works on cursors of it,
    which see committed data only, and closes them (not the connection) when done.
    `UnexpectedRowsExpectation` queries name the rows checked {batch}.

    For a file only: read_only opens it read-only, so a check can never write (another process
    writing the file blocks that). duckdb_config goes to duckdb.connect, e.g.
    {"memory_limit": "2GB"}: uniqueness checks on large tables are hash joins and aggregates,
    which DuckDB spills to disk beyond that limit.
    """
    if importlib.util.find_spec("duckdb_engine") is None:
        raise ImportError("validate_tables needs the SQLAlchemy driver duckdb-engine.")
    _install_regex_fix()
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        from duckdb_engine import ConnectionWrapper

        held = warehouse
        url = "duckdb:///:memory:"  # only names the dialect: `creator` makes the connections
        engine_kwargs: dict[str, object] = {"creator": lambda: ConnectionWrapper(held.cursor())}
    else:
        path = Path(warehouse).resolve()
        if not path.exists():
            raise FileNotFoundError(path)  # DuckDB would create an empty database instead
        url = f"duckdb:///{path}"
        engine_kwargs = {"connect_args": {"read_only": read_only, "config": dict(duckdb_config or {})}}

    datasource = _DuckDBDatasource(name="warehouse", connection_string=url, kwargs=engine_kwargs)
    context = ephemeral_context(docs_dir)
    try:
        context.data_sources.add_sql(datasource=datasource)
        batches: dict[str, BatchDefinition] = {}  # one per query: suites on the same rows share it
        validated = []
        for table, suite, row_filter in checks:
            query = f"select * from {_quote_table(table)}" + (f" where {row_filter}" if row_filter else "")
            target = f"{table} where {row_filter}" if row_filter else table
            if query not in batches:
                # A query asset rather than a table asset: it takes "schema.name" without GX's
                # deprecated schema_name argument, and it carries the row filter. DuckDB streams
                # the unlimited `select *` GX runs on it to learn the column names: that costs nothing.
                # (named after the rows it holds: Data Docs name each page after its asset)
                asset = datasource.add_query_asset(name=asset_name(target), query=query)
                batches[query] = asset.add_batch_definition_whole_table("all rows")
            validated.append(run_validation(context, batches[query], suite, target, result_format, {}))
        return outcomes(context, validated, docs_dir)
    finally:
        _dispose_engines(datasource)


def validate_table(warehouse: Path | duckdb.DuckDBPyConnection, table: str, suite: gx.ExpectationSuite, *,
                   row_filter: str | None = None, **options) -> ValidationOutcome:
    """One suite on one table (validate_tables, whose options it takes)."""
    (outcome,) = validate_tables(warehouse, [TableSuite(table, suite, row_filter)], **options)
    return outcome


def _dispose_engines(datasource: SQLDatasource) -> None:
    """Close every DuckDB connection GX opened, so another process can take the file lock.

    A GX SQL datasource has two SQLAlchemy engines: its own (`get_engine()`: connection test,
    column reflection) and its execution engine's (metrics). GX never disposes either.
    """
    execution_engine = datasource.execution_engine  # the cached one, None if never built
    if execution_engine is not None:
        execution_engine.close()
    datasource.get_engine().dispose()


def _quote_table(table: str) -> str:
    parts = table.split(".")
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise ValueError(f"not a table name: {table!r}")
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)
