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
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa

from pipelines.files import write_durably

INCOMING_PREFIX = ".incoming-"


@dataclass(frozen=True)
class ReleaseOutcome:
    outcome: str  # published or unchanged
    release_id: str
    path: Path


def parquet_bytes(frame: pl.DataFrame, field_metadata: dict[str, dict[str, str]] | None = None) -> bytes:
    """Deterministic Parquet: fixed compression and row groups, no timestamps in the metadata.

    field_metadata (column -> key -> value, e.g. description and unit) goes into the Arrow schema
    stored in the file, where pyarrow, Polars and other Arrow readers show it per field."""
    described = field_metadata or {}
    schema = pa.schema([field.with_metadata(described.get(field.name, {})) for field in frame.head(0).to_arrow().schema])
    buffer = io.BytesIO()
    frame.write_parquet(
        buffer, compression="zstd", compression_level=9, statistics=True, row_group_size=1_000_000, arrow_schema=schema
    )
    return buffer.getvalue()


def content_fingerprint(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{hashlib.sha256(files[name]).hexdigest()}\n".encode())
    return digest.hexdigest()


# What publish_release names a release: its UTC time and the start of its content fingerprint.
RELEASE_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}")


class DamagedLatest(Exception):
    """published/latest does not name a release of this folder; the message says what it holds."""


def read_latest(published: Path) -> str | None:
    """The release published/latest names, None before the first; DamagedLatest for anything else.

    Only a release id of a folder inside published/ is accepted, so a damaged or planted file
    never points a reader outside it.
    """
    latest = published / "latest"
    if not os.path.lexists(latest):
        return None
    if latest.is_symlink() or not latest.is_file():
        raise DamagedLatest(f"{latest} is not a plain file")
    with open(latest, "rb") as handle:
        head = handle.read(64)
    text = head.decode("ascii", errors="replace").strip()
    if not RELEASE_ID.fullmatch(text):
        raise DamagedLatest(f"{latest} does not hold a release id ({latest.stat().st_size} bytes of something else)")
    if not (published / text / "manifest.json").is_file():
        raise DamagedLatest(f"{latest} names {text}, which is not a complete release in {published}")
    return text


def valid_latest(published: Path) -> str | None:
    """The latest release, or None when there is none or published/latest is damaged."""
    try:
        return read_latest(published)
    except DamagedLatest:
        return None


def replace_latest(published: Path, release_id: str) -> None:
    temporary = published / f"{INCOMING_PREFIX}latest"
    write_durably(temporary, (release_id + "\n").encode())
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
    current = valid_latest(published)  # a damaged `latest` is replaced by this publication
    if current and json.loads((published / current / "manifest.json").read_text())["content_sha256"] == fingerprint:
        return ReleaseOutcome("unchanged", current, published / current)

    created = (now or datetime.now(UTC)).astimezone(UTC)
    release_id = f"{created:%Y%m%dT%H%M%SZ}-{fingerprint[:8]}"
    manifest = build_manifest(release_id, created.isoformat(timespec="seconds"))
    manifest["content_sha256"] = fingerprint
    incoming = published / f"{INCOMING_PREFIX}{release_id}"
    incoming.mkdir()
    for name, content in sorted(extracts.items()):
        write_durably(incoming / name, content)
    write_durably(incoming / "manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode())
    write_durably(incoming / "report.html", render_report(manifest).encode("utf-8"))
    for path in incoming.iterdir():
        path.chmod(0o444)  # releases never change
    final = published / release_id
    os.rename(incoming, final)
    replace_latest(published, release_id)
    return ReleaseOutcome("published", release_id, final)
