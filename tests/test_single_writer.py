"""One writing process per DuckDB file: a second writer is refused at once with a clear message."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from pipelines.cli import EXIT_BUSY, main
from pipelines.warehouse import WarehouseBusyError, connect, writer_lock


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


def test_duckdb_file_open_elsewhere_gives_a_clear_message(home):
    warehouse = home / "warehouse.duckdb"
    holder = hold_in_subprocess(f"import duckdb; con = duckdb.connect({str(warehouse)!r})")
    try:
        with pytest.raises(WarehouseBusyError, match="open for writing in another process"):
            connect(warehouse)
    finally:
        release(holder)


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
