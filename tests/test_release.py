"""Releases: atomic, immutable, byte-identical for identical inputs, invisible until complete."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import polars as pl
import pytest

from pipelines.publication.release import INCOMING_PREFIX, DamagedLatest, parquet_bytes, publish_release, read_latest, valid_latest

FRAME = pl.DataFrame({"project_code": ["UAS", "NMC"], "year": [2026, 2026], "index": [61.5, None]})


def manifest(release_id, created_at):
    return {"release_id": release_id, "created_at": created_at}


def report(manifest):
    return f"<html><body>{manifest['release_id']}</body></html>"


def extracts(frame=FRAME):
    return {"sovereignty_index.parquet": parquet_bytes(frame)}


def test_parquet_bytes_are_identical_for_identical_frames():
    assert parquet_bytes(FRAME) == parquet_bytes(FRAME.clone())
    assert pl.read_parquet(__import__("io").BytesIO(parquet_bytes(FRAME))).equals(FRAME)


def test_a_release_is_written_with_latest_last_and_made_read_only(tmp_path):
    outcome = publish_release(tmp_path, extracts(), manifest, report, now=datetime(2026, 11, 28, tzinfo=timezone.utc))
    assert outcome.outcome == "published"
    assert read_latest(tmp_path) == outcome.release_id
    assert sorted(p.name for p in outcome.path.iterdir()) == ["manifest.json", "report.html", "sovereignty_index.parquet"]
    assert all(not (p.stat().st_mode & 0o222) for p in outcome.path.iterdir())
    assert json.loads((outcome.path / "manifest.json").read_text())["release_id"] == outcome.release_id


def test_the_same_data_makes_no_new_release_and_new_data_does(tmp_path):
    first = publish_release(tmp_path, extracts(), manifest, report)
    again = publish_release(tmp_path, extracts(), manifest, report)
    assert (again.outcome, again.release_id) == ("unchanged", first.release_id)
    changed = publish_release(tmp_path, extracts(FRAME.with_columns(index=pl.lit(70.0))), manifest, report,
                              now=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert changed.outcome == "published" and changed.release_id != first.release_id
    assert (first.path / "sovereignty_index.parquet").read_bytes() == parquet_bytes(FRAME)  # untouched
    assert read_latest(tmp_path) == changed.release_id


@pytest.mark.parametrize("killed_at", ["rename", "replace"])
def test_a_publication_killed_before_its_rename_leaves_no_visible_release(tmp_path, killed_at):
    first = publish_release(tmp_path, extracts(), manifest, report)
    # Another process writes a release with new data and dies just before the release directory
    # is renamed into place (or before `latest` is replaced).
    script = textwrap.dedent(f"""
        import os, polars as pl
        from pipelines.publication import release
        def die(*args): os._exit(9)
        release.os.{killed_at} = die
        release.publish_release(__import__("pathlib").Path({str(tmp_path)!r}),
            {{"sovereignty_index.parquet": release.parquet_bytes(pl.DataFrame({{"index": [1.0]}}))}},
            lambda r, c: {{"release_id": r}}, lambda m: "<html></html>")
    """)
    assert subprocess.run([sys.executable, "-c", script]).returncode == 9
    assert read_latest(tmp_path) == first.release_id
    visible = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    if killed_at == "rename":
        assert visible == sorted([first.release_id, "latest"])
    # The next publication clears what the dead one left behind.
    publish_release(tmp_path, extracts(), manifest, report)
    assert not list(tmp_path.glob(f"{INCOMING_PREFIX}*"))


@pytest.mark.parametrize(
    "content, says",
    [
        (b"\x00\xff\x89PNG binary", "does not hold a release id"),
        (b"../../../../etc\n", "does not hold a release id"),
        (b"20991231T000000Z-deadbeef\n", "which is not a complete release"),
    ],
    ids=["binary", "path_outside", "missing_release"],
)
def test_a_damaged_latest_is_named_never_followed_and_replaced_by_the_next_release(tmp_path, content, says):
    first = publish_release(tmp_path, extracts(), manifest, report, now=datetime(2026, 11, 28, tzinfo=timezone.utc))
    (tmp_path / "latest").write_bytes(content)

    with pytest.raises(DamagedLatest, match=says):
        read_latest(tmp_path)
    assert valid_latest(tmp_path) is None

    again = publish_release(tmp_path, extracts(), manifest, report, now=datetime(2026, 11, 29, tzinfo=timezone.utc))
    assert again.outcome == "published" and again.release_id != first.release_id  # same content, pointer mended
    assert read_latest(tmp_path) == again.release_id


def test_a_latest_that_is_a_link_is_not_followed(tmp_path):
    publish_release(tmp_path, extracts(), manifest, report)
    (tmp_path / "elsewhere").write_text("20261128T000000Z-00000000\n")
    (tmp_path / "latest").unlink()
    (tmp_path / "latest").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DamagedLatest, match="is not a plain file"):
        read_latest(tmp_path)
