"""The Spark engine gives the warehouse and the release the DuckDB engine gives (docs/scaling.md).

The small demo's reports go through `SOVEREIGNTY_ENGINE=spark sovereignty run` in a home of
their own (a local Spark session, Java 17); the result is compared with the DuckDB engine's
uninterrupted run of the same reports: every model and mart (a view over Spark's files in the
Spark home's warehouse) and every extract of the release, row by row in the published order, with integers,
decimals and text exactly equal and ratios to a relative 1e-9. The confidential cells are part
of the extracts (their suppression flags), so they are compared too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.runs import fresh_home, no_traceback, sovereignty

pytestmark = pytest.mark.slow

RELATIVE_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def spark_home(demo_inbox, tmp_path_factory) -> Path:
    home = fresh_home(demo_inbox, tmp_path_factory.mktemp("spark_engine"))
    result = sovereignty(home, "run", engine="spark")
    (home.parent / "run.stdout").write_text(result.stdout + result.stderr)
    no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    return home


def latest_release(home: Path) -> Path:
    return home / "published" / (home / "published" / "latest").read_text().strip()


def relations(home: Path) -> dict[str, pl.DataFrame]:
    """Every relation dbt builds (tables or views on DuckDB; views over Spark's files on Spark)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        con.execute(f"set file_search_path = '{home}'")
        names = [f"{schema}.{name}" for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('reference', 'staging', 'intermediate', 'marts') order by 1, 2").fetchall()]
        return {name: con.sql(f"select * from {name}").pl() for name in names}


def differences(expected: pl.DataFrame, found: pl.DataFrame, ordered: bool) -> list[str]:
    """What differs between two tables: columns, types, rows; floats compared to a relative 1e-9.
    Unordered tables are compared after sorting both by every column that is not a float. Times
    of day (when a file was loaded) differ between two runs, so their values are not compared."""
    if expected.schema != found.schema:
        return [f"schema {dict(expected.schema)} != {dict(found.schema)}"]
    if expected.height != found.height:
        return [f"{expected.height} rows != {found.height} rows"]
    moments = [c for c, t in expected.schema.items() if isinstance(t, pl.Datetime)]
    expected, found = expected.drop(moments), found.drop(moments)
    if not ordered:
        exact = [c for c, t in expected.schema.items() if not t.is_float()]
        expected, found = expected.sort(exact, nulls_last=True), found.sort(exact, nulls_last=True)
    problems = []
    for column, dtype in expected.schema.items():
        for row, (a, b) in enumerate(zip(expected[column].to_list(), found[column].to_list())):
            same = (a == b or (a is not None and b is not None and math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE))
                    if dtype.is_float() else a == b)
            if not same:
                problems.append(f"{column} row {row}: {a!r} != {b!r}")
                break
    return problems


def test_a_spark_run_records_its_engine_in_the_build_and_the_release(spark_home):
    manifest = json.loads((latest_release(spark_home) / "manifest.json").read_text())
    assert manifest["build"]["engine"].startswith("spark 4."), manifest["build"]
    with duckdb.connect(str(spark_home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select engine from audit.builds order by build_id desc limit 1").fetchone()[0].startswith("spark")


def test_every_model_and_mart_is_the_same_on_both_engines(uninterrupted, spark_home):
    expected, found = relations(uninterrupted), relations(spark_home)
    assert sorted(found) == sorted(expected)
    problems = {name: differences(expected[name], found[name], ordered=False) for name in expected}
    assert not {name: p for name, p in problems.items() if p}


def test_every_extract_is_the_same_on_both_engines(uninterrupted, spark_home):
    expected_release, found_release = latest_release(uninterrupted), latest_release(spark_home)
    names = sorted(p.name for p in expected_release.glob("*.parquet"))
    assert names == sorted(p.name for p in found_release.glob("*.parquet"))
    problems = {name: differences(pl.read_parquet(expected_release / name), pl.read_parquet(found_release / name),
                                  ordered=True) for name in names}
    assert not {name: p for name, p in problems.items() if p}
    # the published files carry the same column metadata (descriptions, units)
    for name in names:
        assert (pl.read_parquet_schema(expected_release / name) == pl.read_parquet_schema(found_release / name))
