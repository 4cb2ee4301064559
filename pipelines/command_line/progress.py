"""What `sovereignty run` shows while it works: its steps as they happen, read from the run's events.

The job runs in this process; a second thread reads the run's own Dagster events as they are
stored and turns them into lines an operator reads: each report kind ingested (files, rows,
rejected files one per line), the dbt build (models done of the total, and each table of the
computed layer computed in its middle), the checks, the
publication, each with its elapsed time. On a terminal the dbt build gets a progress bar; in a
pipe or a log every line is plain text.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from pipelines.transformation.computed import COMPUTED_SOURCE

DBT_STEP = "warehouse_models"
RELEASE_STEP = "published__release"
WATCHED = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}


def stage_of(step: str) -> str:
    """The stage a step belongs to, in the words of docs/operations.md."""
    if step == DBT_STEP:
        return "dbt build"
    if step.startswith("published__"):  # the release and the checks on it (alerts)
        return "publication"
    if "_gx_" in step:
        return "raw checks" if step.startswith("raw__") else "mart checks"
    return "ingestion"


class RunDisplay:
    """Turns the run's events into lines; a bar for the dbt build on a terminal."""

    def __init__(self, out: TextIO):
        self.console = Console(file=out, highlight=False, soft_wrap=True)
        self.dbt_models = 0  # known once the definitions are loaded
        self.started = time.monotonic()
        self.step_started: dict[str, float] = {}
        self.bar: Progress | None = None
        self.bar_task = TaskID(0)  # the bar's one task, once the bar exists
        # a quarterly ingestion step materialises once per quarter of the run, with the same
        # figures: the line is printed once, when the step ends
        self.ingested: dict[str, tuple[str, dict]] = {}

    def line(self, text: str) -> None:
        self.console.print(f"[{time.monotonic() - self.started:6.1f}s] {text}", markup=False)

    def event(self, event: dg.DagsterEvent) -> None:
        step = event.step_key or ""
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            self.step_started[step] = time.monotonic()
            if step == DBT_STEP:
                self.line(f"dbt build: {self.dbt_models} models and seeds, with their tests")
                self.start_bar()
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            self.materialized(step, event)
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            if stage_of(step) != "dbt build":  # dbt's hundreds of tests are counted in the summary
                status = "passed" if evaluation.passed else "FAILED"
                # a stage's suites share a step: each reports its own seconds
                seconds = evaluation.metadata.get("seconds")
                took = f"{seconds.value:.1f}s" if seconds is not None else self.elapsed(step)
                self.line(f"{stage_of(step)}: {evaluation.check_name} {status} ({took})")
        elif kind == dg.DagsterEventType.STEP_SUCCESS and step == DBT_STEP:
            self.stop_bar()
            self.line(f"dbt build: done ({self.elapsed(step)})")
        elif kind == dg.DagsterEventType.STEP_SUCCESS and step in self.ingested:
            self.print_ingested(step, *self.ingested.pop(step))
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            self.stop_bar()
            self.line(f"{stage_of(step)}: step {step} FAILED ({self.elapsed(step)})")

    def materialized(self, step: str, event: dg.DagsterEvent) -> None:
        materialization = event.materialization
        metadata = {key: value.value for key, value in materialization.metadata.items()}
        if step == DBT_STEP:
            if materialization.asset_key.path[0] == COMPUTED_SOURCE:  # computed in Python between dbt's parts
                self.line(f"dbt build: computed {'.'.join(materialization.asset_key.path)} in Python, "
                          f"{metadata.get('dagster/row_count', 0):,} rows ({metadata.get('seconds', 0):.1f}s)")
            elif self.bar is not None:
                self.bar.advance(self.bar_task)
            return
        if step == RELEASE_STEP:
            self.line(f"publication: {metadata.get('outcome')} {metadata.get('release_id')} ({self.elapsed(step)})")
            return
        if "files_loaded" in metadata:
            self.ingested[step] = (materialization.asset_key.path[-1], metadata)

    def print_ingested(self, step: str, kind: str, metadata: dict) -> None:
        files = sum(metadata[f"files_{s}"] for s in ("loaded", "duplicate", "rejected"))
        self.line(
            f"ingested {kind}: {files} files ({metadata['files_duplicate']} duplicate, {metadata['files_rejected']} "
            f"rejected), {metadata['rows_loaded']:,} rows loaded, {metadata['rows_quarantined']:,} quarantined "
            f"({self.elapsed(step)})"
        )
        for rejected in metadata.get("rejected_files") or []:
            self.line(f"  rejected {rejected['file']}: {' '.join(rejected['reason'].split())}")

    def elapsed(self, step: str) -> str:
        return f"{time.monotonic() - self.step_started.get(step, self.started):.1f}s"

    def start_bar(self) -> None:
        if not self.console.is_terminal:
            return
        self.bar = Progress(TextColumn("  dbt build"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=self.console, transient=True)
        self.bar_task = self.bar.add_task("dbt", total=self.dbt_models)
        self.bar.start()

    def stop_bar(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class RunWatcher(threading.Thread):
    """Reads one run's events from the instance while the run executes in the main thread."""

    POLL_SECONDS = 0.25

    def __init__(self, instance: dg.DagsterInstance, run_id: str, display: RunDisplay):
        super().__init__(name="run-watcher", daemon=True)
        self.instance, self.run_id, self.display = instance, run_id, display
        self.cursor: str | None = None
        self.finished = threading.Event()

    def run(self) -> None:
        while not self.finished.is_set():
            self.drain()
            self.finished.wait(self.POLL_SECONDS)
        self.drain()

    def drain(self) -> None:
        while True:
            page = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, of_type=WATCHED, limit=500)
            for record in page.records:
                event = record.event_log_entry.dagster_event
                if event is not None:
                    self.display.event(event)
            self.cursor = page.cursor
            if not page.has_more:
                return

    def stop(self) -> None:
        self.finished.set()
        self.join()
        self.display.stop_bar()
