"""What do the GX quality checks cost, compared with the same checks as plain DuckDB SQL?

    python benchmarks/gx_vs_sql.py --warehouse FILE [--suites blocking|all] [--output FILE.json]

On the same warehouse file and in one run, for each suite in expectations/:
  GX   the project's own path, exactly what the Dagster asset checks run (pipelines/defs/quality.py):
       load_suite + validate_table, read-only, Data Docs written into a temporary folder;
  SQL  every expectation of the suite translated mechanically from the suite JSON into one
       DuckDB query, run on one read-only connection per suite (opening and closing it is
       timed, as GX's engines are).
The two must agree on every expectation's pass/fail: any disagreement is printed and the script
exits with status 1. Machines here are noisy: compare the ratios of one run, not seconds across
runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import great_expectations as gx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from pipelines.quality.gx_duckdb import load_suite, validate_table  # noqa: E402

EXPECTATIONS_DIR = REPO / "expectations"
GX_BOOKKEEPING = ("batch_id", "result_format")  # kwargs GX adds to those a suite asked for


# --- expectation -> SQL ------------------------------------------------------------------------
# Each translation returns (sql, params, verdict), verdict turning the query's one row into
# pass/fail. The verdicts follow GX 1.24's own rules (expectations/expectation.py), so that a
# disagreement means the SQL checks something else, not that it rounds differently:
#   column map expectations ignore nulls, pass vacuously when no row is considered, and pass
#   when (considered - unexpected) / considered >= mostly (default 1).


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def quote_table(table: str) -> str:
    return ".".join(quote(part) for part in table.split("."))


def mostly_verdict(mostly: float):
    def verdict(row) -> bool:
        considered, unexpected = row
        return considered == 0 or (considered - unexpected) / considered >= mostly
    return verdict


def in_range(value, k) -> bool:
    """min/max inclusive unless strict_min/strict_max; a missing bound is no bound."""
    low, high = k.get("min_value"), k.get("max_value")
    if low is not None and (value <= low if k.get("strict_min") else value < low):
        return False
    return high is None or (value < high if k.get("strict_max") else value <= high)


def column_map(table: str, k: dict, condition: str, params: list):
    """A column map expectation: rows whose non-null value fails `condition` are unexpected."""
    col = quote(k["column"])
    sql = f"select count({col}), count(*) filter (where {col} is not null and not ({condition})) from {table}"
    return sql, params, mostly_verdict(k.get("mostly", 1))


def between_condition(k: dict) -> tuple[str, list]:
    col, parts, params = quote(k["column"]), [], []
    if k.get("min_value") is not None:
        parts.append(f"{col} {'>' if k.get('strict_min') else '>='} ?")
        params.append(k["min_value"])
    if k.get("max_value") is not None:
        parts.append(f"{col} {'<' if k.get('strict_max') else '<='} ?")
        params.append(k["max_value"])
    if not parts:
        raise ValueError(f"expect_column_values_to_be_between without bounds: {k}")
    return " and ".join(parts), params


def columns_match(k: dict):
    """GX on SQL: a "quoted" name matches exactly, any other name case-insensitively; with
    exact_match false, extra table columns are fine but a missing one fails."""
    is_quoted = [len(c) > 1 and c[0] == c[-1] == '"' for c in k["column_set"]]
    quoted = {c[1:-1] for c, q in zip(k["column_set"], is_quoted) if q}
    unquoted = {c.lower() for c, q in zip(k["column_set"], is_quoted) if not q}

    def verdict(row) -> bool:
        actual = set(row[0])
        missing = (quoted - actual) | (unquoted - {c.lower() for c in actual})
        extra = {c for c in actual if c not in quoted and c.lower() not in unquoted}
        return not missing and not (k.get("exact_match", True) and extra)
    return verdict


def translate(kind: str, k: dict, table: str):
    t = quote_table(table)
    if kind == "expect_table_row_count_to_be_between":
        return f"select count(*) from {t}", [], lambda row: in_range(row[0], k)
    if kind == "expect_table_columns_to_match_set":
        return f"select list(column_name) from (describe select * from {t})", [], columns_match(k)
    if kind == "expect_column_values_to_not_be_null":
        # GX's own rule here: every row counts (nulls are what it looks for).
        col = quote(k["column"])
        return f"select count(*), count(*) - count({col}) from {t}", [], mostly_verdict(k.get("mostly", 1))
    if kind == "expect_column_values_to_be_between":
        return column_map(t, k, *between_condition(k))
    if kind == "expect_column_values_to_be_in_set":
        marks = ", ".join("?" for _ in k["value_set"])
        return column_map(t, k, f"{quote(k['column'])} in ({marks})", list(k["value_set"]))
    if kind == "expect_column_values_to_match_regex":
        # regexp_matches finds the pattern anywhere in the value, as the adapter's GX regex does
        # (regexp_full_match would only differ on an unanchored pattern; ours are anchored).
        return column_map(t, k, f"regexp_matches({quote(k['column'])}, ?)", [k["regex"]])
    if kind == "expect_compound_columns_to_be_unique":
        # GX ignores rows whose key is all null (ignore_row_if default) and counts as unexpected
        # every row of a duplicated key; its SQL joins on key equality, so keys with a null in
        # them are never duplicates.
        cols = [quote(c) for c in k["column_list"]]
        all_null = " and ".join(f"{c} is null" for c in cols)
        no_null = " and ".join(f"{c} is not null" for c in cols)
        sql = (f"select (select count(*) from {t} where not ({all_null})), "
               f"(select coalesce(sum(n), 0) from (select count(*) as n from {t} where {no_null} "
               f"group by {', '.join(cols)} having count(*) > 1))")
        return sql, [], mostly_verdict(k.get("mostly", 1))
    if kind == "unexpected_rows_expectation":
        # GX substitutes {batch} with str.format too ({{ }} escape a brace); passes on zero rows.
        query = k["unexpected_rows_query"].format(batch=t)
        return f"select count(*) from ({query})", [], lambda row: row[0] == 0
    raise NotImplementedError(f"no SQL translation for expectation type {kind!r}")


# kwargs a translation honours; any other (row_condition, a non-default ignore_row_if, ...) would
# change what is checked, so it stops the run instead of being silently ignored.
HANDLED = {"column", "mostly", "min_value", "max_value", "strict_min", "strict_max", "regex",
           "value_set", "column_list", "column_set", "exact_match", "unexpected_rows_query"}


def expectation_key(kind: str, kwargs: dict) -> str:
    """Pairs a suite's expectation with GX's result for it (GX reports min_value 0 as 0.0)."""
    def same_numbers(value):
        if isinstance(value, (list, tuple)):
            return [same_numbers(v) for v in value]
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    asked = {k: same_numbers(v) for k, v in kwargs.items() if k not in GX_BOOKKEEPING}
    return kind + json.dumps(asked, sort_keys=True, default=str)


def sql_plan(table: str, expectations: list[dict]) -> list[tuple]:
    """(key, sql, params, verdict) per expectation; raises on anything it cannot translate."""
    plan = []
    for e in expectations:
        kind, k = e["type"], dict(e.get("kwargs", {}))
        if k.get("ignore_row_if") == "all_values_are_missing":  # GX's default, translated
            del k["ignore_row_if"]
        if set(k) - HANDLED:
            raise NotImplementedError(f"{kind}: kwargs {sorted(set(k) - HANDLED)} not translated")
        plan.append((expectation_key(kind, e.get("kwargs", {})), *translate(kind, k, table)))
    return plan


def run_sql(warehouse: Path, plan: list[tuple]) -> list[tuple[str, bool, str | None]]:
    """(key, passed, error) per expectation. A failing query fails its expectation, as in GX.

    One query per expectation, on purpose: it is the plain translation. On a view (staging.*)
    each query recomputes the view, whereas GX folds many expectations' counts into one query.
    """
    verdicts = []
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for key, sql, params, verdict in plan:
            try:
                verdicts.append((key, verdict(con.execute(sql, params).fetchone()), None))
            except duckdb.Error as error:
                verdicts.append((key, False, str(error)))
    finally:
        con.close()
    return verdicts


# --- the run -----------------------------------------------------------------------------------


def bench_suite(path: Path, warehouse: Path, docs_dir: Path) -> dict:
    document = json.loads(path.read_text(encoding="utf-8"))
    table = document["meta"]["table"]

    # GX: what the Dagster check times (pipelines/defs/quality.py), loading the suite included.
    started = time.perf_counter()
    outcome = validate_table(warehouse, table, load_suite(path), docs_dir=docs_dir)
    gx_seconds = time.perf_counter() - started

    # SQL: the suite file is read again inside the timing, to match GX's load_suite.
    started = time.perf_counter()
    expectations = json.loads(path.read_text(encoding="utf-8"))["expectations"]
    sql = run_sql(warehouse, sql_plan(table, expectations))
    sql_seconds = time.perf_counter() - started

    gx_verdicts: dict[str, list[bool]] = {}
    for r in outcome.raw["results"]:
        config = r["expectation_config"]
        gx_verdicts.setdefault(expectation_key(config["type"], config["kwargs"]), []).append(bool(r["success"]))
    disagreements = []
    for key, passed, error in sql:
        gx_passed = gx_verdicts[key].pop(0) if gx_verdicts.get(key) else None  # None: GX has no result
        if gx_passed is not passed:
            disagreements.append({"expectation": key, "gx": gx_passed, "sql": passed, "sql_error": error})
    disagreements += [{"expectation": key, "gx": v, "sql": None} for key, left in gx_verdicts.items() for v in left]

    with duckdb.connect(str(warehouse), read_only=True) as con:  # not timed
        rows = con.execute(f"select count(*) from {quote_table(table)}").fetchone()[0]
    return {
        "suite": document["name"], "table": table, "blocking": bool(document["meta"]["blocking"]),
        "rows": rows, "expectations": len(expectations),
        "gx_passed": outcome.success, "sql_failed": sum(not p for _, p, _ in sql),
        "gx_seconds": round(gx_seconds, 3), "sql_seconds": round(sql_seconds, 3),
        "ratio": round(gx_seconds / sql_seconds, 1), "disagreements": disagreements,
    }


def total(name: str, results: list[dict]) -> dict:
    gx_s, sql_s = sum(r["gx_seconds"] for r in results), sum(r["sql_seconds"] for r in results)
    return {"group": name, "suites": len(results), "expectations": sum(r["expectations"] for r in results),
            "gx_seconds": round(gx_s, 3), "sql_seconds": round(sql_s, 3),
            "ratio": round(gx_s / sql_s, 1) if sql_s else math.nan}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--suites", choices=("blocking", "all"), default="all")
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    warehouse = args.warehouse.resolve()
    if not warehouse.exists():
        parser.error(f"{warehouse} does not exist")  # DuckDB would create an empty one

    paths = sorted(EXPECTATIONS_DIR.glob("*.json"))
    if args.suites == "blocking":
        paths = [p for p in paths if json.loads(p.read_text(encoding="utf-8"))["meta"]["blocking"]]

    for path in paths:  # an untranslatable expectation stops the run before anything is timed
        document = json.loads(path.read_text(encoding="utf-8"))
        sql_plan(document["meta"]["table"], document["expectations"])

    results = []
    # One docs folder for the whole run, as one Dagster run writes all its pages to one site (the
    # index is rebuilt from every stored result at each validation, so that cost is included).
    with tempfile.TemporaryDirectory(prefix="gx_vs_sql_docs_") as docs:
        for path in paths:
            results.append(bench_suite(path, warehouse, Path(docs)))
            r = results[-1]
            print(f"  {r['suite']}: GX {r['gx_seconds']:.2f} s, SQL {r['sql_seconds']:.2f} s", file=sys.stderr, flush=True)

    totals = [total(name, group) for name, group in (
        ("blocking marts", [r for r in results if r["blocking"] and r["table"].startswith("marts.")]),
        ("blocking", [r for r in results if r["blocking"]]),
        ("all", results)) if group]

    header = f"{'suite':30} {'table':34} {'rows':>10} {'exp':>4} {'GX s':>7} {'SQL s':>7} {'ratio':>6}"
    print(header + "\n" + "-" * len(header))
    for r in results:
        print(f"{r['suite']:30} {r['table']:34} {r['rows']:>10,} {r['expectations']:>4} "
              f"{r['gx_seconds']:>7.2f} {r['sql_seconds']:>7.2f} {r['ratio']:>6.1f}")
    print("-" * len(header))
    for t in totals:
        print(f"{'total: ' + t['group']:30} {str(t['suites']) + ' suites':34} {'':>10} {t['expectations']:>4} "
              f"{t['gx_seconds']:>7.2f} {t['sql_seconds']:>7.2f} {t['ratio']:>6.1f}")

    disagreements = [dict(d, suite=r["suite"]) for r in results for d in r["disagreements"]]
    for d in disagreements:
        print(f"DISAGREEMENT {d['suite']}: {d['expectation']}: GX {d['gx']}, SQL {d['sql']}"
              + (f" ({d['sql_error']})" if d.get("sql_error") else ""))
    print(f"verdicts: {'GX and SQL agree on every expectation' if not disagreements else f'{len(disagreements)} disagreement(s)'}")

    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "warehouse": str(warehouse), "suites": args.suites,
            "versions": {"great_expectations": gx.__version__, "duckdb": duckdb.__version__,
                         "python": platform.python_version()},
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "results": results, "totals": totals, "disagreements": disagreements,
        }, indent=2) + "\n", encoding="utf-8")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
