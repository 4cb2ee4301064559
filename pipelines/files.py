"""Writing files so that a crash never leaves a half-written one where a reader looks."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import polars as pl


def write_durably(path: Path, content: bytes) -> None:
    """Write content to path and flush it to disk before returning."""
    with open(path, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def staging_name(target: Path) -> Path:
    """The temporary name a file is written under beside its target (hidden, with this process's id)."""
    return target.with_name(f".{target.name}.{os.getpid()}")


def write_atomically(target: Path, content: bytes) -> None:
    """Write content as the file target so that a file at target is always whole: under
    staging_name, flushed to disk and renamed over the target (two processes may write it at once;
    a reader sees the old file or the new one). A failed write leaves no staging file."""
    staging = staging_name(target)
    try:
        write_durably(staging, content)
        os.replace(staging, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        raise


def write_parquet_atomically(frame: pl.DataFrame, target: Path) -> None:
    """Write frame as the Parquet file target, so that a file at target is always whole.

    The file is written under a temporary name beside the target, flushed to disk and renamed
    over the target (os.replace is atomic): a reader sees the old file or the new one, and a
    process killed half-way leaves at most a hidden temporary file, never a partial target. The
    raw layer (pipelines/ingestion/raw_layer.py) and the computed layer
    (pipelines/transformation/computed.py) write their files this way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_name(target)
    try:
        frame.write_parquet(staging, compression="lz4", statistics=True)
        with open(staging, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staging, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        raise
