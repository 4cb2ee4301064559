"""The raw layer: each load's kept and quarantined rows as Parquet files in the home, read as the
raw.<kind> views and the audit.quarantine view.

Layout, relative to the home (docs/ingestion.md):

    raw/<kind>/<quarter>/<load id, 8 digits>.parquet   quarterly kinds: a quarter's rows are a folder
    raw/<kind>/<load id, 8 digits>.parquet             yearly and undated kinds (one file per load)
    quarantine/<kind>/<load id, 8 digits>.parquet      a load's quarantined rows (one file per load:
                                                        a quarantined row's period may be unreadable)

A file holds the report's columns as validation parsed them followed by the metadata columns
(_load_id, _source_file, _row_number, _ingested_at, _soft_flags). Money is kept as the parsed
double: the views cast it to DECIMAL(18,3) with the engine's SQL cast, as the raw tables did on
insert (Polars rounds some halves differently, 1.0005 -> 1.000 where SQL gives 1.001). DuckDB
reads the files through the views raw.<kind> and audit.quarantine, which list the files of
committed loads by path relative to the home (every connection sets `file_search_path` to the
home); Spark reads the same folders.

Handing rows over as Parquet files is what keeps ingestion near the speed of reading the reports
(an insert into DuckDB's table cost five times the Parquet write: docs/performance.md).

A load's files are written inside its audit record's transaction, and a view lists only files
whose load is committed: a process killed in between leaves files of an uncommitted load. The
next load to take that id removes them first (remove_load), and every ingestion starts by
removing all such files (remove_uncommitted).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import polars as pl

from pipelines.files import write_parquet_atomically
from pipelines.ingestion.contracts import KINDS, RAW_METADATA_COLUMNS, RAW_SQL_TYPE, ReportKind
from pipelines.ingestion.readers import ROW_NUMBER

RAW_FOLDER = "raw"
QUARANTINE_FOLDER = "quarantine"
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
    "JSON": pl.String(),
}

# audit.quarantine's columns and SQL types; the rows' cells as delivered are JSON text in the files.
QUARANTINE_COLUMNS = {
    "load_id": "BIGINT",
    "kind": "VARCHAR",
    "file_name": "VARCHAR",  # the name it was delivered under
    "row_number": "BIGINT",  # the row in that file (docs/ingestion.md for numbering)
    "original_values": "JSON",  # the row's cells as delivered, keyed by the file's header
    "reasons": "VARCHAR[]",  # every hard rule the row breaks
}


def raw_columns(kind: ReportKind) -> dict[str, str]:
    """Column -> SQL type of a raw file and view, in order: the report's columns, then metadata."""
    return {**{c.name: RAW_SQL_TYPE[c.type] for c in kind.columns}, **RAW_METADATA_COLUMNS}


def load_file_name(load_id: int) -> str:
    """The name of every file of a load, in either layer: its id, 8 digits (LOAD_FILE reads it back)."""
    return f"{load_id:08d}.parquet"


def load_file(kind: ReportKind, load_id: int, period: str | None) -> Path:
    """Where a load's rows (of one quarter, for a quarterly kind) are kept, relative to the home."""
    folder = Path(RAW_FOLDER) / kind.name
    if kind.quarterly:
        assert period is not None, "a quarterly kind's rows are kept per quarter"
        folder = folder / period
    return folder / load_file_name(load_id)


def quarantine_file(kind: ReportKind, load_id: int) -> Path:
    """Where a load's quarantined rows are kept, relative to the home."""
    return Path(QUARANTINE_FOLDER) / kind.name / load_file_name(load_id)


def kind_files(home: Path, kind: ReportKind, layer: str = RAW_FOLDER) -> list[tuple[int, Path]]:
    """(load id, path relative to the home) of every file of a kind in a layer's folder (raw or
    quarantine), in load order."""
    found = []
    # os.walk rather than Path.rglob: the views are refreshed at every load, and rglob's cost over
    # a national inbox's files grew to a second of the ingestion
    for folder, _, names in os.walk(home / layer / kind.name):
        relative = Path(folder).relative_to(home)
        found += [(int(match.group(1)), relative / name) for name in names if (match := LOAD_FILE.match(name))]
    return sorted(found)


def write_load(home: Path, kind: ReportKind, rows: pl.DataFrame) -> list[Path]:
    """Write a load's rows (report columns and metadata, already typed) as its raw files.

    Each file is written under a temporary name, flushed and renamed (write_parquet_atomically),
    so a file at its final name is always whole.
    """
    load_id = int(rows["_load_id"][0])
    frame = rows.select(pl.col(name).cast(FILE_TYPE[sql_type]) for name, sql_type in raw_columns(kind).items())
    if not kind.quarterly:
        parts = {(None,): frame}
    elif frame["period"].n_unique() == 1:  # a report of one quarter, as most are: no copy to split it
        parts = {(frame["period"][0],): frame}
    else:
        parts = frame.partition_by("period", as_dict=True)
    written = []
    for (period,), part in parts.items():
        relative = load_file(kind, load_id, period)
        write_parquet_atomically(part, home / relative)
        written.append(relative)
    return written


def write_quarantine(home: Path, kind: ReportKind, load_id: int, file_name: str, rows: pl.DataFrame) -> None:
    """Write a load's quarantined rows (row number, original values, reasons) as its quarantine file."""
    frame = rows.select(
        pl.lit(load_id, dtype=pl.Int64).alias("load_id"),
        pl.lit(kind.name, dtype=pl.String).alias("kind"),
        pl.lit(file_name, dtype=pl.String).alias("file_name"),
        pl.col(ROW_NUMBER).cast(pl.Int64).alias("row_number"),
        pl.col("original_values").cast(pl.String),
        pl.col("reasons").cast(pl.List(pl.String)),
    )
    write_parquet_atomically(frame, home / quarantine_file(kind, load_id))


def remove_files(home: Path, kind: ReportKind, load_ids: set[int]) -> None:
    for layer in (RAW_FOLDER, QUARANTINE_FOLDER):
        for load_id, relative in kind_files(home, kind, layer):
            if load_id in load_ids:
                (home / relative).unlink()


def remove_load(home: Path, load_id: int) -> None:
    """Delete every file named after a load id, of any kind: called when a load takes the id, so
    what an uncommitted load of the same id left (a killed process, perhaps another kind's step
    running in parallel) can never be read as this load's."""
    name = load_file_name(load_id)
    for layer in (RAW_FOLDER, QUARANTINE_FOLDER):
        for kind_folder in (home / layer).glob("*"):
            for path in [*kind_folder.glob(name), *kind_folder.glob(f"*/{name}")]:
                path.unlink()


def committed_loads(con: duckdb.DuckDBPyConnection) -> set[int]:
    """The loads whose rows count: committed, with status loaded (this transaction's too)."""
    return {load_id for (load_id,) in con.execute("select load_id from audit.loads where status = 'loaded'").fetchall()}


def remove_uncommitted(con: duckdb.DuckDBPyConnection, home: Path) -> None:
    """Delete raw and quarantine files whose load never committed (a run killed between writing
    and committing)."""
    committed = committed_loads(con)
    for kind in KINDS.values():
        found = {load_id for layer in (RAW_FOLDER, QUARANTINE_FOLDER) for load_id, _ in kind_files(home, kind, layer)}
        remove_files(home, kind, found - committed)


def files_view_sql(view: str, files: list[str], columns: dict[str, str], casts: dict[str, str]) -> str:
    """A view over Parquet files with these columns, the `casts` columns cast to their SQL type
    (an empty, typed view when there are no files)."""
    if files:
        listed = ", ".join(f"'{name}'" for name in files)
        replaced = ", ".join(f"cast({name} as {sql_type}) as {name}" for name, sql_type in casts.items())
        selected = f"* replace ({replaced})" if casts else "*"
        return f"create or replace view {view} as select {selected} from read_parquet([{listed}])"
    empty = ", ".join(f"cast(null as {sql_type}) as {name}" for name, sql_type in columns.items())
    return f"create or replace view {view} as select {empty} where false"


def view_sql(home: Path, kind: ReportKind, load_ids: set[int]) -> str:
    """The raw.<kind> view over the files of the given loads."""
    files = [str(relative) for load_id, relative in kind_files(home, kind) if load_id in load_ids]
    # Only money is cast: a view column that is the file's own column lets a filter on it
    # (a quarter) reach the Parquet reader, which then skips the other quarters' files.
    money = {name: sql_type for name, sql_type in raw_columns(kind).items() if sql_type.startswith("DECIMAL")}
    return files_view_sql(f"raw.{kind.name}", files, raw_columns(kind), money)


def quarantine_view_sql(home: Path, load_ids: set[int]) -> str:
    """The audit.quarantine view over the quarantine files of the given loads, every kind's."""
    files = [str(relative) for kind in KINDS.values() for load_id, relative in kind_files(home, kind, QUARANTINE_FOLDER)
             if load_id in load_ids]
    return files_view_sql("audit.quarantine", files, QUARANTINE_COLUMNS, {"original_values": "JSON"})


def refresh_views(con: duckdb.DuckDBPyConnection, home: Path, kinds: list[ReportKind] | None = None) -> None:
    """Point the raw views and audit.quarantine at the files of the loads committed so far (and of
    the load being committed in this transaction, whose audit record is already inserted)."""
    loaded = committed_loads(con)
    for kind in kinds or list(KINDS.values()):
        con.execute(view_sql(home, kind, loaded))
    con.execute(quarantine_view_sql(home, loaded))


def move_tables_to_files(con: duckdb.DuckDBPyConnection, home: Path) -> None:
    """A warehouse from before the raw layer kept raw and quarantined rows in tables: write them
    out as the layer's files, once, and drop the tables (the views replace them). Killed
    half-way, the tables are still there and the next start writes the same files again."""
    tables = set(con.execute(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
    ).fetchall())
    for kind in KINDS.values():
        if ("raw", kind.name) not in tables:
            continue
        frame = con.sql(f"select * from raw.{kind.name}").pl()
        for (load_id,), rows in frame.partition_by("_load_id", as_dict=True).items():
            remove_files(home, kind, {load_id})
            write_load(home, kind, rows)
        con.execute(f"drop table raw.{kind.name}")
    if ("audit", "quarantine") in tables:
        frame = con.sql(f"select load_id, kind, file_name, row_number as {ROW_NUMBER}, original_values, reasons "
                        "from audit.quarantine").pl()
        for (load_id, kind_name, file_name), rows in frame.partition_by(["load_id", "kind", "file_name"], as_dict=True).items():
            write_quarantine(home, KINDS[kind_name], load_id, file_name, rows)
        con.execute("drop table audit.quarantine")
