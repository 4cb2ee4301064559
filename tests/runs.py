"""Running the real `sovereignty` command on demo homes, for the end-to-end tests.

The small demo's reports are written once per test session and copied (mtimes kept, so the
arrival order is the same) into each home that needs them; one uninterrupted run of them is
shared as the reference that interrupted, rebuilt or incomplete runs, and the Spark engine's
runs, are compared with.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from tests.conftest import TODAY


def environment(home: Path, engine: str = "duckdb") -> dict[str, str]:
    """This process's environment with the home, the engine and the pinned date of the demo."""
    return {**os.environ, "SOVEREIGNTY_HOME": str(home), "SOVEREIGNTY_TODAY": TODAY.isoformat(), "SOVEREIGNTY_ENGINE": engine}


def sovereignty_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.command_line.cli", *args]


def sovereignty(home: Path, *args: str, engine: str = "duckdb", settings: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real command in a process of its own, its output captured; `settings` adds variables."""
    return subprocess.run(sovereignty_command(*args), env={**environment(home, engine), **(settings or {})},
                          capture_output=True, text=True, timeout=900)


@contextlib.contextmanager
def home_instance(home: Path):
    """The home's Dagster instance, opened as Dagster's tools open it: DAGSTER_HOME names its folder
    (the home's dagster.yaml places the event log there: pipelines/command_line/event_log.py)."""
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        with dg.DagsterInstance.get() as instance:
            yield instance
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = previous


def marts_without_timestamps(home: Path) -> dict[str, list[tuple]]:
    """Every mart's rows, sorted, without the columns that hold when a run happened."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
        snapshot = {}
        for table in tables:
            columns = [c for c, kind in con.execute(
                "select column_name, data_type from information_schema.columns where table_schema = 'marts' "
                "and table_name = ? order by ordinal_position", [table]).fetchall() if not kind.startswith("TIMESTAMP")]
            snapshot[table] = con.execute(f"select {', '.join(columns)} from marts.{table} order by all").fetchall()
        return snapshot


def release_extracts(home: Path) -> dict[str, str]:
    """The latest release's extracts: file name -> sha256 of its bytes."""
    release = home / "published" / (home / "published" / "latest").read_text().strip()
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(release.glob("*.parquet"))}


def fresh_home(demo_inbox: Path, parent: Path, name: str = "home") -> Path:
    """A new home holding the demo's reports in its inbox, not yet run."""
    home = parent / name
    home.mkdir()
    shutil.copytree(demo_inbox / "inbox", home / "inbox")  # copy2: arrival order (mtimes) kept
    return home


def copy_home(source: Path, parent: Path) -> Path:
    """A private copy of a home that has been run (warehouse, kept files, releases, Dagster runs)."""
    home = parent / "home"
    shutil.copytree(source, home, symlinks=True)
    return home


# Two engines' results agree when integers, decimals and text are equal and ratios equal to this
# relative tolerance (docs/scaling.md).
RELATIVE_TOLERANCE = 1e-9


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


def release_differences(expected_home: Path, found_home: Path) -> dict[str, list[str]]:
    """What differs between two homes' latest releases, extract by extract (`differences`, in the
    published order), and in the column metadata (descriptions, units) the files carry."""
    expected_release, found_release = latest_release(expected_home), latest_release(found_home)
    names = sorted(p.name for p in expected_release.glob("*.parquet"))
    found_names = sorted(p.name for p in found_release.glob("*.parquet"))
    if names != found_names:
        return {"extracts": [f"{names} != {found_names}"]}
    problems = {name: differences(pl.read_parquet(expected_release / name), pl.read_parquet(found_release / name), ordered=True)
                for name in names}
    for name in names:
        if pl.read_parquet_schema(expected_release / name) != pl.read_parquet_schema(found_release / name):
            problems[name].append("column metadata differs")
    return {name: p for name, p in problems.items() if p}


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
