"""Every document the repository cites is in the repository.

Code, models and docs cite the standard and each other by file name ("metrics.md section 6",
`docs/operations.md`, `benchmarks/README.md`). Each name must resolve inside the repository:
beside the citing file, from the repository root, or in docs/ (where the standard lives).
"""

from __future__ import annotations

import re
import subprocess

from pipelines.settings import REPO_ROOT

CITATION = re.compile(r"(?<![\w/.:-])((?:\.\./|[\w-]+/)*[\w-]+\.md)\b")
TEXT_SUFFIXES = {".md", ".py", ".sql", ".yml", ".yaml", ".toml", ".json", ".csv"}


def cited_documents() -> list[tuple[str, str]]:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.split()
    citations = []
    for name in tracked:
        path = REPO_ROOT / name
        if (path.suffix in TEXT_SUFFIXES or path.name == "Makefile") and path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                citations += [(name, cited) for cited in CITATION.findall(re.sub(r"https?://\S+", "", line))]
    return citations


def resolves(citing: str, cited: str) -> bool:
    places = [(REPO_ROOT / citing).parent, REPO_ROOT, REPO_ROOT / "docs"]
    return any((place / cited).resolve().is_relative_to(REPO_ROOT) and (place / cited).is_file() for place in places)


def test_every_cited_document_is_in_the_repository():
    citations = cited_documents()
    assert len(citations) > 100
    unresolved = sorted({(citing, cited) for citing, cited in citations if not resolves(citing, cited)})
    assert unresolved == []


def test_nothing_points_outside_the_repository():
    """The standard once lived beside the repository (../shared/spec): no file points there now."""
    pointers = subprocess.run(["git", "grep", "-n", "-I", "-e", "shared/spec", "-e", "shared/golden", "--", ".",
                               ":!tests/test_references.py"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert pointers.stdout == ""
