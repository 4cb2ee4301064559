"""The benchmark baseline (benchmarks/baseline.sql) computes the pipeline's marts, row for row.

The benchmark compares the pipeline with one hand-written DuckDB script over the same raw files;
the comparison is only like for like if both produce the same marts. Here both run on the small
demo: the pipeline through `sovereignty run`, the baseline through its runner on a copy of the
inbox taken before the run moved the files to processed/.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from decimal import Decimal

import duckdb
import pytest

from pipelines.command_line.cli import main
from demo.generator import generate_demo
from pipelines.settings import REPO_ROOT
from tests.conftest import TODAY

# The marts the baseline computes, with their keys.
MARTS = {
    "product_independence": ("period", "okpd2"),
    "area_independence": ("period", "project_code"),
    "product_leadership": ("year", "okpd2"),
    "area_leadership": ("year", "project_code"),
}
# The pipeline's stamp for its incremental builds (the newest load behind a quarter), numbered in
# the order the orchestrator ran the ingestion assets: bookkeeping, not a figure of the mart.
PIPELINE_ONLY = {"last_load_id"}


def mart(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], dict[tuple, tuple]]:
    """The mart's columns (bookkeeping left out) and its rows by key."""
    columns = [c for (c,) in con.execute(
        "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ? order by column_index",
        [table],
    ).fetchall() if c not in PIPELINE_ONLY]
    rows = con.execute(f"select {', '.join(columns)} from marts.{table}").fetchall()
    positions = [columns.index(k) for k in MARTS[table]]
    by_key = {tuple(row[p] for p in positions): row for row in rows}
    assert len(by_key) == len(rows), f"{table}: duplicate keys"
    return columns, by_key


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (float, Decimal)) or isinstance(b, (float, Decimal)):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    return a == b


@pytest.mark.slow
def test_the_baseline_marts_equal_the_pipeline_marts(home, tmp_path_factory):
    generate_demo(home, scale="small", seed=42, today=TODAY)
    inbox = tmp_path_factory.mktemp("baseline") / "inbox"
    shutil.copytree(home / "inbox", inbox)  # copy2 keeps the mtimes, which give the arrival order
    main(["run"])  # its exit code also covers publication, which this test does not need

    database = inbox.parent / "baseline.duckdb"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "baseline.py"), "--inbox", str(inbox),
         "--database", str(database), "--today", TODAY.isoformat()],
        check=True,
    )

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as pipeline, \
            duckdb.connect(str(database), read_only=True) as baseline:
        for table in MARTS:
            expected_columns, expected = mart(pipeline, table)
            columns, actual = mart(baseline, table)
            assert expected, f"the pipeline built no {table}"
            assert columns == expected_columns, table
            assert actual.keys() == expected.keys(), table
            differences = [
                (key, column, want, got)
                for key, row in expected.items()
                for column, want, got in zip(columns, row, actual[key])
                if not same(want, got)
            ]
            assert not differences, f"{table}: {len(differences)} values differ, e.g. {differences[:10]}"
