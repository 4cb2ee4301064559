"""Where state lives and how hard the machine may be used: every setting comes from the environment.

`SOVEREIGNTY_HOME` (default ./data) holds all state, so a second home is a second, independent
installation; tests use a temporary one.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# DuckDB's limit in each process. A run has two at once (the run and dbt's subprocess) plus
# Python's own memory: 3 GB keeps the whole run under the 4 GiB budget of a 2-core machine
# (benchmarks/README.md measures it); DuckDB spills to disk beyond it.
DEFAULT_DUCKDB_MEMORY = "3GB"
# How long a step waits for a reader (an analyst's DuckDB session, `sovereignty sql`) to close the
# warehouse before it gives up: long enough for a query, short enough that a forgotten notebook
# is reported rather than waited for.
DEFAULT_LOCK_WAIT_SECONDS = 60
# The on-disk format a new warehouse file is written in. DuckDB 2.0 writes by default a format
# DuckDB 1.x cannot open; analysts' clients (the DuckDB CLI on PyPI, DBeaver's driver, R, most
# notebooks) are 1.x, and 1.4 and later read this one. Fixed when the file is created: every
# place that can create the warehouse (pipelines/warehouse.py connect, dbt's profile, the tests'
# fixtures) takes it from here.
WAREHOUSE_STORAGE_VERSION = "v1.4.0"
# The first quarterly partition: the national projects for technological leadership, whose reports
# the warehouse collects, start in 2024. Dagster's partition views begin here rather than at the
# 2000-Q1 the warehouse accepts; reports of earlier quarters are ingested by this first partition,
# which stands for itself and every quarter before it (pipelines/partitions.py).
DEFAULT_FIRST_PARTITION = "2024-Q1"
# Where `make ui` serves the Dagster UI: Dagster's own default port.
DEFAULT_UI_PORT = 3000


class SettingsError(ValueError):
    """An environment variable holds a value the setting cannot take."""


def env_setting(name: str, default, parse):
    """The variable's value parsed, or the default; a bad value names the variable."""
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        return parse(text.strip())
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a valid value (default: {default})") from None


@dataclass(frozen=True)
class Settings:
    home: Path
    duckdb_memory_limit: str  # DuckDB spills to disk beyond it
    duckdb_threads: int
    today: date  # "now" for the not-in-the-future rules; pinned in tests and the demo
    # Disclosure control (metrics.md section 6): fewer producers than this make a cell confidential,
    disclosure_min_producers: int
    # and so does a largest producer with more than this share of the cell's output.
    disclosure_dominance_share: float
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS  # for readers to close the warehouse
    first_partition: str = DEFAULT_FIRST_PARTITION  # a quarter label, '2024-Q1'

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def published(self) -> Path:
        return self.home / "published"

    @property
    def processed(self) -> Path:
        return self.home / "processed"

    @property
    def rejected(self) -> Path:
        return self.home / "rejected"

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            home=Path(os.environ.get("SOVEREIGNTY_HOME", "data")).resolve(),
            duckdb_memory_limit=env_setting("SOVEREIGNTY_DUCKDB_MEMORY", DEFAULT_DUCKDB_MEMORY, str),
            duckdb_threads=env_setting("SOVEREIGNTY_DUCKDB_THREADS", os.cpu_count() or 2, positive(int)),
            today=env_setting("SOVEREIGNTY_TODAY", date.today(), date.fromisoformat),
            disclosure_min_producers=env_setting("SOVEREIGNTY_DISCLOSURE_MIN_PRODUCERS", 3, positive(int)),
            disclosure_dominance_share=env_setting("SOVEREIGNTY_DISCLOSURE_DOMINANCE", 0.85, share),
            lock_wait_seconds=env_setting("SOVEREIGNTY_LOCK_WAIT_SECONDS", DEFAULT_LOCK_WAIT_SECONDS, non_negative(float)),
            first_partition=env_setting("SOVEREIGNTY_FIRST_PARTITION", DEFAULT_FIRST_PARTITION, quarter),
        )

    def export_for_dbt(self) -> dict[str, str]:
        """Environment for the dbt subprocess: profiles.yml reads the warehouse path and DuckDB's
        settings from it, with no defaults of its own (pipelines/dbt_command.py)."""
        return {
            "SOVEREIGNTY_WAREHOUSE": str(self.warehouse),
            "SOVEREIGNTY_DUCKDB_MEMORY": self.duckdb_memory_limit,
            "SOVEREIGNTY_DUCKDB_STORAGE_VERSION": WAREHOUSE_STORAGE_VERSION,
            "SOVEREIGNTY_DBT_THREADS": str(self.duckdb_threads),
            # dbt-duckdb retries its connection with waits of 1, 2, 4, ... s: enough attempts to
            # wait about as long as the pipeline's own steps do for a reader to close the file.
            "SOVEREIGNTY_DBT_CONNECT_ATTEMPTS": str(1 + math.ceil(math.log2(1 + self.lock_wait_seconds))),
        }


def positive(parse):
    def parse_positive(text: str):
        value = parse(text)
        if value <= 0:
            raise ValueError(text)
        return value

    return parse_positive


def non_negative(parse):
    def parse_non_negative(text: str):
        value = parse(text)
        if value < 0:
            raise ValueError(text)
        return value

    return parse_non_negative


def quarter(text: str) -> str:
    """A quarter in any spelling the reports may use, from the warehouse's first (2000-Q1) on."""
    from pipelines.periods import FIRST_QUARTER, parse_quarter  # periods needs Polars: loaded when used

    label = parse_quarter(text)
    if label is None or label < FIRST_QUARTER:
        raise ValueError(text)
    return label


def share(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError(text)
    return value
