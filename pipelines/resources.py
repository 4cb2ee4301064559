"""The warehouse as a Dagster resource: every asset that writes to DuckDB opens it through here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.settings import DEFAULT_DUCKDB_MEMORY, DEFAULT_LOCK_WAIT_SECONDS, Settings
from pipelines.warehouse import connect, create_schemas, writer_lock


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file of one SOVEREIGNTY_HOME.

    A connection is opened per step and closed at its end: dbt runs in a subprocess that must
    be able to open the same file, which DuckDB refuses while another process has it open.
    """

    home: str
    memory_limit: str = DEFAULT_DUCKDB_MEMORY
    threads: int = 2
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> "WarehouseResource":
        return cls(
            home=str(settings.home),
            memory_limit=settings.duckdb_memory_limit,
            threads=settings.duckdb_threads,
            lock_wait_seconds=settings.lock_wait_seconds,
        )

    @property
    def home_path(self) -> Path:
        return Path(self.home)

    @property
    def path(self) -> Path:
        return self.home_path / "warehouse.duckdb"

    @contextlib.contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writing connection, under the single-writer lock, with the raw and audit schemas."""
        with writer_lock(self.path):
            con = connect(self.path, memory_limit=self.memory_limit, threads=self.threads, wait_seconds=self.lock_wait_seconds)
            try:
                create_schemas(con)
                yield con
            finally:
                con.close()
