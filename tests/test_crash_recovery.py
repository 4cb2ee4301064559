"""Killed runs: `sovereignty run` afterwards reaches the warehouse and release of an uninterrupted run.

Each scenario runs the real command in its own process group on the small demo, watches the
run's own Dagster events, and kills the whole group (the run and dbt's subprocess) with SIGKILL
inside one stage: ingestion, the raw checks, the dbt build, the mart checks, publication. The
next `sovereignty run` must finish what was left undone and give the same marts (every column
but timestamps) and byte-identical extracts as a run that was never interrupted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.demo import generate_demo
from tests.conftest import TODAY

pytestmark = pytest.mark.slow

# stage -> (the step whose start is watched for, seconds to wait after it before the kill)
KILL_POINTS = {
    "ingestion": ("raw__producer", 0.6),
    "raw_checks": ("raw__regional_gx_raw_regional", 0.1),
    "dbt_build": ("warehouse_models", 8.0),
    "mart_checks": ("marts__product_independence_gx_product_independence", 0.2),
    "publication": ("published__release", 0.1),
}


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "SOVEREIGNTY_HOME": str(home), "SOVEREIGNTY_TODAY": TODAY.isoformat()}


def sovereignty(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=environment(home),
                          capture_output=True, text=True, timeout=900)


def started_steps(home: Path) -> dict[str, set[str]]:
    """Step keys of the newest run's events, by event type (STEP_START, STEP_SUCCESS).

    Read from Dagster's SQLite files directly, read-only: opening a DagsterInstance here while
    the run creates its storage would race with it over the storage's schema migration."""
    history = home / "dagster" / "history"
    try:
        with contextlib.closing(sqlite3.connect(f"file:{history / 'runs.db'}?mode=ro", uri=True)) as runs:
            newest = runs.execute("select run_id from runs order by create_timestamp desc limit 1").fetchone()
        if newest is None:
            return {}
        with contextlib.closing(sqlite3.connect(f"file:{history / 'runs' / newest[0]}.db?mode=ro", uri=True)) as log:
            events = log.execute("select dagster_event_type, step_key from event_logs "
                                 "where dagster_event_type in ('STEP_START', 'STEP_SUCCESS')").fetchall()
    except sqlite3.Error:  # not created yet
        return {}
    steps: dict[str, set[str]] = {}
    for event_type, step in events:
        steps.setdefault(event_type, set()).add(step)
    return steps


def run_and_kill(home: Path, step: str, delay: float) -> None:
    """Start `sovereignty run`, kill its process group `delay` s after `step` starts, and check
    that the kill landed inside the step."""
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run"], env=environment(home),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while step not in started_steps(home).get("STEP_START", set()):
        assert process.poll() is None, f"the run ended before {step} started"
        assert time.monotonic() < deadline, f"{step} never started"
        time.sleep(0.05)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert step not in started_steps(home).get("STEP_SUCCESS", set()), f"the kill came after {step} had finished"


def marts_without_timestamps(home: Path) -> dict[str, list[tuple]]:
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
    release = home / "published" / (home / "published" / "latest").read_text().strip()
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(release.glob("*.parquet"))}


def audit_is_consistent(home: Path) -> None:
    """Every load's kept file exists, no file was recorded twice, the release is on record."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        for (stored,) in con.execute("select stored_path from audit.loads").fetchall():
            assert (home / stored).exists(), stored
        latest = (home / "published" / "latest").read_text().strip()
        assert con.execute("select count(*) from audit.publications where release_id = ? and outcome <> 'blocked'",
                           [latest]).fetchone()[0] >= 1
        assert con.execute("select count(*) from audit.builds where outcome = 'started'").fetchone()[0] in (0, 1)


@pytest.fixture(scope="module")
def demo_inbox(tmp_path_factory) -> Path:
    """The small demo's reports, written once; each scenario copies them (mtimes kept)."""
    home = tmp_path_factory.mktemp("demo_reports")
    generate_demo(home, scale="small", seed=42, today=TODAY)
    return home


def fresh_home(demo_inbox: Path, tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    shutil.copytree(demo_inbox / "inbox", home / "inbox")  # copy2: arrival order (mtimes) kept
    return home


@pytest.fixture(scope="module")
def uninterrupted(demo_inbox, tmp_path_factory) -> Path:
    home = fresh_home(demo_inbox, tmp_path_factory.mktemp("uninterrupted"), "home")
    result = sovereignty(home, "run")
    assert result.returncode == 0, result.stderr
    return home


@pytest.mark.parametrize("stage", KILL_POINTS)
def test_a_run_killed_inside_a_stage_is_finished_by_the_next_run(stage, demo_inbox, uninterrupted, tmp_path):
    home = fresh_home(demo_inbox, tmp_path, "home")
    run_and_kill(home, *KILL_POINTS[stage])

    rerun = sovereignty(home, "run")

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Published release" in rerun.stdout or "No new release" in rerun.stdout
    assert marts_without_timestamps(home) == marts_without_timestamps(uninterrupted)
    assert release_extracts(home) == release_extracts(uninterrupted)
    audit_is_consistent(home)
    again = sovereignty(home, "run")
    assert again.returncode == 0 and "up to date" in again.stdout
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert not instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])), \
            "the killed run is still shown as started"


def test_a_second_delivery_killed_in_its_build_is_never_published_mixed(demo_inbox, uninterrupted, tmp_path):
    """The latest quarter arrives after a release; its run is killed in the dbt build. `publish`
    must refuse the half-built marts, and `run` must then publish exactly the full data's release."""
    home = fresh_home(demo_inbox, tmp_path, "home")
    manifest_files = json.loads((demo_inbox / "demo" / "manifest.json").read_text())["files"]
    latest = max(q for f in manifest_files for q in (f.get("quarters") or []))
    held = tmp_path / "held"
    late = [f for f in manifest_files if f.get("quarters") == [latest]]
    assert late
    for f in late:
        (held / f["kind"]).mkdir(parents=True, exist_ok=True)
        shutil.move(home / "inbox" / f["kind"] / f["file"], held / f["kind"] / f["file"])
    first = sovereignty(home, "run")
    assert first.returncode == 0, first.stderr
    first_release = release_extracts(home)
    for f in late:
        target = home / "inbox" / f["kind"] / f["file"]
        shutil.move(held / f["kind"] / f["file"], target)
        os.utime(target)

    run_and_kill(home, *KILL_POINTS["dbt_build"])
    published = sovereignty(home, "publish")

    assert published.returncode == 1
    assert "NOT PUBLISHED" in published.stderr and "sovereignty run" in published.stderr
    assert release_extracts(home) == first_release  # the old release stays, nothing mixed
    rerun = sovereignty(home, "run")
    assert rerun.returncode == 0, rerun.stderr
    assert "finishing it" in rerun.stdout
    assert release_extracts(home) == release_extracts(uninterrupted)
