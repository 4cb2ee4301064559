"""Immutable releases under published/: written aside, renamed into place, `latest` written last.

A reader who follows `published/latest` never sees a half-written release: the release is
written into a hidden directory, its files are flushed to disk, the directory is renamed into
place (atomic on one filesystem), and only then is `latest` replaced (atomic rename of a
temporary file). A crash at any point leaves the previous release and `latest` as they were;
the hidden leftovers are removed by the next publication. Extract bytes depend only on the
data, so the same inputs give the same files, and a new release is made only when they change.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

INCOMING_PREFIX = ".incoming-"


@dataclass(frozen=True)
class ReleaseOutcome:
    outcome: str  # published or unchanged
    release_id: str
    path: Path


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """Deterministic Parquet: fixed compression and row groups, no timestamps in the metadata."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", compression_level=9, statistics=True, row_group_size=1_000_000)
    return buffer.getvalue()


def content_fingerprint(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{hashlib.sha256(files[name]).hexdigest()}\n".encode())
    return digest.hexdigest()


def latest_release(published: Path) -> str | None:
    latest = published / "latest"
    return latest.read_text().strip() if latest.exists() else None


def write_file(path: Path, content: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def replace_latest(published: Path, release_id: str) -> None:
    temporary = published / f"{INCOMING_PREFIX}latest"
    write_file(temporary, (release_id + "\n").encode())
    os.replace(temporary, published / "latest")


def remove_leftovers(published: Path) -> None:
    """Hidden directories of publications that were interrupted before their rename."""
    for leftover in published.glob(f"{INCOMING_PREFIX}*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()


def publish_release(
    published: Path,
    extracts: dict[str, bytes],
    build_manifest,
    render_report,
    now: datetime | None = None,
) -> ReleaseOutcome:
    """Write a release of the given extract files unless the latest release has the same content.

    build_manifest(release_id, created_at) -> dict and render_report(manifest) -> str are called
    only when a release is made, so that both can name the release.
    """
    published.mkdir(parents=True, exist_ok=True)
    remove_leftovers(published)
    fingerprint = content_fingerprint(extracts)
    current = latest_release(published)
    if current and json.loads((published / current / "manifest.json").read_text())["content_sha256"] == fingerprint:
        return ReleaseOutcome("unchanged", current, published / current)

    created = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    release_id = f"{created:%Y%m%dT%H%M%SZ}-{fingerprint[:8]}"
    manifest = build_manifest(release_id, created.isoformat(timespec="seconds"))
    manifest["content_sha256"] = fingerprint
    incoming = published / f"{INCOMING_PREFIX}{release_id}"
    incoming.mkdir()
    for name, content in sorted(extracts.items()):
        write_file(incoming / name, content)
    write_file(incoming / "manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode())
    write_file(incoming / "report.html", render_report(manifest).encode("utf-8"))
    for path in incoming.iterdir():
        path.chmod(0o444)  # releases never change
    final = published / release_id
    os.rename(incoming, final)
    replace_latest(published, release_id)
    return ReleaseOutcome("published", release_id, final)
