"""Where state lives and how hard the machine may be used: every setting comes from the environment.

`SOVEREIGNTY_HOME` (default ./data) holds all state, so a second home is a second, independent
installation; tests use a temporary one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipelines.publish.disclosure import DisclosurePolicy

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# DuckDB's limit in each process. A run has two at once (the run and dbt's subprocess) plus
# Python's own memory: 3 GB keeps the whole run under the 4 GiB budget of a 2-core machine
# (benchmarks/README.md measures it); DuckDB spills to disk beyond it.
DEFAULT_DUCKDB_MEMORY = "3GB"


class SettingsError(ValueError):
    """A setting in the environment that cannot be used (not a number, out of range)."""


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
        try:
            settings = cls._read_env()
            settings.disclosure_policy  # noqa: B018 - validates the disclosure settings together
        except ValueError as error:
            raise SettingsError(f"invalid setting in the environment: {error}") from None
        return settings

    @classmethod
    def _read_env(cls) -> "Settings":
        today = os.environ.get("SOVEREIGNTY_TODAY")
        return cls(
            home=Path(os.environ.get("SOVEREIGNTY_HOME", "data")).resolve(),
            duckdb_memory_limit=os.environ.get("SOVEREIGNTY_DUCKDB_MEMORY", DEFAULT_DUCKDB_MEMORY),
            duckdb_threads=int(os.environ.get("SOVEREIGNTY_DUCKDB_THREADS", os.cpu_count() or 2)),
            today=date.fromisoformat(today) if today else date.today(),
            disclosure_min_producers=int(os.environ.get("SOVEREIGNTY_DISCLOSURE_MIN_PRODUCERS", DisclosurePolicy.min_producers)),
            disclosure_dominance_share=float(os.environ.get("SOVEREIGNTY_DISCLOSURE_DOMINANCE", DisclosurePolicy.dominance_share)),
            disclosure_protection=float(os.environ.get("SOVEREIGNTY_DISCLOSURE_PROTECTION", DisclosurePolicy.protection)),
            disclosure_solver_time_limit=float(
                os.environ.get("SOVEREIGNTY_DISCLOSURE_TIME_LIMIT", DisclosurePolicy.solver_time_limit)
            ),
        )

    @property
    def disclosure_policy(self) -> DisclosurePolicy:
        return DisclosurePolicy(
            self.disclosure_min_producers,
            self.disclosure_dominance_share,
            self.disclosure_protection,
            self.disclosure_solver_time_limit,
        )

    def export_for_dbt(self) -> dict[str, str]:
        """Environment for the dbt subprocess: profiles.yml reads the warehouse path from it."""
        return {
            "SOVEREIGNTY_WAREHOUSE": str(self.warehouse),
            "SOVEREIGNTY_DUCKDB_MEMORY": self.duckdb_memory_limit,
            "SOVEREIGNTY_DBT_THREADS": str(self.duckdb_threads),
        }
