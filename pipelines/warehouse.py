"""The DuckDB warehouse file: its raw and audit schemas, the one-writer rule, and what was built.

DuckDB lets one process write a database file at a time. Every writer (the `sovereignty`
command, a Dagster run, dbt) goes through `writer_lock`, an advisory lock on a file beside the
warehouse, so a second writer fails at once with a message naming the holder instead of
DuckDB's bare "could not set lock on file". Readers (an analyst's DuckDB session, `sovereignty
sql`) hold DuckDB's own file lock while they are connected: `connect` waits a configurable time
for them to let go before it gives up with a message naming the process.

The stages record what they worked on, so that a run can tell what an interrupted one left
undone (docs/operations.md): the ingested state is the newest load id of new content (loads are
append-only, so a new load always raises it); audit.builds says which ingested state the marts were built
from; audit.quality_results and audit.publications name the build they checked or published.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.settings import WAREHOUSE_STORAGE_VERSION, Settings


class WarehouseBusyError(RuntimeError):
    """Another process is writing to the warehouse, or holds it open."""


class WarehouseDamagedError(RuntimeError):
    """The warehouse file exists but DuckDB cannot read it (truncated, overwritten)."""


AUDIT_DDL = (
    """create table if not exists audit.loads (
  load_id bigint primary key,      -- increases with arrival: the order revisions are applied in
  kind varchar not null,
  file_name varchar not null,      -- the name it was delivered under
  stored_path varchar,             -- where the file now is, under processed/ or rejected/
  sha256 varchar not null,
  size_bytes bigint not null,
  file_format varchar,             -- csv, xlsx, parquet
  encoding varchar,                -- csv only: utf-8, utf-8-sig, cp1251
  delimiter varchar,               -- csv only
  status varchar not null,         -- loaded, duplicate, rejected
  duplicate_of bigint,             -- for a duplicate: the load that first brought these bytes
  rows_read bigint not null,
  rows_loaded bigint not null,
  rows_quarantined bigint not null,
  rows_skipped bigint not null,
  periods varchar[],               -- quarters (or years) the loaded rows cover
  extra_columns varchar[],         -- columns present in the file and ignored
  error varchar,                   -- why a file was rejected
  started_at timestamp not null,
  finished_at timestamp not null,
  check (rows_read = rows_loaded + rows_quarantined + rows_skipped)
)""",
    # audit.quarantine is a view over the quarantine files (pipelines/ingestion/raw_layer.py).
    """create table if not exists audit.rule_results (
  load_id bigint not null,
  kind varchar not null,
  rule varchar not null,
  severity varchar not null,       -- hard (row quarantined), soft (row loaded, flagged), skip
  rows_checked bigint not null,
  rows_failing bigint not null
)""",
    "create sequence if not exists audit.publication_attempt_seq start 1",
    """create table if not exists audit.publications (
  attempt_id bigint primary key,
  run_id varchar not null,         -- the Dagster run that attempted it
  release_id varchar,              -- published/<release_id>/ when one was written
  attempted_at timestamp not null,
  outcome varchar not null,        -- published, unchanged, blocked
  reason varchar,
  failed_checks json               -- for a blocked attempt: each failing suite and expectation
)""",
    """create table if not exists audit.quality_results (
  run_id varchar not null,
  suite varchar not null,          -- expectations/<suite>.json
  target varchar not null,         -- the table validated
  blocking boolean not null,       -- whether a failure withholds the release
  success boolean not null,
  evaluated integer not null,      -- expectations evaluated
  failed json not null,            -- the expectations that failed, with what was observed
  data_docs varchar,               -- the validation's HTML page
  seconds double not null,
  validated_at timestamp not null
)""",
    # Columns added after the first release of the schema: older warehouses gain them here.
    "alter table audit.quality_results add column if not exists build_id bigint",  # the newest build then
    "alter table audit.quality_results add column if not exists ingested_state bigint",  # the newest load then
    "alter table audit.publications add column if not exists build_id bigint",  # the build published
    "create sequence if not exists audit.build_id_seq start 1",
    """create table if not exists audit.builds (
  build_id bigint primary key,
  run_id varchar not null,         -- the Dagster run that built the marts
  ingested_state bigint not null,  -- the newest load id when the build started: what it was built from
  started_at timestamp not null,
  finished_at timestamp,           -- NULL while it runs, and for ever when its process was killed
  outcome varchar not null         -- started, succeeded, failed
)""",
    "alter table audit.builds add column if not exists engine varchar",  # what built it: 'spark 4.1.4'
    # how far each incremental model's table has passed its data tests (transformation/builds.py)
    """create table if not exists audit.tested_rows (
  table_name varchar primary key,  -- schema.name of an incremental model's table
  through_load_id bigint not null  -- its rows with last_load_id up to this passed the tests of a build
)""",
    # the optimisations the latest release's disclosure control solved, for the next (publication/solutions.py)
    """create table if not exists audit.disclosure_solutions (
  problem varchar primary key,     -- the digest of the optimisation's inputs and code
  cells integer,                   -- the cells of the problem's table; NULL when no pattern exists
  hidden blob                      -- which of them are hidden (numpy packbits); NULL when no pattern exists
)""",
    # its predecessor, which kept only the index level's openings: a cache, so dropped, not moved
    "drop table if exists audit.disclosure_openings",
)


def create_schemas(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and audit schemas and the audit tables if they are not there (idempotent);
    ingestion creates the raw tables (pipelines/ingestion/ingest.py)."""
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists audit")
    for statement in AUDIT_DDL:
        con.execute(statement)


# Lock files this process holds, with how many callers hold each: the `sovereignty` command
# holds the lock for a whole run and the assets it executes in-process take it again.
_HELD: dict[Path, list] = {}
# The holder of the lock shares it with the processes it starts (the step processes of Dagster's
# multiprocess executor): they inherit this variable, which names the holder's token.
WRITER_TOKEN_VARIABLE = "SOVEREIGNTY_WRITER_TOKEN"
SAME_RUN_PAUSE_SECONDS = 0.05
# A holder writes its record just after taking the lock and clears it just before letting go: a
# record read empty in those moments is read again, for up to this long, before it counts.
UNWRITTEN_RECORD_SECONDS = 1.0


@contextlib.contextmanager
def writer_lock(warehouse: Path, run_id: str | None = None) -> Iterator[None]:
    """Hold the warehouse's single-writer lock, or fail at once naming who holds it.

    Two exceptions to failing, both within one run whose steps run in parallel processes (docs/
    operations.md): a process started by the holder shares its lock (the `sovereignty` command
    holds it for the whole run), and a step of the Dagster run `run_id` waits while another step
    of the same run holds it. Either way DuckDB's own file lock lets one of them write at a time
    (open_warehouse waits for it)."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse.with_name(warehouse.name + ".writer.lock").resolve()
    if lock_path in _HELD:  # re-entered by the same process
        _HELD[lock_path][1] += 1
        try:
            yield
        finally:
            _HELD[lock_path][1] -= 1
        return
    with open(lock_path, "a+") as handle:
        record_deadline = time.monotonic() + UNWRITTEN_RECORD_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder = lock_holder(handle.read())
            if "pid" not in holder:
                if time.monotonic() < record_deadline:
                    time.sleep(SAME_RUN_PAUSE_SECONDS)  # the holder is writing or clearing its record
                    continue
            else:
                record_deadline = time.monotonic() + UNWRITTEN_RECORD_SECONDS  # for the next holder's record
            if holder.get("token") and holder["token"] == os.environ.get(WRITER_TOKEN_VARIABLE):
                yield  # held for this process's run by the process that started it
                return
            if not (run_id and holder.get("run_id") == run_id):
                raise WarehouseBusyError(
                    f"The warehouse {warehouse} is being written by {holder.get('text') or 'another process'}. DuckDB "
                    "allows one writing process per file: wait for that run to finish, then try again."
                )
            time.sleep(SAME_RUN_PAUSE_SECONDS)  # another step of this run: it holds the lock for a moment
        token = uuid.uuid4().hex
        handle.seek(0)
        handle.truncate()
        since = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(json.dumps({"pid": os.getpid(), "since": since, "token": token, "run_id": run_id}))
        handle.flush()
        _HELD[lock_path] = [handle, 1]
        inherited = os.environ.get(WRITER_TOKEN_VARIABLE)
        os.environ[WRITER_TOKEN_VARIABLE] = token
        try:
            yield
        finally:
            if inherited is None:
                os.environ.pop(WRITER_TOKEN_VARIABLE, None)
            else:
                os.environ[WRITER_TOKEN_VARIABLE] = inherited
            del _HELD[lock_path]
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_holder(content: str) -> dict[str, Any]:
    """What the lock file says of its holder (written by writer_lock), with `text` for messages."""
    try:
        holder = json.loads(content or "{}")
    except json.JSONDecodeError:
        holder = {}
    if not isinstance(holder, dict):
        holder = {}
    holder["text"] = content.strip()
    return holder


def current_writer(warehouse: Path) -> str | None:
    """Who holds the single-writer lock ("PID n since <UTC time>"), or None when nobody does."""
    lock_path = warehouse.with_name(warehouse.name + ".writer.lock")
    if not lock_path.exists() or lock_path.resolve() in _HELD:
        return None
    with open(lock_path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock_holder(handle.read())
            return f"PID {holder.get('pid', '?')} since {holder.get('since', '?')}"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def duckdb_config(settings: Settings) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB's settings for every connection to the warehouse: the memory and thread limits, the
    folder relative file paths start from (the raw views name their Parquet files relative to the
    home), and the on-disk format, which only matters when the connection creates the file."""
    return {
        "memory_limit": settings.duckdb_memory_limit,
        "threads": settings.duckdb_threads,
        "file_search_path": str(settings.home),
        "storage_compatibility_version": WAREHOUSE_STORAGE_VERSION,
    }


def open_warehouse(settings: Settings, *, read_only: bool = False, wait_seconds: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with the settings' limits, waiting (by default the settings' time) for
    another process to close it.

    DuckDB's lock conflict becomes WarehouseBusyError naming the process that holds the file;
    a file DuckDB cannot read becomes WarehouseDamagedError.
    """
    warehouse = settings.warehouse
    wait_seconds = settings.lock_wait_seconds if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait_seconds
    pause = 0.1
    while True:
        try:
            return duckdb.connect(str(warehouse), read_only=read_only, config=duckdb_config(settings))
        except duckdb.IOException as error:
            if "No space left on device" in str(error):
                raise
            if "lock" not in str(error).lower():
                raise WarehouseDamagedError(damaged_message(warehouse, error)) from error
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(busy_message(warehouse, error, wait_seconds)) from error
        except (duckdb.SerializationException, duckdb.InternalException) as error:
            raise WarehouseDamagedError(damaged_message(warehouse, error)) from error
        time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
        pause = min(pause * 2, 2.0)


@contextlib.contextmanager
def writing(settings: Settings, run_id: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writing connection, under the single-writer lock, with the raw and audit schemas; a
    step of a Dagster run passes the run's id (writer_lock: steps in parallel processes)."""
    with writer_lock(settings.warehouse, run_id):
        con = open_warehouse(settings)
        try:
            create_schemas(con)
            yield con
        finally:
            con.close()


def busy_message(warehouse: Path, error: Exception, waited: float) -> str:
    holder = re.search(r"held in (.+?) \(PID (\d+)\)", str(error))
    who = f"process {holder.group(2)} ({holder.group(1)})" if holder else "another process"
    return (
        f"The warehouse {warehouse} is held open by {who}"
        + (f" after waiting {waited:g} s" if waited else "")
        + ": close it (a DuckDB CLI, a notebook or a `sovereignty sql` counts) and run again."
    )


def damaged_message(warehouse: Path, error: Exception) -> str:
    reason = str(error).splitlines()[0]
    return (
        f"The warehouse {warehouse} is damaged and cannot be read ({reason}). "
        "Run `sovereignty rebuild` to re-ingest the kept files into a new warehouse."
    )


def utc_now() -> datetime:
    """The warehouse's timestamps are UTC without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)


def scalar(con: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None) -> Any:
    """The single value of a query that always returns one row (an aggregate, a count)."""
    row = con.execute(sql, parameters or []).fetchone()
    if row is None:
        raise RuntimeError(f"the query returned no row: {sql}")
    return row[0]


def ingested_state(con: duckdb.DuckDBPyConnection) -> int:
    """The newest load id that brought new content: loads are append-only, so it names
    everything ingested so far. A duplicate adds nothing to any figure, so it does not count: a
    delivery of duplicates alone needs no build (marts.data_quality lists it from the next one)."""
    return scalar(con, "select coalesce(max(load_id), 0) from audit.loads where status <> 'duplicate'")


def newest_load_id(con: duckdb.DuckDBPyConnection) -> int:
    """The newest load of any status: a run's summary lists the loads after it."""
    return scalar(con, "select coalesce(max(load_id), 0) from audit.loads")


def latest_build(con: duckdb.DuckDBPyConnection) -> tuple[int, int, str] | None:
    """(build_id, ingested_state, outcome) of the newest dbt build, if any."""
    return con.execute(
        "select build_id, ingested_state, outcome from audit.builds order by build_id desc limit 1"
    ).fetchone()
