"""The one DbtProject object of the code location.

The manifest is built once, by `make` (`dbt parse`), not on every definitions load; under
`dagster dev` prepare_if_dev re-parses so that model edits show up without a rebuild.
"""

from dagster_dbt import DbtProject

from pipelines.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
