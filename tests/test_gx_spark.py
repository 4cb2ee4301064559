"""The GX suites on Spark tables (pipelines/quality/gx_spark.py): the same verdicts as on DuckDB.

The small demo's home (the `uninterrupted` run, on DuckDB) gives both engines the same rows: its
marts and staging tables are written with Spark into the Spark warehouse's layout (a Parquet
folder per table, the incremental models partitioned as dbt-spark partitions them), which is
much cheaper than a dbt build on Spark (minutes). The Spark side then reads them the way the
pipeline does (`spark.declare_table`, `spark.raw_frame`), and every suite of expectations/ runs on
both engines. Really runs Spark (Java 17): about a minute after the shared demo run.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import duckdb
import great_expectations.expectations as gxe
import pytest

from pipelines.ingestion.raw_layer import committed_loads
from pipelines.quality import gx_duckdb, gx_spark
from pipelines.quality.gx_common import ValidationOutcome, load_suite, suite_from_dict
from pipelines.quality.suites import suite_files
from pipelines.settings import DBT_PROJECT_DIR, Settings
from pipelines.transformation import spark
from pipelines.warehouse import duckdb_config

if shutil.which("java") is None:
    pytest.skip("Spark needs Java", allow_module_level=True)

INCREMENTAL = re.compile(r"incremental_config\('([a-z_]+)'\)")
BROKEN = "marts.area_independence_broken"  # one area's output no longer equals its products'


def partition_columns_of_models() -> dict[str, list[str]]:
    """model name -> the columns dbt-spark partitions it by (incremental_config's grain)."""
    found = {}
    for path in (DBT_PROJECT_DIR / "models").rglob("*.sql"):
        if match := INCREMENTAL.search(path.read_text(encoding="utf-8")):
            found[path.stem] = [match.group(1)]
    return found


def write_spark_tables(con: duckdb.DuckDBPyConnection, session, settings: Settings, scratch: Path) -> None:
    """Every marts and staging table of the DuckDB warehouse as the Spark engine keeps it."""
    partitioned = partition_columns_of_models()
    tables = con.execute("select table_schema, table_name from information_schema.tables "
                         "where table_schema in ('marts', 'staging') order by all").fetchall()
    for schema, name in tables:
        exported = scratch / f"{schema}.{name}.parquet"
        con.execute(f"copy (select * from {schema}.{name}) to '{exported}' (format parquet)")
        frame = session.read.parquet(str(exported))
        # DuckDB's TIMESTAMP is Spark's timestamp_ntz; a table Spark builds holds timestamp.
        frame = frame.select(*[frame[f.name].cast("timestamp") if f.dataType.simpleString() == "timestamp_ntz"
                               else frame[f.name] for f in frame.schema.fields])
        key = name.removesuffix("_broken")
        frame.write.partitionBy(*partitioned.get(key, [])).mode("overwrite").parquet(
            str(spark.table_folder(settings, f"{schema}.{name}")))


@pytest.fixture(scope="module")
def engines(uninterrupted, tmp_path_factory):
    """(DuckDB warehouse file, Spark settings, committed loads) over the same rows."""
    home = tmp_path_factory.mktemp("gx_spark") / "home"
    home.mkdir()
    shutil.copy2(uninterrupted / "warehouse.duckdb", home / "warehouse.duckdb")
    (home / "raw").symlink_to(uninterrupted / "raw")  # the raw files both engines read
    settings = dataclasses.replace(Settings.from_env(), home=home, engine="spark")
    warehouse = settings.warehouse
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"set file_search_path = '{home}'")  # the raw views name files relative to the home
        con.execute(f"create table {BROKEN} as select * from marts.area_independence")
        con.execute(f"""update {BROKEN} set output_value = output_value + 1
                        where (project_code, period) = (select (project_code, period) from {BROKEN}
                                                        where output_value is not null order by all limit 1)""")
        loads = committed_loads(con)
        session = spark.reading_session(settings)
        scratch = tmp_path_factory.mktemp("exports")
        write_spark_tables(con, session, settings, scratch)
    return warehouse, settings, loads


def failures(outcome: ValidationOutcome) -> list[tuple[str, str, str]]:
    """What failed and why, comparable across engines: type, kwargs and, for an unexpected-rows
    query, the number of rows it found."""
    return sorted((f.expectation, json.dumps(f.kwargs, sort_keys=True),
                   f.observed if f.expectation == "unexpected_rows_expectation" else "") for f in outcome.failed)


def both(engines, table: str, suite) -> tuple[ValidationOutcome, ValidationOutcome]:
    warehouse, settings, loads = engines
    on_duckdb = gx_duckdb.validate_table(warehouse, table, suite, duckdb_config=duckdb_config(settings))
    on_spark = gx_spark.validate_table(settings, table, suite, committed_loads=loads)
    return on_duckdb, on_spark


@pytest.mark.parametrize("suite_file", suite_files(), ids=lambda s: s.name)
def test_every_suite_has_the_same_verdict_on_both_engines(engines, suite_file):
    on_duckdb, on_spark = both(engines, suite_file.table, load_suite(suite_file.path))
    assert (on_spark.success, on_spark.evaluated, failures(on_spark)) == \
        (on_duckdb.success, on_duckdb.evaluated, failures(on_duckdb)), on_spark.summary() + "\n" + on_duckdb.summary()
    assert on_duckdb.success, "the small demo passes every suite"
    errors = [r for r in on_spark.raw["results"] if (r.get("exception_info") or {}).get("raised_exception")]
    assert not errors and on_spark.evaluated == len(load_suite(suite_file.path).expectations)


def test_every_table_reads_back_whole_with_its_partitions(engines):
    """What the suites see on Spark is every row DuckDB holds (a partitioned table whose
    partitions the catalogue does not know reads as empty, and would pass every suite)."""
    warehouse, settings, _ = engines
    session = spark.reading_session(settings)
    with duckdb.connect(str(warehouse), read_only=True, config=duckdb_config(settings)) as con:
        tables = con.execute("select table_schema || '.' || table_name from information_schema.tables "
                             "where table_schema in ('marts', 'staging') order by all").fetchall()
        for (relation,) in tables:
            spark.declare_table(session, settings, relation)
            assert session.table(relation).count() == con.execute(f"select count(*) from {relation}").fetchone()[0], relation
    partitioned = session.table("marts.product_independence")
    assert partitioned.schema["period"].dataType.simpleString() == "string"
    assert partitioned.where("period = '2025-Q1'").count() > 0


def test_a_broken_table_fails_the_same_expectation_on_both_engines(engines):
    suite = load_suite(Path(next(s.path for s in suite_files() if s.name == "area_independence")))
    on_duckdb, on_spark = both(engines, BROKEN, suite)
    assert not on_duckdb.success and not on_spark.success
    assert failures(on_spark) == failures(on_duckdb)
    ((expectation, kwargs, observed),) = failures(on_spark)  # the grid is whole; the sums are not
    assert expectation == "unexpected_rows_expectation" and "marts.product_independence" in kwargs
    assert observed == "1 unexpected rows"


def test_a_raw_table_missing_a_column_fails_on_both_engines(engines):
    document = json.loads(next(s.path for s in suite_files() if s.name == "raw_trade").read_text(encoding="utf-8"))
    document["expectations"][0]["kwargs"]["column_set"].append("customs_regime")
    on_duckdb, on_spark = both(engines, "raw.trade", suite_from_dict(document))
    assert [f.expectation for f in on_spark.failed] == [f.expectation for f in on_duckdb.failed] \
        == ["expect_table_columns_to_match_set"]
    assert on_spark.failed[0].observed == on_duckdb.failed[0].observed  # the columns found, in order


def test_column_expectations_count_the_same_rows(engines):
    """Regexes (anchored, and unanchored: a match anywhere counts, on both), ranges and nulls, on a
    partition column read back as its text."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name="columns", expectations=[
        gxe.ExpectColumnValuesToMatchRegex(column="period", regex=r"^[0-9]{4}-Q[1-4]$"),
        gxe.ExpectColumnValuesToMatchRegex(column="period", regex=r"Q1"),  # fails for Q2-Q4
        gxe.ExpectColumnValuesToNotMatchRegex(column="okpd2", regex=r"^26"),
        gxe.ExpectColumnValuesToBeBetween(column="import_dependency", min_value=0, max_value=0.5),
        gxe.ExpectColumnValuesToNotBeNull(column="output_value"),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
    ])
    on_duckdb, on_spark = both(engines, "marts.product_independence", suite)
    counts = {}
    for engine, outcome in (("duckdb", on_duckdb), ("spark", on_spark)):
        counts[engine] = {(r["expectation_config"]["type"], json.dumps(r["expectation_config"]["kwargs"].get("regex"))):
                          (r["success"], r["result"].get("unexpected_count"), r["result"].get("element_count"))
                          for r in outcome.raw["results"]}
    assert counts["spark"] == counts["duckdb"]
    assert [f.expectation for f in on_spark.failed] == [f.expectation for f in on_duckdb.failed]
    assert counts["spark"][("expect_column_values_to_match_regex", '"Q1"')][1] > 0


def test_partition_values_keep_their_declared_type(engines, monkeypatch):
    """Spark would read okpd2=01 as the integer 1; the declared types (dbt manifest) rule instead."""
    _, settings, _ = engines
    session = spark.reading_session(settings)
    folder = spark.table_folder(settings, "marts.partition_types")
    session.createDataFrame([(1.5, "01", 2024), (2.5, "26.20", 2025)], "x double, okpd2 string, year int") \
        .write.partitionBy("okpd2", "year").mode("overwrite").parquet(str(folder))
    monkeypatch.setattr(spark, "declared_types", lambda relation: {"year": "integer", "x": "string"})
    spark.declare_table(session, settings, "marts.partition_types")
    table = session.table("marts.partition_types")
    assert [(f.name, f.dataType.simpleString()) for f in table.schema.fields] == \
        [("x", "double"), ("okpd2", "string"), ("year", "int")]  # a file column keeps the file's type
    assert sorted(tuple(row) for row in table.collect()) == [(1.5, "01", 2024), (2.5, "26.20", 2025)]
    spark.declare_table(session, settings, "marts.partition_types")  # declared again: files kept
    assert table.count() == 2 and folder.is_dir()


def test_a_missing_table_fails_every_expectation(engines):
    _, settings, loads = engines
    suite = load_suite(next(s.path for s in suite_files() if s.name == "product_independence"))
    outcome = gx_spark.validate_table(settings, "marts.never_built", suite, committed_loads=loads)
    assert not outcome.success and len(outcome.failed) == outcome.evaluated == len(suite.expectations)
    assert all(f.observed.startswith("error: marts.never_built: no table folder") for f in outcome.failed)
