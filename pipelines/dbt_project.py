"""The one DbtProject object of the code location.

The manifest is built once, when the dbt project changes (`make` runs `dbt parse`), not on every
definitions load. A manifest older than the project's files would map dbt's events onto stale
nodes, so it is rebuilt first when that happens (a developer editing models without `make`).
Under `dagster dev`, prepare_if_dev re-parses on every load.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.settings import DBT_PROJECT_DIR

PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests")

# dbt-core is installed in the same environment as this package; use that dbt even when the
# environment's bin/ is not on PATH (dagster-dbt looks for `dbt` on PATH otherwise).
_BESIDE_PYTHON = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_BESIDE_PYTHON) if _BESIDE_PYTHON.exists() else (shutil.which("dbt") or "dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def newest_project_file() -> float:
    paths = [DBT_PROJECT_DIR / name for name in PROJECT_FILES]
    files = [p for path in paths for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()]
    return max(p.stat().st_mtime for p in files)


def ensure_manifest() -> None:
    manifest = Path(dbt_project.manifest_path)
    if manifest.exists() and manifest.stat().st_mtime >= newest_project_file():
        return
    subprocess.run(
        [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        check=True,
    )


ensure_manifest()
dbt_project.prepare_if_dev()
