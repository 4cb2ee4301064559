"""`make ui`: the Dagster UI and daemon on this home's instance.

The instance is $SOVEREIGNTY_HOME/dagster, the one `sovereignty run` records its runs in, so the
UI shows those runs, and runs launched from it are queued one at a time like theirs (DuckDB
takes one writer per file). The definitions load the dbt manifest `make` built: no re-parse at
each load. Bound to 127.0.0.1: the UI can start runs and has no log-in.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.command_line.cli import DEFINITIONS_MODULE, EXIT_USAGE, dagster_instance
from pipelines.settings import DEFAULT_UI_PORT, Settings, SettingsError

DAGSTER = str(Path(sys.executable).with_name("dagster"))


def main(argv: Sequence[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="make ui", description=__doc__)
    options.add_argument("--port", type=int, default=DEFAULT_UI_PORT)
    port = options.parse_args(argv).port
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    if not settings.home.is_dir():
        print(f"There is no home at {settings.home}: set SOVEREIGNTY_HOME, or `sovereignty demo` and "
              "`sovereignty run` to make one.", file=sys.stderr)
        return EXIT_USAGE
    dagster_instance(settings)  # writes the instance's dagster.yaml the first time; sets DAGSTER_HOME
    print(f"Dagster UI for {settings.home} on http://127.0.0.1:{port} (Ctrl-C stops it)", flush=True)
    os.execv(DAGSTER, [DAGSTER, "dev", "--module-name", DEFINITIONS_MODULE, "--host", "127.0.0.1", "--port", str(port)])


if __name__ == "__main__":
    sys.exit(main())
