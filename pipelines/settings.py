"""Where state lives and how hard the machine may be used: every setting comes from the environment.

`SOVEREIGNTY_HOME` (default ./data) holds all state, so a second home is a second, independent
installation; tests use a temporary one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DBT_PROFILE = "sovereignty"  # the profile dbt_project.yml names; written per home (dbt_command.py)
# DuckDB's limit for each opening of the warehouse. A run's steps and dbt (inside the run's
# process) open it one after another; with Python's own memory, 3 GB keeps the whole run under
# the 4 GiB budget of a 2-core machine (benchmarks/README.md measures it); DuckDB spills to disk
# beyond it.
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
# which stands for itself and every quarter before it (pipelines/ingestion/planning.py).
DEFAULT_FIRST_PARTITION = "2024-Q1"
# Disclosure control (metrics.md section 6, docs/disclosure.md): a cell of fewer producers than this
# is confidential, and so is one whose largest producer has more than this share of its output;
DEFAULT_MIN_PRODUCERS = 3
DEFAULT_DOMINANCE_SHARE = 0.85
# an attacker holding the release must not narrow a confidential figure to within this share of
# its value, up or down; the optimiser choosing secondary suppressions gets this many seconds.
DEFAULT_PROTECTION = 0.10
DEFAULT_SOLVER_TIME_LIMIT = 120.0
# How many of a run's steps may run at once, each in a process of its own (Dagster's multiprocess
# executor): the report kinds' ingestion steps then read and validate their files in parallel
# (docs/operations.md). 1: every step in the run's own process, one after another, which spares
# a process start per step and suits a 2-core machine.
DEFAULT_PROCESSES = 1
# Where `make ui` serves the Dagster UI: Dagster's own default port.
DEFAULT_UI_PORT = 3000
# The engine that builds and checks the marts (docs/scaling.md): DuckDB in this process, the
# embedded default, or Spark, for volumes one machine cannot hold. Ingestion is the same on both.
ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"
# Spark's master: a local Spark in the run's own process (any machine with Java 17), a cluster's
# URL (spark://host:7077, yarn, k8s://https://host:443), or a Spark Connect server's
# (sc://host:15002), which then runs Spark for the pipeline's sessions.
DEFAULT_SPARK_MASTER = "local[*]"
# Memory of the Spark driver (the JVM of local Spark): with the run's own Python it stays within
# the 4 GiB budget of a 2-core machine.
DEFAULT_SPARK_DRIVER_MEMORY = "2g"


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


# The thresholds of the early-warning marts (risk_signals, supply_stress) and their defaults, which
# live in one place: the var early_warning of dbt_project.yml. Each can be set with
# SOVEREIGNTY_SIGNAL_<NAME> (SOVEREIGNTY_SIGNAL_IMPORT_DEPENDENCY_RISE=0.05) and reaches dbt as --vars.
EARLY_WARNING_DEFAULTS: dict[str, float] = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["early_warning"]
# Seconds to wait for the alert webhook before giving up (a slow receiver must not hold a run).
ALERT_TIMEOUT_SECONDS = 10


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
    # An attacker holding the release must not narrow a confidential cell to within this share of
    # its value (both ways),
    disclosure_protection: float
    # and secondary suppression by optimisation gets this many seconds before the fallback.
    disclosure_solver_time_limit: float
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS  # for readers to close the warehouse
    processes: int = DEFAULT_PROCESSES  # steps of a run at once, each in its own process
    # The URL that receives new high-severity risk signals as a JSON POST after each release;
    # None: no alerts are sent (docs/early_warning.md).
    alert_webhook: str | None = None
    # Thresholds of the early-warning marts, EARLY_WARNING_DEFAULTS with the environment's overrides.
    early_warning: dict[str, float] = field(default_factory=lambda: dict(EARLY_WARNING_DEFAULTS))
    first_partition: str = DEFAULT_FIRST_PARTITION  # a quarter label, '2024-Q1'
    engine: str = DEFAULT_ENGINE  # one of ENGINES
    spark_master: str = DEFAULT_SPARK_MASTER
    spark_driver_memory: str = DEFAULT_SPARK_DRIVER_MEMORY

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def spark_home(self) -> Path:
        """The Spark engine's state: its tables (warehouse/) and their catalogue (metastore/)."""
        return self.home / "spark"

    @property
    def spark_connect(self) -> bool:
        """Whether Spark is a Spark Connect server's (SOVEREIGNTY_SPARK_MASTER=sc://host:port)."""
        return self.spark_master.startswith("sc://")

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder for the pipeline's builds: one per home (not dagster-dbt's folder
        per run), so dbt's partial parse state is kept and a run re-parses only what changed."""
        return self.home / "dbt" / "target"

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
    def from_env(cls) -> Settings:
        return cls(
            home=Path(os.environ.get("SOVEREIGNTY_HOME", "data")).resolve(),
            duckdb_memory_limit=env_setting("SOVEREIGNTY_DUCKDB_MEMORY", DEFAULT_DUCKDB_MEMORY, str),
            duckdb_threads=env_setting("SOVEREIGNTY_DUCKDB_THREADS", os.cpu_count() or 2, POSITIVE_INTEGER),
            today=env_setting("SOVEREIGNTY_TODAY", date.today(), date.fromisoformat),
            disclosure_min_producers=env_setting("SOVEREIGNTY_DISCLOSURE_MIN_PRODUCERS", DEFAULT_MIN_PRODUCERS,
                                                 POSITIVE_INTEGER),
            disclosure_dominance_share=env_setting("SOVEREIGNTY_DISCLOSURE_DOMINANCE", DEFAULT_DOMINANCE_SHARE, SHARE),
            disclosure_protection=env_setting("SOVEREIGNTY_DISCLOSURE_PROTECTION", DEFAULT_PROTECTION, PROTECTION),
            disclosure_solver_time_limit=env_setting("SOVEREIGNTY_DISCLOSURE_TIME_LIMIT", DEFAULT_SOLVER_TIME_LIMIT,
                                                     POSITIVE_SECONDS),
            lock_wait_seconds=env_setting("SOVEREIGNTY_LOCK_WAIT_SECONDS", DEFAULT_LOCK_WAIT_SECONDS, SECONDS),
            processes=env_setting("SOVEREIGNTY_PROCESSES", DEFAULT_PROCESSES, POSITIVE_INTEGER),
            alert_webhook=env_setting("SOVEREIGNTY_ALERT_WEBHOOK", None, str),
            early_warning={
                name: env_setting(f"SOVEREIGNTY_SIGNAL_{name.upper()}", default, NON_NEGATIVE)
                for name, default in EARLY_WARNING_DEFAULTS.items()
            },
            first_partition=env_setting("SOVEREIGNTY_FIRST_PARTITION", DEFAULT_FIRST_PARTITION, quarter),
            engine=env_setting("SOVEREIGNTY_ENGINE", DEFAULT_ENGINE, ENGINE),
            spark_master=env_setting("SOVEREIGNTY_SPARK_MASTER", DEFAULT_SPARK_MASTER, str),
            spark_driver_memory=env_setting("SOVEREIGNTY_SPARK_DRIVER_MEMORY", DEFAULT_SPARK_DRIVER_MEMORY, MEMORY),
        )


def checked(parse, valid, meaning: str):
    """A parser that also refuses values outside the setting's range (a ValueError names it)."""

    def parse_checked(text: str):
        value = parse(text)
        if not valid(value):
            raise ValueError(f"{text} is not {meaning}")
        return value

    return parse_checked


POSITIVE_INTEGER = checked(int, lambda value: value > 0, "a whole number above 0")
SECONDS = checked(float, lambda value: value >= 0, "a number of seconds")
NON_NEGATIVE = checked(float, lambda value: value >= 0, "a number of 0 or more")
POSITIVE_SECONDS = checked(float, lambda value: value > 0, "a number of seconds above 0")
SHARE = checked(float, lambda value: 0 < value <= 1, "a share above 0 and at most 1")
PROTECTION = checked(float, lambda value: 0 <= value < 1, "a share from 0 up to (not including) 1")
ENGINE = checked(str.lower, lambda value: value in ENGINES, "one of " + ", ".join(ENGINES))
# JVM memory sizes as Spark takes them: 2g, 2048m
MEMORY = checked(str.lower, lambda value: value[:-1].isdigit() and value[-1] in "kmgt", "a size like 2g or 2048m")


def quarter(text: str) -> str:
    """A quarter in any spelling the reports may use, from the warehouse's first (2000-Q1) on."""
    from pipelines.ingestion.periods import FIRST_QUARTER, parse_quarter  # periods needs Polars: loaded when used

    label = parse_quarter(text)
    if label is None or label < FIRST_QUARTER:
        raise ValueError(text)
    return label
