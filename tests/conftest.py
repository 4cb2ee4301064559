from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipelines.ingest import INGESTION_ORDER, Ingestor
from pipelines.warehouse import connect, create_schemas

TODAY = date(2026, 11, 28)


class Warehouse:
    """A warehouse in a temporary home, ingesting its inbox the way the assets do."""

    def __init__(self, home: Path):
        self.home = home
        self.con = connect(home / "warehouse.duckdb")  # created as the pipeline creates it
        create_schemas(self.con)

    def ingest(self, *kinds: str):
        ingestor = Ingestor(self.con, self.home, TODAY)
        return [result for kind in (kinds or INGESTION_ORDER) for result in ingestor.ingest_kind(kind)]

    def rows(self, sql: str, params=None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def value(self, sql: str, params=None):
        return self.con.execute(sql, params or []).fetchone()[0]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SOVEREIGNTY_HOME", str(tmp_path))
    monkeypatch.setenv("SOVEREIGNTY_TODAY", TODAY.isoformat())
    return tmp_path


@pytest.fixture
def warehouse(home):
    wh = Warehouse(home)
    yield wh
    wh.con.close()


@pytest.fixture(scope="session")
def small_demo_run(tmp_path_factory) -> Path:
    """A home after `sovereignty demo --scale small` and `sovereignty run`, the real commands as a
    user runs them; shared by the tests of the clients that read it (not to be modified)."""
    home = tmp_path_factory.mktemp("small_demo_run")
    env = {**os.environ, "SOVEREIGNTY_HOME": str(home), "SOVEREIGNTY_TODAY": TODAY.isoformat()}
    for command in (["demo", "--scale", "small"], ["run"]):
        result = subprocess.run([sys.executable, "-m", "pipelines.cli", *command], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return home
