"""The `sovereignty` command: demo, run, status (outputs.md, "Command line"), and publish, sql."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from datetime import datetime
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.jobs import MAIN_JOB, PUBLISH_JOB, InboxPlan, inbox_plan
from pipelines.settings import Settings
from pipelines.warehouse import WarehouseBusyError, connect, create_schemas, writer_lock

EXIT_FAILED = 1
EXIT_BUSY = 3

DAGSTER_YAML = """\
# Written by `sovereignty run`. Runs are serialised: DuckDB takes one writing process per file.
run_queue:
  max_concurrent_runs: 1
telemetry:
  enabled: false
"""


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent Dagster instance of this home, so `dagster dev` shows the command's runs."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    return dg.DagsterInstance.get()


def execute_job(settings: Settings, name: str, plan: InboxPlan | None = None) -> dg.ExecuteInProcessResult:
    """Run one of the definitions' jobs in this process; a run's dbt output goes to its log file."""
    from pipelines.definitions import build_definitions  # heavy: only commands that run need it

    defs = build_definitions(settings)
    job = defs.resolve_job_def(name)
    selection = None
    if plan is not None and not plan.quarters:  # nothing quarterly pending: leave the partitioned assets out
        partitioned = {key for key, node in job.asset_layer.asset_graph.asset_nodes_by_key.items() if node.partitions_def}
        selection = [key for key in defs.resolve_all_asset_keys() if key not in partitioned]
    return job.execute_in_process(
        instance=dagster_instance(settings),
        tags=plan.run_tags() if plan else None,
        asset_selection=selection,
        raise_on_error=False,
        # The command prints its own summary; Dagster's step log stays in the run's event log.
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )


def last_load_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select coalesce(max(load_id), 0) from audit.loads").fetchone()[0]


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


def print_headlines(con: duckdb.DuckDBPyConnection) -> None:
    """The figures a reader looks for first: the index by area, and the strategic dependencies."""
    year = con.execute("select max(year) from marts.sovereignty_index where sovereignty_index is not null").fetchone()[0]
    if year is None:
        print("No sovereignty index yet: the marts have no complete year of reports.")
        return
    print(f"\nSovereignty index by priority area, {year} (0-100; NULL: a pillar is missing)")
    for code, name, index, missing in con.execute(
        """
        select s.project_code, coalesce(a.name_en, 'All areas, weighted by consumption'), s.sovereignty_index, s.missing_pillars
        from marts.sovereignty_index s left join reference.priority_areas a using (project_code)
        where s.year = ? order by s.project_code = 'ALL', s.sovereignty_index desc nulls last
        """,
        [year],
    ).fetchall():
        figure = f"{index:6.1f}" if index is not None else f"  NULL (missing: {missing})"
        print(f"  {code:<4} {name:<55}{figure}")
    period, dependencies = con.execute(
        """
        select period, list(okpd2 || ' ' || p.name_en || ' (import dependency ' || round(import_dependency, 2) ||
                            ', HHI ' || round(import_hhi, 2) || ')' order by import_dependency desc)
        from marts.product_independence join reference.products p using (okpd2)
        where strategic_dependency and period = (select max(period) from marts.product_independence where import_dependency is not null)
        group by period
        """
    ).fetchone() or (None, [])
    print(f"\nStrategic dependencies ({period or 'latest quarter'}): import dependency > 0.5 and HHI > 0.4")
    for line in dependencies or ["none"]:
        print(f"  {line}")


def print_new_signals(settings: Settings, con: duckdb.DuckDBPyConnection, release_id: str) -> None:
    """The release's new high-severity risk signals (docs/early_warning.md), as the alert sends them."""
    from pipelines.publish.alerts import new_high_signals, previous_release

    signals = new_high_signals(settings.published, release_id, previous_release(con, release_id))
    print(f"\nNew high-severity risk signals: {len(signals) or 'none'}")
    for signal in signals:
        print(f"  {signal['period']} {signal['signal_type']}: {signal['message']}")


def publication_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple | None:
    return con.execute(
        "select outcome, release_id, reason, failed_checks from audit.publications where run_id = ? order by attempt_id desc limit 1",
        [run_id],
    ).fetchone()


def print_blocked(reason: str, failed_checks: str) -> None:
    print(f"NOT PUBLISHED: {reason}. The previous release stays as it was.", file=sys.stderr)
    for suite in json.loads(failed_checks):
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


def command_run(settings: Settings) -> int:
    with writer_lock(settings.warehouse):
        plan = inbox_plan(settings)
        if plan.empty:
            print(f"Nothing new in {settings.home / 'inbox'}: the warehouse is up to date.")
            return 0
        with connect(settings.warehouse) as con:
            create_schemas(con)
            before = last_load_id(con)
        result, log_path = execute_logged(settings, MAIN_JOB, plan)
        with connect(settings.warehouse) as con:
            print_load_summary(con, before)
    return report_run(settings, result, log_path)


def command_publish(settings: Settings) -> int:
    """Check the warehouse as it is and publish it, with no ingestion and no dbt build."""
    if not settings.warehouse.exists():
        print(f"No warehouse at {settings.warehouse}: run `sovereignty run` first.", file=sys.stderr)
        return EXIT_FAILED
    with writer_lock(settings.warehouse):
        result, log_path = execute_logged(settings, PUBLISH_JOB)
    return report_run(settings, result, log_path)


def execute_logged(settings: Settings, job: str, plan: InboxPlan | None = None) -> tuple[dg.ExecuteInProcessResult, Path]:
    log_path = settings.home / "logs" / f"run-{datetime.now():%Y%m%dT%H%M%S}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # dbt's progress lines are echoed to stdout by dagster-dbt: keep them in the run's log.
    with open(log_path, "w") as log, contextlib.redirect_stdout(log):
        return execute_job(settings, job, plan), log_path


def report_run(settings: Settings, result: dg.ExecuteInProcessResult, log_path: Path) -> int:
    """Headlines, the release (or why there is none) and failed steps; the command's exit code."""
    with connect(settings.warehouse) as con:
        publication = publication_of_run(con, result.run_id)
        if publication and publication[0] != "blocked":
            print_headlines(con)
        if publication and publication[0] == "published":
            print_new_signals(settings, con, publication[1])
    released = report_publication(settings, publication)
    for event in result.all_events:
        if event.is_step_failure:
            print(f"FAILED {event.step_key}: {event.step_failure_data.error.message.strip()}", file=sys.stderr)
    print(f"Warehouse: {settings.warehouse}\nRun log: {log_path}")
    return 0 if released and result.success else EXIT_FAILED


def command_status(settings: Settings) -> int:
    plan = inbox_plan(settings)
    print(f"Home: {settings.home}")
    print("Inbox: " + (", ".join(f"{k} {len(v)}" for k, v in plan.files.items() if v) or "empty"))
    if not settings.warehouse.exists():
        print("No warehouse yet: run `sovereignty run`.")
        return 0
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        print("Last loads:")
        for row in con.execute(
            "select load_id, kind, file_name, status, rows_loaded, rows_quarantined, error "
            "from audit.loads order by load_id desc limit 10"
        ).fetchall():
            print("  #{} {} {}: {} ({} loaded, {} quarantined){}".format(*row[:6], f" {row[6]}" if row[6] else ""))
        attempt = con.execute(
            "select attempted_at, outcome, release_id, reason from audit.publications order by attempt_id desc limit 1"
        ).fetchone()
        print("Last publication: " + (" ".join(str(v) for v in attempt if v is not None) if attempt else "none yet"))
    return 0


def command_demo(settings: Settings, scale: str, seed: int) -> int:
    from pipelines.demo import generate_demo

    manifest = generate_demo(settings.home, scale=scale, seed=seed, today=settings.today)
    print(f"Wrote {len(manifest['files'])} demo report files into {settings.home / 'inbox'}")
    return 0


def command_sql(settings: Settings, query: str | None) -> int:
    """Read-only SQL on the warehouse with the project's own DuckDB 2.0 (see README, analysts)."""
    statements = query if query is not None else sys.stdin.read()
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        for statement in con.extract_statements(statements):  # a ';' inside a literal stays in it
            relation = con.sql(statement.query)
            if relation is not None:
                relation.show(max_rows=1000, max_width=200)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="sovereignty", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="write a realistic synthetic set of reports into the inbox")
    demo.add_argument("--scale", choices=["small", "national"], default="small")
    demo.add_argument("--seed", type=int, default=42)
    commands.add_parser("run", help="ingest the inbox, build, check and publish")
    commands.add_parser("publish", help="check the warehouse again and publish it, without ingesting or rebuilding")
    commands.add_parser("status", help="the inbox, the last loads, the last publication attempt")
    sql = commands.add_parser("sql", help="run read-only SQL on the warehouse (from the argument or standard input)")
    sql.add_argument("query", nargs="?")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "demo":
            return command_demo(settings, args.scale, args.seed)
        if args.command == "run":
            return command_run(settings)
        if args.command == "publish":
            return command_publish(settings)
        if args.command == "sql":
            return command_sql(settings, args.query)
        return command_status(settings)
    except WarehouseBusyError as busy:
        print(busy, file=sys.stderr)
        return EXIT_BUSY


if __name__ == "__main__":
    sys.exit(main())
