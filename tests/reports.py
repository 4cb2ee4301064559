"""Building report files for tests: valid rows per kind, written in any accepted format."""

from __future__ import annotations

import io
import os
from pathlib import Path

import polars as pl
import xlsxwriter

from pipelines.ingestion.contracts import KINDS

# One valid row per kind, in canonical English names and plain text cells.
VALID_ROWS: dict[str, dict[str, str]] = {
    "producer": {
        "period": "2025-Q1",
        "inn": "7707083893",
        "enterprise_name": "АО «Тестприбор»",
        "region_code": "77",
        "okved2": "26.51",
        "okpd2": "26.51.20",
        "output_qty": "10",
        "okei": "796",
        "output_value": "1000",
        "export_value": "100",
        "components_cost": "500",
        "imported_components_cost": "200",
        "technology_origin": "domestic",
        "rnd_expenses": "50",
        "employees": "120",
        "trl": "7",
    },
    "trade": {"period": "2025-Q1", "okpd2": "26.51.20", "partner_country": "CN", "flow": "import", "value": "300"},
    "regional": {
        "period": "2025-Q1",
        "region_code": "16",
        "project_code": "UAS",
        "facilities_launched": "2",
        "investment": "15000",
        "jobs_created": "40",
        "specialists_trained": "12",
    },
    "characteristics": {"year": "2025", "inn": "7707083893", "okpd2": "26.51.20", "parameter_code": "P01", "value": "12.5"},
    "benchmarks": {
        "okpd2": "26.51.20",
        "parameter_code": "P01",
        "parameter_name": "Точность",
        "unit": "мкм",
        "direction": "lower",
        "weight": "1",
        "best_value": "10",
        "analogue": "Keysight 34470A",
        "valid_from": "2024-01-01",
    },
    "targets": {"project_code": "UAS", "indicator_code": "domestic_share", "year": "2025", "target_value": "0.6"},
}


def row(kind: str, **changes: str | None) -> dict[str, str | None]:
    return {**VALID_ROWS[kind], **changes}


def russian(columns: list[str], kind: str) -> list[str]:
    return [KINDS[kind].column(c).alias_ru for c in columns]


def csv_bytes(rows: list[dict], *, delimiter: str = ",", encoding: str = "utf-8", header: list[str] | None = None) -> bytes:
    columns = list(rows[0])
    lines = [delimiter.join(header or columns)]
    for values in rows:
        cells = []
        for column in columns:
            cell = values[column] or ""
            if any(ch in cell for ch in (delimiter, '"', "\n")):
                cell = '"' + cell.replace('"', '""') + '"'
            cells.append(cell)
        lines.append(delimiter.join(cells))
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(rows: list[dict], *, header: list[str] | None = None, title: str | None = None, totals: str | None = None) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    line = 0
    if title:
        sheet.write(0, 0, title)
        line = 2  # the title, then an empty row
    sheet.write_row(line, 0, header or list(rows[0]))
    for values in rows:
        line += 1
        sheet.write_row(line, 0, [values[c] for c in rows[0]])
    if totals:
        sheet.write_row(line + 1, 0, [totals])
    book.close()
    return buffer.getvalue()


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def deliver(home: Path, kind: str, name: str, content: bytes, order: int | None = None) -> Path:
    """Put a file in the inbox; `order` sets its arrival time (files are ingested by arrival)."""
    path = home / "inbox" / kind / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if order is not None:
        stamp = 1_700_000_000 + order
        os.utime(path, (stamp, stamp))
    return path
