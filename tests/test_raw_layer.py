"""The raw layer: kept rows as Parquet files per load (and quarter), read through the raw views.

A load's files count only once its audit record commits; a load killed before that leaves files
the next ingestion removes, also when the next load takes the same id. A warehouse from before
the layer (raw rows in tables) is moved to files once, with every row and value kept.
"""

from __future__ import annotations

import duckdb
import pytest

from pipelines.ingestion import raw_layer
from pipelines.ingestion.contracts import KINDS
from pipelines.ingestion.ingest import Ingestor
from tests.conftest import TODAY
from tests.reports import csv_bytes, deliver, row


def killed(*args, **kwargs):
    """Stands for the process being stopped at the point it replaces."""
    raise KeyboardInterrupt


def producer_file(*quarters_and_values: tuple[str, str]) -> bytes:
    """A producer report of one enterprise and product: (quarter, output value) per row."""
    return csv_bytes([row("producer", period=quarter, output_value=value) for quarter, value in quarters_and_values])


def test_a_quarterly_load_writes_one_file_per_quarter_and_the_view_reads_them(warehouse):
    deliver(warehouse.home, "producer", "two_quarters.csv", producer_file(("2025-Q1", "1234.5"), ("2025-Q2", "99")))
    (result,) = warehouse.ingest("producer")
    files = sorted(str(path) for _, path in raw_layer.kind_files(warehouse.home, KINDS["producer"]))
    assert files == [f"raw/producer/2025-Q1/{result.load_id:08d}.parquet", f"raw/producer/2025-Q2/{result.load_id:08d}.parquet"]
    assert warehouse.rows("select period, output_value, _load_id from raw.producer order by period") == [
        ("2025-Q1", pytest.approx(1234.5), result.load_id), ("2025-Q2", pytest.approx(99), result.load_id)]
    # the view keeps the contract's SQL types
    types = dict(warehouse.rows("select column_name, data_type from information_schema.columns "
                                "where table_schema = 'raw' and table_name = 'producer'"))
    assert types["output_value"] == "DECIMAL(18,3)" and types["_soft_flags"] == "VARCHAR[]"


def test_money_is_rounded_to_three_places_as_sql_casts_it(warehouse):
    """The files keep the parsed double; the view's cast rounds halves as the raw tables did."""
    deliver(warehouse.home, "producer", "halves.csv", producer_file(("2025-Q1", "1,0005")))
    warehouse.ingest("producer")
    assert str(warehouse.value("select output_value from raw.producer")) == "1.001"


def test_views_of_kinds_without_loads_are_empty_and_typed(warehouse):
    Ingestor.on(warehouse.con, warehouse.home, TODAY)
    for kind in KINDS:
        assert warehouse.value(f"select count(*) from raw.{kind}") == 0


def test_files_of_a_load_that_never_committed_are_removed_and_never_read(warehouse, monkeypatch):
    deliver(warehouse.home, "producer", "first.csv", producer_file(("2025-Q1", "10"), ("2025-Q2", "20")))

    monkeypatch.setattr(Ingestor, "write_quarantine", killed)  # after the raw files, before the commit
    with pytest.raises(KeyboardInterrupt):
        warehouse.ingest("producer")
    monkeypatch.undo()
    assert len(raw_layer.kind_files(warehouse.home, KINDS["producer"])) == 2  # left behind
    assert warehouse.value("select count(*) from raw.producer") == 0

    # the file is still in the inbox; a different file arrives first and takes the same load id
    (warehouse.home / "inbox" / "producer" / "first.csv").rename(warehouse.home / "first.csv")
    deliver(warehouse.home, "producer", "second.csv", producer_file(("2025-Q1", "30")))
    (result,) = warehouse.ingest("producer")
    assert result.load_id == 1
    assert [str(p) for _, p in raw_layer.kind_files(warehouse.home, KINDS["producer"])] == ["raw/producer/2025-Q1/00000001.parquet"]
    assert warehouse.rows("select period, output_value from raw.producer") == [("2025-Q1", pytest.approx(30))]


def test_a_warehouse_with_raw_tables_is_moved_to_files_once(warehouse):
    deliver(warehouse.home, "producer", "first.csv", producer_file(("2025-Q1", "10.125"), ("2025-Q2", "20")))
    warehouse.ingest("producer")
    before = warehouse.rows("select * from raw.producer order by period")
    # as an older version kept them: a table, and no files
    warehouse.con.execute("create table raw.producer_table as select * from raw.producer")
    warehouse.con.execute("drop view raw.producer")
    warehouse.con.execute("alter table raw.producer_table rename to producer")
    for _, relative in raw_layer.kind_files(warehouse.home, KINDS["producer"]):
        (warehouse.home / relative).unlink()

    Ingestor.on(warehouse.con, warehouse.home, TODAY)
    assert warehouse.value("select table_type from information_schema.tables "
                           "where table_schema = 'raw' and table_name = 'producer'") == "VIEW"
    assert warehouse.rows("select * from raw.producer order by period") == before


def test_the_files_are_plain_parquet_any_reader_opens(warehouse):
    deliver(warehouse.home, "producer", "first.csv", producer_file(("2025-Q1", "10")))
    warehouse.ingest("producer")
    ((_, relative),) = raw_layer.kind_files(warehouse.home, KINDS["producer"])
    columns = duckdb.sql(f"select * from '{warehouse.home / relative}'").columns
    assert columns == list(raw_layer.raw_columns(KINDS["producer"]))


def test_quarantined_rows_are_a_parquet_file_per_load_read_through_audit_quarantine(warehouse):
    deliver(warehouse.home, "producer", "mixed.csv", csv_bytes([row("producer", period="2025-Q1"),
                                                                row("producer", period="2025-Q5")]))
    (result,) = warehouse.ingest("producer")
    relative = raw_layer.quarantine_file(KINDS["producer"], result.load_id)
    assert str(relative) == f"quarantine/producer/{result.load_id:08d}.parquet"
    in_file = duckdb.sql(f"select load_id, kind, file_name, row_number, reasons from '{warehouse.home / relative}'").fetchall()
    assert in_file == [(result.load_id, "producer", "mixed.csv", 3, ["period.not_a_quarter"])]
    assert warehouse.rows("select load_id, kind, file_name, row_number, reasons from audit.quarantine") == in_file
    assert warehouse.value("select original_values ->> 'period' from audit.quarantine") == "2025-Q5"
    assert warehouse.value("select table_type from information_schema.tables "
                           "where table_schema = 'audit' and table_name = 'quarantine'") == "VIEW"


def test_a_load_taking_an_id_removes_what_an_uncommitted_load_of_that_id_left_in_any_kind(warehouse, monkeypatch):
    """Kinds may be ingested in parallel processes: a process killed before its commit leaves
    files of an id the next load of another kind then takes; they must never count as its."""
    deliver(warehouse.home, "producer", "killed.csv", csv_bytes([row("producer"), row("producer", period="2025-Q5")]))

    monkeypatch.setattr(Ingestor, "insert_rule_results", killed)  # after the raw and quarantine files
    with pytest.raises(KeyboardInterrupt):
        warehouse.ingest("producer")
    monkeypatch.undo()
    left = [p for layer in (raw_layer.RAW_FOLDER, raw_layer.QUARANTINE_FOLDER)
            for _, p in raw_layer.kind_files(warehouse.home, KINDS["producer"], layer)]
    assert len(left) == 2

    deliver(warehouse.home, "trade", "trade.csv", csv_bytes([row("trade")]))
    (result,) = warehouse.ingest("trade")
    assert result.load_id == 1  # the id the killed load had
    assert not any((warehouse.home / p).exists() for p in left)
    assert warehouse.value("select count(*) from raw.producer") == 0
    assert warehouse.value("select count(*) from audit.quarantine") == 0


def test_a_warehouse_with_a_quarantine_table_is_moved_to_files_once(warehouse):
    deliver(warehouse.home, "producer", "mixed.csv", csv_bytes([row("producer"), row("producer", period="2025-Q5")]))
    warehouse.ingest("producer")
    before = warehouse.rows("select * from audit.quarantine")
    # as an older version kept them: a table, and no files
    warehouse.con.execute("create table audit.quarantine_table as select * from audit.quarantine")
    warehouse.con.execute("drop view audit.quarantine")
    warehouse.con.execute("alter table audit.quarantine_table rename to quarantine")
    for _, relative in raw_layer.kind_files(warehouse.home, KINDS["producer"], raw_layer.QUARANTINE_FOLDER):
        (warehouse.home / relative).unlink()

    Ingestor.on(warehouse.con, warehouse.home, TODAY)
    assert warehouse.value("select table_type from information_schema.tables "
                           "where table_schema = 'audit' and table_name = 'quarantine'") == "VIEW"
    assert warehouse.rows("select * from audit.quarantine") == before
