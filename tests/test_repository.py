"""The repository holds source, not build products: every committed file is small text.

Packages, databases, spreadsheets and Parquet files are made by the build, the demo generator or the
tests; committed, they bloat every clone and hide what changed. Fails when a tracked file is over
1 MB or binary (a NUL byte in its first 8 KB, as git itself decides).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LIMIT_BYTES = 1_000_000


def tracked_files() -> list[Path]:
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an installed copy has no repository to check)")
    return [REPO / name for name in listing.decode().split("\0") if name and (REPO / name).is_file()]


def is_binary(path: Path) -> bool:
    return b"\0" in path.read_bytes()[:8192]


def test_no_tracked_file_is_large_or_binary():
    files = tracked_files()
    assert files, "git ls-files listed nothing"
    large = [f"{path.relative_to(REPO)} ({path.stat().st_size:,} bytes)" for path in files if path.stat().st_size > LIMIT_BYTES]
    binary = [str(path.relative_to(REPO)) for path in files if is_binary(path)]
    assert not large, f"files over {LIMIT_BYTES:,} bytes: {large}"
    assert not binary, f"binary files (packages, databases, spreadsheets belong to the build, not git): {binary}"


def test_the_check_tells_a_package_from_source(tmp_path):
    """The rule above is not vacuous: a wheel (a zip archive) is binary, a Python file is not."""
    import zipfile

    wheel = tmp_path / "duckdb-1.5.5-cp311-manylinux.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("duckdb/__init__.py", "")
    assert is_binary(wheel)
    assert not is_binary(Path(__file__))
