"""The one DbtProject object of the code location, made when the definitions are built.

The manifest is built once, when the dbt project changes (`make` runs `dbt parse`), not on every
definitions load. A manifest older than the project's files would map dbt's events onto stale
nodes, so it is rebuilt first when that happens (a developer editing models without `make`).
`make ui` and `dagster dev` load the same manifest: no re-parse at every code-location load
(dagster-dbt's prepare_if_dev would re-parse there on each reload). Importing this module does
nothing: the check and any parse happen at the first call.
"""

from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.settings import DBT_PROJECT_DIR, Settings
from pipelines.transformation.dbt_command import run_dbt

PROJECT_FILES = ("dbt_project.yml", "models", "macros", "seeds", "tests")


def newest_project_file() -> float:
    paths = [DBT_PROJECT_DIR / name for name in PROJECT_FILES]
    files = [p for path in paths for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()]
    return max(p.stat().st_mtime for p in files)


@cache
def dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR)
    manifest = Path(project.manifest_path)
    if not manifest.exists() or manifest.stat().st_mtime < newest_project_file():
        run_dbt(Settings.from_env(), ["parse", "--quiet"], check=True)
    return project
