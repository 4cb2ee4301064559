"""Where state lives and how hard the machine may be used: every setting comes from the environment.

`SOVEREIGNTY_HOME` (default ./data) holds all state, so a second home is a second, independent
installation; tests use a temporary one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# DuckDB's limit in each process. A run has two at once (the run and dbt's subprocess) plus
# Python's own memory: 3 GB keeps the whole run under the 4 GiB budget of a 2-core machine
# (benchmarks/README.md measures it); DuckDB spills to disk beyond it.
DEFAULT_DUCKDB_MEMORY = "3GB"
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
    # The URL that receives new high-severity risk signals as a JSON POST after each release;
    # None: no alerts are sent (docs/early_warning.md).
    alert_webhook: str | None = None
    # Thresholds of the early-warning marts, EARLY_WARNING_DEFAULTS with the environment's overrides.
    early_warning: dict[str, float] = field(default_factory=lambda: dict(EARLY_WARNING_DEFAULTS))

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def published(self) -> Path:
        return self.home / "published"

    @classmethod
    def from_env(cls) -> "Settings":
        today = os.environ.get("SOVEREIGNTY_TODAY")
        return cls(
            home=Path(os.environ.get("SOVEREIGNTY_HOME", "data")).resolve(),
            duckdb_memory_limit=os.environ.get("SOVEREIGNTY_DUCKDB_MEMORY", DEFAULT_DUCKDB_MEMORY),
            duckdb_threads=int(os.environ.get("SOVEREIGNTY_DUCKDB_THREADS", os.cpu_count() or 2)),
            today=date.fromisoformat(today) if today else date.today(),
            disclosure_min_producers=int(os.environ.get("SOVEREIGNTY_DISCLOSURE_MIN_PRODUCERS", 3)),
            disclosure_dominance_share=float(os.environ.get("SOVEREIGNTY_DISCLOSURE_DOMINANCE", 0.85)),
            alert_webhook=os.environ.get("SOVEREIGNTY_ALERT_WEBHOOK") or None,
            early_warning={
                name: float(os.environ.get(f"SOVEREIGNTY_SIGNAL_{name.upper()}", default))
                for name, default in EARLY_WARNING_DEFAULTS.items()
            },
        )

    def dbt_vars(self) -> list[str]:
        """The --vars argument of dbt build: the settings dbt models read with var()."""
        return ["--vars", json.dumps({"early_warning": self.early_warning}, sort_keys=True)]

    def export_for_dbt(self) -> dict[str, str]:
        """Environment for the dbt subprocess: profiles.yml reads the warehouse path from it."""
        return {
            "SOVEREIGNTY_WAREHOUSE": str(self.warehouse),
            "SOVEREIGNTY_DUCKDB_MEMORY": self.duckdb_memory_limit,
            "SOVEREIGNTY_DBT_THREADS": str(self.duckdb_threads),
        }
