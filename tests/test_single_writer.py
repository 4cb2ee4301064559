"""One writing process per DuckDB file: a second writer is refused at once with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import dagster as dg
import duckdb
import pytest

from pipelines.command_line.cli import EXIT_BUSY, main
from pipelines.defs.definitions import build_definitions
from pipelines.defs.jobs import PUBLISH_JOB
from pipelines.settings import Settings
from pipelines.warehouse import (
    WRITER_TOKEN_VARIABLE,
    WarehouseBusyError,
    WarehouseDamagedError,
    open_warehouse,
    writer_lock,
)


def hold_in_subprocess(code: str) -> subprocess.Popen:
    """Run `code` in another process that signals 'ready' and then waits for its stdin to close."""
    script = textwrap.dedent(code) + "\nprint('ready', flush=True)\nimport sys; sys.stdin.read()\n"
    process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def release(process: subprocess.Popen) -> None:
    process.stdin.close()
    process.wait(timeout=30)


def test_a_second_process_cannot_take_the_writer_lock(home):
    warehouse = home / "warehouse.duckdb"
    holder = hold_in_subprocess(
        f"""
        from pathlib import Path
        from pipelines.warehouse import writer_lock
        lock = writer_lock(Path({str(warehouse)!r})); lock.__enter__()
        """
    )
    try:
        with pytest.raises(WarehouseBusyError, match=rf"being written by .*\"pid\": {holder.pid}.*wait for that run"):
            with writer_lock(warehouse):
                pass
    finally:
        release(holder)
    with writer_lock(warehouse):  # free again once the holder is gone
        pass


def test_the_lock_is_reentrant_within_one_process(home):
    warehouse = home / "warehouse.duckdb"
    with writer_lock(warehouse), writer_lock(warehouse):
        pass


def test_a_process_started_by_the_holder_shares_its_lock(home):
    """The step processes of a `sovereignty run` with SOVEREIGNTY_PROCESSES > 1 write under the
    lock the command holds for the run; a process that did not inherit it is refused."""
    warehouse = home / "warehouse.duckdb"
    take = f"from pathlib import Path; from pipelines.warehouse import writer_lock\nwith writer_lock(Path({str(warehouse)!r})): pass"
    with writer_lock(warehouse):
        child = subprocess.run([sys.executable, "-c", take], capture_output=True, text=True)
        assert child.returncode == 0, child.stderr
        stranger = subprocess.run([sys.executable, "-c", take], capture_output=True, text=True,
                                  env={k: v for k, v in os.environ.items() if k != WRITER_TOKEN_VARIABLE})
        assert "WarehouseBusyError" in stranger.stderr


def test_a_step_of_the_same_run_waits_for_the_lock_and_a_step_of_another_run_is_refused(home):
    """Steps of one Dagster run in parallel processes (no command holding the lock for them)
    take turns; a step of another run fails at once naming the holder."""
    warehouse = home / "warehouse.duckdb"
    holder = hold_in_subprocess(
        f"""
        from pathlib import Path
        from pipelines.warehouse import writer_lock
        lock = writer_lock(Path({str(warehouse)!r}), "run-1"); lock.__enter__()
        """
    )
    with pytest.raises(WarehouseBusyError, match=f'"pid": {holder.pid}'):
        with writer_lock(warehouse, "run-2"):
            pass
    threading.Timer(1.0, release, [holder]).start()
    started = time.monotonic()
    with writer_lock(warehouse, "run-1"):
        assert time.monotonic() - started >= 0.9  # waited for the other step to let go


def test_duckdb_file_open_elsewhere_gives_a_clear_message_naming_the_process(home):
    warehouse = home / "warehouse.duckdb"
    holder = hold_in_subprocess(f"import duckdb; con = duckdb.connect({str(warehouse)!r})")
    try:
        with pytest.raises(WarehouseBusyError, match=rf"held open by process {holder.pid} .*close it"):
            open_warehouse(Settings.from_env(), wait_seconds=0)
    finally:
        release(holder)


def test_a_writer_waits_for_a_reader_to_close_the_file(home):
    """An analyst's read-only session holding the file delays a step; it does not fail it."""
    warehouse = home / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    reader = hold_in_subprocess(f"import duckdb; con = duckdb.connect({str(warehouse)!r}, read_only=True)")
    closer = threading.Timer(1.5, release, [reader])
    closer.start()
    started = time.monotonic()
    with open_warehouse(Settings.from_env(), wait_seconds=30) as con:
        assert con.execute("select 1").fetchone() == (1,)
    assert 1.0 < time.monotonic() - started < 30
    closer.join()


def test_a_writer_gives_up_after_the_wait_naming_the_reader(home):
    warehouse = home / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    reader = hold_in_subprocess(f"import duckdb; con = duckdb.connect({str(warehouse)!r}, read_only=True)")
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError, match=rf"process {reader.pid} .* after waiting 1 s"):
            open_warehouse(Settings.from_env(), wait_seconds=1)
        assert time.monotonic() - started < 10
    finally:
        release(reader)


def test_a_damaged_warehouse_is_reported_as_damaged(home):
    warehouse = home / "warehouse.duckdb"
    warehouse.write_bytes(b"not a database" * 1000)
    with pytest.raises(WarehouseDamagedError, match="is damaged and cannot be read .* Run `sovereignty rebuild`"):
        open_warehouse(Settings.from_env(), wait_seconds=0)


def test_sovereignty_run_exits_busy_while_another_run_writes(home, capsys):
    holder = hold_in_subprocess(
        f"""
        from pathlib import Path
        from pipelines.warehouse import writer_lock
        lock = writer_lock(Path({str(home / 'warehouse.duckdb')!r})); lock.__enter__()
        """
    )
    try:
        started = time.monotonic()
        assert main(["run"]) == EXIT_BUSY
        assert time.monotonic() - started < 10  # fails at once, does not wait
    finally:
        release(holder)
    assert "DuckDB allows one writing process per file" in capsys.readouterr().err


def test_a_check_that_cannot_open_the_warehouse_did_not_run_rather_than_failed(warehouse, monkeypatch):
    """A quality check meeting a warehouse held by another process has not looked at the data: its
    step fails saying so, no check result reads as a failed expectation, and nothing is recorded
    as a validation or a withheld release."""
    monkeypatch.setenv("SOVEREIGNTY_LOCK_WAIT_SECONDS", "0")
    warehouse.con.close()
    path = warehouse.home / "warehouse.duckdb"
    holder = hold_in_subprocess(f"import duckdb; con = duckdb.connect({str(path)!r})")
    try:
        result = build_definitions(Settings.from_env()).resolve_job_def(PUBLISH_JOB).execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    finally:
        release(holder)

    evaluations = [e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    failures = {e.step_key: e.step_failure_data.error.message for e in result.all_events if e.is_step_failure}
    assert evaluations == []
    gx_steps = [step for step in failures if "_gx_" in step]
    assert gx_steps and all("did not run: the warehouse could not be opened" in failures[s] for s in gx_steps)
    assert all(f"process {holder.pid}" in failures[s] for s in gx_steps)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from audit.quality_results").fetchone()[0] == 0
        assert con.execute("select count(*) from audit.publications").fetchone()[0] == 0


def test_a_step_of_the_same_run_is_never_refused_while_another_takes_and_lets_go_of_the_lock(home):
    """A holder writes its record just after taking the lock and clears it just before letting go;
    a step of the same run that looks in those moments waits instead of failing."""
    warehouse = home / "warehouse.duckdb"
    sibling = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from pipelines.warehouse import writer_lock
        end = time.monotonic() + 6
        while time.monotonic() < end:
            with writer_lock(Path({str(warehouse)!r}), "run-1"):
                time.sleep(0.002)
        """)], stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # the sibling is taking and letting go of the lock in a loop
    turns = 0
    end = time.monotonic() + 3
    while time.monotonic() < end:
        with writer_lock(warehouse, "run-1"):
            turns += 1
    assert sibling.wait(timeout=30) == 0, sibling.stderr.read()
    assert turns  # it got its turns, waiting each time rather than failing
