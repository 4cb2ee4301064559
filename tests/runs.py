"""Running the real `sovereignty` command on demo homes, for the end-to-end tests.

The small demo's reports are written once per test session and copied (mtimes kept, so the
arrival order is the same) into each home that needs them; one uninterrupted run of them is
shared as the reference that interrupted, rebuilt or incomplete runs are compared with.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import TODAY


def environment(home: Path, engine: str = "duckdb") -> dict[str, str]:
    """This process's environment with the home, the engine and the pinned date of the demo."""
    return {**os.environ, "SOVEREIGNTY_HOME": str(home), "SOVEREIGNTY_TODAY": TODAY.isoformat(), "SOVEREIGNTY_ENGINE": engine}


def sovereignty(home: Path, *args: str, engine: str = "duckdb", settings: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real command in a process of its own, its output captured; `settings` adds variables."""
    return subprocess.run([sys.executable, "-m", "pipelines.command_line.cli", *args],
                          env={**environment(home, engine), **(settings or {})}, capture_output=True, text=True, timeout=900)


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


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
