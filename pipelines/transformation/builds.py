"""The record of dbt builds (audit.builds): which ingested state the marts were built from.

Only a build that finished names the state the marts hold; a build whose process was killed stays
'started' for ever, which is how the next run knows to build again (docs/operations.md).
"""

from __future__ import annotations

import duckdb

from pipelines.warehouse import ingested_state, utc_now


def start_build(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    return con.execute(
        "insert into audit.builds (build_id, run_id, ingested_state, started_at, outcome) "
        "values (nextval('audit.build_id_seq'), ?, ?, ?, 'started') returning build_id",
        [run_id, ingested_state(con), utc_now()],
    ).fetchall()[0][0]


def finish_build(con: duckdb.DuckDBPyConnection, build_id: int, outcome: str) -> None:
    con.execute("update audit.builds set outcome = ?, finished_at = ? where build_id = ?", [outcome, utc_now(), build_id])
