"""The DuckDB warehouse file: its raw and audit schemas, and the one-writer rule.

DuckDB lets one process write a database file at a time. Every writer (the `sovereignty`
command, a Dagster run, dbt) goes through `writer_lock`, an advisory lock on a file beside the
warehouse, so a second writer fails at once with a message naming the holder instead of
DuckDB's bare "could not set lock on file".
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines.contracts import KINDS, RAW_METADATA_COLUMNS, RAW_SQL_TYPE, ReportKind
from pipelines.settings import DEFAULT_DUCKDB_MEMORY


class WarehouseBusyError(RuntimeError):
    """Another process is writing to the warehouse."""


def raw_table_ddl(kind: ReportKind) -> str:
    columns = [f"{c.name} {RAW_SQL_TYPE[c.type]}" for c in kind.columns]
    columns += [f"{name} {sql_type}" for name, sql_type in RAW_METADATA_COLUMNS.items()]
    return f"create table if not exists raw.{kind.name} (\n  " + ",\n  ".join(columns) + "\n)"


AUDIT_DDL = (
    "create sequence if not exists audit.load_id_seq start 1",
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
    """create table if not exists audit.quarantine (
  load_id bigint not null,
  kind varchar not null,
  file_name varchar not null,
  row_number bigint not null,
  original_values json not null,   -- the row's cells as delivered, keyed by the file's header
  reasons varchar[] not null       -- every hard rule the row breaks
)""",
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
)


def create_schemas(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and audit schemas and tables if they are not there (idempotent)."""
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists audit")
    for kind in KINDS.values():
        con.execute(raw_table_ddl(kind))
    for statement in AUDIT_DDL:
        con.execute(statement)


# Lock files this process holds, with how many callers hold each: the `sovereignty` command
# holds the lock for a whole run and the assets it executes in-process take it again.
_HELD: dict[Path, list] = {}


@contextlib.contextmanager
def writer_lock(warehouse: Path) -> Iterator[None]:
    """Hold the warehouse's single-writer lock, or fail at once naming who holds it."""
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
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WarehouseBusyError(
                f"The warehouse {warehouse} is being written by {holder}. DuckDB allows one "
                "writing process per file: wait for that run to finish, then try again."
            ) from None
        handle.seek(0)
        handle.truncate()
        since = datetime.now(timezone.utc).isoformat(timespec="seconds")
        handle.write(json.dumps({"pid": os.getpid(), "since": since}))
        handle.flush()
        _HELD[lock_path] = [handle, 1]
        try:
            yield
        finally:
            del _HELD[lock_path]
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def connect(warehouse: Path, *, memory_limit: str = DEFAULT_DUCKDB_MEMORY, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing, translating DuckDB's lock error into WarehouseBusyError."""
    config = {"memory_limit": memory_limit}
    if threads:
        config["threads"] = threads
    try:
        return duckdb.connect(str(warehouse), config=config)
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise WarehouseBusyError(
                f"The warehouse {warehouse} is open for writing in another process ({error}). "
                "DuckDB allows one writing process per file: close it (an open DuckDB CLI or "
                "notebook counts) and try again."
            ) from error
        raise
