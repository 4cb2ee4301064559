"""The Monte Carlo of the sovereignty index (int_sovereignty_index_weights, int_sovereignty_index_draws)
gives the same result on DuckDB and on Spark.

Both models are compiled by dbt for each engine (a DuckDB and a dbt-spark session target), so each
engine receives its own side of the dispatched macros (cross_database.sql: hex_to_bigint,
number_series, percentile_cont); the compiled SQL then runs in DuckDB and in a local Spark session
on the same inputs. Spark needs Java (17) on the machine, like the Spark engine itself.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.settings import DBT_PROFILE, DBT_PROJECT_DIR
from pipelines.transformation.dbt_command import DBT_EXECUTABLE

MODELS = ("int_sovereignty_index_weights", "int_sovereignty_index_draws")
PILLARS = ("independence", "localisation", "technology", "leadership")
DRAWS = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["sovereignty_index_uncertainty"]["draws"]

# int_area_sovereignty_index as the draws read it: (project_code, year, C, clamped pillars, S).
# 2025: four areas and one without an index; 2026: one area whose consumption is 0 (ALL NULL).
AREAS = [
    ("BIO", 2025, "1200.5", (0.62, 0.41, 0.93, 0.27), 51.0),
    ("MPA", 2025, "300", (0.01, 0.88, 0.55, 1.0), 22.0),
    ("NET", 2025, "950.25", (0.74, 0.63, 0.81, 0.58), 68.0),
    ("UAS", 2025, "40", (0.74, 0.63, 0.81, 0.58), 68.0),  # the same pillars as NET: equal S in every draw
    ("NMC", 2025, "500", (0.5, None, 0.5, 0.5), None),
    ("BIO", 2026, "0", (0.3, 0.6, 0.9, 0.45), 53.0),
]
# The unit test's case (int_sovereignty_index_draws.yml): three draws, each all on one pillar.
ONE_HOT_WEIGHTS = [(0, (1.0, 0.0, 0.0, 0.0)), (1, (0.0, 1.0, 0.0, 0.0)), (2, (0.0, 0.0, 0.0, 1.0))]
ONE_HOT_AREAS = [("AAA", 2025, "300", (1.0, 0.5, 0.5, 0.25), 50.0), ("BBB", 2025, "100", (0.5, 0.5, 0.5, 0.5), 50.0)]


def start_compiling(tmp_path: Path) -> dict[str, subprocess.Popen]:
    """dbt compiling both models for both targets, in parallel (and while Spark starts)."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(yaml.safe_dump({DBT_PROFILE: {"target": "duckdb", "outputs": {
        "duckdb": {"type": "duckdb", "path": str(tmp_path / "warehouse.duckdb"), "threads": 1},
        "spark": {"type": "spark", "method": "session", "host": "NA", "schema": "intermediate", "threads": 1},
    }}}))
    return {
        engine: subprocess.Popen(
            [DBT_EXECUTABLE, "compile", "--select", *MODELS, "--target", engine, "--no-populate-cache", "--quiet",
             "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(profiles),
             "--target-path", str(tmp_path / f"target_{engine}"), "--log-path", str(tmp_path / "logs")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for engine in ("duckdb", "spark")
    }


def compiled_models(tmp_path: Path, compiling: dict[str, subprocess.Popen]) -> dict[str, dict[str, str]]:
    """{engine: {model: compiled SQL}} once dbt has finished."""
    compiled = {}
    for engine, process in compiling.items():
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output[-3000:]
        folder = tmp_path / f"target_{engine}" / "compiled" / "sovereignty" / "models" / "intermediate"
        compiled[engine] = {model: (folder / f"{model}.sql").read_text() for model in MODELS}
    return compiled


def sql_number(value) -> str:
    return "cast(null as double)" if value is None else f"cast({value!r} as double)"


def areas_sql(areas) -> str:
    return "\nunion all\n".join(
        f"select '{code}' as project_code, cast({year} as int) as year, cast({consumption} as decimal(18, 3)) as "
        "apparent_consumption, " + ", ".join(f"{sql_number(p)} as {name}_clamped" for name, p in zip(PILLARS, pillars))
        + f", {sql_number(index)} as sovereignty_index"
        for code, year, consumption, pillars, index in areas
    )


def weights_sql(weights) -> str:
    return "\nunion all\n".join(
        f"select cast({draw} as int) as draw, " + ", ".join(f"{sql_number(w)} as weight_{name}" for name, w in zip(PILLARS, ws))
        for draw, ws in weights
    )


class Engine:
    """One engine with views intermediate.int_area_sovereignty_index and .int_sovereignty_index_weights,
    the relations the compiled draws model reads."""

    def __init__(self, name: str, execute):
        self.name, self._execute = name, execute

    def rows(self, sql: str) -> list[tuple]:
        return self._execute(sql)

    def define(self, areas: str, weights: str):
        self.rows(f"create or replace view intermediate.int_area_sovereignty_index as {areas}")
        self.rows(f"create or replace view intermediate.int_sovereignty_index_weights as {weights}")


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    pyspark_sql = pytest.importorskip("pyspark.sql")  # installed with the project: a real import
    tmp_path = tmp_path_factory.mktemp("spark_portability")
    compiling = start_compiling(tmp_path)
    spark = (pyspark_sql.SparkSession.builder.master("local[1]").appName("sovereignty-portability")
             .config("spark.sql.ansi.enabled", "false")  # as dbt-spark sets it
             # a few hundred rows: one partition, no adaptive re-planning, no web UI
             .config("spark.sql.shuffle.partitions", "1").config("spark.sql.adaptive.enabled", "false")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.warehouse.dir", str(tmp_path / "spark-warehouse")).getOrCreate())
    compiled = compiled_models(tmp_path, compiling)
    spark.sql("create database if not exists intermediate")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema if not exists intermediate")
    yield compiled, {
        "duckdb": Engine("duckdb", lambda sql: con.execute(sql).fetchall()),
        "spark": Engine("spark", lambda sql: [tuple(r) for r in spark.sql(sql).collect()]),
    }
    con.close()
    spark.stop()


def run_draws(compiled, engines, areas, weights=None) -> dict[str, dict[tuple, tuple]]:
    """{engine: {(project_code, year): (p05, p50, p95, median_rank, draws, seed)}} of the draws model."""
    results = {}
    for name, engine in engines.items():
        engine.define(areas_sql(areas), weights_sql(weights) if weights else compiled[name]["int_sovereignty_index_weights"])
        rows = engine.rows(compiled[name]["int_sovereignty_index_draws"])
        results[name] = {(r[0], r[1]): tuple(r[2:]) for r in rows}
        assert len(results[name]) == len(rows), name  # one row per area and year
    return results


def assert_same(duckdb_rows: dict, spark_rows: dict):
    assert duckdb_rows.keys() == spark_rows.keys()
    for key, expected in duckdb_rows.items():
        for got, want in zip(spark_rows[key], expected, strict=True):
            if want is None:
                assert got is None, key
            else:
                assert float(got) == pytest.approx(float(want), rel=1e-9), key


def test_the_index_weights_are_the_same_on_duckdb_and_spark(engines):
    compiled, by_name = engines
    weights = {name: engine.rows(f"select * from ({compiled[name]['int_sovereignty_index_weights']}) as w order by draw")
               for name, engine in by_name.items()}
    assert len(weights["duckdb"]) == len(weights["spark"]) == DRAWS
    assert [r[0] for r in weights["spark"]] == list(range(DRAWS))
    for on_duckdb, on_spark in zip(weights["duckdb"], weights["spark"]):
        assert on_spark == pytest.approx(on_duckdb, rel=1e-9)
        assert math.fsum(on_spark[1:]) == pytest.approx(1, abs=1e-12)
    # A flat Dirichlet over four pillars: each weight has mean 1/4 and standard deviation
    # sqrt(3 / 80) ~ 0.19, so over the draws the means lie well within 0.25 +- 0.03.
    for column in range(1, 5):
        assert sum(r[column] for r in weights["spark"]) / DRAWS == pytest.approx(0.25, abs=0.03)


def test_the_index_uncertainty_is_the_same_on_duckdb_and_spark(engines):
    compiled, by_name = engines
    results = run_draws(compiled, by_name, AREAS)
    assert_same(results["duckdb"], results["spark"])
    spark = results["spark"]
    assert set(spark) == {("BIO", 2025), ("MPA", 2025), ("NET", 2025), ("UAS", 2025), ("NMC", 2025), ("ALL", 2025),
                          ("BIO", 2026), ("ALL", 2026)}
    assert spark[("NMC", 2025)][:4] == spark[("ALL", 2026)][:4] == (None, None, None, None)
    assert spark[("BIO", 2026)][3] == 1 and spark[("ALL", 2025)][3] is None
    # NET and UAS have the same index in every draw: NET ranks before UAS (project_code) each time.
    assert spark[("NET", 2025)][3] + 1 == spark[("UAS", 2025)][3]
    for p05, p50, p95, *_ in (row for row in spark.values() if row[0] is not None):
        assert 0 < p05 <= p50 <= p95 <= 100
    assert {row[4:] for row in spark.values()} == {(DRAWS, 20261128)}


def test_the_index_percentiles_and_ranks_of_a_small_case_on_both_engines(engines):
    """The unit test's hand-computed case (int_sovereignty_index_draws.yml), on each engine."""
    compiled, by_name = engines
    results = run_draws(compiled, by_name, ONE_HOT_AREAS, ONE_HOT_WEIGHTS)
    assert_same(results["duckdb"], results["spark"])
    for rows in results.values():
        assert rows[("AAA", 2025)][:4] == pytest.approx((27.5, 50, 95, 1), rel=1e-12)  # S = 100, 50, 25
        assert rows[("BBB", 2025)][:4] == pytest.approx((50, 50, 50, 2), rel=1e-12)  # S = 50 in each draw
        assert rows[("ALL", 2025)][:3] == pytest.approx((33.125, 50, 83.75), rel=1e-12)  # 87.5, 50, 31.25
