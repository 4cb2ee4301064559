"""The Great Expectations adapter for DuckDB (pipelines/quality/gx_duckdb.py).

These tests pin what the adapter relies on in GX 1.24. After a GX upgrade they must pass before
GX_SERIES is raised; docs/quality_gx.md says what each failure would mean.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import jinja2
import pytest
import sqlalchemy as sa

from pipelines.quality import gx_common, gx_duckdb
from pipelines.quality.gx_duckdb import TableSuite, load_suite, suite_from_dict, validate_table

REPO_ROOT = Path(__file__).resolve().parent.parent
ROWS = 1000

GOOD_ROWS = f"""
    select range as id, range % 7 as grp, 'A' || lpad(range::varchar, 4, '0') as code,
           range / 10.0 as amount
    from range({ROWS})
"""
# The same rows, broken so that exactly the expectations in FAILING fail, by known counts.
BAD_EDITS = """
    update marts.bad set amount = null where id = 5;           -- not null
    update marts.bad set amount = -1 where id = 6;             -- between; the unexpected-rows query
    update marts.bad set code = 'zz' where id in (1, 2);       -- both regexes
    update marts.bad set id = 10, grp = 3 where id = 11;       -- id and (id, grp) now repeat
"""
FAILING = {  # expectation type -> unexpected count
    "expect_column_values_to_not_be_null": 1,
    "expect_column_values_to_be_between": 1,
    "expect_compound_columns_to_be_unique": 2,
    "expect_column_values_to_be_unique": 2,
    "expect_column_values_to_match_regex": 2,  # twice in the suite; each finds the two 'zz'
    "unexpected_rows_expectation": 1,
}


def demo_suite(rows: int = ROWS, *, max_amount: float | None = None, sql_only: bool = True) -> gx.ExpectationSuite:
    expectations = [
        gxe.ExpectColumnValuesToNotBeNull(column="id"),
        gxe.ExpectColumnValuesToNotBeNull(column="amount"),
        gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=max_amount or rows / 10),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["id", "grp"]),
        gxe.ExpectColumnValuesToBeUnique(column="id"),
        gxe.ExpectTableRowCountToBeBetween(min_value=rows, max_value=rows),
        gxe.ExpectColumnValuesToMatchRegex(column="code", regex=r"^A[0-9]{4}$"),
        # Unanchored: passes only if a match anywhere in the value counts, as in pandas.
        gxe.ExpectColumnValuesToMatchRegex(column="code", regex=r"[0-9]{4}"),
    ]
    if sql_only:
        expectations.append(
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="select * from {batch} where amount < 0",
                description="amounts are never negative",
            )
        )
    return gx.ExpectationSuite(name="demo", expectations=expectations)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gx") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.good as {GOOD_ROWS}")
        con.execute("create table marts.bad as select * from marts.good")
        con.execute(BAD_EDITS)
    return path


def can_write_from_another_process(path: Path) -> subprocess.CompletedProcess:
    code = (
        f"import duckdb; con = duckdb.connect({str(path)!r}); "
        "con.execute('create or replace table probe(x int)'); con.close()"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_a_clean_table_passes(warehouse):
    outcome = validate_table(warehouse, "marts.good", demo_suite())
    assert outcome.success, outcome.summary()
    assert outcome.evaluated == 9 and outcome.failed == []
    assert outcome.raw["statistics"]["successful_expectations"] == 9
    json.dumps(outcome.raw)  # JSON-serialisable as promised


def test_a_broken_table_reports_exactly_what_failed(warehouse):
    outcome = validate_table(warehouse, "marts.bad", demo_suite())
    assert not outcome.success
    failed = sorted(f.expectation for f in outcome.failed)
    expected = sorted([*FAILING, "expect_column_values_to_match_regex"])  # both regex checks
    assert failed == expected, outcome.summary()
    for failure in outcome.failed:
        assert not failure.observed.startswith("error"), outcome.summary()  # verdicts, not crashes
        result = next(
            r["result"] for r in outcome.raw["results"]
            if r["expectation_config"]["type"] == failure.expectation
            and {k: v for k, v in r["expectation_config"]["kwargs"].items() if k != "batch_id"} == failure.kwargs
        )
        count = result.get("unexpected_count", result.get("observed_value"))
        assert count == FAILING[failure.expectation], (failure, result)
    rows = next(f for f in outcome.failed if f.expectation == "unexpected_rows_expectation")
    assert rows.description == "amounts are never negative" and rows.observed == "1 unexpected rows"
    between = next(f for f in outcome.failed if f.expectation == "expect_column_values_to_be_between")
    assert between.kwargs == {"column": "amount", "min_value": 0, "max_value": 100}
    assert "-1" in between.observed


def test_one_broken_expectation_does_not_take_the_others_down(warehouse):
    # A failed query aborts DuckDB's transaction; the adapter must start the next one afresh.
    broken = [
        gxe.UnexpectedRowsExpectation(unexpected_rows_query="select * from {batch} where no_such_column < 0"),
        gxe.ExpectColumnValuesToMatchRegex(column="code", regex="(unclosed"),
    ]
    suite = demo_suite()
    suite = gx.ExpectationSuite(name="demo", expectations=[*broken, *suite.expectations])
    outcome = validate_table(warehouse, "marts.good", suite)
    assert [f.observed.split(":")[0] for f in outcome.failed] == ["error", "error"], outcome.summary()
    assert "no_such_column" in outcome.failed[0].observed and "missing )" in outcome.failed[1].observed
    assert outcome.evaluated == 11


def test_row_filter_restricts_the_rows_checked(warehouse):
    suite = demo_suite(rows=500, max_amount=ROWS / 10)
    assert not validate_table(warehouse, "marts.bad", suite).success  # all 1000 rows, broken ones too
    outcome = validate_table(warehouse, "marts.bad", suite, row_filter="id >= 500")
    assert outcome.success, outcome.summary()
    assert outcome.target == "marts.bad where id >= 500"


def test_sql_and_pandas_agree_on_the_same_rows(warehouse):
    """The regex fix must search like GX's pandas engine; every count must match."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute("select * from marts.bad order by id").df()
    suite = demo_suite(sql_only=False)
    in_duckdb = validate_table(warehouse, "marts.bad", suite)
    # GX's own pandas engine, through its public API, on the same rows
    context = gx.get_context(mode="ephemeral")
    batch = context.data_sources.add_pandas("frames").add_dataframe_asset("bad").add_batch_definition_whole_dataframe("all")
    in_pandas = batch.get_batch(batch_parameters={"dataframe": frame}).validate(context.suites.add(suite_from_dict(
        suite.to_json_dict())), result_format="BASIC").to_json_dict()

    def counts(results):
        return sorted(
            (r["expectation_config"]["type"], str(r["expectation_config"]["kwargs"].get("regex")),
             r["success"], r["result"].get("unexpected_count", r["result"].get("observed_value")))
            for r in results
        )

    assert counts(in_duckdb.raw["results"]) == counts(in_pandas["results"])


def test_every_connection_is_closed_and_another_process_can_write(warehouse):
    opened, closed = [], []
    listeners = [
        (sa.pool.Pool, "connect", lambda dbapi_con, record: opened.append(id(dbapi_con))),
        (sa.pool.Pool, "close", lambda dbapi_con, record: closed.append(id(dbapi_con))),
        (sa.pool.Pool, "close_detached", lambda dbapi_con: closed.append(id(dbapi_con))),
    ]
    for target, name, fn in listeners:
        sa.event.listen(target, name, fn)
    try:
        validate_table(warehouse, "marts.good", demo_suite())
        # A missing table is not an exception: GX reports every expectation as failed by the error.
        missing = validate_table(warehouse, "marts.does_not_exist", demo_suite())
        assert not missing.success and len(missing.failed) == missing.evaluated
        assert all(f.observed.startswith("error:") and "does_not_exist" in f.observed for f in missing.failed)
    finally:
        for target, name, fn in listeners:
            sa.event.remove(target, name, fn)
    # every connection opened here is closed (a pool of an earlier test may close its own meanwhile)
    assert opened and set(opened) <= set(closed), "GX left a DuckDB connection open"

    # DuckDB's file lock is free: another process can write, and so can this one.
    probe = can_write_from_another_process(warehouse)
    assert probe.returncode == 0, probe.stderr
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table probe")


def test_a_connection_this_process_holds_is_used_not_closed(warehouse):
    # A writer holding the file (with its own settings) makes DuckDB refuse any second open of
    # it in this process, read-only or not; passing the connection itself works.
    with duckdb.connect(str(warehouse), config={"memory_limit": "1GB"}) as held:
        with pytest.raises(Exception, match="different configuration"):
            validate_table(warehouse, "marts.good", demo_suite())
        outcome = validate_table(held, "marts.bad", demo_suite())
        assert sorted({f.expectation for f in outcome.failed}) == sorted(FAILING), outcome.summary()
        held.execute("create or replace table marts.written_after(x int)")  # still open, writable
        held.execute("drop table marts.written_after")


def test_data_docs_are_written_for_every_validation(warehouse, tmp_path):
    docs = tmp_path / "quality" / "docs"
    passed = validate_table(warehouse, "marts.good", demo_suite(), docs_dir=docs)
    failed = validate_table(warehouse, "marts.bad", demo_suite(), docs_dir=docs)
    for outcome in (passed, failed):
        page = outcome.data_docs_path
        assert page.is_file() and page.suffix == ".html" and docs in page.parents
        assert "demo" in page.read_text(encoding="utf-8")
    # GX deletes the pages of results its context no longer holds; the earlier page must stay.
    assert passed.data_docs_path.is_file()
    index = (docs / "index.html").read_text(encoding="utf-8")
    for outcome in (passed, failed):
        assert outcome.data_docs_path.relative_to(docs).as_posix() in index
    assert len(list((docs / "validation_results").rglob("*.json"))) == 2


def test_a_stages_suites_share_one_context_and_their_data_docs_are_built_once(warehouse, tmp_path, monkeypatch):
    """validate_tables, as a check step runs a stage's suites: the outcomes in the order asked,
    each with its own page (two suites on one table share its batch), and GX's index built once
    for all of them rather than after each validation."""
    docs = tmp_path / "docs"
    built = []
    build_data_docs = gx.data_context.AbstractDataContext.build_data_docs

    def counted(self, *args, **kwargs):
        built.append(kwargs.get("resource_identifiers"))
        return build_data_docs(self, *args, **kwargs)

    monkeypatch.setattr(gx.data_context.AbstractDataContext, "build_data_docs", counted)
    single = demo_suite()
    rows_only = gx.ExpectationSuite(name="rows", expectations=[gxe.ExpectTableRowCountToBeBetween(min_value=1)])
    outcomes = gx_duckdb.validate_tables(warehouse, [
        TableSuite("marts.good", single), TableSuite("marts.bad", single), TableSuite("marts.good", rows_only),
        TableSuite("marts.bad", rows_only, row_filter="id < 10"),
    ], docs_dir=docs)
    assert [(o.suite, o.target, o.success) for o in outcomes] == [
        ("demo", "marts.good", True), ("demo", "marts.bad", False), ("rows", "marts.good", True),
        ("rows", "marts.bad where id < 10", True)]
    assert sorted({f.expectation for f in outcomes[1].failed}) == sorted(FAILING)
    assert len(built) == 1 and len(built[0]) == 4  # one build, for the four results
    index = (docs / "index.html").read_text(encoding="utf-8")
    pages = [outcome.data_docs_path for outcome in outcomes]
    assert len(set(pages)) == 4 and all(page.is_file() and page.relative_to(docs).as_posix() in index for page in pages)
    assert all(outcome.seconds > 0 for outcome in outcomes)


def test_the_data_docs_index_lists_the_newest_validations_and_older_pages_stay(warehouse, tmp_path, monkeypatch):
    """GX reads every result its index lists at every validation: the index is limited, so a check's
    cost does not grow with the home's history, and the pages of older validations stay."""
    monkeypatch.setattr(gx_common, "DATA_DOCS_INDEX_LIMIT", 2)
    docs = tmp_path / "docs"
    outcomes = [validate_table(warehouse, table, demo_suite(), docs_dir=docs) for table in ("marts.good", "marts.bad") * 2]
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert [outcome.data_docs_path.relative_to(docs).as_posix() in index for outcome in outcomes] == [False, False, True, True]
    assert all(outcome.data_docs_path.is_file() for outcome in outcomes)
    assert len(list((docs / "validation_results").rglob("*.json"))) == 4


def test_a_validation_stamped_before_the_indexed_ones_has_no_page_and_no_error(warehouse, tmp_path, monkeypatch):
    """After the clock was set back, a validation is older than the newest ones the index holds:
    GX writes no page for it, and its outcome says so (no page) instead of failing the check."""
    monkeypatch.setattr(gx_common, "DATA_DOCS_INDEX_LIMIT", 1)
    docs = tmp_path / "docs"

    class Tomorrow(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(days=1)

    with monkeypatch.context() as clock:
        clock.setattr(gx_common, "datetime", Tomorrow)
        ahead = validate_table(warehouse, "marts.good", demo_suite(), docs_dir=docs)
    behind = validate_table(warehouse, "marts.bad", demo_suite(), docs_dir=docs)
    assert ahead.data_docs_path.is_file() and behind.data_docs_path is None and not behind.success
    assert ahead.data_docs_path.relative_to(docs).as_posix() in (docs / "index.html").read_text(encoding="utf-8")


def test_data_docs_templates_are_compiled_once_per_process(warehouse, tmp_path, monkeypatch):
    """GX makes a new Jinja environment for every page it renders; the shared cache of compiled
    templates spares every validation after the first a compilation, with the same pages."""
    docs = tmp_path / "docs"
    first = validate_table(warehouse, "marts.good", demo_suite(), docs_dir=docs)
    compiled = []
    compile_template = jinja2.Environment.compile

    def counted(self, *args, **kwargs):
        compiled.append(args)
        return compile_template(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    second = validate_table(warehouse, "marts.bad", demo_suite(), docs_dir=docs)
    assert gx_common.COMPILED_TEMPLATES.code and compiled == []
    for outcome in (first, second):
        page = outcome.data_docs_path.read_text(encoding="utf-8")
        assert "demo" in page and "amount" in page and outcome.target in page


def test_suites_round_trip_through_our_json_files(tmp_path):
    path = tmp_path / "demo.json"
    document = demo_suite().to_json_dict()  # GX's layout, with the ids a context generates left out
    document.pop("id", None)
    for expectation in document["expectations"]:
        expectation.pop("id", None)
    path.write_text(json.dumps(document), encoding="utf-8")
    suite = load_suite(path)
    assert suite.name == "demo"
    assert [e.expectation_type for e in suite.expectations] == [e.expectation_type for e in demo_suite().expectations]
    assert "id" not in json.loads(path.read_text(encoding="utf-8"))["expectations"][0]

    document = json.loads(path.read_text(encoding="utf-8"))
    document["expectations"].append({"type": "expect_column_values_to_be_nonsense", "kwargs": {"column": "id"}})
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match="expect_column_values_to_be_nonsense"):
        load_suite(path)  # GX alone would drop it and run the rest


def test_the_adapter_refuses_an_unverified_gx_version():
    code = textwrap.dedent(
        """
        import great_expectations as gx
        gx.__version__ = "1.25.0"
        try:
            import pipelines.quality.gx_duckdb
        except ImportError as error:
            print(error)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert "verified with great-expectations 1.24.x but 1.25.0 is installed" in result.stdout, result.stderr
    assert gx.__version__.startswith(gx_duckdb.GX_SERIES + ".")


def test_stock_gx_still_needs_the_adapter(warehouse):
    """A canary: if plain GX starts to validate DuckDB, re-read docs/quality_gx.md, the adapter
    may be reducible. Until then the stock SQL datasource must fail as documented."""
    context = gx.get_context(mode="ephemeral")
    datasource = context.data_sources.add_sql("stock", connection_string=f"duckdb:///{warehouse}")
    try:
        asset = datasource.add_query_asset("good", query="select * from marts.good")
        batch = asset.add_batch_definition_whole_table("all").get_batch()
        result = batch.validate(demo_suite())
    finally:
        datasource.get_execution_engine().close()
        datasource.get_engine().dispose()
    assert not result.success
    messages = json.dumps([r.exception_info for r in result.results], default=str)
    assert "list index out of range" in messages


MEMORY_SCRIPT = """
import json, sys, time
from pathlib import Path
path, rows, mode, config = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
import duckdb
from tests.test_gx_duckdb import demo_suite
from pipelines.quality.gx_duckdb import validate_table

def status_mb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

suite = demo_suite(rows)
# getrusage's ru_maxrss would carry over the pytest parent's peak (Linux keeps it across fork
# and exec); VmHWM is this process's own, and writing 5 to clear_refs resets it to VmRSS.
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")
before = status_mb("VmRSS")
start = time.perf_counter()
if mode == "gx":
    outcome = validate_table(path, "big", suite, duckdb_config=config)
    verdict = outcome.success
else:  # the control: what pulling the table into pandas costs
    with duckdb.connect(str(path), read_only=True) as con:
        verdict = len(con.execute("select * from big").df()) == rows
seconds = time.perf_counter() - start
peak = status_mb("VmHWM")
print(json.dumps({"success": verdict, "seconds": seconds, "delta_mb": peak - before, "rss_before_mb": before}))
"""


def test_two_million_rows_are_validated_inside_duckdb(tmp_path, capsys):
    rows = 2_000_000
    path = tmp_path / "big.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"""create table big as
            select range as id, range % 7 as grp, 'A' || lpad((range % 10000)::varchar, 4, '0') as code,
                   (range % {rows}) / 10.0 as amount, md5(range::varchar) || md5((range + 1)::varchar) as note
            from range({rows})"""
        )

    def measure(mode: str, duckdb_config: dict | None = None) -> dict:
        result = subprocess.run(
            [sys.executable, "-c", MEMORY_SCRIPT, str(path), str(rows), mode, json.dumps(duckdb_config or {})],
            capture_output=True, text=True, cwd=REPO_ROOT, timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    in_duckdb = measure("gx", {"threads": 2})  # pinned: DuckDB sizes its hash tables per thread
    in_pandas = measure("pandas")
    with capsys.disabled():
        print(
            f"\n[gx_duckdb] {rows:,} rows, 9 expectations: {in_duckdb['seconds']:.1f} s, "
            f"peak RSS +{in_duckdb['delta_mb']:.0f} MB over {in_duckdb['rss_before_mb']:.0f} MB "
            f"(the same table in pandas: +{in_pandas['delta_mb']:.0f} MB)"
        )
    assert in_duckdb["success"] and in_pandas["success"]
    assert in_duckdb["delta_mb"] < 300, in_duckdb
    assert in_pandas["delta_mb"] > 300, "the control no longer shows what a pull into pandas costs"
