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

Each validation runs in its own ephemeral GX context, with suites kept as plain JSON under
expectations/ (`load_suite`), and every SQLAlchemy engine GX opened on the warehouse is
disposed before returning, so dbt or a writer process can take DuckDB's file lock right after.

Large tables are validated inside DuckDB (`validate_table`, given the file or a connection
this process holds): GX sends aggregate queries and fetches at most a few example values per
expectation. Not thread-safe: GX keeps a process-wide "current context".

`validate_table` needs the SQLAlchemy driver duckdb-engine.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlparse

import duckdb
import great_expectations as gx

# The fixes below reach into GX internals (the execution engine's connection handling, the
# regex helper's import sites, the datasource's engine-override hook, the Data Docs index
# builder's clean-up). They were verified against 1.24 only.
GX_SERIES = "1.24"
if not gx.__version__.startswith(GX_SERIES + "."):
    raise ImportError(
        f"pipelines.quality.gx_duckdb was verified with great-expectations {GX_SERIES}.x but "
        f"{gx.__version__} is installed. Re-verify the adapter before use (docs/quality_gx.md, "
        "'Re-verifying after a GX upgrade'): run `pytest tests/test_gx_duckdb.py`, then update "
        "GX_SERIES."
    )

import sqlalchemy as sa  # noqa: E402  (after the version guard on purpose)
from great_expectations.checkpoint import UpdateDataDocsAction, ValidationAction  # noqa: E402
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.datasource.fluent.sql_datasource import SQLDatasource  # noqa: E402
from great_expectations.execution_engine import SqlAlchemyExecutionEngine  # noqa: E402
from great_expectations.expectations.metrics import util as _gx_metric_util  # noqa: E402

from pipelines.quality.offline_docs import make_offline  # noqa: E402

DOCS_SITE = "sovereignty_quality"
# BASIC gives counts, observed values and up to 20 example values per expectation; SUMMARY and
# COMPLETE add per-value tallies and index lists, which cost extra queries on a large table.
DEFAULT_RESULT_FORMAT = "BASIC"


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
# Suites and outcomes
# --------------------------------------------------------------------------------------------


class Failure(NamedTuple):
    """One expectation that did not pass, or could not be evaluated."""

    expectation: str  # e.g. "expect_column_values_to_not_be_null"
    kwargs: dict  # what it was asked, e.g. {"column": "inn"}
    observed: str  # what GX saw, or the error that stopped it
    description: str | None = None  # the expectation's own description, if it has one


@dataclass
class ValidationOutcome:
    suite: str
    target: str  # the table (with its row filter) or the frame's name
    success: bool
    evaluated: int  # expectations evaluated
    failed: list[Failure] = field(default_factory=list)
    data_docs_path: Path | None = None  # this validation's HTML page, when docs were asked for
    raw: dict = field(default_factory=dict)  # GX's full result, JSON-serialisable

    def summary(self) -> str:
        verdict = "passed" if self.success else f"FAILED {len(self.failed)} of {self.evaluated}"
        lines = [f"{self.suite} on {self.target}: {verdict}"]
        lines += [f"  - {f.expectation} {f.kwargs}: {f.observed}" for f in self.failed]
        return "\n".join(lines)


def load_suite(path: Path) -> gx.ExpectationSuite:
    """Read an expectation suite from one of our JSON files (GX's own suite layout):

        {"name": "...", "expectations": [{"type": "expect_...", "kwargs": {...}}, ...]}

    GX's ExpectationSuite constructor logs and DROPS an expectation whose type it does not know;
    a check that silently disappears is worse than a crash, so the expectations are counted.
    (Wrong or missing kwargs already raise a pydantic ValidationError.)
    """
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    suite = suite_from_dict(document)
    asked = [e.get("type") for e in document.get("expectations", [])]
    kept = [e.expectation_type for e in suite.expectations]
    if len(kept) != len(asked):
        dropped = sorted(set(asked) - set(kept)) or asked
        raise ValueError(f"{path}: GX rejected expectation(s) {dropped} (its error is logged above)")
    return suite


def suite_from_dict(document: dict) -> gx.ExpectationSuite:
    """A new suite from GX's suite JSON, ignoring the ids GX generates (they are per context)."""
    document = dict(document)
    document.pop("id", None)
    expectations = [{k: v for k, v in e.items() if k != "id"} for e in document.pop("expectations", [])]
    return gx.ExpectationSuite(expectations=expectations, **document)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def validate_table(
    warehouse: Path | duckdb.DuckDBPyConnection,
    table: str,
    suite: gx.ExpectationSuite,
    *,
    docs_dir: Path | None = None,
    row_filter: str | None = None,
    read_only: bool = True,
    duckdb_config: dict | None = None,
    result_format: str | dict = DEFAULT_RESULT_FORMAT,
) -> ValidationOutcome:
    """Validate a warehouse table or view inside DuckDB; its rows are not loaded into Python.

    warehouse: the DuckDB file, or a connection this process already holds to it. DuckDB
    refuses a second open of a file in the process that has it open with other settings, so a
    caller holding a connection (a writer, say) passes that; GX then works on cursors of it,
    which see committed data only, and closes them (not the connection) when done.

    table: "name" or "schema.name". row_filter: an SQL boolean expression restricting the rows
    checked (e.g. "period >= '2025Q1'"); it is pasted into the query as is, so it must come
    from our code, never from user input. `UnexpectedRowsExpectation` queries name the rows
    checked {batch}.

    For a file only: read_only opens it read-only, so a check can never write (another process
    writing the file blocks that). duckdb_config goes to duckdb.connect, e.g.
    {"memory_limit": "2GB"}: uniqueness checks on large tables are hash joins and aggregates,
    which DuckDB spills to disk beyond that limit.
    """
    if importlib.util.find_spec("duckdb_engine") is None:
        raise ImportError("validate_table needs the SQLAlchemy driver duckdb-engine.")
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

    query = f"select * from {_quote_table(table)}"
    target = table
    if row_filter:
        query += f" where {row_filter}"
        target = f"{table} where {row_filter}"

    datasource = _DuckDBDatasource(name="warehouse", connection_string=url, kwargs=engine_kwargs)
    context = _ephemeral_context(docs_dir)
    try:
        context.data_sources.add_sql(datasource=datasource)
        # A query asset rather than a table asset: it takes "schema.name" without GX's
        # deprecated schema_name argument, and it carries the row filter. DuckDB streams the
        # unlimited `select *` GX runs on it to learn the column names, so that costs nothing.
        asset = datasource.add_query_asset(name=_asset_name(table), query=query)
        batch_definition = asset.add_batch_definition_whole_table("all rows")
        return _run(context, batch_definition, suite, target, docs_dir, result_format, {})
    finally:
        _dispose_engines(datasource)


def _ephemeral_context(docs_dir: Path | None):
    """A throwaway GX context: in-memory stores, plus a filesystem Data Docs site if asked.

    GX rebuilds a site's index from the context's validation results store and deletes every
    page it finds no stored result for (DefaultSiteIndexBuilder.build, skip_and_clean_missing).
    With in-memory stores each validation would wipe the pages of all earlier ones, so when docs
    are asked for, validation results are kept beside them (docs_dir/validation_results/, one
    JSON per run). Suite pages are not built: suites live as JSON under expectations/, each
    validation page lists its expectations, and GX would delete every other suite's page.
    """
    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    stores = defaults.stores
    sites = {}
    if docs_dir is not None:
        docs_dir = Path(docs_dir).resolve()
        docs_dir.mkdir(parents=True, exist_ok=True)
        stores[defaults.validation_results_store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir / "validation_results"),
        }
        sites[DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "site_section_builders": {"expectations": "None", "profiling": "None"},
        }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _run(context, batch_definition, suite, target, docs_dir, result_format, batch_parameters) -> ValidationOutcome:
    # A copy: a suite object belongs to the context it was added to, and callers reuse theirs.
    suite = context.suites.add(suite_from_dict(suite.to_json_dict()))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite.name} on {target}", data=batch_definition, suite=suite)
    )
    actions: list[ValidationAction] = [UpdateDataDocsAction(name="data docs", site_names=[DOCS_SITE])] if docs_dir else []
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"check {suite.name} on {target}",
            validation_definitions=[definition],
            actions=actions,
            result_format=result_format,
        )
    )
    run_id = RunIdentifier(run_name=_asset_name(target), run_time=datetime.now(UTC))
    checkpoint_result = checkpoint.run(batch_parameters=batch_parameters, run_id=run_id)
    ((result_id, result),) = checkpoint_result.run_results.items()

    docs_path = None
    if docs_dir is not None:
        (site,) = context.get_docs_sites_urls(resource_identifier=result_id, site_name=DOCS_SITE)
        docs_path = Path(unquote(urlparse(site["site_url"]).path))
        # GX rewrote the index and wrote this validation's page, both loading from CDNs
        for page in (Path(docs_dir).resolve() / "index.html", docs_path):
            make_offline(Path(docs_dir).resolve(), page)

    failed = [
        Failure(
            r.expectation_config.type,
            _asked(r.expectation_config.kwargs),
            _observed(r),
            r.expectation_config.description,
        )
        for r in result.results
        if not r.success
    ]
    return ValidationOutcome(
        suite=suite.name,
        target=target,
        success=bool(result.success),
        evaluated=int(result.statistics["evaluated_expectations"]),
        failed=failed,
        data_docs_path=docs_path,
        raw=json.loads(json.dumps(result.to_json_dict(), default=str)),
    )


def _observed(result) -> str:
    """A one-line account of why an expectation failed."""
    info = result.exception_info or {}
    # Either {"raised_exception": ..., "exception_message": ...}, or, when metrics failed, a
    # mapping from each failed metric's id to such a dict.
    errors = [info] if "raised_exception" in info else list(info.values())
    messages = [e["exception_message"] for e in errors if isinstance(e, dict) and e.get("raised_exception")]
    if messages:
        return "error: " + "; ".join(str(m) for m in messages)
    r = result.result or {}
    if result.expectation_config.type == "unexpected_rows_expectation":
        return f"{r.get('observed_value')} unexpected rows"
    parts = []
    if "observed_value" in r:
        parts.append(f"observed {r['observed_value']!r}")
    if r.get("unexpected_count") is not None:
        share = r.get("unexpected_percent") or 0
        parts.append(f"{r['unexpected_count']} unexpected of {r.get('element_count')} ({share:.3g}%)")
    if r.get("partial_unexpected_list"):
        parts.append(f"e.g. {r['partial_unexpected_list'][:5]!r}")
    return ", ".join(parts) or "failed"


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


def _asset_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:100] or "data"


def _asked(kwargs: dict) -> dict:
    # GX adds its own bookkeeping to the kwargs it reports; keep what the expectation was asked.
    return {k: v for k, v in dict(kwargs).items() if k not in ("batch_id", "result_format")}
