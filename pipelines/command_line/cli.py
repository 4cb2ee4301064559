"""The `sovereignty` command: demo, run, status (outputs.md, "Command line"), and publish, sql, rebuild.

Expected conditions (a busy or damaged warehouse, a bad setting, a full disk) end in one line on
stderr and a documented exit code, never a traceback (README, "The command line").
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import json
import os
import shlex
import shutil
import signal
import socket
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import TextIO

import dagster as dg
import duckdb
import polars as pl

from pipelines.command_line.progress import DBT_STEP, RunDisplay, RunWatcher
from pipelines.defs.jobs import DBT_LOG_TAG, MAIN_JOB, PUBLISH_JOB, job_finishing, partition_range_tags
from pipelines.defs.transformation import DBT_TESTS_CHECK
from pipelines.files import write_atomically
from pipelines.ingestion.ingest import InboxError, Ingestor, NotRegularFile, kept_files, read_entry, sha256_of
from pipelines.ingestion.periods import quarter_of
from pipelines.ingestion.planning import InboxPlan, inbox_plan
from pipelines.ingestion.raw_layer import QUARANTINE_FOLDER, RAW_FOLDER
from pipelines.publication.attempts import record_unrecorded_release, unfinished_work
from pipelines.publication.release import DamagedLatest, read_latest
from pipelines.settings import DEFAULT_SPARK_MASTER, Settings, SettingsError
from pipelines.transformation.computed import COMPUTED_FOLDER
from pipelines.warehouse import (
    WarehouseBusyError,
    WarehouseDamagedError,
    create_schemas,
    current_writer,
    newest_load_id,
    open_warehouse,
    scalar,
    writer_lock,
)

EXIT_FAILED = 1  # a step failed, or a blocking check withheld the release
EXIT_USAGE = 2  # a bad argument or setting, or a home that cannot be used
EXIT_BUSY = 3  # another process writes the warehouse or holds it open
EXIT_DAMAGED = 4  # the warehouse cannot be read: `sovereignty rebuild`
EXIT_NO_SPACE = 5  # the disk is full
# `sovereignty serve`: seconds between looks at the inbox (a run takes far longer at any scale)
DEFAULT_POLL_SECONDS = 10.0

# The module of the Dagster definitions: `make ui` serves it, and a step process loads the run's job from it.
DEFINITIONS_MODULE = "pipelines.defs.definitions"
# What `execute_job` returns: the in-process executor's result, or the multiprocess executor's.
RunResult = dg.ExecuteInProcessResult | dg.JobExecutionResult
# Runs started by this command carry the process and machine that ran them, so that a run left
# STARTED by a killed process can be told from one that is still going.
PID_TAG = "sovereignty/pid"
HOST_TAG = "sovereignty/host"


class HomeError(RuntimeError):
    """SOVEREIGNTY_HOME is missing or cannot be written."""

DAGSTER_YAML_HEADER = "# Written by `sovereignty run`."
DAGSTER_YAML = f"""\
{DAGSTER_YAML_HEADER} Runs are serialised: DuckDB takes one writing process per file.
run_queue:
  max_concurrent_runs: 1
telemetry:
  enabled: false
# Dagster's SQLite event log, its databases kept open in a process (pipelines/command_line/event_log.py);
# in the folder DAGSTER_HOME names, as every Dagster tool sets it
event_log_storage:
  module: pipelines.command_line.event_log
  class: KeptOpenSqliteEventLogStorage
  config:
    dagster_home:
      env: DAGSTER_HOME
"""


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent Dagster instance of this home, so `dagster dev` shows the command's runs."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    # written the first time, and again when an earlier version of this command wrote it; a
    # dagster.yaml of one's own is left as it is
    written = config.read_text() if config.exists() else None
    if written is None or (written.startswith(DAGSTER_YAML_HEADER) and written != DAGSTER_YAML):
        write_atomically(config, DAGSTER_YAML.encode())  # two commands may start at once
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    return dg.DagsterInstance.get()


def fail_abandoned_runs(instance: dg.DagsterInstance) -> None:
    """Mark failed the runs of this command whose process died (killed, machine restarted)."""
    unfinished = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=unfinished)):
        pid, host = run.tags.get(PID_TAG), run.tags.get(HOST_TAG)
        if pid and host == socket.gethostname() and not process_alive(int(pid)):
            instance.report_run_failed(run, message=f"process {pid} that ran it ended without finishing it")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def execute_job(settings: Settings, name: str, plan: InboxPlan | None, out: TextIO, log_path: Path,
                defs: dg.Definitions | None = None) -> RunResult:
    """Run one of the definitions' jobs in this process, showing its steps on `out` as they happen
    (defs: the pipeline already loaded, else loaded here)."""
    display = RunDisplay(out)
    if defs is None:
        display.line(f"{name}: loading the pipeline (Dagster definitions, the dbt project)")
        from pipelines.defs.definitions import build_definitions  # heavy: only commands that run need it

        defs = build_definitions(settings)
    job = defs.resolve_job_def(name)
    instance = dagster_instance(settings)
    fail_abandoned_runs(instance)
    run_id = str(uuid.uuid4())
    display.dbt_models = sum(len(assets.keys) for assets in defs.assets or []
                             if isinstance(assets, dg.AssetsDefinition) and assets.op.name == DBT_STEP)
    display.line(f"run {run_id} started; its full log is in the Dagster UI and the run log")
    watcher = RunWatcher(instance, run_id, display)
    tags = {**(partition_range_tags(plan) if plan else {}), PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(),
            DBT_LOG_TAG: str(log_path)}
    # The command shows its own lines; Dagster's step log stays in the run's event log.
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    watcher.start()
    try:
        if settings.processes == 1:
            return job.execute_in_process(instance=instance, run_id=run_id, tags=tags, raise_on_error=False,
                                          run_config=run_config)
        # Steps in processes of their own (the definitions' multiprocess executor), each of which
        # loads the job again by name; they share this process's writer lock (warehouse.writer_lock).
        from dagster._core.execution.api import execute_run  # execute_job, its public form, takes no run id

        run = instance.create_run_for_job(job_def=job, run_id=run_id, run_config=run_config, tags=tags)
        return execute_run(dg.build_reconstructable_job(DEFINITIONS_MODULE, "job_named", reconstructable_args=(name,)),
                           run, instance)
    finally:
        watcher.stop()


def check_home(settings: Settings) -> None:
    """A run needs an existing, writable home; it never creates one silently at a mistyped path."""
    check_home_exists(settings)
    if not os.access(settings.home, os.W_OK | os.X_OK):
        raise HomeError(f"The home {settings.home} is read-only for this user: a run writes the warehouse and moves "
                        "files there. Run as its owner or make it writable.")
    if not settings.warehouse.exists() and kept_files(settings.home):
        raise WarehouseDamagedError(
            f"The warehouse {settings.warehouse} is missing, but {settings.processed} and {settings.rejected} keep "
            "files already ingested. Run `sovereignty rebuild` to re-ingest them into a new warehouse."
        )


def print_load_summary(con: duckdb.DuckDBPyConnection, after_load_id: int) -> None:
    rows = con.execute(
        """
        select kind,
               count(*) filter (where status = 'loaded') as loaded,
               count(*) filter (where status = 'duplicate') as duplicate,
               count(*) filter (where status = 'rejected') as rejected,
               sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(rows_skipped)
        from audit.loads where load_id > ? group by kind order by kind
        """,
        [after_load_id],
    ).fetchall()
    header = ("kind", "files", "duplicate", "rejected", "rows read", "loaded", "quarantined", "skipped")
    print("{:<16}{:>7}{:>11}{:>10}{:>12}{:>12}{:>13}{:>9}".format(*header))
    for row in rows:
        print("{:<16}{:>7}{:>11}{:>10}{:>12}{:>12}{:>13}{:>9}".format(*row))


def print_headlines(con: duckdb.DuckDBPyConnection, release: Path) -> None:
    """The figures a reader looks for first, as published: the index by area and the strategic
    dependencies, with `c` where disclosure control hides a figure (the marts hold the
    unpublished values; analysts read those with `sovereignty sql`)."""
    index = pl.read_parquet(release / "sovereignty_index.parquet")
    computed = index.filter(pl.col("sovereignty_index").is_not_null() | pl.col("sovereignty_index_flag").is_not_null())
    if computed.is_empty():
        print("No sovereignty index yet: the release has no year with every pillar reported.")
        return
    year = computed["year"].max()
    names = dict(con.execute("select project_code, name_en from reference.priority_areas").fetchall())
    names["ALL"] = "All areas, weighted by consumption"
    print(f"\nSovereignty index by priority area, {year!s}, as published (0-100; c: confidential, withheld)")
    rows = index.filter(pl.col("year") == year).sort(
        pl.col("project_code") == "ALL", pl.col("sovereignty_index"), descending=[False, True], nulls_last=True)
    for code, value, flag, missing in rows.select("project_code", "sovereignty_index", "sovereignty_index_flag",
                                                  "missing_pillars").iter_rows():
        figure = f"{value:6.1f}" if value is not None else "     c" if flag else f"  none (missing: {missing})"
        print(f"  {code:<4} {names.get(code, code):<55}{figure}")
    products = pl.read_parquet(release / "product_independence.parquet")
    assessed = products.filter(pl.col("import_dependency").is_not_null() | pl.col("import_dependency_flag").is_not_null())
    if assessed.is_empty():
        return
    period = str(assessed["period"].max())
    latest = products.filter(pl.col("period") == period)
    dependencies = latest.filter(pl.col("strategic_dependency").fill_null(False)).sort("import_dependency", descending=True)
    withheld = latest.filter(pl.col("strategic_dependency_flag").is_not_null()).height
    product_names = dict(con.execute("select okpd2, name_en from reference.products").fetchall())
    print(f"\nStrategic dependencies, {period}, as published: import dependency > 0.5 and HHI > 0.4")
    for okpd2, dependency, hhi in dependencies.select("okpd2", "import_dependency", "import_hhi").iter_rows():
        print(f"  {okpd2} {product_names.get(okpd2, '')} (import dependency {dependency:.2f}, HHI {hhi:.2f})")
    if dependencies.is_empty():
        print("  none among the published products")
    if withheld:
        print(f"  (for {withheld} more products whether they are a strategic dependency is confidential: c)")


def root_cause(error) -> str:
    """The innermost error's message: Dagster wraps a step's exception in its own."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def print_checks(result: RunResult) -> None:
    """How many checks ran (dbt tests, Great Expectations suites, the alert check); a failed check
    of warning severity (raw volumes, new high-severity signals) is a warning, not a failure."""
    evaluations = [event.asset_check_evaluation_data for event in result.all_events
                   if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
    if not evaluations:
        return
    unmet = [e for e in evaluations if not e.passed]
    failed = sorted(check_label(e) for e in unmet if e.severity == dg.AssetCheckSeverity.ERROR)
    warned = sorted(check_label(e) for e in unmet if e.severity != dg.AssetCheckSeverity.ERROR)
    print(f"\nChecks: {len(evaluations) - len(unmet)} of {len(evaluations)} passed"
          + (f"; warnings: {', '.join(warned)}" if warned else "")
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))


def check_label(evaluation: dg.AssetCheckEvaluation) -> str:
    """A check as the summary names it: a model's dbt check by its model and failing tests."""
    if evaluation.check_name != DBT_TESTS_CHECK:
        return evaluation.check_name
    failing = evaluation.metadata.get("failing_tests")
    failures: list[dict] = failing.value if isinstance(failing, dg.JsonMetadataValue) else []  # type: ignore[assignment]
    return f"dbt tests of {evaluation.asset_key.path[-1]} ({', '.join(failure['test'] for failure in failures)})"


def print_warnings(con: duckdb.DuckDBPyConnection) -> None:
    """What has not arrived yet: the release goes out without it, and says so."""
    details = [d for (d,) in con.execute(
        "select detail from marts.data_quality where severity = 'warning' order by rule, detail").fetchall()]
    if details:
        print(f"\nCompleteness warnings ({len(details)}): the release covers what has arrived")
        for detail in details[:20]:
            print(f"  {detail}")
        if len(details) > 20:
            print(f"  ... and {len(details) - 20} more warnings (marts.data_quality, the release's manifest)")


def print_new_signals(settings: Settings, con: duckdb.DuckDBPyConnection, release_id: str) -> None:
    """The release's new high-severity risk signals (docs/early_warning.md), as the alert sends them."""
    from pipelines.publication.alerts import new_high_signals, previous_release

    signals = new_high_signals(settings.published, release_id, previous_release(con, release_id))
    print(f"\nNew high-severity risk signals: {len(signals) or 'none'}")
    for risk in signals:
        print(f"  {risk['period']} {risk['signal_type']}: {risk['message']}")


def publication_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple | None:
    return con.execute(
        "select outcome, release_id, reason, failed_checks from audit.publications where run_id = ? order by attempt_id desc limit 1",
        [run_id],
    ).fetchone()


def print_blocked(reason: str, failed_checks: str | None) -> None:
    print(f"NOT PUBLISHED: {reason}. The previous release stays as it was.", file=sys.stderr)
    for suite in json.loads(failed_checks or "[]"):
        for failure in suite["failed"]:
            print(f"  {suite['suite']} ({suite['target']}): {failure['expectation']} {failure['kwargs']}: {failure['observed']}",
                  file=sys.stderr)


def report_publication(settings: Settings, publication: tuple | None) -> bool:
    """Print what happened to the release; True when a release is out (new or unchanged)."""
    if publication is None:
        print("NOT PUBLISHED: the run stopped before publication.", file=sys.stderr)
        return False
    outcome, release_id, reason, failed_checks = publication
    if outcome == "blocked":
        print_blocked(reason, failed_checks)
        return False
    path = settings.published / release_id
    if outcome == "published":
        print(f"\nPublished release {release_id}: {path} (report: {path / 'report.html'})")
    else:
        print(f"\nNo new release: the data is unchanged since {release_id} ({path})")
    return True


def command_run(settings: Settings, defs: dg.Definitions | None = None) -> int:
    """Ingest what is new and finish whatever an earlier run left undone (docs/operations.md).
    defs: the pipeline already loaded (command_serve), else loaded for this run."""
    check_home(settings)
    with writer_lock(settings.warehouse):
        plan = inbox_plan(settings)
        with open_warehouse(settings) as con:
            create_schemas(con)
            record_unrecorded_release(con, settings.published)
            before = newest_load_id(con)
            unfinished = unfinished_work(con, settings.published)
        if plan.empty and unfinished is None:
            return report_up_to_date(settings)
        if unfinished is None and only_duplicates(settings, plan):
            return record_duplicates(settings, plan, before)
        job = MAIN_JOB
        if plan.empty and unfinished is not None:
            job = job_finishing(unfinished)
            print(f"Nothing new in {settings.home / 'inbox'}, but {unfinished.why}: finishing it.")
        result, log_path = execute_logged(settings, job, plan, defs)
        with open_warehouse(settings, read_only=True) as con:
            print_load_summary(con, before)
    return report_run(settings, result, log_path)


def command_serve(settings: Settings, poll_seconds: float) -> int:
    """`sovereignty run` each time reports arrive, in one long-lived process that loads the pipeline
    once (docs/operations.md, "A long-lived process"). It runs once at start (to finish what an
    earlier run left undone), then whenever the inbox holds files, looking every poll_seconds. A
    run that fails is reported like a `sovereignty run` and the process waits for the next
    reports; Ctrl-C or SIGTERM stops it (during a run, as a killed `sovereignty run` would stop)."""
    check_home(settings)
    # heavy, and loaded once for every run: the definitions, Great Expectations (2.5 s), which a
    # check imports when it first runs, and on DuckDB dbt with the project parsed (about 4 s),
    # which the dbt step would do at its first command
    import pipelines.quality.gx_common  # noqa: F401
    from pipelines.defs.definitions import build_definitions
    from pipelines.transformation.dbt_in_process import dbt_runner

    defs = build_definitions(settings)
    if settings.engine == "duckdb":
        dbt_runner(settings).manifest()
    listen_for_stop()
    print(f"Serving {settings.home}: a run starts when reports arrive in {settings.home / 'inbox'} "
          f"(looked at every {poll_seconds:g} s). Ctrl-C stops.", flush=True)
    try:
        first = True
        while True:
            if first or any(inbox_plan(settings).files.values()):
                started = time.monotonic()
                try:
                    code = command_run(settings, defs)
                except tuple(EXIT_CODES) as error:  # the run ends as `sovereignty run` would; serving goes on
                    print(error, file=sys.stderr)
                    code = exit_code_of(error)
                print(f"Run ended after {time.monotonic() - started:.1f} s (exit code {code}); waiting for reports.",
                      flush=True)
                listen_for_stop()
                first = False
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
        return 0


def only_duplicates(settings: Settings, plan: InboxPlan) -> bool:
    """Whether every pending file is a regular file whose bytes were ingested before.

    Stops at the first file that is new, so a normal delivery costs one file's read."""
    with open_warehouse(settings, read_only=True) as con:
        for kind, paths in plan.files.items():
            for path in paths:
                try:
                    content, _ = read_entry(path)
                except NotRegularFile:
                    return False
                known = scalar(con, "select count(*) from audit.loads where kind = ? and sha256 = ? and status <> 'duplicate'",
                               [kind, sha256_of(content)])
                if not known:
                    return False
    return True


def record_duplicates(settings: Settings, plan: InboxPlan, before: int) -> int:
    """Record and keep a delivery of duplicates without a run: no figure can change."""
    with open_warehouse(settings) as con:
        ingestor = Ingestor.on(con, settings.home, settings.today)
        results = [result for kind, paths in plan.files.items() if paths for result in ingestor.ingest_kind(kind)]
        print(f"All {len(results)} delivered files are duplicates of files already ingested: recorded in audit.loads "
              "and kept under processed/. Nothing to rebuild; the release is unchanged.")
        print_load_summary(con, before)
    return 0


def report_up_to_date(settings: Settings) -> int:
    """Nothing to do: say so, or say why the current data has no release."""
    with open_warehouse(settings, read_only=True) as con:
        attempt = con.execute(
            """select outcome, reason, failed_checks from audit.publications
               where build_id = (select max(build_id) from audit.builds) order by attempt_id desc limit 1"""
        ).fetchone()
    if attempt and attempt[0] == "blocked":
        print(f"Nothing new in {settings.home / 'inbox'}, and the release of the current data is withheld.", file=sys.stderr)
        print_blocked(attempt[1], attempt[2])
        print("Put the data right (a corrected report in the inbox) and run again, or run `sovereignty publish` "
              "after correcting the warehouse.", file=sys.stderr)
        return EXIT_FAILED
    print(f"Nothing new in {settings.home / 'inbox'}: the warehouse and the release are up to date.")
    return 0


def command_publish(settings: Settings) -> int:
    """Check the warehouse as it is and publish it, with no ingestion and no dbt build.

    Marts that are not one finished build of everything ingested (a run killed in its build) are
    refused before any check runs: a check of half-built marts may fail first, and its failure
    would then be the reason given instead of the unfinished build, which `sovereignty run` ends."""
    check_home(settings)
    if not settings.warehouse.exists():
        print(f"No warehouse at {settings.warehouse}: run `sovereignty run` first.", file=sys.stderr)
        return EXIT_FAILED
    with writer_lock(settings.warehouse):
        with open_warehouse(settings, read_only=True) as con:
            unfinished = unfinished_work(con, settings.published)
        if unfinished is not None and unfinished.needs_build:
            print_blocked(f"{unfinished.why}; run `sovereignty run` to finish the build", None)
            return EXIT_FAILED
        result, log_path = execute_logged(settings, PUBLISH_JOB)
    return report_run(settings, result, log_path)


def command_rebuild(settings: Settings) -> int:
    """A new warehouse from the kept files: re-ingest them in arrival order, build, check, publish.

    The kept files under processed/ and rejected/ and their order are the source of truth; the
    old warehouse (with its raw, quarantine and computed files, and Spark's tables) is kept aside, renamed,
    rather than deleted.
    """
    check_home_exists(settings)
    kept = kept_files(settings.home)
    if not kept:
        print(f"Nothing to rebuild from: no kept files under {settings.processed} or {settings.rejected}.", file=sys.stderr)
        return EXIT_FAILED
    with writer_lock(settings.warehouse):
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        # the old warehouse's kept and quarantined rows; the new one writes its own
        row_files = [settings.home / RAW_FOLDER, settings.home / QUARANTINE_FOLDER]
        computed_files = settings.home / COMPUTED_FOLDER  # its computed tables; the new build computes its own
        # Spark's tables and catalogue (any engine: a home may have been built by Spark before)
        for path in (settings.warehouse, settings.warehouse.with_name(settings.warehouse.name + ".wal"), *row_files,
                     computed_files, settings.spark_home):
            if path.exists():
                aside = path.with_name(f"{path.name}.before-rebuild-{stamp}")
                path.rename(aside)
                print(f"Kept the old {path.name} as {aside}")
        with open_warehouse(settings) as con:
            create_schemas(con)
            ingestor = Ingestor.on(con, settings.home, settings.today)
            for kind, path in kept:
                ingestor.reingest(kind, path)
        print(f"Re-ingested {len(kept)} kept files; building, checking and publishing.")
        result, log_path = execute_logged(settings, MAIN_JOB, InboxPlan(current_quarter=quarter_of(settings.today)))
        with open_warehouse(settings, read_only=True) as con:
            print_load_summary(con, 0)
    return report_run(settings, result, log_path)


def check_home_exists(settings: Settings) -> None:
    """Commands never create a home silently at a mistyped path."""
    if not settings.home.is_dir():
        raise HomeError(f"There is no home at {settings.home}: create it (or set SOVEREIGNTY_HOME to the right folder); "
                        "`sovereignty demo` writes demo reports into a new one.")


def listen_for_stop() -> None:
    """Ctrl-C and SIGTERM stop `sovereignty serve` (KeyboardInterrupt), also when a shell started it
    in the background with SIGINT ignored: Dagster gives SIGTERM the handler SIGINT had before a
    run when the run ends, which would leave both ignored."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def execute_logged(settings: Settings, job: str, plan: InboxPlan | None = None,
                   defs: dg.Definitions | None = None) -> tuple[RunResult, Path]:
    log_path = settings.home / "logs" / f"run-{datetime.now():%Y%m%dT%H%M%S}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # dbt's progress lines go to the run's log (the dbt step writes them there); the command
    # prints its steps as they happen and its summary after the run. Dagster writes its own
    # internal failures (its event log on a full disk, say) straight to sys.stderr: those go to the
    # run's log too, and the command says in one line what happened and what to do.
    with open(log_path, "a") as log, contextlib.redirect_stderr(log):
        return execute_job(settings, job, plan, sys.stdout, log_path, defs), log_path


def report_run(settings: Settings, result: RunResult, log_path: Path) -> int:
    """Headlines, the release (or why there is none) and failed steps; the command's exit code."""
    with open_warehouse(settings, read_only=True) as con:
        publication = publication_of_run(con, result.run_id)
        if publication and publication[0] != "blocked":
            print_headlines(con, settings.published / publication[1])
            print_warnings(con)
        if publication and publication[0] == "published":
            print_new_signals(settings, con, publication[1])
    print_checks(result)
    failures = [(event.step_key, root_cause(event.step_failure_data.error))
                for event in result.all_events if event.is_step_failure]
    # dbt reports a full disk only in its own log: a failed step with the disk nearly full is one
    if any(is_disk_full(message) for _, message in failures) or (failures and disk_nearly_full(settings)):
        raise OSError(errno.ENOSPC, "a step failed for want of disk space")
    released = report_publication(settings, publication)
    for step, message in failures:
        print(f"FAILED {step}: {message}", file=sys.stderr)
    print(f"Warehouse: {settings.warehouse}\nRun log: {log_path}")
    return 0 if released and result.success else EXIT_FAILED


def command_status(settings: Settings) -> int:
    """The inbox, a run in progress, the last loads and publication; never blocks or breaks a run."""
    check_home_exists(settings)
    plan = inbox_plan(settings)
    print(f"Home: {settings.home}")
    print("Inbox: " + (", ".join(f"{k} {len(v)}" for k, v in plan.files.items() if v) or "empty"))
    writer = current_writer(settings.warehouse)
    if writer:
        print(f"A run is in progress: {writer}.")
    if not settings.warehouse.exists():
        print("No warehouse yet: run `sovereignty run`." if not kept_files(settings.home) else
              "The warehouse is missing but ingested files are kept: run `sovereignty rebuild`.")
        return 0
    try:
        # a short wait only: status answers while a run writes, it does not queue behind it
        con = open_warehouse(settings, read_only=True, wait_seconds=min(settings.lock_wait_seconds, 2))
    except WarehouseBusyError:
        print("The warehouse is open for writing by that run right now: loads and releases are shown once the step ends.")
        return 0
    with con:
        files, duplicates, rejected, rows, quarantined = con.execute(
            "select count(*) filter (where status = 'loaded'), count(*) filter (where status = 'duplicate'), "
            "count(*) filter (where status = 'rejected'), coalesce(sum(rows_loaded), 0), "
            "coalesce(sum(rows_quarantined), 0) from audit.loads"
        ).fetchall()[0]
        print(f"Ingested: {files} files loaded, {duplicates} duplicates, {rejected} rejected; "
              f"{rows:,} rows loaded, {quarantined:,} quarantined (audit.quarantine)")
        print("Last loads (times in UTC):")
        for row in con.execute(
            "select load_id, strftime(finished_at, '%Y-%m-%d %H:%M:%S'), kind, file_name, status, rows_loaded, "
            "rows_quarantined, error from audit.loads order by load_id desc limit 10"
        ).fetchall():
            print("  #{} {} {} {}: {} ({} loaded, {} quarantined){}".format(*row[:7], f" {row[7]}" if row[7] else ""))
        attempt = con.execute(
            "select strftime(attempted_at, '%Y-%m-%d %H:%M:%S') || ' UTC', outcome, release_id, reason "
            "from audit.publications order by attempt_id desc limit 1"
        ).fetchone()
        print("Last publication: " + (" ".join(str(v) for v in attempt if v is not None) if attempt else "none yet"))
        if has_table(con, "marts", "data_quality"):
            warnings = [d for (d,) in con.execute(
                "select detail from marts.data_quality where severity = 'warning' order by rule, detail").fetchall()]
            print(f"Completeness warnings ({len(warnings)}):" + "".join(f"\n  {w}" for w in warnings[:10])
                  + (f"\n  ... {len(warnings) - 10} more in marts.data_quality" if len(warnings) > 10 else ""))
        unfinished = None if writer else unfinished_work(con, settings.published)
    try:
        latest = read_latest(settings.published)
        print(f"Latest release: {settings.published / latest}" if latest else "Latest release: none yet")
    except DamagedLatest as damage:
        print(f"Latest release: damaged pointer ({damage}); the next `sovereignty run` or `publish` replaces it")
    if unfinished:
        print(f"Unfinished: {unfinished.why}. `sovereignty run` finishes it.")
    return 0


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return scalar(con, "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                  [schema, table]) > 0


def command_demo(settings: Settings, scale: str, seed: int, volume: float) -> int:
    from demo.generator import generate_demo

    manifest = generate_demo(settings.home, scale=scale, seed=seed, today=settings.today, volume=volume)
    print(f"Wrote {len(manifest['files'])} demo report files into {settings.home / 'inbox'}")
    return 0


def command_connect_server(settings: Settings, master: str, print_only: bool) -> int:
    """Start (or print the command of) a Spark Connect server for this home, in the foreground,
    at the port SOVEREIGNTY_SPARK_MASTER names (docs/scaling.md, "Through Spark Connect")."""
    from pipelines.transformation.spark import connect_server_command

    if not settings.spark_connect:
        print(f"SOVEREIGNTY_SPARK_MASTER={settings.spark_master!r} is not a Spark Connect URL: set it to "
              "sc://localhost:15002 (the port the server listens on, and the URL runs connect to)", file=sys.stderr)
        return EXIT_USAGE
    command = connect_server_command(settings, master)
    if print_only:
        print(shlex.join(command))
        return 0
    settings.spark_home.mkdir(parents=True, exist_ok=True)
    os.execv(command[0], command)  # the server is this process from here on: Ctrl-C or a signal stops it


SQL_FORMATS = ("table", "csv", "json", "parquet")


class SqlError(RuntimeError):
    """A query the warehouse refused; the message is DuckDB's first line, with what to do."""


def command_sql(settings: Settings, query: str | None, output_format: str, output: Path | None) -> int:
    """Read-only SQL on the warehouse with the project's own DuckDB 2.0 (see README, analysts).

    It holds the file only while the query runs, and waits for a writing step to end at most a
    few seconds: a run waits for it in turn (SOVEREIGNTY_LOCK_WAIT_SECONDS), so neither breaks.
    The last statement's result is written in the chosen format, to standard output or a file.
    """
    statements = query if query is not None else sys.stdin.read()
    if output_format == "parquet" and output is None:
        raise SqlError("--format parquet needs --output FILE: Parquet is not written to a terminal")
    if not settings.warehouse.exists():
        print(f"No warehouse at {settings.warehouse}: run `sovereignty run` first.", file=sys.stderr)
        return EXIT_FAILED
    with open_warehouse(settings, read_only=True, wait_seconds=min(settings.lock_wait_seconds, 5)) as con:
        try:
            relation = None
            for statement in con.extract_statements(statements):  # a ';' inside a literal stays in it
                relation = con.sql(statement.query) or relation
            if relation is None:
                return 0
            write_result(relation, output_format, output)
        except duckdb.Error as error:
            # DuckDB's message and its hint ("Did you mean ...?"), without the quoted query
            lines = [line for line in str(error).strip().splitlines() if line.strip()]
            message = " ".join(line for line in lines if not line.startswith("LINE ") and line.strip() != "^")
            if "read-only mode" in message:
                raise SqlError(f"sovereignty sql only reads: {message}") from None
            raise SqlError(f"SQL error: {message}") from None
    return 0


def write_result(relation: duckdb.DuckDBPyRelation, output_format: str, output: Path | None) -> None:
    """A table for people; CSV, JSON (an array of rows) or Parquet for tools."""
    if output_format == "table" and output is None:
        relation.show(max_rows=1000, max_width=200)
        return
    if output_format == "table" and output is not None:
        output.write_text(str(relation))
        return
    frame = relation.pl()
    if output_format == "parquet":
        frame.write_parquet(output)
    elif output_format == "csv":
        frame.write_csv(output or sys.stdout)
    elif output is None:
        print(frame.write_json())
    else:
        output.write_text(frame.write_json() + "\n")


def positive_fraction(text: str) -> float:
    """--volume's value: a number above 0 (argparse shows the message as a usage error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0 and finite, not {text}")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="sovereignty", description=__doc__)
    top.add_argument("--version", action="version", version=f"%(prog)s {version('sovereignty-warehouse')}")
    commands = top.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="write a realistic synthetic set of reports into the inbox")
    demo.add_argument("--scale", choices=["small", "national"], default="small")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--volume", type=positive_fraction, default=1.0,
                      help="enterprises (and so producer rows) as a multiple of the scale's: 0.25 is a quarter")
    commands.add_parser("run", help="ingest the inbox, build, check and publish")
    serve = commands.add_parser("serve", help="run whenever reports arrive, in one process that keeps the pipeline loaded")
    serve.add_argument("--poll", type=positive_fraction, default=DEFAULT_POLL_SECONDS, dest="poll_seconds",
                       help=f"seconds between looks at the inbox (default {DEFAULT_POLL_SECONDS:g})")
    commands.add_parser("publish", help="check the warehouse again and publish it, without ingesting or rebuilding")
    commands.add_parser("status", help="the inbox, a run in progress, the last loads and publication attempt")
    commands.add_parser("rebuild", help="re-ingest every kept file into a new warehouse, then build, check and publish")
    sql = commands.add_parser("sql", help="run read-only SQL on the warehouse (from the argument or standard input)")
    sql.add_argument("query", nargs="?")
    sql.add_argument("--format", choices=SQL_FORMATS, default="table", dest="output_format",
                     help="how the last statement's result is written (default: a table)")
    sql.add_argument("--output", type=Path, help="write the result to this file instead of standard output")
    connect = commands.add_parser("connect-server", help="start a Spark Connect server for this home, at the port "
                                  "SOVEREIGNTY_SPARK_MASTER=sc://host:port names")
    connect.add_argument("--master", default=DEFAULT_SPARK_MASTER,
                         help=f"where the server's Spark runs: a local Spark or a cluster's master URL (default: {DEFAULT_SPARK_MASTER})")
    connect.add_argument("--print", action="store_true", dest="print_only", help="print the command instead of running it")
    return top


# Expected conditions: each ends a command (or one run of `sovereignty serve`) with its one-line
# message and this exit code.
EXIT_CODES: dict[type[Exception], int] = {
    HomeError: EXIT_USAGE,
    SqlError: EXIT_FAILED,
    InboxError: EXIT_FAILED,
    WarehouseBusyError: EXIT_BUSY,
    WarehouseDamagedError: EXIT_DAMAGED,
}


def exit_code_of(error: Exception) -> int:
    return next(code for kind, code in EXIT_CODES.items() if isinstance(error, kind))


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](settings, args)
    except tuple(EXIT_CODES) as error:
        print(error, file=sys.stderr)
        return exit_code_of(error)
    except Exception as error:  # a full disk surfaces from DuckDB, SQLite, dbt or plain file writes
        if is_broken_pipe(error):  # `sovereignty sql ... | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        if not (is_disk_full(error) or (settings.home.is_dir() and disk_nearly_full(settings))):
            raise
        print(disk_full_message(settings), file=sys.stderr)
        return EXIT_NO_SPACE


# Python collects its youngest objects after 700 net allocations, and every tenth collection of the
# next generation scans all objects alive: after importing Dagster, dbt and Great Expectations,
# millions. The collector took 4.5 s of a full national run and 2.6-4.0 s of a quarter's; collecting
# after 10,000 took 2.9 s and 2.4-2.8 s, with the same peak memory (a full run: 3.61 and 3.60 GiB).
YOUNGEST_GENERATION_THRESHOLD = 10_000


def command() -> int:
    """The `sovereignty` console script: main(), with less time in Python's garbage collector.

    During the command the youngest generation is collected less often (YOUNGEST_GENERATION_THRESHOLD).
    At the end every object is frozen: Python's shutdown collects over every object still alive,
    twice, which took 2.0 s of every command after a run (0.17 s frozen); everything else of the
    shutdown (atexit handlers such as logging's, flushing, joining threads) runs as before. Tests
    call main(), so their process keeps Python's defaults.
    """
    _, *older = gc.get_threshold()
    gc.set_threshold(YOUNGEST_GENERATION_THRESHOLD, *older)
    code = main()
    gc.freeze()
    return code


COMMANDS = {
    "demo": lambda settings, args: command_demo(settings, args.scale, args.seed, args.volume),
    "run": lambda settings, args: command_run(settings),
    "serve": lambda settings, args: command_serve(settings, args.poll_seconds),
    "publish": lambda settings, args: command_publish(settings),
    "rebuild": lambda settings, args: command_rebuild(settings),
    "sql": lambda settings, args: command_sql(settings, args.query, args.output_format, args.output),
    "status": lambda settings, args: command_status(settings),
    "connect-server": lambda settings, args: command_connect_server(settings, args.master, args.print_only),
}


def is_broken_pipe(error: BaseException) -> bool:
    return isinstance(error, BrokenPipeError) or (isinstance(error, OSError) and "Broken pipe" in str(error))


def is_disk_full(error: BaseException | str) -> bool:
    text = str(error)
    return getattr(error, "errno", None) == errno.ENOSPC or any(
        sign in text for sign in ("No space left on device", "database or disk is full", "disk I/O error"))


# Below this much free space a failed step is taken for a full disk: DuckDB, dbt and Dagster's
# SQLite all need some room to write their next page, log line or event.
NEARLY_FULL_BYTES = 32 * 2**20


def disk_nearly_full(settings: Settings) -> bool:
    return shutil.disk_usage(settings.home).free < NEARLY_FULL_BYTES


def disk_full_message(settings: Settings) -> str:
    """One line: which disk, how much is free, and about how much a run needs."""
    usage = shutil.disk_usage(settings.home)
    pending = sum(path.lstat().st_size for paths in inbox_plan(settings).files.values() for path in paths)
    # a run keeps each file, stores its rows and builds the marts: about three times its size
    needed = max(3 * pending, 100 * 2**20)
    return (
        f"No space left on the disk holding {settings.home}: {usage.free / 2**20:,.0f} MB free of "
        f"{usage.total / 2**20:,.0f} MB. A run needs about {needed / 2**20:,.0f} MB more; free space and run "
        "`sovereignty run` again: it finishes what this run left undone."
    )


if __name__ == "__main__":
    sys.exit(command())
