"""The small demo through the real ingestion: the audit trail explains every injected defect."""

from __future__ import annotations

import pytest

from pipelines.ingestion.contracts import KINDS
from demo.generator import generate_demo
from pipelines.ingestion.ingest import file_periods
from tests.conftest import TODAY, Warehouse


@pytest.fixture(scope="module")
def ingested_demo(tmp_path_factory):
    warehouse = Warehouse(tmp_path_factory.mktemp("demo_home"))
    manifest = generate_demo(warehouse.home, scale="small", seed=42, today=TODAY)
    warehouse.ingest()
    yield warehouse, manifest
    warehouse.con.close()


def test_every_file_has_the_expected_status_and_reconciles(ingested_demo):
    warehouse, manifest = ingested_demo
    loads = {name: (status, read, skipped) for name, status, read, skipped in warehouse.rows(
        "select file_name, status, rows_read, rows_skipped from audit.loads"
    )}
    assert set(loads) == {f["file"] for f in manifest["files"]}
    for expected in manifest["files"]:
        status, read, skipped = loads[expected["file"]]
        assert status == expected["expected_status"], expected["file"]
        if status == "loaded":
            assert (read, skipped) == (expected["rows"] + expected["skipped_rows"], expected["skipped_rows"])
    assert warehouse.value(
        "select count(*) from audit.loads where rows_read <> rows_loaded + rows_quarantined + rows_skipped"
    ) == 0
    assert not any((warehouse.home / "inbox").rglob("*.*"))  # every file moved out of the inbox


def test_every_hard_defect_is_quarantined_with_its_reasons(ingested_demo):
    warehouse, manifest = ingested_demo
    quarantined = {(f, r): set(reasons) for f, r, reasons in warehouse.rows(
        "select file_name, row_number, reasons from audit.quarantine"
    )}
    hard = [d for d in manifest["defects"] if d["severity"] == "hard"]
    assert hard
    for defect in hard:
        assert quarantined[(defect["file"], defect["row"])] == set(defect["ingestion_rules"]), defect
    assert len(quarantined) == len(hard)  # nothing else was quarantined


def test_every_soft_defect_is_loaded_and_flagged(ingested_demo):
    warehouse, manifest = ingested_demo
    for defect in (d for d in manifest["defects"] if d["severity"] == "soft"):
        flags = warehouse.value(
            f"select _soft_flags from raw.{defect['kind']} where _source_file = ? and _row_number = ?",
            [defect["file"], defect["row"]],
        )
        assert set(defect["ingestion_rules"]) <= set(flags), defect


def test_file_level_defects(ingested_demo):
    warehouse, manifest = ingested_demo
    by_defect = {d["defect"]: d for d in manifest["defects"] if d["severity"] == "file"}
    status = dict(warehouse.rows("select file_name, status from audit.loads"))
    errors = dict(warehouse.rows("select file_name, error from audit.loads"))
    assert status[by_defect["wrong_extension"]["file"]] == "rejected"
    assert "unsupported file extension" in errors[by_defect["wrong_extension"]["file"]]
    assert "unreadable xlsx file" in errors[by_defect["corrupt_xlsx"]["file"]]
    duplicate = by_defect["duplicate_file"]
    assert warehouse.value(
        "select d.file_name from audit.loads l join audit.loads d on d.load_id = l.duplicate_of where l.file_name = ?",
        [duplicate["file"]],
    ) == duplicate["duplicate_of"]
    correction = by_defect["corrected_resubmission"]
    latest_file = warehouse.value(
        "select _source_file from raw.producer where inn = ? and period = ? order by _load_id desc limit 1",
        [correction["inn"], correction["period"]],
    )
    assert latest_file == correction["file"]  # it arrived after the original it replaces


def test_the_run_plan_covers_every_quarter_a_file_loads(ingested_demo):
    """The plan reads only the period column (CSV) and validates nothing; it may name more
    quarters than a file loads, never fewer, or the file would wait in the inbox."""
    warehouse, _ = ingested_demo
    loads = warehouse.rows("select kind, stored_path, periods from audit.loads where status = 'loaded'")
    assert any(path.endswith(".csv") for _, path, _ in loads) and any(path.endswith(".xlsx") for _, path, _ in loads)
    for kind, path, periods in loads:
        if KINDS[kind].quarterly:
            assert set(periods) <= set(file_periods(warehouse.home / path, KINDS[kind], TODAY)), path
