"""dbt-core run inside the calling process (dbt's programmatic entry point, dbtRunner), with its
events streamed as they happen, in the form dagster-dbt reads from a dbt process's JSON log.

Why: a dbt process costs its start-up (importing dbt and the adapter, about 3 s) and dbt's
partial parse of the project (about 1.5 s) at every command, and the dbt step runs up to two
commands a run. In the step's process dbt is imported once per process, and the project is parsed
once per process and profile: a `sovereignty serve` process pays neither again for the next run.

Used for the DuckDB engine only (pipelines/defs/transformation.py). On Spark, dbt-spark's session
would start a JVM inside the step's process and keep it there; that engine keeps dbt's own process.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pipelines.settings import DBT_PROJECT_DIR, Settings
from pipelines.transformation.dbt_command import dbt_vars, write_profile

# Every event level dbt writes to its console by default: what a dbt process's JSON log holds.
CONSOLE_LEVELS = frozenset({"info", "warn", "error"})


class DbtFailed(Exception):
    """A dbt command ended unsuccessfully: a node failed, or dbt itself stopped."""


@dataclass
class InProcessDbt:
    """dbt commands on one project and profile, parsed once in this process."""

    project_dir: Path
    profiles_dir: Path
    target_path: Path
    vars_args: tuple[str, ...]  # --vars and its value (dbt_command.dbt_vars): part of the parse
    _manifest: Any = field(default=None, init=False, repr=False)

    def places(self) -> list[str]:
        """Where dbt finds the project and profile and writes its artifacts. dbt's console and its
        debug log file are off: its messages reach the run's dbt log through the events, and a
        log file dbt cannot write (a full disk) would print Python's logging tracebacks."""
        return ["--project-dir", str(self.project_dir), "--profiles-dir", str(self.profiles_dir),
                "--target-path", str(self.target_path), "--log-path", str(self.target_path),
                "--log-level", "none", *self.vars_args]

    def manifest(self) -> Any:
        """dbt's parsed project (a dbt Manifest), parsed at the first call (partially, from the
        target folder's saved state, when the project has not changed)."""
        if self._manifest is None:
            from dbt.cli.main import dbtRunner

            parsed = dbtRunner().invoke(["parse", *self.places()])
            if not parsed.success:
                raise DbtFailed(f"dbt could not parse the project: {parsed.exception}")
            self._manifest = parsed.result
        return self._manifest

    def stream(self, args: Sequence[str], log: TextIO) -> Iterator[dict[str, Any]]:
        """Run `dbt ARGS` and yield its events (dicts as in dbt's JSON log) as dbt fires them,
        writing each event's message to log (what dbt would print). Raises DbtFailed, naming dbt's
        errors, when the command does not succeed.

        dbt runs in a thread of its own so that its events reach the caller while it works; the
        caller's thread (Dagster's step) turns them into Dagster events."""
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import msg_to_dict

        manifest = self.manifest()
        events: queue.Queue = queue.Queue()
        finished = object()
        outcome: dict[str, Any] = {}

        def on_event(message: Any) -> None:
            if message.info.level in CONSOLE_LEVELS:
                events.put(msg_to_dict(message))

        def invoke() -> None:
            try:
                outcome["result"] = dbtRunner(manifest=manifest, callbacks=[on_event]).invoke(
                    [*args, *self.places()])
            except BaseException as error:  # reported to the caller's thread below
                outcome["error"] = error
            finally:
                close_warehouse_connection()
                events.put(finished)

        thread = threading.Thread(target=invoke, name="dbt", daemon=True)
        thread.start()
        errors: list[str] = []
        try:
            while (event := events.get()) is not finished:
                log.write(event["info"]["msg"] + "\n")
                if event["info"]["level"] == "error":
                    errors.append(event["info"]["msg"])
                yield event
        finally:
            # Also when the caller stops reading early (Dagster abandoned the step, Ctrl-C): dbt
            # ends and closes the warehouse first. A thread still inside DuckDB when the
            # interpreter exits is cut off there, and the process aborts.
            thread.join()
        if "error" in outcome:
            raise outcome["error"]
        result = outcome["result"]
        if not result.success:
            reasons = errors or [str(result.exception or "dbt reported no error message")]
            raise DbtFailed("dbt build failed:\n" + "\n".join(reasons))


def close_warehouse_connection() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the rest of the process (its
    connection manager's environment, otherwise closed only at exit): the pipeline's next step, in
    this process or another, opens the warehouse itself."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


def dbt_runner(settings: Settings) -> InProcessDbt:
    """The runner of the settings' home, one per process (its profile written anew)."""
    return _runner(DBT_PROJECT_DIR, write_profile(settings), settings.dbt_target, tuple(dbt_vars(settings)))


@functools.cache
def _runner(project_dir: Path, profiles_dir: Path, target_path: Path, vars_args: tuple[str, ...]) -> InProcessDbt:
    """One runner per project, profile, target folder and vars in a process, so that its parsed
    project outlives a run: the next run of a `sovereignty serve` process parses nothing. (That
    process keeps the dbt project it loaded, as its Dagster definitions do: restart it after
    changing the project.)"""
    return InProcessDbt(project_dir, profiles_dir, target_path, vars_args)
