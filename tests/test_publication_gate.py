"""Write, audit, publish on the real pipeline: a bad mart never reaches stakeholders.

The small demo is run once; each test works on its own copy of that home, injects one kind of
wrong data into a published mart and asks `sovereignty publish` to check and publish it again.
The blocking GX checks must stop the release, name the failed expectations, record the attempt
and leave published/ exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from pipelines.command_line.cli import main
from pipelines.publication.extracts import CATALOGUES, EXTRACTS
from tests.conftest import TODAY


def run_cli(home: Path, *args: str) -> int:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SOVEREIGNTY_HOME", str(home))
        env.setenv("SOVEREIGNTY_TODAY", TODAY.isoformat())
        return main(list(args))


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("gate_home")
    assert run_cli(home, "demo") == 0
    assert run_cli(home, "run") == 0
    return home


@pytest.fixture
def home(demo_home, tmp_path) -> Path:
    """A private copy of the published demo home (warehouse and releases)."""
    copy = tmp_path / "home"
    copy.mkdir()
    shutil.copy2(demo_home / "warehouse.duckdb", copy / "warehouse.duckdb")
    shutil.copytree(demo_home / "published", copy / "published", symlinks=True)
    return copy


def published_tree(home: Path) -> dict[str, str]:
    """Every file under published/ with the sha256 of its bytes."""
    root = home / "published"
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def last_attempt(home: Path) -> dict:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        cursor = con.execute("select * from audit.publications order by attempt_id desc limit 1")
        return dict(zip([d[0] for d in cursor.description], cursor.fetchone()))


def corrupt(home: Path, sql: str) -> None:
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        changed = con.execute(sql).fetchone()[0]
    assert changed >= 1, sql


# One injection per kind of wrong data the issue names, and the expectation that must catch it.
CORRUPTIONS = {
    "out_of_range_share": (
        """update marts.product_independence set localisation = 1.5
           where rowid = (select min(rowid) from marts.product_independence where localisation is not null)""",
        "product_independence", "expect_column_values_to_be_between", "localisation",
    ),
    "duplicate_key": (
        "insert into marts.area_independence select * from marts.area_independence order by project_code, period limit 1",
        "area_independence", "expect_compound_columns_to_be_unique", "project_code",
    ),
    "missing_quarter": (
        """delete from marts.product_independence where (okpd2, period) in (
               select okpd2, period from (
                   select okpd2, period, row_number() over (partition by okpd2 order by period) as position,
                          count(*) over (partition by okpd2) as quarters
                   from marts.product_independence)
               where position = 2 and quarters >= 3 order by okpd2 limit 1)""",
        "product_independence", "unexpected_rows_expectation", "spans.first_period and spans.last_period",
    ),
}


def test_the_gate_passes_the_marts_as_built_and_makes_no_new_release(home, capsys):
    before = published_tree(home)
    assert run_cli(home, "publish") == 0
    assert "No new release: the data is unchanged" in capsys.readouterr().out
    assert published_tree(home) == before
    assert last_attempt(home)["outcome"] == "unchanged"


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_bad_mart_blocks_publication_and_the_previous_release_survives(home, corruption, capsys):
    sql, suite, expectation, detail = CORRUPTIONS[corruption]
    before = published_tree(home)
    corrupt(home, sql)

    assert run_cli(home, "publish") == 1

    stderr = capsys.readouterr().err
    assert "NOT PUBLISHED" in stderr and "The previous release stays as it was" in stderr
    failure_lines = [line for line in stderr.splitlines() if line.strip().startswith(f"{suite} (")]
    assert any(expectation in line and detail in line for line in failure_lines), stderr
    assert published_tree(home) == before
    attempt = last_attempt(home)
    assert attempt["outcome"] == "blocked" and attempt["release_id"] is None
    failed = {(s["suite"], f["expectation"]) for s in json.loads(attempt["failed_checks"]) for f in s["failed"]}
    assert (suite, expectation) in failed


def latest_release(home: Path) -> tuple[dict[str, str], dict]:
    """The latest release's extracts (name -> sha256) and its manifest."""
    release = home / "published" / (home / "published" / "latest").read_text().strip()
    extracts = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(release.glob("*.parquet"))}
    return extracts, json.loads((release / "manifest.json").read_text())


def test_identical_inputs_give_identical_extract_bytes(demo_home, tmp_path):
    """A second, independent build of the same reports: every extract is byte for byte the same."""
    other = tmp_path / "again"
    assert run_cli(other, "demo") == 0
    assert run_cli(other, "run") == 0
    (first, first_manifest), (second, second_manifest) = latest_release(demo_home), latest_release(other)
    assert len(first) == len(EXTRACTS) + len(CATALOGUES)  # early-warning extracts and catalogues included
    assert first == second
    assert first_manifest["content_sha256"] == second_manifest["content_sha256"]


def release_texts(release: Path) -> dict[str, str]:
    """Everything a stakeholder receives, as text: the manifest, the report, and of each Parquet
    file every value, the schema, the key-value metadata and the column statistics."""
    texts = {}
    for path in sorted(release.iterdir()):
        if path.suffix != ".parquet":
            texts[path.name] = path.read_text(encoding="utf-8")
            continue
        metadata = pq.read_metadata(path)
        stored = [str(metadata.schema), str(metadata.metadata)]
        stored += [str(metadata.row_group(g).column(c).statistics)
                   for g in range(metadata.num_row_groups) for c in range(metadata.num_columns)]
        values = pl.read_parquet(path).select(pl.all().cast(pl.String)).unpivot()["value"].drop_nulls()
        texts[path.name] = "\n".join(stored + values.to_list())
    return texts


def test_no_enterprise_identity_anywhere_in_a_release(demo_home):
    with duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True) as con:
        enterprises = con.sql("select distinct inn, enterprise_name from raw.producer").pl()
    secrets = set(enterprises["inn"]) | set(enterprises["enterprise_name"].drop_nulls())
    assert len(secrets) > 100
    release = demo_home / "published" / (demo_home / "published" / "latest").read_text().strip()
    texts = release_texts(release)
    assert {"manifest.json", "report.html", "product_independence.parquet"} <= set(texts)
    leaks = {(name, secret) for name, text in texts.items() for secret in secrets if secret in text}
    assert not leaks
    assert all(word not in text for text in texts.values() for word in ('"inn"', "enterprise_name"))


def test_the_release_records_its_disclosure_audit(demo_home):
    _, manifest = latest_release(demo_home)
    disclosure = manifest["disclosure"]
    assert disclosure["secondary_suppression"]["method"] == "optimal"
    audit = disclosure["audit"]
    assert audit["passed"] and audit["failures"] == [] and audit["confidential_cells"] > 0
    narrowest = audit["narrowest_confidential"]
    assert min(narrowest["below"], narrowest["above"]) >= disclosure["protection"]
    assert 0 < audit["information_loss"]["all"]["hidden_output_share"] < 1


def test_a_release_the_disclosure_audit_fails_is_withheld(home, capsys, monkeypatch):
    """The optimiser given no time falls back to whole units, whose complements keep nothing near a
    90 % interval: the audit withholds the release, recorded and printed like a failing check."""
    before = published_tree(home)
    monkeypatch.setenv("SOVEREIGNTY_DISCLOSURE_PROTECTION", "0.9")
    monkeypatch.setenv("SOVEREIGNTY_DISCLOSURE_TIME_LIMIT", "1e-9")
    assert run_cli(home, "publish") == 1
    stderr = capsys.readouterr().err
    assert "NOT PUBLISHED: blocking check disclosure_audit failed" in stderr
    assert "disclosure_audit (published extracts): protection interval" in stderr
    assert published_tree(home) == before
    attempt = last_attempt(home)
    assert attempt["outcome"] == "blocked" and attempt["release_id"] is None
    failures = json.loads(attempt["failed_checks"])[0]
    assert failures["suite"] == "disclosure_audit"
    assert 0.9 in {f["kwargs"]["required"] for f in failures["failed"]}  # a confidential cell among them
