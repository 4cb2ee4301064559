from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from pipelines.ingestion.contracts import KINDS
from pipelines.ingestion.ingest import Ingestor
from pipelines.settings import Settings
from pipelines.warehouse import create_schemas, open_warehouse

TODAY = date(2026, 11, 28)


class Warehouse:
    """A warehouse in a temporary home, ingesting its inbox the way the assets do."""

    def __init__(self, home: Path):
        self.home = home
        self.con = open_warehouse(dataclasses.replace(Settings.from_env(), home=home))  # as the pipeline creates it
        create_schemas(self.con)

    def ingest(self, *kinds: str):
        ingestor = Ingestor.on(self.con, self.home, TODAY)
        # every kind by default, a kind after those its validation looks up (contracts.py)
        order = kinds or sorted(KINDS, key=lambda name: bool(KINDS[name].ingested_after))
        return [result for kind in order for result in ingestor.ingest_kind(kind)]

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
def demo_inbox(tmp_path_factory) -> Path:
    """The small demo's reports (seed 42), written once per session; homes copy them."""
    from demo.generator import generate_demo

    home = tmp_path_factory.mktemp("demo_reports")
    generate_demo(home, scale="small", seed=42, today=TODAY)
    return home


@pytest.fixture(scope="session")
def uninterrupted(demo_inbox, tmp_path_factory) -> Path:
    """A home where `sovereignty run` ingested the demo reports in one go and published; its
    output is kept beside it as run.stdout. Tests copy it (tests.runs.copy_home) before changing it."""
    from tests.runs import fresh_home, sovereignty

    home = fresh_home(demo_inbox, tmp_path_factory.mktemp("uninterrupted"))
    result = sovereignty(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    (home.parent / "run.stdout").write_text(result.stdout)
    return home
