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
from pathlib import Path

import duckdb
import pytest

from tests.runs import differences, fresh_home, latest_release, no_traceback, relations, release_differences, sovereignty

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark_home(demo_inbox, tmp_path_factory) -> Path:
    home = fresh_home(demo_inbox, tmp_path_factory.mktemp("spark_engine"))
    result = sovereignty(home, "run", engine="spark")
    (home.parent / "run.stdout").write_text(result.stdout + result.stderr)
    no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    return home


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
    assert not release_differences(uninterrupted, spark_home)
