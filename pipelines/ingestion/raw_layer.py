"""The raw layer: each load's kept rows as Parquet files in the home, read as the raw.<kind> views.

Layout, relative to the home (docs/ingestion.md):

    raw/<kind>/<quarter>/<load id, 8 digits>.parquet   quarterly kinds: a quarter's rows are a folder
    raw/<kind>/<load id, 8 digits>.parquet             yearly and undated kinds (one file per load)

A file holds the report's columns as validation parsed them followed by the metadata columns
(_load_id, _source_file, _row_number, _ingested_at, _soft_flags). Money is kept as the parsed
double: the views cast it to DECIMAL(18,3) with the engine's SQL cast, as the raw tables did on
insert (Polars rounds some halves differently, 1.0005 -> 1.000 where SQL gives 1.001). DuckDB
reads the files through the views raw.<kind>, which list the files of committed loads by path
relative to the home (every connection sets `file_search_path` to the home); Spark reads the
same folders.

Handing rows over as Parquet files is what keeps ingestion near the speed of reading the reports
(an insert into DuckDB's table cost five times the Parquet write: docs/performance.md).

A load's files are written before its audit record commits, and a view lists only files whose
load is committed: a process killed in between leaves files of an uncommitted load, which the
next ingestion removes before it writes anything (the next load may take the same id).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl

from pipelines.files import write_parquet_atomically
from pipelines.ingestion.contracts import KINDS, RAW_METADATA_COLUMNS, RAW_SQL_TYPE, ReportKind

RAW_FOLDER = "raw"
LOAD_FILE = re.compile(r"^([0-9]{8})\.parquet$")

# The type a column has in the files, by its type in the views.
FILE_TYPE: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "DECIMAL(18,3)": pl.Float64(),
    "DOUBLE": pl.Float64(),
    "BIGINT": pl.Int64(),
    "DATE": pl.Date(),
    "TIMESTAMP": pl.Datetime("us"),
    "VARCHAR[]": pl.List(pl.String()),
}


def raw_columns(kind: ReportKind) -> dict[str, str]:
    """Column -> SQL type of a raw file and view, in order: the report's columns, then metadata."""
    return {**{c.name: RAW_SQL_TYPE[c.type] for c in kind.columns}, **RAW_METADATA_COLUMNS}


def load_file(kind: ReportKind, load_id: int, period: str | None) -> Path:
    """Where a load's rows (of one quarter, for a quarterly kind) are kept, relative to the home."""
    folder = Path(RAW_FOLDER) / kind.name
    if kind.quarterly:
        assert period is not None, "a quarterly kind's rows are kept per quarter"
        folder = folder / period
    return folder / f"{load_id:08d}.parquet"


def kind_files(home: Path, kind: ReportKind) -> list[tuple[int, Path]]:
    """(load id, path relative to the home) of every raw file of a kind, in load order."""
    folder = home / RAW_FOLDER / kind.name
    if not folder.is_dir():
        return []
    found = [(int(match.group(1)), path.relative_to(home)) for path in folder.rglob("*.parquet")
             if (match := LOAD_FILE.match(path.name))]
    return sorted(found)


def write_load(home: Path, kind: ReportKind, rows: pl.DataFrame) -> list[Path]:
    """Write a load's rows (report columns and metadata, already typed) as its raw files.

    Each file is written under a temporary name, flushed and renamed (write_parquet_atomically),
    so a file at its final name is always whole. Files left by an earlier, uncommitted load of the same id go first.
    """
    load_id = int(rows["_load_id"][0])
    remove_files(home, kind, {load_id})
    frame = rows.select(pl.col(name).cast(FILE_TYPE[sql_type]) for name, sql_type in raw_columns(kind).items())
    parts = frame.partition_by("period", as_dict=True) if kind.quarterly else {(None,): frame}
    written = []
    for (period,), part in parts.items():
        relative = load_file(kind, load_id, period)
        write_parquet_atomically(part, home / relative)
        written.append(relative)
    return written


def remove_files(home: Path, kind: ReportKind, load_ids: set[int]) -> None:
    for load_id, relative in kind_files(home, kind):
        if load_id in load_ids:
            (home / relative).unlink()


def committed_loads(con: duckdb.DuckDBPyConnection) -> set[int]:
    """The loads whose rows count: committed, with status loaded (this transaction's too)."""
    return {load_id for (load_id,) in con.execute("select load_id from audit.loads where status = 'loaded'").fetchall()}


def remove_uncommitted(con: duckdb.DuckDBPyConnection, home: Path) -> None:
    """Delete raw files whose load never committed (a run killed between writing and committing)."""
    committed = committed_loads(con)
    for kind in KINDS.values():
        remove_files(home, kind, {load_id for load_id, _ in kind_files(home, kind)} - committed)


def view_sql(home: Path, kind: ReportKind, load_ids: set[int]) -> str:
    """The raw.<kind> view over the files of the given loads (an empty, typed view when none)."""
    files = [str(relative) for load_id, relative in kind_files(home, kind) if load_id in load_ids]
    if files:
        # Only money is cast: a view column that is the file's own column lets a filter on it
        # (a quarter) reach the Parquet reader, which then skips the other quarters' files.
        money = {name: sql_type for name, sql_type in raw_columns(kind).items() if sql_type.startswith("DECIMAL")}
        replaced = ", ".join(f"cast({name} as {sql_type}) as {name}" for name, sql_type in money.items())
        listed = ", ".join(f"'{name}'" for name in files)
        columns = f"* replace ({replaced})" if money else "*"
        return f"create or replace view raw.{kind.name} as select {columns} from read_parquet([{listed}])"
    empty = ", ".join(f"cast(null as {sql_type}) as {name}" for name, sql_type in raw_columns(kind).items())
    return f"create or replace view raw.{kind.name} as select {empty} where false"


def refresh_views(con: duckdb.DuckDBPyConnection, home: Path, kinds: list[ReportKind] | None = None) -> None:
    """Point the raw views at the files of the loads committed so far (and of the load being
    committed in this transaction, whose audit record is already inserted)."""
    loaded = committed_loads(con)
    for kind in kinds or list(KINDS.values()):
        con.execute(view_sql(home, kind, loaded))


def move_tables_to_files(con: duckdb.DuckDBPyConnection, home: Path) -> None:
    """A warehouse from before the raw layer kept raw rows in tables: write them out as the
    layer's files, once, and drop the tables (the views replace them). Killed half-way, the
    tables are still there and the next start writes the same files again."""
    tables = {name for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' and table_type = 'BASE TABLE'"
    ).fetchall()}
    for kind in KINDS.values():
        if kind.name not in tables:
            continue
        frame = con.sql(f"select * from raw.{kind.name}").pl()
        for (_,), rows in frame.partition_by("_load_id", as_dict=True).items():
            write_load(home, kind, rows)
        con.execute(f"drop table raw.{kind.name}")
