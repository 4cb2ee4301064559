"""Whole-file behaviour: rejections, duplicates, revisions, arrival order, reconciliation."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from tests.reports import VALID_ROWS, csv_bytes, deliver, row, xlsx_bytes


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("report.doc", csv_bytes([VALID_ROWS["trade"]]), "unsupported file extension '.doc'"),
        ("corrupt.xlsx", b"PK\x03\x04 this is not a zip archive at all", "unreadable xlsx file"),
        ("garbage.csv", bytes(range(256)) * 4, "not a text file"),
        ("empty.csv", b"", "no recognisable header"),
        ("noheader.csv", b"a,b,c\n1,2,3\n", "no recognisable header"),
        ("short.csv", b"period,okpd2,value\n2025-Q1,26.51.20,1\n", "missing required column(s): partner_country, flow"),
        ("noheader.xlsx", xlsx_bytes([{"x": "1", "y": "2"}]), "no recognisable header"),
    ],
)
def test_unreadable_files_are_rejected_whole_and_moved(warehouse, name, content, reason):
    deliver(warehouse.home, "trade", name, content)
    (result,) = warehouse.ingest("trade")
    assert result.status == "rejected"
    assert reason in result.error
    stored, error = warehouse.rows("select stored_path, error from audit.loads")[0]
    assert reason in error
    assert (warehouse.home / stored).read_bytes() == content  # kept, never deleted
    assert stored.startswith("rejected/trade/")
    assert not any((warehouse.home / "inbox" / "trade").iterdir())
    assert warehouse.value("select count(*) from raw.trade") == 0


def test_processed_files_are_moved_out_of_the_inbox_and_kept(warehouse):
    content = csv_bytes([VALID_ROWS["trade"]])
    deliver(warehouse.home, "trade", "q1.csv", content)
    warehouse.ingest("trade")
    stored = warehouse.value("select stored_path from audit.loads")
    assert stored.startswith("processed/trade/") and stored.endswith("_q1.csv")
    assert (warehouse.home / stored).read_bytes() == content


def test_redelivered_identical_file_is_logged_as_duplicate_and_changes_nothing(warehouse):
    content = csv_bytes([VALID_ROWS["trade"]])
    deliver(warehouse.home, "trade", "q1.csv", content, order=1)
    warehouse.ingest("trade")
    deliver(warehouse.home, "trade", "q1 (copy).csv", content, order=2)
    (again,) = warehouse.ingest("trade")
    assert again.status == "duplicate"
    assert warehouse.value("select count(*) from raw.trade") == 1
    assert warehouse.rows("select status, duplicate_of, rows_read from audit.loads order by load_id") == [
        ("loaded", None, 1),
        ("duplicate", 1, 0),
    ]


def test_second_ingestion_of_an_empty_inbox_does_nothing(warehouse):
    deliver(warehouse.home, "trade", "q1.csv", csv_bytes([VALID_ROWS["trade"]]))
    warehouse.ingest()
    assert warehouse.ingest() == []
    assert warehouse.value("select count(*) from audit.loads") == 1


def test_files_are_ingested_in_arrival_order_not_name_order(warehouse):
    deliver(warehouse.home, "trade", "b_original.csv", csv_bytes([row("trade", value="100")]), order=1)
    deliver(warehouse.home, "trade", "a_correction.csv", csv_bytes([row("trade", value="120")]), order=2)
    warehouse.ingest("trade")
    assert warehouse.rows("select _source_file from raw.trade order by _load_id") == [
        ("b_original.csv",),
        ("a_correction.csv",),
    ]


LATEST_PRODUCER_ROWS = """
    select okpd2, output_value from raw.producer
    where _load_id = (select max(_load_id) from raw.producer p where p.inn = raw.producer.inn and p.period = raw.producer.period)
    order by period, okpd2
"""


def test_a_revision_replaces_all_earlier_rows_of_its_key(warehouse):
    first = [row("producer", okpd2="26.51.20", output_value="100"), row("producer", okpd2="30.30.32", okved2="30.30", output_value="50")]
    correction = [row("producer", okpd2="26.51.20", output_value="110")]
    other_quarter = [row("producer", period="2025-Q2", output_value="90")]
    deliver(warehouse.home, "producer", "z_first.csv", csv_bytes(first), order=1)
    deliver(warehouse.home, "producer", "q2.csv", csv_bytes(other_quarter), order=2)
    deliver(warehouse.home, "producer", "a_fix.csv", csv_bytes(correction), order=3)
    warehouse.ingest("producer")
    # Raw keeps everything; the latest load per (inn, period) is what counts downstream.
    assert warehouse.value("select count(*) from raw.producer") == 4
    assert warehouse.rows(LATEST_PRODUCER_ROWS) == [("26.51.20", Decimal("110.000")), ("26.51.20", Decimal("90.000"))]


def test_every_file_reconciles_rows_read_with_loaded_quarantined_and_skipped(warehouse):
    rows = [row("producer"), row("producer", inn="1"), row("producer", okpd2="26.51.20", output_value="")]
    deliver(warehouse.home, "producer", "mixed.xlsx", xlsx_bytes(rows, title="Форма", totals="Итого"))
    deliver(warehouse.home, "producer", "mixed.csv", csv_bytes(rows) + b",,,,,,,,,,,,,,,\n")
    warehouse.ingest("producer")
    loads = warehouse.rows("select rows_read, rows_loaded, rows_quarantined, rows_skipped from audit.loads")
    assert loads == [(4, 1, 2, 1), (4, 1, 2, 1)]
    for read, loaded, quarantined, skipped in loads:
        assert read == loaded + quarantined + skipped
    assert warehouse.value("select count(*) from raw.producer") + warehouse.value(
        "select count(*) from audit.quarantine"
    ) == 2 * 3  # two files of three data rows each


def test_hidden_files_are_partial_uploads_and_wait(warehouse):
    deliver(warehouse.home, "trade", ".uploading.csv", csv_bytes([VALID_ROWS["trade"]]))
    assert warehouse.ingest("trade") == []
    assert os.path.exists(warehouse.home / "inbox" / "trade" / ".uploading.csv")


def test_rows_outside_the_run_quarters_leave_the_file_in_the_inbox(warehouse):
    from pipelines.ingestion.ingest import Ingestor
    from tests.conftest import TODAY

    deliver(warehouse.home, "trade", "q2.csv", csv_bytes([row("trade", period="2025-Q2")]))
    ingestor = Ingestor.on(warehouse.con, warehouse.home, TODAY)
    (deferred,) = ingestor.ingest_kind("trade", ["2025-Q1"])
    assert deferred.status == "deferred"
    assert warehouse.value("select count(*) from audit.loads") == 0
    (loaded,) = ingestor.ingest_kind("trade", ["2025-Q1", "2025-Q2"])
    assert (loaded.status, loaded.periods) == ("loaded", ["2025-Q2"])
