"""Dagster's SQLite event log storage, with each database's connection kept open in the process.

Why: Dagster's SqliteEventLogStorage creates a SQLAlchemy engine and opens a SQLite connection for
every write and closes them after it; closing the last connection of a database in WAL mode
checkpoints it, with its fsyncs. A small run writes some 500 events, each into the run's database
and many also into the index database: about 1,500 connections, several seconds of every run
(docs/performance.md). This storage keeps one engine and connection per database (the index and
the few latest runs') for the life of the process, with SQLite's synchronous level NORMAL, the one
meant for WAL mode: a killed process loses no committed event (it is in the WAL file), and a
machine that loses power may lose the last events but never corrupts a database.

Dagster's UI follows a running run by watching its database file for changes, which a checkpoint
at every close used to make; each write here touches the file's modification time instead.

Configured in the home's dagster.yaml (cli.DAGSTER_YAML), so the UI and the daemon use it too. Its
folder is the one DAGSTER_HOME names, which every Dagster tool sets: code that opens the instance
by its folder (DagsterInstance.from_config) sets DAGSTER_HOME to that folder too.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._config import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

# Run databases kept open besides the index: a run writes to its own; a long-lived process (the
# UI, the daemon, `sovereignty serve`) reads older ones now and then, and should not hold them all.
OPEN_RUN_DATABASES = 4


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log (the same files under <DAGSTER_HOME>/history/runs)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls) -> dict:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: dict) -> KeptOpenSqliteEventLogStorage:  # type: ignore[override]
        return cls(os.path.join(config_value["dagster_home"], "history", "runs", ""), inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:  # one thread at a time on the storage's connections, as in Dagster's
            engine = self._engine(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn
                wrote = conn.info.pop("wrote", False)
            if wrote:
                os.utime(self.path_for_shard(shard))

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        # one connection, used by one thread at a time under _db_lock
        engine = create_engine(self.conn_string_for_shard(shard), poolclass=StaticPool,
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
        event.listen(engine, "connect", _synchronous_normal)
        event.listen(engine, "before_cursor_execute", _note_write)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        runs = [name for name in self._engines if name != INDEX_SHARD_NAME]
        for name in runs[:-OPEN_RUN_DATABASES]:
            self._engines.pop(name).dispose()
        return engine

    def wipe(self) -> None:
        with self._db_lock:  # the run databases are deleted: close them first
            self._close_all()
        super().wipe()

    def dispose(self) -> None:
        with self._db_lock:
            self._close_all()
        super().dispose()

    def _close_all(self) -> None:
        while self._engines:
            self._engines.popitem()[1].dispose()


def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("pragma synchronous = normal")


def _note_write(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    """Mark the connection's use as a write, for _connect to touch the database file after it."""
    if statement.lstrip()[:6].upper() not in ("SELECT", "PRAGMA"):
        conn.info["wrote"] = True
