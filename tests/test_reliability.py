"""Killed runs: `sovereignty run` afterwards reaches the warehouse and release of an uninterrupted run.

Each scenario runs the real command in its own process group on the small demo, watches the
run's own Dagster events, and kills the whole group (the run and dbt's subprocess) with SIGKILL
inside one stage: ingestion, the raw checks, the dbt build, the mart checks, publication. The
next `sovereignty run` must finish what was left undone and give the same marts (every column
but timestamps) and byte-identical extracts as a run that was never interrupted.
"""

from __future__ import annotations

import contextlib
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

from tests.runs import (
    copy_home,
    environment,
    fresh_home,
    home_instance,
    marts_without_timestamps,
    no_traceback,
    release_extracts,
    sovereignty,
)

pytestmark = pytest.mark.slow

# stage -> (the step whose start is watched for, seconds to wait after it before the kill). A
# stage's GX suites run in one step of about a second on the small demo, so the kill comes right
# after that step starts, while its suites run.
KILL_POINTS = {
    "ingestion": ("raw__producer", 0.6),
    "raw_checks": ("raw__gx_checks", 0.02),
    "dbt_build": ("warehouse_models", 8.0),
    "mart_checks": ("marts__gx_checks", 0.02),
    "publication": ("published__release", 0.1),
}
# How often the run's event log is read for the watched step's start.
POLL_SECONDS = 0.01


def run_ids(home: Path) -> set[str]:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{home / 'dagster' / 'history' / 'runs.db'}?mode=ro", uri=True)) as runs:
            return {run_id for (run_id,) in runs.execute("select run_id from runs").fetchall()}
    except sqlite3.Error:  # not created yet
        return set()


def started_steps(home: Path, earlier_runs: set[str] = frozenset()) -> dict[str, set[str]]:
    """Step keys of the newest run's events (not one of earlier_runs), by event type.

    Read from Dagster's SQLite files directly, read-only: opening a DagsterInstance here while
    the run creates its storage would race with it over the storage's schema migration."""
    history = home / "dagster" / "history"
    try:
        with contextlib.closing(sqlite3.connect(f"file:{history / 'runs.db'}?mode=ro", uri=True)) as runs:
            newest = runs.execute("select run_id from runs order by create_timestamp desc limit 1").fetchone()
        if newest is None or newest[0] in earlier_runs:
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
    earlier = run_ids(home)
    process = subprocess.Popen([sys.executable, "-m", "pipelines.command_line.cli", "run"], env=environment(home),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while step not in started_steps(home, earlier).get("STEP_START", set()):
        assert process.poll() is None, f"the run ended before {step} started"
        assert time.monotonic() < deadline, f"{step} never started"
        time.sleep(POLL_SECONDS)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    steps = started_steps(home, earlier)
    assert step in steps.get("STEP_START", set()), f"the kill did not come in the run's {step}"
    assert step not in steps.get("STEP_SUCCESS", set()), f"the kill came after {step} had finished"


def audit_is_consistent(home: Path) -> None:
    """Every load's kept file exists, no file was recorded twice, the release is on record."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        for (stored,) in con.execute("select stored_path from audit.loads").fetchall():
            assert (home / stored).exists(), stored
        latest = (home / "published" / "latest").read_text().strip()
        assert con.execute("select count(*) from audit.publications where release_id = ? and outcome <> 'blocked'",
                           [latest]).fetchone()[0] >= 1
        assert con.execute("select count(*) from audit.builds where outcome = 'started'").fetchone()[0] in (0, 1)


@pytest.mark.parametrize("stage", KILL_POINTS)
def test_a_run_killed_inside_a_stage_is_finished_by_the_next_run(stage, demo_inbox, uninterrupted, tmp_path):
    home = fresh_home(demo_inbox, tmp_path)
    run_and_kill(home, *KILL_POINTS[stage])

    rerun = sovereignty(home, "run")

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Published release" in rerun.stdout or "No new release" in rerun.stdout
    assert marts_without_timestamps(home) == marts_without_timestamps(uninterrupted)
    assert release_extracts(home) == release_extracts(uninterrupted)
    audit_is_consistent(home)
    again = sovereignty(home, "run")
    assert again.returncode == 0 and "up to date" in again.stdout
    with home_instance(home) as instance:
        assert not instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])), \
            "the killed run is still shown as started"


def test_a_second_delivery_killed_in_its_build_is_never_published_mixed(demo_inbox, uninterrupted, tmp_path):
    """The latest quarter arrives after a release; its run is killed in the dbt build. `publish`
    must refuse the half-built marts, and `run` must then publish exactly the full data's release."""
    home = fresh_home(demo_inbox, tmp_path)
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


def test_publish_refuses_an_unfinished_build_before_any_check(uninterrupted, tmp_path):
    """Wherever a run was killed in its build, `publish` gives the unfinished build as the reason,
    not a check that the half-built marts happen to fail, and starts no run; `run` finishes it."""
    home = copy_home(uninterrupted, tmp_path)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("update audit.builds set outcome = 'started' where build_id = (select max(build_id) from audit.builds)")
    runs_before = run_ids(home)

    published = sovereignty(home, "publish")

    assert published.returncode == 1
    assert "NOT PUBLISHED: the marts are not built from everything ingested" in published.stderr
    assert "run `sovereignty run` to finish the build" in published.stderr
    assert run_ids(home) == runs_before
    assert release_extracts(home) == release_extracts(uninterrupted)
    rerun = sovereignty(home, "run")
    assert rerun.returncode == 0 and "finishing it" in rerun.stdout, rerun.stdout + rerun.stderr


# --- the way back after other failures ----------------------------------------------------


def status(home: Path) -> subprocess.CompletedProcess:
    return sovereignty(home, "status")


def test_a_release_put_in_place_but_not_recorded_is_recorded_by_the_next_run(uninterrupted, tmp_path):
    home = copy_home(uninterrupted, tmp_path)
    latest = (home / "published" / "latest").read_text().strip()
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:  # a kill right after the rename
        con.execute("delete from audit.publications where release_id = ?", [latest])

    result = sovereignty(home, "run")

    assert result.returncode == 0 and "up to date" in result.stdout, result.stdout + result.stderr
    assert f"published {latest}" in status(home).stdout
    audit_is_consistent(home)


@pytest.mark.parametrize("content", [b"\x00\xff\xfe garbage", b"../../../../etc\n", b"20991231T000000Z-deadbeef\n"],
                         ids=["binary", "path_outside", "missing_release"])
def test_a_damaged_latest_pointer_is_reported_and_replaced(content, uninterrupted, tmp_path):
    home = copy_home(uninterrupted, tmp_path)
    previous = release_extracts(home)
    latest = home / "published" / "latest"
    latest.chmod(0o644)
    latest.write_bytes(content)

    shown = status(home)
    assert shown.returncode == 0 and "Latest release: damaged pointer" in shown.stdout
    no_traceback(shown)
    assert "/etc" not in shown.stdout.replace(str(home), "")

    result = sovereignty(home, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "release pointer is damaged" in result.stdout
    assert release_extracts(home) == previous


def test_a_damaged_warehouse_is_detected_and_rebuilt_from_the_kept_files(uninterrupted, tmp_path):
    home = copy_home(uninterrupted, tmp_path)
    warehouse = home / "warehouse.duckdb"
    warehouse.write_bytes(warehouse.read_bytes()[: warehouse.stat().st_size // 3])  # truncated

    for command in ("run", "status"):
        result = sovereignty(home, command)
        assert result.returncode == 4, result.stdout + result.stderr
        assert "is damaged and cannot be read" in result.stderr and "sovereignty rebuild" in result.stderr
        no_traceback(result)
        assert "up to date" not in result.stdout

    rebuilt = sovereignty(home, "rebuild")

    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "No new release: the data is unchanged" in rebuilt.stdout
    assert marts_without_timestamps(home) == marts_without_timestamps(uninterrupted)
    assert release_extracts(home) == release_extracts(uninterrupted)
    assert list(home.glob("warehouse.duckdb.before-rebuild-*"))  # the damaged file is kept aside
    audit_is_consistent(home)


def test_a_missing_warehouse_with_kept_files_is_not_reported_up_to_date(uninterrupted, tmp_path):
    home = copy_home(uninterrupted, tmp_path)
    (home / "warehouse.duckdb").unlink()

    result = sovereignty(home, "run")

    assert result.returncode == 4 and "sovereignty rebuild" in result.stderr
    no_traceback(result)


def hold_reader(warehouse: Path, seconds: float) -> subprocess.Popen:
    """An analyst's read-only DuckDB session on the warehouse for `seconds`."""
    script = (f"import duckdb, time; con = duckdb.connect({str(warehouse)!r}, read_only=True); "
              f"print('open', flush=True); time.sleep({seconds})")
    reader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "open"
    return reader


def test_a_run_waits_for_a_reader_and_refuses_at_once_when_it_stays(uninterrupted, tmp_path):
    home = copy_home(uninterrupted, tmp_path)
    reader = hold_reader(home / "warehouse.duckdb", 4)
    waited = sovereignty(home, "run")
    reader.wait()
    assert waited.returncode == 0 and "up to date" in waited.stdout, waited.stderr

    reader = hold_reader(home / "warehouse.duckdb", 120)
    try:
        refused = subprocess.run([sys.executable, "-m", "pipelines.command_line.cli", "run"], capture_output=True, text=True,
                                 env={**environment(home), "SOVEREIGNTY_LOCK_WAIT_SECONDS": "1"}, timeout=120)
    finally:
        reader.kill()
    assert refused.returncode == 3
    assert f"held open by process {reader.pid}" in refused.stderr and "close it" in refused.stderr
    no_traceback(refused)


def test_a_delivery_of_yearly_kinds_only_runs_with_a_reader_holding_the_file_at_the_build(uninterrupted, tmp_path):
    """A revised targets file (no quarterly report) is ingested, built and published, beside a
    link to a file outside the inbox and a FIFO, which are rejected unread; an analyst's session
    open when dbt starts is waited for, not a failed build."""
    home = copy_home(uninterrupted, tmp_path)
    (kept,) = (home / "processed" / "targets").glob("*.csv")
    text = kept.read_bytes().decode("cp1251").splitlines()
    text[1] = text[1].rsplit(";", 1)[0] + ";0,99"  # one target revised
    revised = home / "inbox" / "targets" / "targets_revised.csv"
    revised.parent.mkdir(parents=True, exist_ok=True)
    revised.write_bytes(("\n".join(text) + "\n").encode("cp1251"))
    outside = tmp_path / "outside.csv"
    outside.write_bytes(kept.read_bytes())
    (home / "inbox" / "targets" / "linked.csv").symlink_to(outside)
    (home / "inbox" / "producer").mkdir(parents=True, exist_ok=True)
    os.mkfifo(home / "inbox" / "producer" / "pipe.csv")
    earlier = run_ids(home)
    process = subprocess.Popen([sys.executable, "-m", "pipelines.command_line.cli", "run"], env=environment(home),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while "warehouse_models" not in started_steps(home, earlier).get("STEP_START", set()):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    reader = hold_reader(home / "warehouse.duckdb", 3)

    stdout, stderr = process.communicate(timeout=900)

    reader.wait()
    assert process.returncode == 0, stdout + stderr
    assert "Published release" in stdout
    assert "rejected linked.csv: not a regular file: a symbolic link" in stdout
    assert "rejected pipe.csv: not a regular file: a FIFO" in stdout
    assert release_extracts(home) != release_extracts(uninterrupted)  # project_progress changed
    assert outside.read_bytes() == kept.read_bytes()
    audit_is_consistent(home)


def test_status_and_sql_answer_while_a_run_writes(uninterrupted, tmp_path):
    home = copy_home(uninterrupted, tmp_path)
    with open(home / "warehouse.duckdb.writer.lock", "w") as lock:
        import fcntl
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write(json.dumps({"pid": 4242, "since": "2026-11-28T10:00:00+00:00"}))
        lock.flush()
        held = duckdb.connect(str(home / "warehouse.duckdb"))  # the run's writing connection
        try:
            shown = status(home)
            queried = sovereignty(home, "sql", "select 1")
        finally:
            held.close()
    assert shown.returncode == 0, shown.stderr
    assert "A run is in progress: PID 4242 since 2026-11-28T10:00:00+00:00" in shown.stdout
    assert "open for writing by that run" in shown.stdout
    assert queried.returncode == 3 and "held open by process" in queried.stderr
    no_traceback(shown)
    no_traceback(queried)


@pytest.fixture
def small_disk(tmp_path):
    """A 20 MB filesystem of its own (tmpfs), grown later to let the run finish."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)]).returncode:
        pytest.fail("the disk-full test needs root to mount a small tmpfs (CI and the dev machines run as root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_the_next_run_finishes(small_disk, demo_inbox, uninterrupted):
    home = small_disk / "home"
    home.mkdir()
    shutil.copytree(demo_inbox / "inbox", home / "inbox")

    full = sovereignty(home, "run")

    assert full.returncode == 5, full.stdout + full.stderr
    assert f"No space left on the disk holding {home}" in full.stderr and "MB free" in full.stderr
    no_traceback(full)
    subprocess.run(["mount", "-o", "remount,size=400m", str(small_disk)], check=True)
    rerun = sovereignty(home, "run")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert release_extracts(home) == release_extracts(uninterrupted)
    audit_is_consistent(home)
