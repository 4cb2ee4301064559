"""Write, audit, publish on the real pipeline: a bad mart never reaches stakeholders.

The small demo is run once; each test works on its own copy of that home, injects one kind of
wrong data into a published mart and asks `sovereignty publish` to check and publish it again.
The blocking GX checks must stop the release, name the failed expectations, record the attempt
and leave published/ exactly as it was.
"""

from __future__ import annotations

import dataclasses
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
from pipelines.settings import Settings
from pipelines.transformation.dbt_command import run_dbt
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
    """A private copy of the published demo home (warehouse with its raw files, and releases)."""
    copy = tmp_path / "home"
    copy.mkdir()
    shutil.copy2(demo_home / "warehouse.duckdb", copy / "warehouse.duckdb")
    for folder in ("raw", "published"):
        shutil.copytree(demo_home / folder, copy / folder, symlinks=True)
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


def first_row(table: str, condition: str) -> str:
    return f"rowid = (select min(rowid) from {table} where {condition})"


# One injection per kind of wrong data the GX suites catch, and the expectation that must catch it
# (suite, expectation type, a fragment of its kwargs that names it). Each leaves the mart's own
# invariants intact: those are dbt's, checked when the mart is built (test below).
CORRUPTIONS = {
    "missing_quarter": (
        """delete from marts.product_independence where (okpd2, period) in (
               select okpd2, period from (
                   select okpd2, period, row_number() over (partition by okpd2 order by period) as position,
                          count(*) over (partition by okpd2) as quarters
                   from marts.product_independence)
               where position = 2 and quarters >= 3 order by okpd2 limit 1)""",
        "product_independence", "unexpected_rows_expectation", "spans.first_period and bounds.last_period",
    ),
    "product_missing_from_the_latest_quarter": (
        """delete from marts.product_independence where okpd2 = (select min(okpd2) from marts.product_independence)
           and period = (select max(period) from marts.product_independence)""",
        "product_independence", "unexpected_rows_expectation", "spans.first_period and bounds.last_period",
    ),
    "quarter_not_rebuilt_after_a_revision": (
        "update marts.product_independence set output_value = output_value + 1 where "
        + first_row("marts.product_independence", "output_value is not null"),
        "product_independence", "unexpected_rows_expectation", "from staging.stg_producer",
    ),
    "area_total_not_the_sum_of_its_products": (
        "update marts.area_independence set imports = imports + 1 where " + first_row("marts.area_independence", "imports is not null"),
        "area_independence", "unexpected_rows_expectation", "from marts.product_independence group by project_code, period",
    ),
    "year_not_the_sum_of_its_quarters": (
        "update marts.product_independence_yearly set exports = exports + 1 where "
        + first_row("marts.product_independence_yearly", "exports is not null"),
        "product_independence", "unexpected_rows_expectation", "from marts.product_independence_yearly as y",
    ),
    "a_quarter_delivered_in_roubles": (
        "update staging.stg_producer set output_value = output_value * 1000 where period = (select max(period) from staging.stg_producer)",
        "stg_producer", "unexpected_rows_expectation", "median(ratio)",
    ),
    "product_year_without_leadership": (
        "delete from marts.product_leadership where " + first_row("marts.product_leadership", "true"),
        "product_leadership", "unexpected_rows_expectation", "full join marts.product_independence_yearly",
    ),
    "regions_not_adding_up_to_the_area": (
        "update marts.regional_development set output_value = output_value + 1 where "
        + first_row("marts.regional_development", "output_value is not null"),
        "regional_development", "unexpected_rows_expectation", "from marts.area_independence",
    ),
    "target_without_progress": (
        "delete from marts.project_progress where " + first_row("marts.project_progress", "true"),
        "project_progress", "unexpected_rows_expectation", "full join staging.stg_targets",
    ),
    "partners_not_adding_up_to_the_imports": (
        "update marts.partner_exposure set partner_imports = partner_imports + 1 where "
        + first_row("marts.partner_exposure", "partner_type = 'country'"),
        "partner_exposure", "unexpected_rows_expectation", "having sum(partner_imports) is distinct from",
    ),
    "partner_year_not_the_sum_of_its_quarters": (
        "update marts.partner_exposure_yearly set partner_imports = partner_imports + 1 where "
        + first_row("marts.partner_exposure_yearly", "true"),
        "partner_exposure_yearly", "unexpected_rows_expectation", "from marts.partner_exposure group by",
    ),
    "stress_scenario_off_the_exposure": (
        "update marts.supply_stress set partner_imports = partner_imports + 1 where " + first_row("marts.supply_stress", "true"),
        "supply_stress", "unexpected_rows_expectation", "left join marts.partner_exposure",
    ),
    "signal_citing_another_figure": (
        "update marts.risk_signals set value_after = value_after + 0.5 where "
        + first_row("marts.risk_signals", "signal_type = 'localisation_fall'"),
        "risk_signals", "unexpected_rows_expectation", "from marts.area_independence",
    ),
    "national_row_off_its_areas": (
        "update marts.sovereignty_index set apparent_consumption = apparent_consumption + 1 where "
        + first_row("marts.sovereignty_index", "project_code = 'ALL' and apparent_consumption is not null"),
        "sovereignty_index", "unexpected_rows_expectation", "from {batch} where project_code <> 'ALL'",
    ),
    "index_without_its_uncertainty": (
        """delete from marts.sovereignty_index_uncertainty where (project_code, year) = (
               select (project_code, year) from marts.sovereignty_index where sovereignty_index is not null
               order by year, project_code limit 1)""",
        "sovereignty_index_uncertainty", "unexpected_rows_expectation", "from marts.sovereignty_index as i",
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


# Wrong data that breaks a mart's own invariants, and the dbt test that catches it when the mart is
# built: a failing dbt test fails the build, and a failed build is never published (docs/quality.md).
INVARIANT_BREAKS = {
    "product_independence_values_within_bounds":
        "update marts.product_independence set localisation = 1.5 where "
        + first_row("marts.product_independence", "localisation is not null"),
    "area_independence_one_row_per_period_project_code":
        "insert into marts.area_independence select * from marts.area_independence order by project_code, period limit 1",
    "product_independence_period_matches_year_and_quarter":
        "update marts.product_independence set quarter = quarter % 4 + 1 where " + first_row("marts.product_independence", "true"),
}


def test_a_mart_that_breaks_its_invariants_fails_its_dbt_tests(home, tmp_path):
    for sql in INVARIANT_BREAKS.values():
        corrupt(home, sql)
    settings = dataclasses.replace(Settings.from_env(), home=home)
    result = run_dbt(settings, ["test", "--select", "product_independence area_independence", "--exclude", "test_type:unit",
                                "--target-path", str(tmp_path / "target")], capture_output=True, text=True)
    assert result.returncode == 1, result.stdout
    failed = {line.split("FAIL")[1].split()[1] for line in result.stdout.splitlines() if " FAIL " in line}
    assert failed == set(INVARIANT_BREAKS), result.stdout


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
    # the raw views name their Parquet files relative to the home, as an analyst's client reads them
    with duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True,
                        config={"file_search_path": str(demo_home)}) as con:
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
    # each failure is held to the level the setting gives it: p for a confidential cell, p / 100 for
    # a secondary one (docs/disclosure.md)
    required = {round(f["kwargs"]["required"], 9) for f in failures["failed"]}
    assert failures["failed"] and required <= {0.9, 0.009}, required
