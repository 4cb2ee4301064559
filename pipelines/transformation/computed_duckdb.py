"""The computed layer on DuckDB: the two engine-specific pieces of pipelines/transformation/computed.py.

Reading a table dbt built into Polars (through Arrow: DECIMAL stays Decimal), and showing a
computed file to the engine as the view computed.<name>. The view names the file relative to the
home, as the raw views do: every connection the pipeline opens, and dbt's profile, sets DuckDB's
`file_search_path` to the home (pipelines/warehouse.py). On Spark the same two pieces would read
the input table's Parquet files and register the computed file as a table.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from pipelines.transformation.computed import COMPUTED_SOURCE, ComputedTable, Reader


def duckdb_reader(con: duckdb.DuckDBPyConnection) -> Reader:
    """A reader of the warehouse's tables for compute_table."""

    def read(table: str, columns: Sequence[str]) -> pl.DataFrame:
        return con.sql(f"select {', '.join(columns)} from {table}").pl()

    return read


def view_sql(table: ComputedTable) -> str:
    return (f"create or replace view {COMPUTED_SOURCE}.{table.name} as "
            f"select * from read_parquet('{table.file.as_posix()}')")


def show_computed_file(con: duckdb.DuckDBPyConnection, table: ComputedTable) -> None:
    """Point the view computed.<name> at the table's file (it must exist: DuckDB reads its schema)."""
    con.execute(f"create schema if not exists {COMPUTED_SOURCE}")
    con.execute(view_sql(table))
