"""dbt's own command line on this home's warehouse: `python -m pipelines.dbt_command ARGS...`.

profiles.yml reads the warehouse path and DuckDB's settings from the environment and has no
defaults of its own: a dbt started without them stops naming the missing variable, rather than
silently working on another home's warehouse. This module starts dbt with the values of
pipelines/settings.py (`Settings.export_for_dbt`), for `make docs`, the manifest `make` builds
and the tests. A command that opens the warehouse holds the single-writer lock while it runs,
so it never meets a run half-way (dbt-duckdb opens the file for writing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.settings import DBT_PROJECT_DIR, Settings, SettingsError
from pipelines.warehouse import WarehouseBusyError, writer_lock

# dbt-core is installed in the same environment as this package; use that dbt even when the
# environment's bin/ is not on PATH (dagster-dbt looks for `dbt` on PATH otherwise).
_BESIDE_PYTHON = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_BESIDE_PYTHON) if _BESIDE_PYTHON.exists() else (shutil.which("dbt") or "dbt")

# dbt commands that read only the project's files, never the warehouse.
OFFLINE_COMMANDS = {"parse", "deps", "clean", "debug", "--version"}


def dbt_environment(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings.export_for_dbt()}


def run_dbt(settings: Settings, args: Sequence[str], **run_kwargs) -> subprocess.CompletedProcess:
    """dbt with the project and profile of this repository, on the settings' warehouse."""
    command = [DBT_EXECUTABLE, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    return subprocess.run(command, env=dbt_environment(settings), **run_kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if not args or args[0] in OFFLINE_COMMANDS:
        return run_dbt(settings, args).returncode
    if not settings.warehouse.exists():
        # dbt-duckdb would create an empty warehouse and document nothing
        print(f"No warehouse at {settings.warehouse}: run `sovereignty run` first (SOVEREIGNTY_HOME={settings.home}).",
              file=sys.stderr)
        return 1
    try:
        with writer_lock(settings.warehouse):
            return run_dbt(settings, args).returncode
    except WarehouseBusyError as busy:
        print(busy, file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
