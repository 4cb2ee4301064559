"""Incomplete is not wrong: with a report kind missing, the release goes out and says what is missing.

Each report kind is left out of the small demo in turn. The run must publish (no blocking check
fails on data that has merely not arrived) and name the missing kind as a completeness warning
in the run's summary, marts.data_quality and the release manifest and report.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from pipelines.ingestion.contracts import KINDS
from tests.runs import fresh_home, sovereignty

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("missing", list(KINDS))
def test_a_missing_report_kind_is_a_warning_and_the_release_goes_out(missing, demo_inbox, tmp_path):
    home = fresh_home(demo_inbox, tmp_path)
    shutil.rmtree(home / "inbox" / missing)

    result = sovereignty(home, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    warning = f"no {missing} report has arrived yet"
    assert "Published release" in result.stdout
    assert warning in result.stdout  # the run's summary
    release = home / "published" / (home / "published" / "latest").read_text().strip()
    assert warning in json.loads((release / "manifest.json").read_text())["warnings"]
    assert warning in (release / "report.html").read_text()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.data_quality where severity = 'warning' and detail = ?",
                           [warning]).fetchone()[0] == 1
