"""The home's Dagster event log keeps its SQLite databases open (pipelines/command_line/event_log.py):
the events are Dagster's own, another process follows a running run as Dagster's UI does, and a
process killed after a write loses none of it."""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log import SqliteEventLogStorage

from pipelines.command_line.cli import DAGSTER_YAML, dagster_instance
from pipelines.command_line.event_log import KeptOpenSqliteEventLogStorage
from pipelines.settings import Settings


@dg.op
def says_hello(context) -> None:
    for number in range(5):
        context.log.info(f"hello {number}")


@dg.job
def greeting():
    says_hello()


@pytest.fixture
def instance(tmp_path, monkeypatch) -> dg.DagsterInstance:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = dataclasses.replace(Settings.from_env(), home=tmp_path)
    found = dagster_instance(settings)
    yield found
    found.dispose()
    os.environ.pop("DAGSTER_HOME", None)


def messages(storage, run_id: str) -> list[str]:
    return [record.event_log_entry.message for record in storage.get_records_for_run(run_id).records]


def test_the_home_instance_stores_a_runs_events_in_dagsters_files_through_kept_open_connections(instance, tmp_path):
    assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
    result = greeting.execute_in_process(instance=instance)
    assert result.success
    runs = tmp_path / "dagster" / "history" / "runs"
    assert (runs / f"{result.run_id}.db").exists() and (runs / "index.db").exists()
    # a storage of Dagster's own class, as another tool would open the same files, reads them
    plain = SqliteEventLogStorage(str(runs))
    written = [m for m in messages(plain, result.run_id) if m.startswith("hello")]
    assert written == [f"hello {n}" for n in range(5)]
    assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS


def test_another_process_following_a_run_sees_each_new_event(instance, tmp_path):
    """Dagster's UI follows a run by watching its database file; with connections kept open no
    checkpoint changes the file, so each write touches it."""
    run_id = greeting.execute_in_process(instance=instance).run_id
    follower = KeptOpenSqliteEventLogStorage(str(tmp_path / "dagster" / "history" / "runs"))
    seen: queue.Queue = queue.Queue()
    cursor = follower.get_records_for_run(run_id).cursor
    follower.watch(run_id, cursor, lambda entry, _cursor: seen.put(entry.message))
    try:
        for number in range(3):
            instance.report_engine_event(f"later {number}", instance.get_run_by_id(run_id))
            assert seen.get(timeout=10) == f"later {number}"
    finally:
        follower.dispose()


def test_a_process_killed_right_after_writing_loses_no_event(tmp_path):
    home = tmp_path / "home"
    script = textwrap.dedent(f"""
        import dataclasses, os, signal
        from pathlib import Path
        import dagster as dg
        from pipelines.command_line.cli import dagster_instance
        from pipelines.settings import Settings
        from tests.test_event_log import greeting
        instance = dagster_instance(dataclasses.replace(Settings.from_env(), home=Path({str(home)!r})))
        run_id = greeting.execute_in_process(instance=instance).run_id
        for number in range(20):
            instance.report_engine_event(f"last words {{number}}", instance.get_run_by_id(run_id))
        print(run_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    environment = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    killed = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_id = killed.stdout.split()[-1]
    plain = SqliteEventLogStorage(str(home / "dagster" / "history" / "runs"))
    assert [m for m in messages(plain, run_id) if m.startswith("last words")] == [f"last words {n}" for n in range(20)]


def test_a_dagster_yaml_of_an_earlier_version_is_rewritten_and_ones_own_is_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    config = tmp_path / "dagster" / "dagster.yaml"
    config.parent.mkdir()
    earlier = "# Written by `sovereignty run`. Runs are serialised.\nrun_queue:\n  max_concurrent_runs: 1\n"
    config.write_text(earlier)
    settings = dataclasses.replace(Settings.from_env(), home=tmp_path)
    dagster_instance(settings).dispose()
    assert config.read_text() == DAGSTER_YAML
    own = "run_queue:\n  max_concurrent_runs: 1\n"  # a user's own: the storage is theirs to choose
    config.write_text(own)
    dagster_instance(settings).dispose()
    assert config.read_text() == own
    os.environ.pop("DAGSTER_HOME", None)
    assert not list(Path(config.parent).glob(".dagster.yaml.*"))  # no staging file left
