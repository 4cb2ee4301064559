"""dbt run in the dbt step's own process (pipelines/transformation/dbt_in_process.py): the events of
a dbt process, nothing on the console, the warehouse released after each command, the project
parsed once, and a failing test named in the error."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys

import duckdb
import pytest

from pipelines.settings import Settings
from pipelines.transformation.dbt_command import run_dbt
from pipelines.transformation.dbt_in_process import DbtFailed, InProcessDbt, dbt_runner
from tests.runs import copy_home

BUILD = ["build", "--select", "product_independence", "--exclude-resource-type", "unit_test"]


def runner_for(home) -> InProcessDbt:
    return dbt_runner(dataclasses.replace(Settings.from_env(), home=home))


def node_results(events: list[dict]) -> list[tuple[str, str, str]]:
    """What each node's run ended with, as dagster-dbt reads it from dbt's events."""
    return sorted((event["info"]["name"], event["data"]["node_info"]["unique_id"], event["data"]["node_info"]["node_status"])
                  for event in events if event["info"]["name"] in ("LogModelResult", "LogTestResult", "NodeFinished"))


def test_dbt_in_process_gives_a_dbt_process_events_and_releases_the_warehouse(uninterrupted, tmp_path, capfd):
    home = copy_home(uninterrupted, tmp_path)
    settings = dataclasses.replace(Settings.from_env(), home=home)
    process = run_dbt(settings, [*BUILD, "--log-format", "json", "--target-path", str(tmp_path / "process-target")],
                      capture_output=True, text=True)
    assert process.returncode == 0, process.stdout
    expected = node_results([json.loads(line) for line in process.stdout.splitlines() if line.startswith("{")])
    capfd.readouterr()

    debug_log = home / "dbt" / "target" / "dbt.log"
    debug_log.unlink(missing_ok=True)
    runner = runner_for(home)
    log = io.StringIO()
    events = list(runner.stream(BUILD, log))

    assert len(expected) > 5  # the model and its tests
    assert node_results(events) == expected
    assert capfd.readouterr().out == ""  # dbt's console stays quiet: its lines go to the log
    assert "Completed successfully" in log.getvalue()
    assert not debug_log.exists()  # no debug log file: a full disk would make its writes print tracebacks
    warehouse = str(home / "warehouse.duckdb")
    # dbt closed the warehouse: this process opens it with another configuration, another process for writing
    duckdb.connect(warehouse, read_only=True).close()
    subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({warehouse!r}).close()"], check=True)
    parsed = runner.manifest()
    assert node_results(list(runner.stream(BUILD, io.StringIO()))) == expected
    assert runner.manifest() is parsed  # parsed once for the process


def test_a_failing_dbt_test_in_process_is_an_error_naming_it(uninterrupted, tmp_path):
    home = copy_home(uninterrupted, tmp_path)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("update marts.product_independence set localisation = 1.5 where rowid = "
                    "(select min(rowid) from marts.product_independence where localisation is not null)")
    log = io.StringIO()
    with pytest.raises(DbtFailed) as failure:
        list(runner_for(home).stream(["test", "--select", "product_independence", "--exclude", "test_type:unit"], log))
    assert "product_independence_values_within_bounds" in str(failure.value)
    assert "FAIL" in log.getvalue()
