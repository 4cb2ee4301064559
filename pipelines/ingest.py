"""Ingesting inbox files: once per content, every row loaded, quarantined or counted as skipped.

One file is one load: its rows, quarantined rows, rule counts and audit record are written in
one transaction, and only then is the file moved out of the inbox (to processed/ or
rejected/, never deleted). A crash before the commit leaves the file in the inbox to be
ingested again; a crash after it leaves a file whose bytes are already loaded, which the next
run records as a duplicate.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from pipelines.catalogues import load_catalogues
from pipelines.contracts import KINDS, RAW_SQL_TYPE, ReportKind
from pipelines.periods import FIRST_QUARTER, parse_quarter_expr, quarter_of
from pipelines.readers import ROW_NUMBER, ParsedFile, RejectedFile, csv_column, read_report
from pipelines.validation import ValidatedFile, ValidationContext, validate

log = logging.getLogger(__name__)

# Order that respects the one dependency between kinds: characteristics are checked against
# the benchmarks' parameters.
INGESTION_ORDER = ("benchmarks", "targets", "producer", "trade", "regional", "characteristics")


@dataclass
class LoadResult:
    kind: str
    file_name: str
    status: str  # loaded, duplicate, rejected; deferred = left in the inbox for another partition
    load_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    periods: list[str] = field(default_factory=list)
    error: str | None = None


def inbox_dir(home: Path, kind: str) -> Path:
    return home / "inbox" / kind


def pending_files(home: Path, kind: str) -> list[Path]:
    """Inbox files in arrival order (modification time, then name); hidden files are partial uploads."""
    folder = inbox_dir(home, kind)
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def validation_context(con: duckdb.DuckDBPyConnection, today: date) -> ValidationContext:
    pairs = con.execute("select distinct okpd2, parameter_code from raw.benchmarks").fetchall()
    return ValidationContext(catalogues=load_catalogues(), today=today, benchmark_parameters=frozenset(pairs))


def loaded_periods(kind: ReportKind, validated: ValidatedFile) -> list[str]:
    """The quarters (quarterly kinds) or years a load's rows are for."""
    column = "period" if kind.quarterly else ("year" if "year" in kind.column_names else None)
    if column is None or validated.loaded.is_empty():
        return []
    return sorted(str(v) for v in validated.loaded[column].unique().drop_nulls().to_list())


def file_periods(path: Path, kind: ReportKind, today: date) -> list[str]:
    """The quarters a pending file may load, from 2000-Q1 to the current one.

    Sensors and the command line use it to choose the partitions of the run that ingests the file.
    It reads the file but parses only the distinct values of its period column and validates
    nothing: the ingestion validates every row anyway, and a quarter whose rows all end up
    quarantined only widens the run's range.
    """
    periods = period_column(path, kind)
    if periods is None:
        return []
    labels = periods.unique().to_frame("period").select(parse_quarter_expr(pl.col("period")))
    latest = quarter_of(today)
    return sorted(q for q in labels.to_series().drop_nulls().unique() if FIRST_QUARTER <= q <= latest)


def period_column(path: Path, kind: ReportKind) -> pl.Series | None:
    """The file's period column as text; None when the ingestion will reject the file."""
    content = path.read_bytes()
    if path.suffix.lower() == ".csv":
        try:
            periods = csv_column(kind, content, "period")
            if periods is not None:
                return periods
        except (pl.exceptions.PolarsError, UnicodeDecodeError):
            pass  # the full reader below gives the verdict the ingestion will give
    try:
        frame = read_report(path, kind, content).frame
    except RejectedFile:
        return None
    return frame["period"] if "period" in frame.columns else None


@dataclass
class Delivery:
    """A pending file read and validated, not yet written anywhere."""

    path: Path
    content: bytes
    sha: str
    started: datetime
    parsed: ParsedFile | None = None
    validated: ValidatedFile | None = None
    rejection: str | None = None  # why the whole file cannot be ingested


def examine(kind: ReportKind, path: Path, context: ValidationContext) -> Delivery:
    """Read and validate one file; touches no warehouse, so it can run beside the writer."""
    started = datetime.now(timezone.utc).replace(tzinfo=None)
    content = path.read_bytes()
    delivery = Delivery(path, content, sha256_of(content), started)
    try:
        delivery.parsed = read_report(path, kind, content)
    except RejectedFile as rejection:
        delivery.rejection = str(rejection)
        return delivery
    delivery.validated = validate(kind, delivery.parsed.frame, delivery.parsed.original_names, context)
    return delivery


class Ingestor:
    """Ingests the pending files of one home into one open warehouse connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, home: Path, today: date | None = None):
        self.con = con
        self.home = home
        self.today = today or date.today()

    def ingest_kind(self, kind_name: str, allowed_periods: Iterable[str] | None = None) -> list[LoadResult]:
        """Ingest every pending file of a kind, in arrival order; with allowed_periods, only files
        within them.

        The next file is read and validated (Polars, no warehouse access) on a second thread while
        the current one is written into DuckDB: both release the GIL, so the two stages overlap
        instead of taking turns. At most two files are in memory at a time.
        """
        kind = KINDS[kind_name]
        allowed = set(allowed_periods) if allowed_periods is not None else None
        context = validation_context(self.con, self.today)
        paths = pending_files(self.home, kind_name)
        results = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-validate") as reader:
            upcoming = reader.submit(examine, kind, paths[0], context) if paths else None
            for position in range(len(paths)):
                delivery = upcoming.result()
                if position + 1 < len(paths):
                    upcoming = reader.submit(examine, kind, paths[position + 1], context)
                results.append(self.record(kind, delivery, allowed))
        return results

    def record(self, kind: ReportKind, delivery: Delivery, allowed: set[str] | None) -> LoadResult:
        """Write what was found in one file: a duplicate, a rejection, a deferral or a load."""
        first = self.con.execute(
            "select min(load_id) from audit.loads where sha256 = ? and kind = ? and status <> 'duplicate'",
            [delivery.sha, kind.name],
        ).fetchone()[0]
        if first is not None:  # checked here, not while reading: the file before may be its twin
            return self.record_duplicate(kind, delivery, first)
        if delivery.rejection is not None:
            return self.record_rejection(kind, delivery)
        periods = loaded_periods(kind, delivery.validated)
        if kind.quarterly and allowed is not None and not set(periods) <= allowed:
            log.info("%s: leaves %s in the inbox: its quarters %s are outside this run", kind.name, delivery.path.name, periods)
            return LoadResult(kind.name, delivery.path.name, "deferred", periods=periods)
        return self.record_load(kind, delivery, periods)

    # --- writing ---------------------------------------------------------------------

    def next_load_id(self) -> int:
        return self.con.execute("select nextval('audit.load_id_seq')").fetchone()[0]

    def move(self, path: Path, area: str, kind: str, load_id: int) -> Path:
        target = self.home / area / kind / f"{load_id:08d}_{path.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        return target

    def insert_load(self, result: LoadResult, *, stored: Path, sha: str, size: int, started: datetime, **extra) -> None:
        finished = datetime.now(timezone.utc).replace(tzinfo=None)
        row = {
            "load_id": result.load_id,
            "kind": result.kind,
            "file_name": result.file_name,
            "stored_path": str(stored.relative_to(self.home)),
            "sha256": sha,
            "size_bytes": size,
            "status": result.status,
            "rows_read": result.rows_read,
            "rows_loaded": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "rows_skipped": result.rows_skipped,
            "periods": result.periods,
            "error": result.error,
            "started_at": started,
            "finished_at": finished,
            **extra,
        }
        columns = ", ".join(row)
        placeholders = ", ".join("?" for _ in row)
        self.con.execute(f"insert into audit.loads ({columns}) values ({placeholders})", list(row.values()))

    def record_duplicate(self, kind: ReportKind, delivery: Delivery, first: int) -> LoadResult:
        load_id = self.next_load_id()
        path = delivery.path
        result = LoadResult(kind.name, path.name, "duplicate", load_id)
        stored = self.home / "processed" / kind.name / f"{load_id:08d}_{path.name}"
        self.insert_load(result, stored=stored, sha=delivery.sha, size=len(delivery.content), started=delivery.started, duplicate_of=first)
        self.move(path, "processed", kind.name, load_id)
        return result

    def record_rejection(self, kind: ReportKind, delivery: Delivery) -> LoadResult:
        load_id = self.next_load_id()
        path = delivery.path
        result = LoadResult(kind.name, path.name, "rejected", load_id, error=delivery.rejection)
        stored = self.home / "rejected" / kind.name / f"{load_id:08d}_{path.name}"
        self.insert_load(result, stored=stored, sha=delivery.sha, size=len(delivery.content), started=delivery.started)
        self.move(path, "rejected", kind.name, load_id)
        return result

    def record_load(self, kind: ReportKind, delivery: Delivery, periods: list[str]) -> LoadResult:
        path, parsed, validated = delivery.path, delivery.parsed, delivery.validated
        load_id = self.next_load_id()
        result = LoadResult(
            kind.name,
            path.name,
            "loaded",
            load_id,
            rows_read=parsed.rows_read,
            rows_loaded=validated.loaded.height,
            rows_quarantined=validated.quarantined.height,
            rows_skipped=sum(parsed.skipped.values()),
            periods=periods,
        )
        stored = self.home / "processed" / kind.name / f"{load_id:08d}_{path.name}"
        self.con.execute("begin transaction")
        try:
            self.insert_rows(kind, load_id, path.name, delivery.started, validated.loaded)
            self.insert_quarantine(kind, load_id, path.name, validated.quarantined)
            self.insert_rule_results(kind, load_id, validated, parsed)
            self.insert_load(
                result,
                stored=stored,
                sha=delivery.sha,
                size=len(delivery.content),
                started=delivery.started,
                file_format=parsed.file_format,
                encoding=parsed.encoding,
                delimiter=parsed.delimiter,
                extra_columns=parsed.extra_columns,
            )
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise
        self.move(path, "processed", kind.name, load_id)
        return result

    def insert_rows(self, kind: ReportKind, load_id: int, file_name: str, at: datetime, rows: pl.DataFrame) -> None:
        if rows.is_empty():
            return
        casts = [f"cast({c.name} as {RAW_SQL_TYPE[c.type]})" for c in kind.columns]
        self.con.register("incoming_rows", rows.to_arrow())
        try:
            self.con.execute(
                f"insert into raw.{kind.name} select {', '.join(casts)}, ?, ?, {ROW_NUMBER}, ?, _soft_flags "
                "from incoming_rows",
                [load_id, file_name, at],
            )
        finally:
            self.con.unregister("incoming_rows")

    def insert_quarantine(self, kind: ReportKind, load_id: int, file_name: str, rows: pl.DataFrame) -> None:
        if rows.is_empty():
            return
        self.con.register("incoming_quarantine", rows.to_arrow())
        try:
            self.con.execute(
                "insert into audit.quarantine select ?, ?, ?, "
                f"{ROW_NUMBER}, original_values, reasons from incoming_quarantine",
                [load_id, kind.name, file_name],
            )
        finally:
            self.con.unregister("incoming_quarantine")

    def insert_rule_results(self, kind: ReportKind, load_id: int, validated: ValidatedFile, parsed: ParsedFile) -> None:
        rows = [(load_id, kind.name, rule, severity, checked, failing) for rule, severity, checked, failing in validated.rule_counts]
        rows += [(load_id, kind.name, reason, "skip", parsed.rows_read, count) for reason, count in parsed.skipped.items()]
        self.con.executemany("insert into audit.rule_results values (?, ?, ?, ?, ?, ?)", rows)
