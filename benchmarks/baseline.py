"""Run the benchmark baseline: benchmarks/baseline.sql over an inbox, into a DuckDB file.

    python benchmarks/baseline.py --inbox DATA/inbox --database baseline.duckdb [--today 2026-11-28]

The script does all the work in SQL. This runner only does what DuckDB cannot do by itself here
(no `excel` or `encodings` extension can be installed): it copies the files DuckDB cannot read
into UTF-8 CSV in a scratch directory, lists them in <work_dir>/conversions.csv, sets the
script's variables and runs it. The conversions are part of the baseline's cost: the time
reported (and measured by a benchmark around this command) includes them.

- CSV that is not valid UTF-8 is Windows-1251 (readers.utf8_content decides the same way): it is
  transcoded block by block with the stdlib codec. A file that is neither (or has a UTF-8 BOM and
  invalid bytes after it) is listed as unreadable, and the script rejects it as the pipeline does.
- XLSX: the first worksheet is read with fastexcel, every cell as text, exactly as the pipeline's
  reader reads it, and written as CSV with no header. Finding the header row below a form title
  and dropping the totals rows is left to the script. A workbook fastexcel cannot open is listed
  as unreadable.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from pipelines.settings import Settings  # noqa: E402  (the limits only: no orchestration)

BASELINE_SQL = Path(__file__).resolve().with_name("baseline.sql")
SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"
KINDS = ("producer", "trade", "benchmarks", "characteristics")  # the kinds the four marts read
BLOCK = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"


def is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as source:
            for block in iter(lambda: source.read(BLOCK), b""):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def transcode_cp1251(path: Path, target: Path) -> bool:
    """Windows-1251 -> UTF-8, streaming; False when the bytes are not CP1251 either."""
    try:
        with path.open(encoding="cp1251", newline="") as source, target.open("w", encoding="utf-8", newline="") as sink:
            for block in iter(lambda: source.read(BLOCK), ""):
                sink.write(block)
    except UnicodeDecodeError:
        target.unlink(missing_ok=True)
        return False
    return True


def xlsx_to_csv(path: Path, target: Path) -> bool:
    """The first worksheet, every cell as text, as a headerless CSV; False when unreadable."""
    import fastexcel  # only needed when there are workbooks

    try:
        sheet = fastexcel.read_excel(path.read_bytes()).load_sheet(0, header_row=None, dtypes="string")
        sheet.to_polars().write_csv(target, include_header=False)
    except Exception:  # noqa: BLE001 - any failure means the pipeline would reject the file too
        target.unlink(missing_ok=True)
        return False
    return True


def convert(inbox: Path, work_dir: Path) -> int:
    """Write the UTF-8 copies and conversions.csv; returns how many files were converted."""
    rows = []
    for kind in KINDS:
        folder = inbox / kind
        if not folder.is_dir():
            continue
        (work_dir / kind).mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            suffix = path.suffix.lower()
            if suffix == ".csv" and not is_utf8(path):
                with path.open("rb") as head:
                    has_bom = head.read(3) == UTF8_BOM
                target = work_dir / kind / path.name
                ok = not has_bom and transcode_cp1251(path, target)  # a BOM promises UTF-8: no fallback
                rows.append((kind, path.name, "cp1251", str(target) if ok else ""))
            elif suffix == ".xlsx":
                target = work_dir / kind / (path.name + ".csv")
                rows.append((kind, path.name, "xlsx", str(target) if xlsx_to_csv(path, target) else ""))
    with (work_dir / "conversions.csv").open("w", encoding="utf-8", newline="") as manifest:
        writer = csv.writer(manifest)
        writer.writerow(("kind", "file_name", "encoding", "converted_path"))
        writer.writerows(rows)
    return len(rows)


def run(inbox: Path, database: Path, today: date, *, seeds: Path = SEEDS, work_dir: Path | None = None,
        threads: int | None = None) -> dict[str, float]:
    """Convert, then run baseline.sql; the marts end up in schema `marts` of the database."""
    scratch = Path(tempfile.mkdtemp(prefix="baseline_")) if work_dir is None else work_dir
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        converted = convert(inbox, scratch)
        converted_at = time.perf_counter()
        # The pipeline's own DuckDB limits (SOVEREIGNTY_DUCKDB_MEMORY, _THREADS): like for like.
        settings = Settings.from_env()
        config = {"memory_limit": settings.duckdb_memory_limit, "threads": threads or settings.duckdb_threads}
        with duckdb.connect(str(database), config=config) as con:
            for name, value in (("inbox", str(inbox)), ("seeds", str(seeds)), ("work_dir", str(scratch)), ("today", today)):
                con.execute(f"set variable {name} = ?", [value])
            con.execute(BASELINE_SQL.read_text(encoding="utf-8"))
        finished = time.perf_counter()
    finally:
        if work_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return {"files_converted": converted, "convert_seconds": converted_at - started,
            "sql_seconds": finished - converted_at, "total_seconds": finished - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inbox", type=Path, required=True, help="the inbox directory (<home>/inbox)")
    parser.add_argument("--database", type=Path, required=True, help="DuckDB file to write the marts into")
    parser.add_argument("--today", type=date.fromisoformat,
                        default=date.fromisoformat(os.environ.get("SOVEREIGNTY_TODAY") or date.today().isoformat()),
                        help="'now' for the in-the-future rules (default: $SOVEREIGNTY_TODAY, else today)")
    parser.add_argument("--seeds", type=Path, default=SEEDS, help="the reference catalogues (dbt seeds)")
    parser.add_argument("--work-dir", type=Path, help="keep the converted copies here (default: a temporary directory)")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: the pipeline's, SOVEREIGNTY_DUCKDB_THREADS)")
    args = parser.parse_args(argv)
    timings = run(args.inbox.resolve(), args.database, args.today, seeds=args.seeds.resolve(),
                  work_dir=args.work_dir, threads=args.threads)
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
