"""Reading one delivered file into a frame of text cells with canonical column names.

Each format's quirks (encodings, delimiters, form titles above an XLSX header, totals rows)
end here: what leaves this module is a Polars frame of strings, one row per data row, with
the row's number in the file, ready for validation. Anything that cannot be read raises
RejectedFile with a reason that is recorded against the file.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import numpy as np
import polars as pl

from pipelines.ingestion.contracts import ReportKind

ROW_NUMBER = "_row_number"
# CSV only: how many fields the record has, when that differs from the header's count.
FIELD_COUNT = "_field_count"
TOTALS_ROW = r"(?i)^\s*(итого|total)"
ACCEPTED_EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
# An XLSX header is looked for among the first rows only: a form title is a few rows high.
HEADER_SEARCH_ROWS = 30


class RejectedFile(Exception):
    """The whole file cannot be ingested; the message is the recorded reason."""


@dataclass
class ParsedFile:
    frame: pl.DataFrame  # canonical and extra columns as text, plus ROW_NUMBER
    original_names: dict[str, str]  # frame column -> header cell as delivered
    extra_columns: list[str]  # header cells that are not in the contract (ignored)
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows skipped

    @property
    def rows_read(self) -> int:
        return self.frame.height + sum(self.skipped.values())


def normalise_header(cell: str | None) -> str:
    return " ".join((cell or "").split()).lower()


def header_mapping(kind: ReportKind, cells: list[str | None]) -> dict[int, str]:
    """Position in the header -> canonical column, for the cells naming a contract column."""
    names = {}
    for column in kind.columns:
        names[column.name] = column.name
        names[column.alias_ru] = column.name
    mapping: dict[int, str] = {}
    for position, cell in enumerate(cells):
        canonical = names.get(normalise_header(cell))
        if canonical and canonical not in mapping.values():
            mapping[position] = canonical
    return mapping


def check_repeated_columns(kind: ReportKind, cells: list[str | None]) -> None:
    """A header naming one column twice (by either name) leaves it unclear which cell counts."""
    names = {}
    for column in kind.columns:
        names[column.name] = column.name
        names[column.alias_ru] = column.name
    seen: dict[str, list[str]] = {}
    for cell in cells:
        canonical = names.get(normalise_header(cell))
        if canonical:
            seen.setdefault(canonical, []).append(str(cell).strip())
    repeated = {name: found for name, found in seen.items() if len(found) > 1}
    if repeated:
        raise RejectedFile(
            "the header names a column more than once: "
            + "; ".join(f"'{name}' as " + ", ".join(f"'{cell}'" for cell in found) for name, found in repeated.items())
        )


def check_required_columns(kind: ReportKind, found: set[str]) -> None:
    if not found:
        raise RejectedFile("no recognisable header: no cell names a column of the " f"'{kind.name}' report")
    missing = [c.name for c in kind.columns if not c.may_be_absent and c.name not in found]
    if missing:
        raise RejectedFile(f"missing required column(s): {', '.join(missing)}")


def read_report(path: Path, kind: ReportKind, content: bytes) -> ParsedFile:
    """Read a delivered file of the given kind; raise RejectedFile if it cannot be ingested."""
    file_format = ACCEPTED_EXTENSIONS.get(path.suffix.lower())
    if file_format is None:
        raise RejectedFile(
            f"unsupported file extension '{path.suffix}': accepted are " + ", ".join(ACCEPTED_EXTENSIONS)
        )
    reader = {"csv": read_csv, "xlsx": read_xlsx, "parquet": read_parquet}[file_format]
    try:
        return reader(kind, content)
    except RejectedFile:
        raise
    except Exception as error:  # every parser failure means the same thing: unreadable file
        raise RejectedFile(f"unreadable {file_format} file: {type(error).__name__}: {error}") from error


# --- CSV ---------------------------------------------------------------------------------


UTF8_BOM = b"\xef\xbb\xbf"


def is_utf8(content: bytes) -> bool:
    """Whether the bytes are valid UTF-8. Polars' validator (Rust) does it about seven times as fast
    as decoding the file in Python, and the file need not become a Python string."""
    try:
        pl.Series([content], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:
        return False
    return True


def utf8_content(content: bytes) -> tuple[bytes, str]:
    """The file as UTF-8 bytes for Polars, and its encoding: UTF-8 (with or without BOM), else
    Windows-1251 (the delivered bytes are passed on as they are when they are UTF-8 already)."""
    if content.startswith(UTF8_BOM):
        body = content[3:]
        if not is_utf8(body):
            body.decode("utf-8")  # raises the decoder's error, which names the byte and its position
        return body, "utf-8-sig"
    if is_utf8(content):
        return content, "utf-8"
    return content.decode("cp1251").encode("utf-8"), "cp1251"


def first_line(data: bytes) -> str:
    """The first line of UTF-8 bytes as text (the header line of a CSV file)."""
    end = data.find(b"\n")
    return (data if end < 0 else data[:end]).decode("utf-8")


def is_blank(data: bytes) -> bool:
    """Whether UTF-8 bytes hold white space only (Unicode's, as str.strip counts it). Decoded only
    when no printable ASCII character is found, which is at the first byte of any real file (a
    bytes.strip() first would copy every file that ends with a line break)."""
    return re.search(rb"[!-~]", data) is None and not data.decode("utf-8").strip()


def detect_delimiter(header_line: str) -> str:
    """';' or ',' by which splits the header line into more cells (quotes respected)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    return ";" if unquoted.count(";") >= unquoted.count(",") and ";" in unquoted else ","


def read_csv(kind: ReportKind, content: bytes) -> ParsedFile:
    if b"\x00" in content:
        raise RejectedFile("not a text file: it contains NUL bytes")
    utf8, encoding = utf8_content(content)
    if is_blank(utf8):
        raise RejectedFile("no recognisable header: the file is empty")
    delimiter = detect_delimiter(first_line(utf8))
    frame = pl.read_csv(
        utf8,
        separator=delimiter,
        infer_schema=False,
        has_header=False,
        empty_string_is_null=True,
        raise_if_empty=False,
        truncate_ragged_lines=True,  # such a record is quarantined by its field count below
    )
    # Record 1 is the header; data records are numbered from 2 (see docs/ingestion.md).
    frame = frame.with_row_index(ROW_NUMBER, offset=1).with_columns(pl.col(ROW_NUMBER).cast(pl.Int64))
    counts = field_counts(utf8, delimiter)
    if counts.len() != frame.height:  # the two readers must agree on where records start
        raise RejectedFile(f"unreadable csv file: {counts.len()} records by field count, {frame.height} read")
    header_fields = counts[0]
    frame = frame.with_columns(
        pl.when((counts != header_fields) & (counts > 0)).then(counts).alias(FIELD_COUNT)
    )
    header, data = frame.head(1), frame.slice(1)
    cells = [header[c][0] for c in frame.columns if c not in (ROW_NUMBER, FIELD_COUNT)]
    return finish(kind, data, cells, file_format="csv", encoding=encoding, delimiter=delimiter)


def field_counts(source: bytes, delimiter: str) -> pl.Series:
    """Fields in each record (0 for a blank line), counted as the CSV reader splits them.

    A delimiter or a line break after an odd number of quotes is inside a quoted field; a line
    break outside quotes ends a record, whose fields are one more than its delimiters outside
    quotes. That holds while every line has an even number of quotes, or while every quote opens
    or closes a field (a quoted field holding a line break); then the delimiters, quotes and line
    breaks are counted on the UTF-8 bytes with numpy, for all records at once (each is one byte in
    UTF-8 and never part of another character). Other quotes inside fields (a line with an odd
    number of them) make Python's csv module split the file, which takes a hundred times longer.
    """
    data = np.frombuffer(source, dtype=np.uint8)
    record_ends = np.flatnonzero(data == ord("\n"))
    if data.size and data[-1] != ord("\n"):
        record_ends = np.append(record_ends, data.size)  # the last line has no line break
    delimiters = np.flatnonzero(data == ord(delimiter))
    quotes = np.flatnonzero(data == ord('"'))
    if quotes.size:
        odd_line = (np.searchsorted(quotes, record_ends) - np.searchsorted(quotes, starts_after(record_ends))) % 2 == 1
        if odd_line.any() and not quotes_at_field_edges(data, quotes, delimiter):
            return python_field_counts(source.decode("utf-8"), delimiter)
        record_ends = record_ends[np.searchsorted(quotes, record_ends) % 2 == 0]
        delimiters = delimiters[np.searchsorted(quotes, delimiters) % 2 == 0]
    record_starts = starts_after(record_ends)
    fields = np.searchsorted(delimiters, record_ends) - np.searchsorted(delimiters, record_starts) + 1
    length = record_ends - record_starts
    carriage_return_only = (length == 1) & (data[np.minimum(record_starts, data.size - 1)] == ord("\r"))
    fields[(length == 0) | carriage_return_only] = 0  # a blank line, with either line ending
    return pl.Series(FIELD_COUNT, fields, dtype=pl.Int64)


def starts_after(ends: np.ndarray) -> np.ndarray:
    """Where each line (or record) starts, given where each ends: at 0, then after each end."""
    return np.concatenate(([0], ends[:-1] + 1))


def quotes_at_field_edges(data: np.ndarray, quotes: np.ndarray, delimiter: str) -> bool:
    """Whether the quotes pair up as quoted fields: each opening one starts a field (or follows
    its partner, a doubled quote) and each closing one ends a field (or is doubled)."""
    if quotes.size % 2:
        return False
    opening, closing = quotes[0::2], quotes[1::2]
    before = data[np.maximum(opening - 1, 0)]
    after = data[np.minimum(closing + 1, data.size - 1)]
    opens_field = (opening == 0) | np.isin(before, [ord(delimiter), ord("\n"), ord('"')])
    closes_field = (closing == data.size - 1) | np.isin(after, [ord(delimiter), ord("\n"), ord("\r"), ord('"')])
    return bool(opens_field.all() and closes_field.all())


def python_field_counts(text: str, delimiter: str) -> pl.Series:
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return pl.Series(FIELD_COUNT, [len(record) for record in records], dtype=pl.Int64)


def csv_column(kind: ReportKind, content: bytes, column: str) -> pl.Series | None:
    """One column of a CSV report as text, without reading the others or decoding the file:
    planning a run needs only the periods. None when the header does not name the column.

    The header line is decoded as read_csv decodes a file (UTF-8, else Windows-1251) and the column
    is read from the bytes as UTF-8. When it is not UTF-8 (a replacement character appears), the
    file's text is decoded as read_csv does and the column read from that. A Windows-1251 file
    whose column holds only ASCII (a quarter like '2025-Q1') reads the same either way, so most
    files are never decoded in Python, which took as long as reading the column.
    """
    end = content.find(b"\n")
    header_text = first_line(utf8_content(content if end < 0 else content[:end])[0])
    delimiter = detect_delimiter(header_text)
    header = pl.read_csv(header_text.encode(), separator=delimiter, has_header=False, n_rows=1,
                         infer_schema=False, raise_if_empty=False)
    positions = {name: position for position, name in header_mapping(kind, list(header.row(0)) if header.height else []).items()}
    if column not in positions:
        return None

    def read_column(source: bytes, encoding: str) -> pl.Series | None:
        frame = pl.read_csv(source, separator=delimiter, has_header=False, skip_rows=1,
                            columns=[positions[column]], infer_schema=False, raise_if_empty=False, encoding=encoding)
        return frame.to_series().str.strip_chars() if frame.width else None

    cells = read_column(content, "utf8-lossy")
    if cells is not None and cells.str.contains("\ufffd", literal=True).any():
        cells = read_column(utf8_content(content)[0], "utf8")
    return cells


# --- XLSX --------------------------------------------------------------------------------


def first_sheet_path(archive: zipfile.ZipFile) -> str:
    """The archive path of the workbook's first worksheet (workbook order, not file name)."""
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    first = workbook.find("m:sheets/m:sheet", ns)
    if first is None:
        raise RejectedFile("unreadable xlsx file: the workbook has no worksheet")
    rel_id = first.get(f"{{{ns['r']}}}id")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    raise RejectedFile("unreadable xlsx file: the first worksheet is missing")


def first_used_row(content: bytes) -> int:
    """The Excel number of the first row holding a value: where the reader's frame starts.

    The XLSX reader (calamine) drops empty rows above the first value, so Excel row numbers,
    which people use to find a row, are recovered from the sheet XML.
    """
    with zipfile.ZipFile(io.BytesIO(content)) as archive, archive.open(first_sheet_path(archive)) as sheet:
        for _, element in ElementTree.iterparse(sheet, events=("end",)):
            if element.tag.endswith("}row"):
                has_value = any(
                    child.tag.endswith("}v") or child.tag.endswith("}is") for cell in element for child in cell
                )
                if has_value:
                    return int(element.get("r", "1"))
                element.clear()
    return 1


def read_xlsx(kind: ReportKind, content: bytes) -> ParsedFile:
    sheet = fastexcel.read_excel(content).load_sheet(0, header_row=None, dtypes="string")
    frame = sheet.to_polars()
    offset = first_used_row(content)
    frame = frame.with_row_index(ROW_NUMBER, offset=offset).with_columns(pl.col(ROW_NUMBER).cast(pl.Int64))
    data_columns = [c for c in frame.columns if c != ROW_NUMBER]
    header_index = None
    for index, row in enumerate(frame.head(HEADER_SEARCH_ROWS).select(data_columns).iter_rows()):
        if header_mapping(kind, list(row)):
            header_index = index
            break
    if header_index is None:
        raise RejectedFile(f"no recognisable header in the first {HEADER_SEARCH_ROWS} rows of the first worksheet")
    cells = list(frame.select(data_columns).row(header_index))
    data = frame.slice(header_index + 1)
    data, totals = split_trailing_totals(data, data_columns[0])
    parsed = finish(kind, data, cells, file_format="xlsx")
    if totals:
        parsed.skipped["totals_row"] = totals
    return parsed


def split_trailing_totals(data: pl.DataFrame, first_column: str) -> tuple[pl.DataFrame, int]:
    """Drop the totals rows (first cell starts with Итого/Total) after the last data row.

    Blank rows among them stay: they are counted as blank rows like any other.
    """
    is_total = pl.col(first_column).str.contains(TOTALS_ROW).fill_null(False)
    is_blank = pl.all_horizontal(pl.exclude(ROW_NUMBER).is_null())
    flags = data.select(is_total=is_total, is_content=~(is_total | is_blank)).with_row_index("index")
    last_content = flags.filter(pl.col("is_content"))["index"].max()
    trailing_total = flags["is_total"] & (flags["index"] > (-1 if last_content is None else last_content))
    return data.filter(~trailing_total), int(trailing_total.sum())


# --- Parquet -----------------------------------------------------------------------------


def read_parquet(kind: ReportKind, content: bytes) -> ParsedFile:
    frame = pl.read_parquet(io.BytesIO(content))
    cells: list[str | None] = list(frame.columns)
    as_text = frame.select(pl.all().cast(pl.String))
    as_text = as_text.with_row_index(ROW_NUMBER, offset=1).with_columns(pl.col(ROW_NUMBER).cast(pl.Int64))
    return finish(kind, as_text, cells, file_format="parquet")


def parquet_column(kind: ReportKind, content: bytes, column: str) -> pl.Series | None:
    """One column of a Parquet report as text (read_parquet's cells), without reading the others;
    None when no column name maps to it."""
    names = list(pl.read_parquet_schema(io.BytesIO(content)))
    mapping = header_mapping(kind, list[str | None](names))
    found = [names[position] for position, name in mapping.items() if name == column]
    if not found:
        return None
    return pl.read_parquet(io.BytesIO(content), columns=found).to_series().cast(pl.String).str.strip_chars()


# --- common ------------------------------------------------------------------------------


def finish(
    kind: ReportKind,
    data: pl.DataFrame,
    header_cells: list[str | None],
    *,
    file_format: str,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> ParsedFile:
    """Name the columns after the contract, keep extras for the record, count blank rows."""
    positions = [c for c in data.columns if c not in (ROW_NUMBER, FIELD_COUNT)]
    check_repeated_columns(kind, header_cells)
    mapping = header_mapping(kind, header_cells)
    check_required_columns(kind, set(mapping.values()))
    renames: dict[str, str] = {}
    original_names: dict[str, str] = {}
    extras: list[str] = []
    for position, column in enumerate(positions):
        cell = header_cells[position]
        if position in mapping:
            renames[column] = mapping[position]
        elif cell is not None and str(cell).strip():
            extras.append(str(cell).strip())
            renames[column] = f"_extra_{len(extras)}"
        else:
            renames[column] = f"_unnamed_{position}"
        original = str(cell).strip() if cell is not None and str(cell).strip() else f"column {position + 1}"
        while original in original_names.values():  # repeated header cells stay distinguishable
            original += "'"
        original_names[renames[column]] = original
    # inputs.md: an empty cell is missing, and a cell of spaces only is empty. (replace rather than
    # when(stripped != "").then(stripped), which strips every cell twice.)
    stripped = pl.exclude(ROW_NUMBER, FIELD_COUNT).str.strip_chars()
    data = data.rename(renames).with_columns(stripped.replace("", None))
    blank = pl.all_horizontal(pl.exclude(ROW_NUMBER, FIELD_COUNT).is_null())
    blank_rows = data.filter(blank).height
    data = data.filter(~blank)
    parsed = ParsedFile(
        frame=data,
        original_names=original_names,
        extra_columns=extras,
        file_format=file_format,
        encoding=encoding,
        delimiter=delimiter,
    )
    if blank_rows:
        parsed.skipped["blank_row"] = blank_rows
    return parsed
