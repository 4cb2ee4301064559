"""dbt's own command line on this home's warehouse: `python -m pipelines.transformation.dbt_command ARGS...`.

dbt's profile is written from the settings into the home ($SOVEREIGNTY_HOME/dbt/profiles.yml) before
every dbt start: the warehouse path and DuckDB's limits have one source (pipelines/settings.py),
and the repository holds no profile, so a bare `dbt` finds none rather than silently working on
another home's warehouse. This module starts dbt for `make docs`, the manifest `make` builds and
the tests; the pipeline's dbt step uses the same profile (pipelines/defs/transformation.py). A
command that opens the warehouse holds the single-writer lock while it runs, so it never meets a
run half-way (dbt-duckdb opens the file for writing).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from pipelines.files import write_atomically
from pipelines.settings import DBT_PROFILE, DBT_PROJECT_DIR, WAREHOUSE_STORAGE_VERSION, Settings, SettingsError
from pipelines.transformation import spark
from pipelines.warehouse import WarehouseBusyError, writer_lock

# dbt-core is installed in the same environment as this package; use that dbt even when the
# environment's bin/ is not on PATH (dagster-dbt looks for `dbt` on PATH otherwise).
_BESIDE_PYTHON = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_BESIDE_PYTHON) if _BESIDE_PYTHON.exists() else (shutil.which("dbt") or "dbt")

# dbt commands that read only the project's files, never the warehouse.
OFFLINE_COMMANDS = {"parse", "deps", "clean", "debug", "--version"}
# dbt commands that take --vars (and run the on-run-start hook or read var()).
COMMANDS_WITH_VARS = {"build", "run", "test", "seed", "snapshot", "compile", "show", "docs", "run-operation", "parse"}


def profile(settings: Settings) -> dict:
    """dbt's profile for the settings' warehouse, with the limits every other connection has."""
    return {
        DBT_PROFILE: {
            "target": settings.engine,  # the output of the same name below
            "outputs": {
                "spark": spark.dbt_output(settings),
                "duckdb": {
                    "type": "duckdb",
                    "path": str(settings.warehouse),
                    "threads": settings.duckdb_threads,
                    # dbt-duckdb retries its connection with waits of 1, 2, 4, ... s: enough attempts
                    # to wait about as long as the pipeline's own steps do for a reader to close the file.
                    "retries": {"connect_attempts": 1 + math.ceil(math.log2(1 + settings.lock_wait_seconds))},
                    # Passed when the file is opened: a warehouse dbt creates is readable by DuckDB 1.4+ too.
                    "config_options": {"storage_compatibility_version": WAREHOUSE_STORAGE_VERSION},
                    # the raw views read Parquet files named relative to the home
                    "settings": {"memory_limit": settings.duckdb_memory_limit, "file_search_path": str(settings.home)},
                }
            },
        }
    }


def dbt_vars(settings: Settings) -> list[str]:
    """The --vars argument of a dbt command: the settings dbt models read with var(), and on Spark
    the folders it reads the ingestion's files from."""
    values: dict = {"early_warning": settings.early_warning}
    if settings.engine == "spark":
        values["file_sources"] = spark.file_sources(settings)
    return ["--vars", json.dumps(values, sort_keys=True)]


def write_profile(settings: Settings) -> Path:
    """Write the home's profiles.yml (atomically: two commands may start at once); its folder."""
    folder = settings.home / "dbt"
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / "profiles.yml", (
        "# Written from the settings at each dbt start (pipelines/transformation/dbt_command.py).\n"
        + yaml.safe_dump(profile(settings), sort_keys=False)).encode())
    return folder


def run_dbt(settings: Settings, args: Sequence[str], **run_kwargs) -> subprocess.CompletedProcess:
    """dbt with the project of this repository and the home's profile, on the settings' warehouse."""
    profiles = write_profile(settings)
    # dbt's own options (--version, --help) take no project; its commands do
    places = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(profiles)] if args and not args[0].startswith("-") else []
    variables = dbt_vars(settings) if args and args[0] in COMMANDS_WITH_VARS and "--vars" not in args else []
    return subprocess.run([DBT_EXECUTABLE, *args, *places, *variables], **run_kwargs)


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
