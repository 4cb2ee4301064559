"""What validating a suite means whichever engine holds the table: GX Core 1.24 set up once.

The engine adapters (gx_duckdb.py: inside DuckDB; gx_spark.py: over a Spark DataFrame read from
the table's folder) only make the batch GX reads; everything else is here and shared: the version
guard, suites read from our JSON files (`load_suite`), the throwaway GX context with its Data Docs
site, the checkpoint run, the Data Docs of a step's validations (built once for all of them) and
the conversion of GX's result into a `ValidationOutcome` (the same fields, failures and observed
values on both engines, recorded the same way by suites.py).

Not thread-safe: GX keeps a process-wide "current context".
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlparse

import great_expectations as gx

# The adapters reach into GX internals (the SQL execution engine's connection handling, the regex
# helper's import sites, the datasource's engine-override hook, the Data Docs index builder's
# clean-up and limit, the Data Docs views' Jinja environment, the Spark query metrics' temporary
# view). They were verified against 1.24 only.
GX_SERIES = "1.24"
if not gx.__version__.startswith(GX_SERIES + "."):
    raise ImportError(
        f"pipelines.quality's GX adapters were verified with great-expectations {GX_SERIES}.x but "
        f"{gx.__version__} is installed. Re-verify them before use (docs/quality_gx.md, "
        "'Re-verifying after a GX upgrade'): run `pytest tests/test_gx_duckdb.py tests/test_gx_spark.py`, "
        "then update GX_SERIES."
    )

from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult  # noqa: E402
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier  # noqa: E402
from great_expectations.render.view.view import DefaultJinjaView  # noqa: E402
from jinja2 import BytecodeCache, Environment  # noqa: E402  (GX's Data Docs views render through Jinja)
from jinja2.bccache import Bucket  # noqa: E402

from pipelines.quality.offline_docs import make_offline  # noqa: E402

DOCS_SITE = "sovereignty_quality"
# BASIC gives counts, observed values and up to 20 example values per expectation; SUMMARY and
# COMPLETE add per-value tallies and index lists, which cost extra queries on a large table.
DEFAULT_RESULT_FORMAT = "BASIC"
# The Data Docs index lists the newest this many validations (some 20 runs of every suite).
# GX rebuilds the index at every validation by reading each result it lists: unlimited, it read
# every result the home had ever stored, so a check's cost grew with the home's history
# (docs/performance.md). Older pages stay on disk, linked from their check results.
DATA_DOCS_INDEX_LIMIT = 340


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
    seconds: float = 0.0  # the validation's own time
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
# Data Docs: templates compiled once per process
# --------------------------------------------------------------------------------------------


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept for the life of the process.

    GX renders each Data Docs page and index with a new view, whose new Jinja environment
    compiles every template again: some 33 templates per validation, 0.27 of its 0.43 s of Data
    Docs (docs/performance.md). Jinja keys the compiled code by the template's name and a checksum
    of its source, so a changed template is compiled anew; the pages are the same."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()
_gx_view_init = DefaultJinjaView.__init__


def _view_init_with_compiled_templates(self, *args, **kwargs) -> None:
    """GX's DefaultJinjaView.__init__ (every page, section and index view), then the shared cache on
    the environment it made (verified against GX 1.24: the view keeps it as `env`)."""
    _gx_view_init(self, *args, **kwargs)
    if not isinstance(getattr(self, "env", None), Environment):
        raise ImportError("GX's DefaultJinjaView no longer keeps its Jinja environment as `env`: re-verify "
                          "pipelines/quality/gx_common.py (docs/quality_gx.md).")
    self.env.bytecode_cache = COMPILED_TEMPLATES


DefaultJinjaView.__init__ = _view_init_with_compiled_templates  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def ephemeral_context(docs_dir: Path | None):
    """A throwaway GX context: in-memory stores, plus a filesystem Data Docs site if asked.

    GX rebuilds a site's index from the context's validation results store and deletes every
    page it finds no stored result for (DefaultSiteIndexBuilder.build, skip_and_clean_missing).
    With in-memory stores each validation would wipe the pages of all earlier ones, so when docs
    are asked for, validation results are kept beside them (docs_dir/validation_results/, one
    JSON per run). Suite pages are not built: suites live as JSON under expectations/, each
    validation page lists its expectations, and GX would delete every other suite's page. The
    index lists the newest DATA_DOCS_INDEX_LIMIT validations; it deletes no page whose result is
    stored, so the pages of older ones stay.
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
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "validation_results_limit": DATA_DOCS_INDEX_LIMIT},
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


@dataclass(frozen=True)
class Validated:
    """One suite's GX result, before its Data Docs page exists."""

    target: str
    result_id: ValidationResultIdentifier
    result: ExpectationSuiteValidationResult
    seconds: float  # the validation's own time (the Data Docs of the batch are built after)


def run_validation(context, batch_definition, suite, target, result_format, batch_parameters) -> Validated:
    """Validate one batch in the context; its result is stored in the context's results store (on
    disk when docs are asked for), its page is built with the others' (`outcomes`)."""
    started = time.monotonic()
    suite = _suite_in(context, suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite.name} on {target}", data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=f"check {suite.name} on {target}", validation_definitions=[definition], result_format=result_format)
    )
    run_id = RunIdentifier(run_name=asset_name(target), run_time=datetime.now(UTC))
    checkpoint_result = checkpoint.run(batch_parameters=batch_parameters, run_id=run_id)
    ((result_id, result),) = checkpoint_result.run_results.items()
    return Validated(target, result_id, result, time.monotonic() - started)


def _suite_in(context, suite: gx.ExpectationSuite) -> gx.ExpectationSuite:
    """The context's copy of the suite: a suite object belongs to the context it was added to, and
    callers reuse theirs; a suite validated on a second table in the same context is added once."""
    wanted = suite_from_dict(suite.to_json_dict())
    if any(known.name == suite.name for known in context.suites.all()):
        known = context.suites.get(suite.name)
        if suite_from_dict(known.to_json_dict()).to_json_dict() != wanted.to_json_dict():
            raise ValueError(f"two different suites are named {suite.name!r}")
        return known
    return context.suites.add(wanted)


def outcomes(context, validated: list[Validated], docs_dir: Path | None) -> list[ValidationOutcome]:
    """The outcomes of the context's validations, with their Data Docs pages when docs are asked for.

    The pages and the index are built once for all of them: GX's UpdateDataDocsAction rebuilds the
    index (reading each stored result it lists) after every single validation, which made Data
    Docs most of a small suite's cost (docs/performance.md)."""
    pages: list[Path | None] = [None] * len(validated)
    if docs_dir is not None and validated:
        site = Path(docs_dir).resolve()
        context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=[v.result_id for v in validated])
        make_offline(site, site / "index.html")  # GX rewrote the index, loading from CDNs
        for position, done in enumerate(validated):
            (url,) = context.get_docs_sites_urls(resource_identifier=done.result_id, site_name=DOCS_SITE)
            page = Path(unquote(urlparse(url["site_url"]).path))
            # GX writes the page of a validation among the newest DATA_DOCS_INDEX_LIMIT only: one
            # stamped older than those (a clock set back) has its result but no page.
            if page.is_file():
                make_offline(site, page)
                pages[position] = page
    return [_outcome(done, page) for done, page in zip(validated, pages, strict=True)]


def _outcome(done: Validated, page: Path | None) -> ValidationOutcome:
    result = done.result
    failed = []
    for expectation in result.results:
        config = expectation.expectation_config
        if config is None:  # GX puts each expectation's configuration in its result
            raise ValueError(f"{result.suite_name}: GX returned a result without its expectation")
        if not expectation.success:
            failed.append(Failure(config.type, _asked(config.kwargs), _observed(expectation), config.description))
    return ValidationOutcome(
        suite=result.suite_name,
        target=done.target,
        success=bool(result.success),
        evaluated=int(result.statistics["evaluated_expectations"]),
        failed=failed,
        data_docs_path=page,
        seconds=done.seconds,
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


def asset_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:100] or "data"


def _asked(kwargs: dict) -> dict:
    # GX adds its own bookkeeping to the kwargs it reports; keep what the expectation was asked.
    return {k: v for k, v in dict(kwargs).items() if k not in ("batch_id", "result_format")}
