"""The one DbtProject object of the code location.

The manifest is built once, when the dbt project changes (`make` runs `dbt parse`), not on every
definitions load. A manifest older than the project's files would map dbt's events onto stale
nodes, so it is rebuilt first when that happens (a developer editing models without `make`).
`make ui` and `dagster dev` load the same manifest: no re-parse at every code-location load
(dagster-dbt's prepare_if_dev would re-parse there on each reload).
"""

from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.dbt_command import run_dbt
from pipelines.settings import DBT_PROJECT_DIR, Settings

PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def newest_project_file() -> float:
    paths = [DBT_PROJECT_DIR / name for name in PROJECT_FILES]
    files = [p for path in paths for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()]
    return max(p.stat().st_mtime for p in files)


def ensure_manifest() -> None:
    manifest = Path(dbt_project.manifest_path)
    if manifest.exists() and manifest.stat().st_mtime >= newest_project_file():
        return
    run_dbt(Settings.from_env(), ["parse", "--quiet"], check=True)


ensure_manifest()
