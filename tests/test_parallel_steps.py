"""SOVEREIGNTY_PROCESSES above 1: a run's steps in processes of their own (Dagster's multiprocess
executor), the report kinds' ingestion steps side by side, each holding the warehouse only while
it records a file; the release is the one a run in one process publishes."""

from __future__ import annotations

import duckdb

from pipelines.defs.executor import ONE_AT_A_TIME_TAG
from pipelines.settings import Settings
from tests.runs import fresh_home, home_instance, no_traceback, release_extracts, sovereignty

QUARANTINE = "select kind, file_name, row_number, reasons from audit.quarantine order by all"


def quarantined(home) -> list[tuple]:
    """audit.quarantine without load ids (kinds in parallel take ids in another order)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True, config={"file_search_path": str(home)}) as con:
        return con.execute(QUARANTINE).fetchall()


def step_events(home) -> list[tuple[str, str]]:
    """(event type, step) of the home's one run, in order."""
    with home_instance(home) as instance:
        (run,) = instance.get_runs()
        return [(entry.dagster_event.event_type_value, entry.dagster_event.step_key)
                for entry in instance.all_logs(run.run_id) if entry.dagster_event and entry.dagster_event.step_key]


def test_a_run_with_parallel_step_processes_ingests_side_by_side_and_publishes_the_same_release(uninterrupted, demo_inbox,
                                                                                                 tmp_path):
    home = fresh_home(demo_inbox, tmp_path)
    result = sovereignty(home, "run", settings={"SOVEREIGNTY_PROCESSES": "2"})
    no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    assert release_extracts(home) == release_extracts(uninterrupted)
    assert quarantined(home) == quarantined(uninterrupted)

    events = step_events(home)
    # each step ran in a worker process of its own ...
    assert {step for kind, step in events if kind == "STEP_WORKER_STARTED"} == {step for kind, step in events
                                                                               if kind == "STEP_START"}
    # ... and the executor launched an ingestion step's process while another one's was running
    # (launches, not the steps' own start events: a process's start-up time varies with load)
    running: set[str] = set()
    overlapped = False
    for kind, step in events:
        if kind == "STEP_WORKER_STARTING" and step.startswith("raw__") and "_gx_" not in step:
            overlapped |= bool(running)
            running.add(step)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            running.discard(step)
    assert overlapped


def test_only_ingestion_steps_may_run_beside_each_other():
    """The dbt build, the checks and publication work on the warehouse for long stretches: they
    carry the tag the multiprocess executor lets one step of at a time."""
    from pipelines.defs.definitions import build_definitions

    job = build_definitions(Settings.from_env()).resolve_job_def("sovereignty_run")
    tagged = {node.name: ONE_AT_A_TIME_TAG in node.definition.tags for node in job.graph.nodes}
    assert not any(tagged[name] for name in tagged if name.startswith("raw__") and "_gx_" not in name)
    assert all(tagged[name] for name in tagged if not (name.startswith("raw__") and "_gx_" not in name)), tagged
