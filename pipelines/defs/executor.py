"""How a run's steps execute (Settings.processes; docs/operations.md, "Parallel ingestion").

One process, the default: Dagster's in-process executor runs the steps one after another in the
run's process. More: Dagster's multiprocess executor runs up to that many steps at once, each in
a process of its own. The report kinds' ingestion steps then read and validate their files side
by side, each holding the warehouse only while it records a file's load. Every other step (the
dbt build, the checks, publication) carries ONE_AT_A_TIME: they work on the one DuckDB file for
long stretches, which DuckDB lets one process write, so running them side by side would only make
them wait for each other.
"""

import dagster as dg

from pipelines.settings import Settings

ONE_AT_A_TIME_TAG = "sovereignty/warehouse"
ONE_AT_A_TIME = {ONE_AT_A_TIME_TAG: "one_at_a_time"}


def run_executor(settings: Settings) -> dg.ExecutorDefinition:
    if settings.processes == 1:
        return dg.in_process_executor
    return dg.multiprocess_executor.configured({
        "max_concurrent": settings.processes,
        "tag_concurrency_limits": [{"key": ONE_AT_A_TIME_TAG, "value": ONE_AT_A_TIME[ONE_AT_A_TIME_TAG], "limit": 1}],
    })
