"""Analysts open the warehouse with the tools they have, and find it documented.

DuckDB 2.0 writes by default a file DuckDB 1.x cannot open; the warehouse is created with the
storage version of pipelines/settings.py, which 1.4 and later read. The oldest client that can
read it is installed from PyPI into a throwaway environment (kept in pytest's cache between
runs) and reads every mart of a real demo run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.transformation.dbt_command import DBT_EXECUTABLE
from pipelines.settings import DBT_PROJECT_DIR, WAREHOUSE_STORAGE_VERSION

# The oldest DuckDB release that reads files of WAREHOUSE_STORAGE_VERSION.
OLDEST_READER = "duckdb==1.4.*"

READ_EVERY_MART = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
marts = [t for (t,) in con.execute(
    "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
read = {t: len(con.execute(f'select * from marts."{t}"').fetchall()) for t in marts}
print(json.dumps({"version": duckdb.__version__, "rows": read}))
"""


@pytest.fixture(scope="session")
def duckdb_1x_python(pytestconfig) -> Path:
    """A Python with DuckDB 1.4 from PyPI, built once and kept in .pytest_cache."""
    venv = pytestconfig.cache.mkdir("duckdb-1.4-client")
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import duckdb, sys; sys.exit(not duckdb.__version__.startswith('1.4.'))"]
    if python.exists() and subprocess.run(probe).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], check=True)
    uv = Path(sys.executable).with_name("uv")  # installed with the project (Makefile)
    installer = [str(uv), "pip", "install", "--quiet", "--python", str(python)] if uv.exists() else None
    if installer is None:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        installer = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*installer, OLDEST_READER], check=True)
    subprocess.run(probe, check=True)
    return python


def test_the_warehouse_is_written_in_the_storage_version_duckdb_1x_reads(uninterrupted):
    with duckdb.connect(str(uninterrupted / "warehouse.duckdb"), read_only=True) as con:
        (tags,) = con.execute("select tags from duckdb_databases() where database_name = current_database()").fetchone()
    assert tags["storage_version"] == WAREHOUSE_STORAGE_VERSION + "+"


def test_a_duckdb_1x_client_reads_every_mart(uninterrupted, duckdb_1x_python):
    warehouse = uninterrupted / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        marts = [t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()]
        expected = {t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0] for t in marts}

    result = subprocess.run([str(duckdb_1x_python), "-c", READ_EVERY_MART, str(warehouse)], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout)
    assert read["version"].startswith("1.4.")
    assert len(expected) >= 12 and read["rows"] == expected
    assert all(n > 0 for n in expected.values()), expected


def test_comments_are_one_clean_line(uninterrupted):
    """dbt's descriptions reach DuckDB as comments (persist_docs) without YAML's line breaks or
    escape characters, so DuckDB's CLI shows them as written."""
    with duckdb.connect(str(uninterrupted / "warehouse.duckdb"), read_only=True) as con:
        comments = con.execute(
            "select table_name, comment from duckdb_tables() where schema_name = 'marts' union all "
            "select table_name || '.' || column_name, comment from duckdb_columns() where schema_name = 'marts'"
        ).fetchall()
    assert len(comments) > 200
    undocumented = [name for name, comment in comments if not comment]
    assert undocumented == []
    stray = [(name, comment) for name, comment in comments if re.search(r"[\n\r\t\\]|^\s|\s$|''|\$dbt", comment)]
    assert stray == []


def test_make_docs_documents_the_homes_warehouse(uninterrupted, tmp_path):
    """The command behind `make docs` gives dbt the home's warehouse (the profile it writes from the
    settings); dbt started without it finds no profile instead of documenting the default home."""
    env = {**os.environ, "SOVEREIGNTY_HOME": str(uninterrupted)}
    target = tmp_path / "docs"
    result = subprocess.run([sys.executable, "-m", "pipelines.transformation.dbt_command", "docs", "generate", "--static",
                             "--target-path", str(target)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    catalog = json.loads((target / "catalog.json").read_text())
    documented = {node["metadata"]["name"] for node in catalog["nodes"].values() if node["metadata"]["schema"] == "marts"}
    with duckdb.connect(str(uninterrupted / "warehouse.duckdb"), read_only=True) as con:
        marts = {t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
    assert documented == marts
    assert (target / "static_index.html").stat().st_size > 100_000

    # the repository holds no profile: a bare dbt finds none rather than documenting another home
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("SOVEREIGNTY_", "DBT_"))}
    result = subprocess.run([DBT_EXECUTABLE, "debug", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                             str(DBT_PROJECT_DIR)], env=bare, capture_output=True, text=True)
    assert result.returncode != 0 and "did not find one" in " ".join((result.stdout + result.stderr).split())


def test_make_docs_without_a_warehouse_says_so(tmp_path):
    env = {**os.environ, "SOVEREIGNTY_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "pipelines.transformation.dbt_command", "docs", "generate"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 1 and "No warehouse at" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()
