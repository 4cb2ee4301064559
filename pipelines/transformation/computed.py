"""The computed layer: tables computed in Python, outside dbt, in the middle of the dbt build.

Some figures need what SQL cannot say on every engine: the economic complexity (metrics.md
section 3) needs an eigenvector. dbt Python models would do, but not on every engine the dbt
project must run on (dbt-spark in session mode runs none), so the pipeline computes these tables
itself and dbt reads them as sources, `source('computed', '<name>')`. The dbt step
(pipelines/defs/transformation.py) builds the models they are computed from, computes them, then
builds the models that read them, all in one recorded build.

Layout, relative to the home, like the raw layer (docs/ingestion.md):

    computed/<name>.parquet      e.g. computed/regional_complexity.parquet, replaced whole by each build

The computation is engine-neutral: it is handed its input table as a Polars DataFrame by a reader
the engine supplies, and writes its result with Polars (temporary name, fsync, rename, so a file
at its name is always whole). Only two small pieces know the engine: reading the input table into
Polars and showing the file to the engine as the table computed.<name>; for DuckDB both are in
pipelines/transformation/computed_duckdb.py (a view over the file, named relative to the home).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.files import write_parquet_atomically
from pipelines.transformation.complexity import economic_complexity

COMPUTED_FOLDER = "computed"
COMPUTED_SOURCE = "computed"  # the dbt source (and the engine's schema) the tables are read as

# (schema.table, columns) -> the table's rows as Polars; the engine's part of reading the input.
Reader = Callable[[str, Sequence[str]], pl.DataFrame]


@dataclass(frozen=True)
class ComputedTable:
    """A table computed in Python from one table dbt built."""

    name: str  # computed/<name>.parquet, read as source('computed', '<name>')
    input_table: str  # schema.table of the dbt model it is computed from
    input_columns: tuple[str, ...]  # the columns it reads; also the sort order (they start with the key)
    key: tuple[str, ...]  # what identifies a row: input and output are sorted by it
    compute: Callable[[pl.DataFrame], pl.DataFrame]

    @property
    def file(self) -> Path:
        """Where the table is kept, relative to the home."""
        return Path(COMPUTED_FOLDER) / f"{self.name}.parquet"


def regional_complexity(outputs: pl.DataFrame) -> pl.DataFrame:
    """RCA, presence, diversity, ubiquity, ECI and PCI per region, product and year (metrics.md
    section 3) from the yearly output per region and product.

    output_value stays DECIMAL as the engine gives it: exact sums make the result identical on
    every build and every engine (pipelines/transformation/complexity.py sums before it casts)."""
    return economic_complexity(outputs, location="region_code", product="okpd2", value="output_value", period="year")


REGIONAL_COMPLEXITY = ComputedTable(
    name="regional_complexity",
    input_table="intermediate.int_region_product_yearly_output",
    input_columns=("year", "region_code", "okpd2", "output_value"),
    key=("year", "region_code", "okpd2"),
    compute=regional_complexity,
)

COMPUTED_TABLES: dict[str, ComputedTable] = {table.name: table for table in (REGIONAL_COMPLEXITY,)}


@dataclass(frozen=True)
class Computed:
    """What computing a table gave: its file (relative to the home), rows and time taken."""

    table: ComputedTable
    rows: int
    seconds: float


def compute_table(table: ComputedTable, read: Reader, home: Path) -> Computed:
    """Read the table's input with the engine's reader, compute it and write its file in the home.

    Rows are sorted by the key on the way in and out, so the same input gives the same file
    whatever order the engine returns it in. A failure leaves the previous file as it was."""
    started = time.monotonic()
    remove_leftovers(home, table)
    inputs = read(table.input_table, table.input_columns).sort(table.key)
    result = table.compute(inputs).sort(table.key)
    write_parquet_atomically(result, home / table.file)
    return Computed(table, result.height, time.monotonic() - started)


def remove_leftovers(home: Path, table: ComputedTable) -> None:
    """Delete temporary files a killed write of this table left (never read: hidden names)."""
    target = home / table.file
    if target.parent.is_dir():
        for leftover in target.parent.glob(f".{target.name}.*"):  # files.staging_name's pattern
            leftover.unlink(missing_ok=True)
