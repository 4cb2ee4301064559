"""The `sovereignty` command as an operator and an analyst meet it, run for real in a process.

A run shows its steps as they happen and closes with the published figures, the checks and the
warnings; a delivery of duplicates alone is recorded without a run; expected conditions are one
line on stderr with a documented exit code; `sovereignty sql` writes tables, CSV, JSON and
Parquet and refuses writes.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.runs import copy_home, environment, no_traceback, release_extracts, sovereignty, sovereignty_command

pytestmark = pytest.mark.slow


def test_a_run_shows_each_step_and_closes_with_the_published_figures(uninterrupted):
    out = (uninterrupted.parent / "run.stdout").read_text()
    lines = out.splitlines()
    order = [next(i for i, line in enumerate(lines) if marker in line) for marker in (
        "loading the pipeline", "ingested producer: 28 files (1 duplicate, 2 rejected)",
        "raw checks: gx_raw_producer passed", " models and seeds, with their tests", "dbt build: done",
        "mart checks: gx_sovereignty_index passed", "publication: published", "as published",
        "Completeness warnings (2)", "Checks: ", "Published release")]
    assert order == sorted(order), out
    # the rows it says were loaded are the ones the warehouse holds
    (ingested,) = [line for line in lines if "ingested producer:" in line]
    with duckdb.connect(str(uninterrupted / "warehouse.duckdb"), read_only=True) as con:
        loaded = con.execute("select sum(rows_loaded) from audit.loads where kind = 'producer'").fetchone()[0]
    assert f"{loaded:,} rows loaded" in ingested, ingested
    rejected = [line for line in lines if "  rejected producer_2025Q2_central_scan.xlsx: unreadable xlsx file" in line]
    assert len(rejected) == 1  # one line per rejected file, once
    (checks,) = [line for line in lines if line.startswith("Checks: ")]
    passed, ran = int(checks.split()[1]), int(checks.split()[3])
    assert ran - passed == 1 and passed > 60 and "FAILED" not in checks  # dbt tests and GX suites passed; the
    assert "warnings: high_severity_signals" in checks  # demo's planted changes raise the alert check

    # The terminal shows what stakeholders see: a suppressed index is 'c', never its value.
    release = uninterrupted / "published" / (uninterrupted / "published" / "latest").read_text().strip()
    index = pl.read_parquet(release / "sovereignty_index.parquet")
    year = index.filter(pl.col("sovereignty_index").is_not_null())["year"].max()
    section = out[out.index(f"Sovereignty index by priority area, {year}"):out.index("Strategic dependencies")]
    for code, value, flag in index.filter(pl.col("year") == year).select(
            "project_code", "sovereignty_index", "sovereignty_index_flag").iter_rows():
        (line,) = [line for line in section.splitlines() if line.startswith(f"  {code} ")]
        assert line.endswith(" c") if flag else line.endswith(f"{value:6.1f}"), line


def test_a_delivery_of_duplicates_alone_is_recorded_without_a_run(uninterrupted, tmp_path):
    home = copy_home(uninterrupted, tmp_path)
    kept = sorted((home / "processed" / "trade").glob("*.csv"))[0]
    again = home / "inbox" / "trade" / "customs_resent.csv"
    again.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(kept, again)
    runs_before = len(list((home / "dagster" / "history" / "runs").glob("*.db")))
    extracts = release_extracts(home)

    result = sovereignty(home, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "All 1 delivered files are duplicates" in result.stdout
    assert len(list((home / "dagster" / "history" / "runs").glob("*.db"))) == runs_before  # no job ran
    assert not again.exists()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select status from audit.loads where file_name = 'customs_resent.csv'").fetchall() == [
            ("duplicate",)]
    assert release_extracts(home) == extracts
    assert "up to date" in sovereignty(home, "run").stdout  # and nothing is left to finish


def test_serve_runs_whenever_reports_arrive_in_one_process_until_stopped(uninterrupted, tmp_path):
    """`sovereignty serve` loads the pipeline once: at start it finds nothing to do, a revised report
    dropped into the inbox makes a run in the same process (a new release, no second load of the
    pipeline), and SIGTERM stops it with exit code 0."""
    home = copy_home(uninterrupted, tmp_path)
    # started as a shell starts a background job (SIGINT ignored): SIGTERM must still stop it
    serving = subprocess.Popen(sovereignty_command("serve", "--poll", "0.2"), env=environment(home),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        said = lines_until(serving, "Run ended after")
        assert "up to date" in said and "exit code 0" in said, said
        latest = (home / "published" / "latest").read_text()

        kept = sorted((home / "processed" / "producer").glob("*.parquet"))[-1]
        revised = pl.read_parquet(kept).with_columns(output_value=pl.col("output_value").cast(pl.Float64) * 1.5)
        revised.write_parquet(home / "inbox" / "producer" / ".arriving.parquet")  # hidden until complete
        (home / "inbox" / "producer" / ".arriving.parquet").rename(home / "inbox" / "producer" / f"revised_{kept.name[9:]}")
        said = lines_until(serving, "Run ended after")
        assert "exit code 0" in said and "published" in said, said
        assert "loading the pipeline" not in said  # loaded once, at start
        assert (home / "published" / "latest").read_text() != latest
    finally:
        serving.terminate()
        rest, _ = serving.communicate(timeout=60)
    assert serving.returncode == 0 and rest.strip().endswith("Stopped.") and "Traceback" not in rest, rest


def lines_until(process: subprocess.Popen, marker: str, timeout: float = 600) -> str:
    """What the process prints up to and including the first line holding marker."""
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError("the process ended: " + "".join(seen))
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} within {timeout} s: " + "".join(seen))


@pytest.mark.parametrize("output_format", ["csv", "json", "parquet"])
def test_sql_writes_each_format_to_a_file_and_csv_json_to_stdout(uninterrupted, tmp_path, output_format):
    query = "select project_code, year, sovereignty_index from marts.sovereignty_index order by all"
    with duckdb.connect(str(uninterrupted / "warehouse.duckdb"), read_only=True) as con:
        expected = con.sql(query).pl()
    target = tmp_path / f"result.{output_format}"

    written = sovereignty(uninterrupted, "sql", query, "--format", output_format, "--output", str(target))

    assert written.returncode == 0, written.stderr
    read = {"csv": pl.read_csv, "json": pl.read_json, "parquet": pl.read_parquet}[output_format]
    assert read(target).equals(expected)
    if output_format != "parquet":
        printed = sovereignty(uninterrupted, "sql", query, "--format", output_format)
        assert read(io.BytesIO(printed.stdout.encode())).equals(expected)


def test_sql_prints_a_table_and_reads_statements_from_stdin(uninterrupted):
    result = subprocess.run([sys.executable, "-m", "pipelines.command_line.cli", "sql"], input="select 42 as answer; ",
                            env=environment(uninterrupted), capture_output=True, text=True)
    assert result.returncode == 0 and "answer" in result.stdout and "42" in result.stdout


@pytest.mark.parametrize("query, says", [
    ("select * from marts.sovereignty_indx", "SQL error: Catalog Error: Table with name sovereignty_indx does not exist! Did you mean"),
    ("selec 1", "SQL error: Parser Error: syntax error at or near \"selec\""),
    ("delete from marts.sovereignty_index", "sovereignty sql only reads: "),
    ("create table marts.mine as select 1", "sovereignty sql only reads: "),
])
def test_sql_errors_are_one_line(uninterrupted, query, says):
    result = sovereignty(uninterrupted, "sql", query)
    assert result.returncode == 1
    assert result.stderr.startswith(says) and result.stderr.count("\n") == 1, result.stderr
    no_traceback(result)


def test_sql_into_a_closed_pipe_ends_quietly(uninterrupted):
    command = f"{sys.executable} -m pipelines.command_line.cli sql 'select * from range(200000)' --format csv | head -n 2"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], env=environment(uninterrupted),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["range", "0"]
    assert result.stderr == ""


def test_version_and_expected_conditions_are_one_line_with_their_exit_codes(tmp_path):
    version = sovereignty(tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("sovereignty ")

    bad = subprocess.run([sys.executable, "-m", "pipelines.command_line.cli", "status"], capture_output=True, text=True,
                         env={**environment(tmp_path), "SOVEREIGNTY_DISCLOSURE_MIN_PRODUCERS": "abc"})
    assert bad.returncode == 2
    assert bad.stderr == "SOVEREIGNTY_DISCLOSURE_MIN_PRODUCERS='abc' is not a valid value (default: 3)\n"

    missing = sovereignty(tmp_path / "no-such-home", "run")
    assert missing.returncode == 2 and missing.stderr.startswith("There is no home at ")
    assert not (tmp_path / "no-such-home").exists()  # never created silently
    for result in (bad, missing):
        no_traceback(result)


def test_the_command_tunes_the_garbage_collector_and_freezes_it_before_the_shutdown(tmp_path):
    """`sovereignty` is cli.command: main's exit code, the youngest generation collected after
    10,000 allocations, and every object frozen so that Python's shutdown does not collect over
    them (2 s a command after a run); main alone, as tests call it, changes nothing."""
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "sovereignty"]
    assert script.value == "pipelines.command_line.cli:command"
    probe = ("import gc, sys; from pipelines.command_line import cli; sys.argv = ['sovereignty', 'run']; "
             "code = cli.{}(); print(code, gc.get_freeze_count() > 0, gc.get_threshold()[0])")
    for function, frozen, threshold in (("command", "True", "10000"), ("main", "False", "700")):
        result = subprocess.run([sys.executable, "-c", probe.format(function)], capture_output=True, text=True,
                                env=environment(tmp_path / "no-such-home"))
        assert result.stdout.split() == ["2", frozen, threshold], function
        assert result.stderr.startswith("There is no home at "), function


def test_status_counts_rejections_warnings_and_shows_times_with_their_zone(uninterrupted):
    with duckdb.connect(str(uninterrupted / "warehouse.duckdb"), read_only=True) as con:
        loaded, duplicates, rejected, rows, quarantined = con.execute(
            "select count(*) filter (where status = 'loaded'), count(*) filter (where status = 'duplicate'), "
            "count(*) filter (where status = 'rejected'), sum(rows_loaded), sum(rows_quarantined) from audit.loads"
        ).fetchone()
    assert (duplicates, rejected) == (1, 2) and quarantined > 0  # the demo's planted defects

    result = sovereignty(uninterrupted, "status")

    assert result.returncode == 0
    assert (f"Ingested: {loaded} files loaded, {duplicates} duplicates, {rejected} rejected; {rows:,} rows loaded, "
            f"{quarantined} quarantined") in result.stdout
    assert "Last loads (times in UTC):" in result.stdout and " UTC published " in result.stdout
    assert "Completeness warnings (2):" in result.stdout
    assert f"Latest release: {uninterrupted / 'published'}" in result.stdout
    assert os.path.isdir(result.stdout.split("Latest release: ")[1].split()[0])
    no_traceback(result)


def test_the_release_never_carries_bookkeeping_columns(uninterrupted):
    release = uninterrupted / "published" / (uninterrupted / "published" / "latest").read_text().strip()
    for extract in release.glob("*.parquet"):
        assert not [c for c in pl.read_parquet_schema(extract) if "load_id" in c], extract.name
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["build"]["ingested_state"] == 48 and manifest["run_id"]
    assert Path(release / "report.html").exists()
