"""Ingesting inbox files: once per content, every row loaded, quarantined or counted as skipped.

One file is one load: in one transaction, its load id is taken, its kept and quarantined rows
are written as the load's Parquet files (raw_layer.py), and its rule counts and audit record are
inserted, which also points the raw views at the new files; only then is the file moved out of
the inbox (to processed/ or rejected/, never deleted). A crash before the commit leaves the file
in the inbox to be ingested again; a crash between the commit and the move leaves a
file whose load is recorded but whose kept copy is missing, and the next run finishes that move
instead of recording a duplicate.

Only regular files inside the inbox are read: an entry is opened without following links and
without blocking, and a link, FIFO, device or folder is rejected with its reason, never followed.
What is kept under processed/ is exactly the bytes that were read: a file replaced or rewritten
under the same name while it was being ingested stays in the inbox for the next run.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import hashlib
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.files import write_durably
from pipelines.ingestion import raw_layer
from pipelines.ingestion.catalogues import load_catalogues
from pipelines.ingestion.contracts import KINDS, ReportKind
from pipelines.ingestion.periods import FIRST_QUARTER, parse_quarter_expr, quarter_of
from pipelines.ingestion.readers import ParsedFile, RejectedFile, csv_column, parquet_column, read_report
from pipelines.ingestion.validation import ValidatedFile, ValidationContext, validate
from pipelines.warehouse import utc_now

log = logging.getLogger(__name__)

@dataclass
class LoadResult:
    kind: str
    file_name: str
    # loaded, duplicate, rejected (recorded in audit.loads); deferred: left in the inbox for another
    # partition; resumed: the file of an earlier load whose move a killed run left undone
    status: str
    load_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    periods: list[str] = field(default_factory=list)
    error: str | None = None


class InboxError(RuntimeError):
    """The inbox itself cannot be read safely (a kind's folder that is a link or not a folder)."""


def inbox_dir(home: Path, kind: str) -> Path:
    return home / "inbox" / kind


def pending_files(home: Path, kind: str) -> list[Path]:
    """Inbox entries in arrival order (modification time, then name); hidden ones are partial uploads.

    Every other entry is pending, whatever it is: one that is not a regular file is rejected by
    the ingestion with its reason rather than ignored. Nothing here follows a link.
    """
    folder = inbox_dir(home, kind)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise InboxError(
            f"{folder} is not a folder of the inbox (it is a link or a file): the pipeline reads only "
            "files inside the inbox. Replace it with a real folder."
        )
    if not folder.is_dir():
        return []
    entries = [(entry.stat(follow_symlinks=False).st_mtime_ns, entry.name) for entry in os.scandir(folder)
               if not entry.name.startswith(".")]
    return [folder / name for _, name in sorted(entries)]


# A kept file is named <load id, 8 digits>_<name as delivered> under processed/ or rejected/.
KEPT_NAME = re.compile(r"^[0-9]{8}_")


def kept_files(home: Path) -> list[tuple[str, Path]]:
    """(kind, path) of every kept file under processed/ and rejected/, in the order of arrival."""
    kept = []
    for area in ("processed", "rejected"):
        for kind in KINDS:
            folder = home / area / kind
            if folder.is_dir():
                kept += [(entry.name[:8], kind, folder / entry.name) for entry in os.scandir(folder) if KEPT_NAME.match(entry.name)]
    return [(kind, path) for _, kind, path in sorted(kept)]


# What identifies the bytes that were read: the same inode, size and modification time.
FileIdentity = tuple[int, int, int, int]


def identity_of(status: os.stat_result) -> FileIdentity:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def entry_kind(mode: int) -> str | None:
    """What a non-regular inbox entry is, for its rejection reason; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


class NotRegularFile(Exception):
    """The inbox entry is not a regular file; the message says what it is."""


def read_entry(path: Path) -> tuple[bytes, FileIdentity]:
    """The bytes of a regular inbox file and its identity, never following a link or waiting on a FIFO."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
            raise
        kind = entry_kind(os.lstat(path).st_mode) or "not a regular file"
        raise NotRegularFile(kind) from None
    status = os.fstat(descriptor)
    irregular = entry_kind(status.st_mode)
    if irregular:
        os.close(descriptor)
        raise NotRegularFile(irregular)
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read(), identity_of(status)


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
    try:
        content, _ = read_entry(path)
    except NotRegularFile:
        return None
    column_reader = {".csv": csv_column, ".parquet": parquet_column}.get(path.suffix.lower())
    if column_reader is not None:
        try:
            periods = column_reader(kind, content, "period")
            if periods is not None:
                return periods
        except (pl.exceptions.PolarsError, UnicodeDecodeError, OSError):
            pass  # the full reader below gives the verdict the ingestion will give
    try:
        frame = read_report(path, kind, content).frame
    except RejectedFile:
        return None
    return frame["period"] if "period" in frame.columns else None


# audit.rule_results' columns, in the table's order (pipelines/warehouse.py): rows are inserted by position.
RULE_RESULT_SCHEMA = {"load_id": pl.Int64, "kind": pl.String, "rule": pl.String, "severity": pl.String,
                      "rows_checked": pl.Int64, "rows_failing": pl.Int64}
# Files read and validated at a time, ahead of the one being recorded: three were 1.25 times as
# fast as one on the national producer files, two cores (docs/performance.md).
READERS = 3


@dataclass
class Delivery:
    """A pending file read and validated, not yet written anywhere."""

    path: Path
    content: bytes
    sha: str
    started: datetime
    identity: FileIdentity  # of the entry that was read: the file moved out must be this one
    regular: bool = True  # a regular file; anything else is rejected without being read
    parsed: ParsedFile | None = None
    validated: ValidatedFile | None = None
    rejection: str | None = None  # why the whole file cannot be ingested
    kept: bool = False  # re-ingested from its kept place (rebuild): it stays where it is

    @property
    def name(self) -> str:
        """The name it was delivered under (a kept copy carries its load id in front)."""
        return KEPT_NAME.sub("", self.path.name) if self.kept else self.path.name


def examine(kind: ReportKind, path: Path, context: ValidationContext) -> Delivery:
    """Read and validate one file; touches no warehouse, so it can run beside the writer."""
    started = utc_now()
    try:
        content, identity = read_entry(path)
    except NotRegularFile as what:
        delivery = Delivery(path, b"", sha256_of(b""), started, identity_of(os.lstat(path)), regular=False)
        delivery.rejection = f"not a regular file: {what} (never followed or read)"
        return delivery
    delivery = Delivery(path, content, sha256_of(content), started, identity)
    try:
        delivery.parsed = read_report(path, kind, content)
    except RejectedFile as rejection:
        delivery.rejection = str(rejection)
        return delivery
    delivery.validated = validate(kind, delivery.parsed.frame, delivery.parsed.original_names, context)
    return delivery


# Gives a connection to the warehouse for a stretch of writing (pipelines.warehouse.writing, say).
Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


class Ingestor:
    """Ingests the pending files of one home into its warehouse.

    Reading and validating a file needs no warehouse; recording its load does. `connect` is asked
    for a connection for each file's record: one held open throughout (Ingestor.on), or a new one
    each time, so that ingestion steps in parallel processes hold the warehouse, which DuckDB lets
    one process write at a time, only while a file's load is recorded (docs/ingestion.md).
    """

    def __init__(self, connect: Connect, home: Path, today: date | None = None):
        self.connect = connect
        self.home = home
        self.today = today or date.today()
        # The raw views are what validation looks up and dbt reads: a warehouse from before the
        # raw layer moves its tables out once, a killed load's files go, and the views are set.
        with self.connected() as con:
            con.execute("create schema if not exists raw")
            raw_layer.move_tables_to_files(con, home)
            raw_layer.remove_uncommitted(con, home)
            raw_layer.refresh_views(con, home)

    @classmethod
    def on(cls, con: duckdb.DuckDBPyConnection, home: Path, today: date | None = None) -> Ingestor:
        """An ingestor writing through one connection the caller holds open."""
        return cls(lambda: contextlib.nullcontext(con), home, today)

    @contextlib.contextmanager
    def connected(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection from `connect`, which the writing methods use (self.con) until the next."""
        with self.connect() as con:
            self.con = con
            yield con

    def ingest_kind(self, kind_name: str, allowed_periods: Iterable[str] | None = None) -> list[LoadResult]:
        """Ingest every pending file of a kind, in arrival order; with allowed_periods, only files
        within them.

        The next READERS files are read and validated (Polars and numpy, no warehouse access) on
        threads of their own while the current one is recorded: both release the GIL, and one
        file's Polars work alone leaves a core idle much of the time (docs/performance.md). At most
        READERS + 1 files are in memory at a time. Within a kind, files are recorded one after
        another in arrival order, since a later file revises an earlier one.
        """
        kind = KINDS[kind_name]
        allowed = set(allowed_periods) if allowed_periods is not None else None
        with self.connected() as con:
            context = validation_context(con, self.today)
        paths = pending_files(self.home, kind_name)
        results = []
        with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="read-validate") as reader:
            upcoming = collections.deque(reader.submit(examine, kind, path, context) for path in paths[:READERS])
            for position in range(len(paths)):
                delivery = upcoming.popleft().result()
                if position + READERS < len(paths):
                    upcoming.append(reader.submit(examine, kind, paths[position + READERS], context))
                with self.connected():
                    results.append(self.record(kind, delivery, allowed))
        return results

    def reingest(self, kind_name: str, path: Path) -> LoadResult:
        """Ingest a kept file again where it lies (rebuilding a warehouse from processed/ and rejected/)."""
        kind = KINDS[kind_name]
        with self.connected() as con:
            delivery = examine(kind, path, validation_context(con, self.today))
            delivery.kept = True
            return self.record(kind, delivery, None)

    def record(self, kind: ReportKind, delivery: Delivery, allowed: set[str] | None) -> LoadResult:
        """Write what was found in one file: a duplicate, a rejection, a deferral or a load."""
        if not delivery.regular:  # nothing was read, so there is no content to compare
            return self.record_rejection(kind, delivery)
        # checked here, not while reading: the file before may be its twin
        earlier = self.con.execute(
            "select load_id, stored_path, status from audit.loads where sha256 = ? and kind = ? order by load_id",
            [delivery.sha, kind.name],
        ).fetchall()
        interrupted = None if delivery.kept else self.interrupted_move(earlier)
        if interrupted is not None:
            return self.finish_move(kind, delivery, *interrupted)
        first = next((load_id for load_id, _, status in earlier if status != "duplicate"), None)
        if first is not None:
            return self.record_duplicate(kind, delivery, first)
        if delivery.rejection is not None:
            return self.record_rejection(kind, delivery)
        assert delivery.validated is not None, "a file that was not rejected was validated"
        periods = loaded_periods(kind, delivery.validated)
        if kind.quarterly and allowed is not None and not set(periods) <= allowed:
            log.info("%s: leaves %s in the inbox: its quarters %s are outside this run", kind.name, delivery.name, periods)
            return LoadResult(kind.name, delivery.name, "deferred", periods=periods)
        return self.record_load(kind, delivery, periods)

    def interrupted_move(self, earlier: list[tuple[int, str, str]]) -> tuple[int, Path] | None:
        """Of the earlier loads of the same bytes (load id, stored path, status), one whose kept copy
        is missing: its run died before the move."""
        for load_id, stored_path, _ in earlier:
            if not os.path.lexists(self.home / stored_path):
                return load_id, self.home / stored_path
        return None

    def finish_move(self, kind: ReportKind, delivery: Delivery, load_id: int, stored: Path) -> LoadResult:
        log.info("%s: %s is load %d, whose move was interrupted: moving it now", kind.name, delivery.name, load_id)
        self.move(delivery, stored)
        return LoadResult(kind.name, delivery.name, "resumed", load_id)

    # --- writing ---------------------------------------------------------------------

    def next_load_id(self) -> int:
        """Taken inside the load's transaction, so a load that never committed uses no id."""
        # fetchall, not fetchone: DuckDB refuses the next statement while a result is unfinished
        ((load_id,),) = self.con.execute("select coalesce(max(load_id), 0) + 1 from audit.loads").fetchall()
        return load_id

    def stored_path(self, area: str, kind: str, load_id: int, delivery: Delivery) -> Path:
        """Where the file is kept: under area (processed, rejected), named after its load."""
        return delivery.path if delivery.kept else self.home / area / kind / f"{load_id:08d}_{delivery.name}"

    def move(self, delivery: Delivery, target: Path) -> None:
        """Move the delivered entry to its kept place, keeping exactly the bytes that were read.

        The entry is renamed first and then compared with what was read: if the name now holds
        another file (re-sent under the same name) or the file changed, that file goes back to
        the inbox for the next run and the bytes that were read are written as the kept copy.
        """
        if delivery.kept:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(delivery.path, target)
        if identity_of(os.lstat(target)) == delivery.identity:
            return
        back = delivery.path
        suffix = 1
        while os.path.lexists(back):  # a newer delivery under the same name already waits
            back = delivery.path.with_name(f"resent-{suffix}-{delivery.path.name}")
            suffix += 1
        os.rename(target, back)
        log.warning("%s changed while it was ingested: the new content stays in the inbox as %s", delivery.path, back.name)
        write_durably(target, delivery.content)

    def in_transaction(self, write):
        """Run write(load_id) in one transaction with a fresh load id; returns the load id."""
        self.con.execute("begin transaction")
        try:
            load_id = self.next_load_id()
            raw_layer.remove_load(self.home, load_id)  # files an uncommitted load of this id left
            write(load_id)
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise
        return load_id

    def insert_load(self, result: LoadResult, *, stored: Path, sha: str, size: int, started: datetime, **extra) -> None:
        finished = utc_now()
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
        result = LoadResult(kind.name, delivery.name, "duplicate")
        return self.record_whole_file(kind, delivery, result, "processed", duplicate_of=first)

    def record_rejection(self, kind: ReportKind, delivery: Delivery) -> LoadResult:
        result = LoadResult(kind.name, delivery.name, "rejected", error=delivery.rejection)
        return self.record_whole_file(kind, delivery, result, "rejected")

    def record_whole_file(self, kind: ReportKind, delivery: Delivery, result: LoadResult, area: str, **extra) -> LoadResult:
        """A load of no rows: one audit record, then the file moved to area."""

        def write(load_id: int) -> None:
            result.load_id = load_id
            stored = self.stored_path(area, kind.name, load_id, delivery)
            self.insert_load(result, stored=stored, sha=delivery.sha, size=len(delivery.content), started=delivery.started, **extra)

        load_id = self.in_transaction(write)
        self.move(delivery, self.stored_path(area, kind.name, load_id, delivery))
        return result

    def record_load(self, kind: ReportKind, delivery: Delivery, periods: list[str]) -> LoadResult:
        name, parsed, validated = delivery.name, delivery.parsed, delivery.validated
        assert parsed is not None and validated is not None, "only a parsed and validated file is loaded"
        result = LoadResult(
            kind.name,
            name,
            "loaded",
            rows_read=parsed.rows_read,
            rows_loaded=validated.loaded.height,
            rows_quarantined=validated.quarantined.height,
            rows_skipped=sum(parsed.skipped.values()),
            periods=periods,
        )

        def write(load_id: int) -> None:
            result.load_id = load_id
            self.write_rows(kind, load_id, name, delivery.started, validated.loaded)
            self.write_quarantine(kind, load_id, name, validated.quarantined)
            self.insert_rule_results(kind, load_id, validated, parsed)
            self.insert_load(
                result,
                stored=self.stored_path("processed", kind.name, load_id, delivery),
                sha=delivery.sha,
                size=len(delivery.content),
                started=delivery.started,
                file_format=parsed.file_format,
                encoding=parsed.encoding,
                delimiter=parsed.delimiter,
                extra_columns=parsed.extra_columns,
            )
            raw_layer.refresh_views(self.con, self.home, [kind])  # the views list this load's files

        load_id = self.in_transaction(write)
        self.move(delivery, self.stored_path("processed", kind.name, load_id, delivery))
        return result

    def write_rows(self, kind: ReportKind, load_id: int, file_name: str, at: datetime, rows: pl.DataFrame) -> None:
        """The load's kept rows as its raw files (pipelines/ingestion/raw_layer.py)."""
        if rows.is_empty():
            return
        raw_layer.write_load(self.home, kind, rows.with_columns(
            _load_id=pl.lit(load_id, dtype=pl.Int64),
            _source_file=pl.lit(file_name, dtype=pl.String),
            _ingested_at=pl.lit(at, dtype=pl.Datetime("us")),
        ))

    def write_quarantine(self, kind: ReportKind, load_id: int, file_name: str, rows: pl.DataFrame) -> None:
        """The load's quarantined rows as its quarantine file, read through audit.quarantine."""
        if not rows.is_empty():
            raw_layer.write_quarantine(self.home, kind, load_id, file_name, rows)

    def insert_rule_results(self, kind: ReportKind, load_id: int, validated: ValidatedFile, parsed: ParsedFile) -> None:
        rows = [(load_id, kind.name, rule, severity, checked, failing) for rule, severity, checked, failing in validated.rule_counts]
        rows += [(load_id, kind.name, reason, "skip", parsed.rows_read, count) for reason, count in parsed.skipped.items()]
        # One insert of a frame: executemany runs a statement per rule, 30 ms per file in all.
        self.con.from_arrow(pl.DataFrame(rows, schema=RULE_RESULT_SCHEMA, orient="row")).insert_into("audit.rule_results")
