"""Self-describing extracts: each column's description and unit in the Parquet file and the
manifest, the names behind the codes as catalogue extracts, no bookkeeping column published.

Checked on the release `sovereignty run` publishes from the small demo, read back as a
stakeholder reads it (pyarrow for the field metadata, the manifest as JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from pipelines.publication.extracts import BOOKKEEPING, CATALOGUES, EXTRACTS, is_published
from pipelines.transformation.dbt_project import dbt_project


@pytest.fixture(scope="module")
def release(uninterrupted) -> Path:
    return uninterrupted / "published" / (uninterrupted / "published" / "latest").read_text().strip()


@pytest.fixture(scope="module")
def manifest(release) -> dict:
    return json.loads((release / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def frames(release) -> dict[str, pl.DataFrame]:
    return {path.stem: pl.read_parquet(path) for path in sorted(release.glob("*.parquet"))}


def test_the_release_holds_every_extract_and_catalogue(frames, manifest):
    assert set(frames) == set(EXTRACTS) | set(CATALOGUES)
    assert set(manifest["extracts"]) == set(frames)


def test_every_column_carries_its_description_and_unit_in_the_file_and_the_manifest(release, manifest):
    for name, listed in manifest["extracts"].items():
        schema = pq.read_schema(release / f"{name}.parquet")
        assert [column["name"] for column in listed["columns"]] == schema.names, name
        for column in listed["columns"]:
            stored = {key.decode(): value.decode() for key, value in (schema.field(column["name"]).metadata or {}).items()}
            assert column["description"], (name, column["name"])
            assert stored == {"description": column["description"]} | ({"unit": column["unit"]} if column["unit"] else {})
            measure = column["type"].startswith(("Float", "Decimal")) or column["name"].endswith(("_count", "_value"))
            if measure and not column["name"].endswith("_flag"):
                assert column["unit"], f"{name}.{column['name']} is a quantity without a unit"


def test_descriptions_and_units_are_the_dbt_models_own(manifest):
    """The YAML of the dbt model is the one source: the release repeats it word for word."""
    nodes = json.loads(Path(dbt_project().manifest_path).read_text())["nodes"]
    columns = {c["name"]: c for c in manifest["extracts"]["product_independence"]["columns"]}
    documented = nodes["model.sovereignty.product_independence"]["columns"]["output_value"]
    assert columns["output_value"]["description"] == documented["description"].strip()
    assert columns["output_value"]["unit"] == documented["config"]["meta"]["unit"] == "thousand RUB"
    assert columns["import_dependency"]["unit"] == "share"
    assert columns["output_value_flag"]["description"].startswith("'c' where output_value is confidential")
    regions = {c["name"]: c for c in manifest["extracts"]["catalogue_regions"]["columns"]}
    assert regions["name_en"]["description"] == nodes["seed.sovereignty.regions"]["columns"]["name_en"]["description"].strip()


def test_every_code_in_the_extracts_has_its_name_in_a_catalogue(frames):
    def codes(column: str, *extracts: str) -> set[str]:
        return {code for name in extracts for code in frames[name][column].drop_nulls()}

    def catalogue(name: str, column: str) -> set[str]:
        assert frames[name]["name_en" if "name_en" in frames[name].columns else "group_name"].null_count() == 0
        return set(frames[name][column])

    products = codes("okpd2", "product_independence", "product_leadership")
    assert products and products <= catalogue("catalogue_products", "okpd2")
    areas = codes("project_code", *(name for name in EXTRACTS if "project_code" in frames[name].columns))
    assert areas - {"ALL"} and areas - {"ALL"} <= catalogue("catalogue_priority_areas", "project_code")
    regions = codes("region_code", "regional_development")
    assert regions and regions <= catalogue("catalogue_regions", "region_code")
    assert codes("indicator_code", "project_progress") <= catalogue("catalogue_indicators", "indicator_code")
    partners = codes("partner_code", "partner_exposure", "partner_exposure_yearly", "supply_stress")
    known = catalogue("catalogue_countries", "country_code") | catalogue("catalogue_partner_groups", "group_code")
    assert partners and partners <= known
    assert set(frames["catalogue_products"]["okei"]) <= catalogue("catalogue_units", "okei")


def test_no_bookkeeping_column_is_published(frames):
    """The warehouse's bookkeeping columns are found from their own descriptions (a load id or an
    incremental watermark), independently of the rule, so a new one the rule misses fails here."""
    nodes = json.loads(Path(dbt_project().manifest_path).read_text())["nodes"]
    bookkeeping = {
        column
        for node in nodes.values() if node["resource_type"] in ("model", "seed")
        for column, described in node["columns"].items()
        if any(words in described["description"] for words in ("audit.loads.load_id", "audit.builds.build_id", "watermark"))
    }
    assert "last_load_id" in bookkeeping  # what the incremental marts carry
    assert not any(is_published(column) for column in bookkeeping)
    published = {column for frame in frames.values() for column in frame.columns}
    assert not published & bookkeeping
    assert not [column for column in published if BOOKKEEPING.search(column)]


@pytest.mark.parametrize("column", ["last_load_id", "_load_id", "_source_file", "_ingested_at", "build_id", "first_load_id"])
def test_the_bookkeeping_rule_keeps_load_and_build_columns_out(column):
    assert not is_published(column)


@pytest.mark.parametrize("column", ["output_value", "producer_count", "quarters_reported", "loads"])
def test_the_bookkeeping_rule_publishes_figures(column):
    assert is_published(column)
