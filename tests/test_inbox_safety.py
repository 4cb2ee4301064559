"""Only the inbox is read, exactly the bytes read are kept, and a killed move is finished.

Links, FIFOs and folders in the inbox are rejected with their reason and never followed; CSV
records whose field count differs from the header's are quarantined by their own rule; a header
naming one column twice rejects the file; a file re-sent under the same name while it was being
ingested is not lost; and a load whose file move a killed run left undone is completed by the
next run instead of being recorded again.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

from pipelines.ingestion.contracts import KINDS
from pipelines.ingestion.ingest import InboxError, Ingestor, examine, validation_context
from tests.conftest import TODAY
from tests.reports import csv_bytes, deliver, row

GOOD = csv_bytes([row("producer")])


@pytest.fixture
def no_hang():
    """Fail, rather than hang, if something blocks on a FIFO."""
    def stuck(*_):
        raise TimeoutError("blocked reading the inbox")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def loads(warehouse) -> list[tuple]:
    return warehouse.rows("select file_name, status, error, stored_path, size_bytes from audit.loads order by load_id")


def test_a_link_to_a_file_outside_the_inbox_is_rejected_and_never_read(warehouse, tmp_path):
    secret = tmp_path / "outside" / "report.csv"
    secret.parent.mkdir()
    secret.write_bytes(GOOD)
    link = warehouse.home / "inbox" / "producer" / "linked.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)

    (result,) = warehouse.ingest("producer")

    assert result.status == "rejected"
    (name, status, error, stored, size), = loads(warehouse)
    assert (name, status, size) == ("linked.csv", "rejected", 0)
    assert error == "not a regular file: a symbolic link (never followed or read)"
    assert warehouse.value("select count(*) from raw.producer") == 0
    kept = warehouse.home / stored
    assert kept.is_symlink() and not link.exists()  # the link itself was moved, not its target
    assert secret.read_bytes() == GOOD


def test_a_link_to_a_folder_and_a_real_folder_are_rejected(warehouse, tmp_path):
    inbox = warehouse.home / "inbox" / "trade"
    inbox.mkdir(parents=True)
    (inbox / "etc").symlink_to("/etc")
    (inbox / "subfolder").mkdir()
    (inbox / "subfolder" / "customs.csv").write_bytes(csv_bytes([row("trade")]))

    results = warehouse.ingest("trade")

    assert sorted((r.file_name, r.status) for r in results) == [("etc", "rejected"), ("subfolder", "rejected")]
    errors = sorted(error for _, _, error, _, _ in loads(warehouse))
    assert errors == ["not a regular file: a folder (never followed or read)",
                      "not a regular file: a symbolic link (never followed or read)"]
    assert warehouse.value("select count(*) from raw.trade") == 0
    assert not any((warehouse.home / "inbox" / "trade").iterdir())


def test_a_fifo_is_rejected_without_blocking(warehouse, no_hang):
    fifo = warehouse.home / "inbox" / "producer" / "pipe.csv"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)

    (result,) = warehouse.ingest("producer")

    assert result.status == "rejected" and result.error == "not a regular file: a FIFO (never followed or read)"
    assert not os.path.lexists(fifo)


def test_a_kind_folder_that_is_a_link_is_refused(warehouse, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "report.csv").write_bytes(GOOD)
    (warehouse.home / "inbox").mkdir(exist_ok=True)
    (warehouse.home / "inbox" / "producer").symlink_to(elsewhere)

    with pytest.raises(InboxError, match="is not a folder of the inbox"):
        warehouse.ingest("producer")
    assert (elsewhere / "report.csv").read_bytes() == GOOD


QUOTED_NAMES = {  # a quoted cell holding the delimiter (and a line break: Python's csv module counts)
    "plain": None,
    "quoted": '"Name, with comma and ""quotes"""',
    "quoted_line_break": '"Name, with comma\nand a line break"',
}


@pytest.mark.parametrize("quoted", list(QUOTED_NAMES))
def test_csv_records_with_too_few_or_too_many_fields_are_quarantined(warehouse, quoted):
    good = csv_bytes([row("producer")]).decode()
    header, line = good.splitlines()[:2]
    if QUOTED_NAMES[quoted]:
        line = line.replace(line.split(",")[2], QUOTED_NAMES[quoted], 1)
    short = line.rsplit(",", 2)[0]
    long = line + ",surplus"
    content = "\n".join([header, line, short, long, line]) + "\n"
    deliver(warehouse.home, "producer", "ragged.csv", content.encode())

    (result,) = warehouse.ingest("producer")

    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 2, 2)
    quarantined = warehouse.rows("select row_number, reasons from audit.quarantine order by row_number")
    # records are numbered, not lines: a quoted line break keeps record 2 one record
    assert [r for r, _ in quarantined] == [3, 4]
    assert all("row.field_count" in reasons for _, reasons in quarantined)
    assert warehouse.value(
        "select rows_failing from audit.rule_results where rule = 'row.field_count'") == 2


def test_a_header_naming_a_column_twice_rejects_the_file(warehouse):
    rows = [row("producer")]
    header = list(rows[0])
    header[header.index("enterprise_name")] = "ИНН"  # 'inn' by its Russian alias, and 'inn' itself
    deliver(warehouse.home, "producer", "twice.csv", csv_bytes(rows, header=header))

    (result,) = warehouse.ingest("producer")

    assert result.status == "rejected"
    assert result.error == "the header names a column more than once: 'inn' as 'inn', 'ИНН'"


@pytest.mark.parametrize("how", ["replaced", "rewritten"])
def test_a_file_resent_under_the_same_name_while_ingested_is_not_lost(warehouse, how):
    """The file is read, then new bytes arrive under its name before it is moved: the bytes that
    were read are kept and loaded, the new bytes stay in the inbox and load on the next run."""
    first = csv_bytes([row("producer", output_value="100")])
    second = csv_bytes([row("producer", output_value="200")])
    path = deliver(warehouse.home, "producer", "report.csv", first)
    kind = KINDS["producer"]
    ingestor = Ingestor.on(warehouse.con, warehouse.home, TODAY)
    delivery = examine(kind, path, validation_context(warehouse.con, TODAY))
    if how == "replaced":  # a new file renamed over the old name
        fresh = path.with_name(".upload")
        fresh.write_bytes(second)
        os.replace(fresh, path)
    else:  # the same file rewritten in place
        path.write_bytes(second)
        os.utime(path, ns=(delivery.identity[3] + 10**9, delivery.identity[3] + 10**9))

    result = ingestor.record(kind, delivery, None)

    (stored,) = warehouse.rows("select stored_path from audit.loads")[0]
    assert (warehouse.home / stored).read_bytes() == first
    assert path.read_bytes() == second  # waiting in the inbox
    assert result.rows_loaded == 1
    (again,) = warehouse.ingest("producer")
    assert again.status == "loaded"
    assert sorted(v for (v,) in warehouse.rows("select output_value from raw.producer")) == [100, 200]


def test_a_killed_move_is_finished_not_recorded_again(warehouse):
    """A kill between a load's commit and its file move leaves the file in the inbox and its kept
    copy missing; the next run moves it and records nothing new."""
    path = deliver(warehouse.home, "producer", "report.csv", GOOD)
    (loaded,) = warehouse.ingest("producer")
    (stored,) = warehouse.rows("select stored_path from audit.loads")[0]
    os.rename(warehouse.home / stored, path)  # as if the move had never happened

    (again,) = warehouse.ingest("producer")

    assert (again.status, again.load_id) == ("resumed", loaded.load_id)
    assert warehouse.rows("select load_id, status from audit.loads") == [(loaded.load_id, "loaded")]
    assert (warehouse.home / stored).read_bytes() == GOOD and not path.exists()
    assert warehouse.value("select count(*) from raw.producer") == 1


def test_an_interrupted_duplicate_is_not_recorded_twice(warehouse):
    deliver(warehouse.home, "producer", "report.csv", GOOD, order=1)
    twin = deliver(warehouse.home, "producer", "again.csv", GOOD, order=2)
    first, duplicate = warehouse.ingest("producer")
    assert duplicate.status == "duplicate"
    (stored,) = warehouse.rows("select stored_path from audit.loads where status = 'duplicate'")[0]
    os.rename(warehouse.home / stored, twin)

    (again,) = warehouse.ingest("producer")

    assert again.status == "resumed"
    assert warehouse.value("select count(*) from audit.loads where status = 'duplicate'") == 1
    assert (warehouse.home / stored).exists()


def test_load_ids_are_taken_inside_the_load_so_a_failed_load_leaves_no_gap(warehouse, monkeypatch):
    deliver(warehouse.home, "producer", "a.csv", GOOD, order=1)
    deliver(warehouse.home, "producer", "b.csv", csv_bytes([row("producer", output_value="5")]), order=2)
    calls = {"n": 0}
    original = Ingestor.write_quarantine

    def fail_once(self, *args):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk trouble")
        return original(self, *args)

    monkeypatch.setattr(Ingestor, "write_quarantine", fail_once)
    with pytest.raises(OSError):
        warehouse.ingest("producer")
    results = warehouse.ingest("producer")
    assert [r.load_id for r in results] == [1, 2]
    assert json.loads(json.dumps(warehouse.rows("select load_id from audit.loads order by 1"))) == [[1], [2]]
