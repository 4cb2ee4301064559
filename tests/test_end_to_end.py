"""End to end on a small hand-built set of reports: every mart value below was computed by hand.

One quarter (2026-Q1) of the UAS priority area: three producers of two of its three products,
a customs file with two partner countries, benchmarks and characteristics, regional reports
and targets. The expected figures are written out as arithmetic on the report values, never
by calling the code under test. The whole pipeline runs once, through `sovereignty run`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.command_line.cli import main
from pipelines.transformation.dbt_command import run_dbt
from pipelines.settings import Settings
from pipelines.transformation.complexity import economic_complexity
from pipelines.transformation.dbt_project import dbt_project
from tests.conftest import TODAY
from tests.reports import csv_bytes, deliver, row

A, B, C, D = "7707083893", "500100732259", "7710000015", "7720000021"
AIRCRAFT, RADAR, CELLS = "30.30.32", "26.51.20", "27.20.11"  # the products of area UAS

PRODUCERS = [
    row("producer", period="2026-Q1", inn=A, region_code="77", okved2="30.30", okpd2=AIRCRAFT, output_value="1000",
        export_value="100", components_cost="400", imported_components_cost="100", technology_origin="domestic", rnd_expenses="50"),
    row("producer", period="2026-Q1", inn=B, region_code="50", okved2="30.30", okpd2=AIRCRAFT, output_value="600",
        export_value="0", components_cost="300", imported_components_cost="150", technology_origin="foreign", rnd_expenses="30"),
    row("producer", period="2026-Q1", inn=C, region_code="77", okved2="26.51", okpd2=RADAR, output_value="400",
        export_value="0", components_cost="200", imported_components_cost="200", technology_origin="licensed", rnd_expenses="0"),
]
TRADE = [
    row("trade", period="2026-Q1", okpd2=AIRCRAFT, partner_country="CN", flow="import", value="300"),
    row("trade", period="2026-Q1", okpd2=AIRCRAFT, partner_country="US", flow="import", value="100"),
    row("trade", period="2026-Q1", okpd2=AIRCRAFT, partner_country="DE", flow="export", value="50"),
    row("trade", period="2026-Q1", okpd2=RADAR, partner_country="CN", flow="import", value="600"),
]
BENCHMARKS = [
    row("benchmarks", okpd2=AIRCRAFT, parameter_code="P01", direction="higher", weight="2", best_value="100", valid_from="2025-01-01"),
    row("benchmarks", okpd2=AIRCRAFT, parameter_code="P02", direction="lower", weight="1", best_value="10", valid_from="2025-01-01"),
    # Not yet in force in 2026: must not replace the 2025 benchmark of P01.
    row("benchmarks", okpd2=AIRCRAFT, parameter_code="P01", direction="higher", weight="2", best_value="200", valid_from="2027-01-01"),
    row("benchmarks", okpd2=RADAR, parameter_code="P01", direction="higher", weight="1", best_value="50", valid_from="2025-06-01"),
]
CHARACTERISTICS = [
    row("characteristics", year="2026", inn=A, okpd2=AIRCRAFT, parameter_code="P01", value="120"),  # q = 1.2
    row("characteristics", year="2026", inn=A, okpd2=AIRCRAFT, parameter_code="P02", value="5"),  # q = 10/5 = 2, capped 1.5
    row("characteristics", year="2026", inn=B, okpd2=AIRCRAFT, parameter_code="P01", value="80"),  # q = 0.8
    row("characteristics", year="2026", inn=B, okpd2=AIRCRAFT, parameter_code="P02", value="12.5"),  # q = 0.8
    row("characteristics", year="2026", inn=D, okpd2=AIRCRAFT, parameter_code="P01", value="150"),  # P02 missing: incomplete
    row("characteristics", year="2026", inn=C, okpd2=RADAR, parameter_code="P01", value="30"),  # q = 0.6
]
REGIONAL = [
    row("regional", period="2026-Q1", region_code="77", project_code="UAS", facilities_launched="2", investment="15000", jobs_created="40", specialists_trained="12"),
    row("regional", period="2026-Q1", region_code="16", project_code="UAS", facilities_launched="1", investment="5000", jobs_created="10", specialists_trained="3"),
]
TARGETS = [
    row("targets", project_code="UAS", indicator_code="domestic_share", year="2026", target_value="0.6"),
    row("targets", project_code="UAS", indicator_code="facilities_launched", year="2026", target_value="10"),
    row("targets", project_code="UAS", indicator_code="investment", year="2026", target_value="100000"),
    row("targets", project_code="UAS", indicator_code="jobs_created", year="2026", target_value="220"),
    row("targets", project_code="UAS", indicator_code="leadership_share", year="2026", target_value="0.85"),
    row("targets", project_code="UAS", indicator_code="sovereignty_index", year="2026", target_value="50"),
    row("targets", project_code="NMC", indicator_code="domestic_share", year="2026", target_value="0.5"),
]

# Hand arithmetic on the reports above.
Q_AIRCRAFT, M_AIRCRAFT, X_AIRCRAFT = 1000 + 600, 300 + 100, 50
C_AIRCRAFT = Q_AIRCRAFT + M_AIRCRAFT - X_AIRCRAFT  # 1950
Q_RADAR, M_RADAR, C_RADAR = 400, 600, 400 + 600 - 0
Q_AREA, M_AREA, X_AREA = Q_AIRCRAFT + Q_RADAR, M_AIRCRAFT + M_RADAR, X_AIRCRAFT
C_AREA = Q_AREA + M_AREA - X_AREA  # 2950
K_A = math.exp((2 * math.log(1.2) + 1 * math.log(1.5)) / 3)
K_B = math.exp((2 * math.log(0.8) + 1 * math.log(0.8)) / 3)
AREA_DOMESTIC_SHARE = 1 - M_AREA / C_AREA
AREA_LOCALISATION = 1 - (100 + 150 + 200) / (400 + 300 + 200)
AREA_TECHNOLOGY = 1000 / Q_AREA
AREA_LEADERSHIP = Q_AIRCRAFT / (Q_AIRCRAFT + Q_RADAR)  # aircraft is a leader, radar assessed
INDEX_UAS = 100 * (AREA_DOMESTIC_SHARE * AREA_LOCALISATION * AREA_TECHNOLOGY * AREA_LEADERSHIP) ** 0.25


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e_home")
    reports = [
        ("benchmarks", BENCHMARKS), ("targets", TARGETS), ("producer", PRODUCERS),
        ("trade", TRADE), ("regional", REGIONAL), ("characteristics", CHARACTERISTICS),
    ]
    for order, (kind, rows) in enumerate(reports):
        deliver(home, kind, f"{kind}.csv", csv_bytes(rows), order=order)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SOVEREIGNTY_HOME", str(home))
        env.setenv("SOVEREIGNTY_TODAY", TODAY.isoformat())
        assert main(["run"]) == 0
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def one(con, sql, *params):
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) == 1, rows
    return dict(zip(names, rows[0]))


def assert_close(actual: dict, expected: dict):
    for name, value in expected.items():
        got = actual[name]
        if value is None or isinstance(value, (bool, str)):
            assert got == value, name
        else:
            assert float(got) == pytest.approx(float(value), rel=1e-9, abs=1e-12), name


def test_product_independence_of_the_aircraft(marts):
    actual = one(marts, "select * from marts.product_independence where okpd2 = ? and period = '2026-Q1'", AIRCRAFT)
    assert_close(actual, {
        "year": 2026, "quarter": 1, "project_code": "UAS",
        "output_value": Q_AIRCRAFT, "imports": M_AIRCRAFT, "exports": X_AIRCRAFT, "apparent_consumption": C_AIRCRAFT,
        "import_dependency": M_AIRCRAFT / C_AIRCRAFT, "self_sufficiency": Q_AIRCRAFT / C_AIRCRAFT,
        "domestic_share": 1 - M_AIRCRAFT / C_AIRCRAFT, "import_hhi": (300 / 400) ** 2 + (100 / 400) ** 2,
        "top_partner_share": 300 / 400, "localisation": 1 - (100 + 150) / (400 + 300),
        "domestic_technology_share": 1000 / Q_AIRCRAFT, "rnd_intensity": (50 + 30) / Q_AIRCRAFT,
        "producer_count": 2, "top1_share": 1000 / Q_AIRCRAFT, "strategic_dependency": False,
        "consumption_nonpositive": False,
    })


def test_product_independence_of_the_radar_is_a_strategic_dependency(marts):
    actual = one(marts, "select * from marts.product_independence where okpd2 = ? and period = '2026-Q1'", RADAR)
    assert_close(actual, {
        "output_value": Q_RADAR, "imports": M_RADAR, "exports": 0, "apparent_consumption": C_RADAR,
        "import_dependency": 0.6, "self_sufficiency": 0.4, "domestic_share": 0.4, "import_hhi": 1.0,
        "top_partner_share": 1.0, "localisation": 0.0, "domestic_technology_share": 0.0, "rnd_intensity": 0.0,
        "producer_count": 1, "top1_share": 1.0, "strategic_dependency": True,
    })


def test_a_product_absent_from_the_files_has_zero_flows_and_null_ratios(marts):
    actual = one(marts, "select * from marts.product_independence where okpd2 = ? and period = '2026-Q1'", CELLS)
    assert_close(actual, {
        "output_value": 0, "imports": 0, "exports": 0, "apparent_consumption": 0, "consumption_nonpositive": True,
        "import_dependency": None, "self_sufficiency": None, "domestic_share": None, "import_hhi": None,
        "producer_count": 0,
    })


def test_area_independence_sums_products_before_taking_ratios(marts):
    actual = one(marts, "select * from marts.area_independence where project_code = 'UAS' and period = '2026-Q1'")
    assert_close(actual, {
        "output_value": Q_AREA, "imports": M_AREA, "exports": X_AREA, "apparent_consumption": C_AREA,
        "import_dependency": M_AREA / C_AREA, "self_sufficiency": Q_AREA / C_AREA, "domestic_share": AREA_DOMESTIC_SHARE,
        "import_hhi": (900 / 1000) ** 2 + (100 / 1000) ** 2, "top_partner_share": 900 / 1000,
        "localisation": AREA_LOCALISATION, "domestic_technology_share": AREA_TECHNOLOGY,
        "rnd_intensity": 80 / Q_AREA, "producer_count": 3, "top1_share": 1000 / Q_AREA, "strategic_dependencies": 1,
    })
    yearly = one(marts, "select * from marts.area_independence_yearly where project_code = 'UAS' and year = 2026")
    assert_close(yearly, {"quarters_reported": 1, "output_value": Q_AREA, "domestic_share": AREA_DOMESTIC_SHARE})


def test_product_leadership_uses_the_benchmark_in_force_and_the_cap(marts):
    aircraft = one(marts, "select * from marts.product_leadership where okpd2 = ? and year = 2026", AIRCRAFT)
    assert_close(aircraft, {
        "technical_level": max(K_A, K_B), "technical_level_median": (K_A + K_B) / 2,
        "producers_assessed": 2, "producers_incomplete": 1, "band": "leader", "output_value": Q_AIRCRAFT,
    })
    radar = one(marts, "select * from marts.product_leadership where okpd2 = ? and year = 2026", RADAR)
    assert_close(radar, {"technical_level": 30 / 50, "producers_assessed": 1, "band": "lagging"})


def test_area_leadership(marts):
    actual = one(marts, "select * from marts.area_leadership where project_code = 'UAS' and year = 2026")
    assert_close(actual, {
        "products_leader": 1, "products_comparable": 0, "products_lagging": 1, "products_not_assessed": 1,
        "products_assessed": 2, "leadership_share": AREA_LEADERSHIP,
    })


def test_regional_development(marts):
    moscow = one(marts, "select * from marts.regional_development where region_code = '77' and project_code = 'UAS' and period = '2026-Q1'")
    assert_close(moscow, {
        "facilities_launched": 2, "investment": Decimal("15000"), "jobs_created": 40, "specialists_trained": 12,
        "output_value": 1000 + 400, "producer_count": 2, "has_regional_report": True,
    })
    oblast = one(marts, "select * from marts.regional_development where region_code = '50' and project_code = 'UAS' and period = '2026-Q1'")
    assert_close(oblast, {"output_value": 600, "producer_count": 1, "has_regional_report": False})


def test_regional_complexity(marts):
    rows = {(r, p): (rca, m, d, u, eci) for r, p, rca, m, d, u, eci in marts.execute(
        "select region_code, okpd2, rca, presence, diversity, ubiquity, eci from marts.regional_complexity where year = 2026"
    ).fetchall()}
    assert rows[("77", AIRCRAFT)][:4] == (pytest.approx((1000 / 1400) / (1600 / 2000)), 0, 1, 1)
    assert rows[("77", RADAR)][:4] == (pytest.approx((400 / 1400) / (400 / 2000)), 1, 1, 1)
    assert rows[("50", AIRCRAFT)][:4] == (pytest.approx((600 / 600) / (1600 / 2000)), 1, 1, 1)
    # Two regions, one product each: ECI vector (0, 1) up to sign, mean 1/2, sample sd over the
    # 2 x 2 long table 0.5 x sqrt(4/3): the regions score +-0.5 / (0.5 x sqrt(4/3)).
    eci = {r: e for (r, _), (*_, e) in rows.items()}
    assert abs(eci["77"]) == pytest.approx(1 / math.sqrt(4 / 3))
    assert eci["77"] == pytest.approx(-eci["50"])


def test_the_complexity_is_computed_outside_dbt_into_the_homes_computed_layer(marts):
    """dbt reads the complexity as the source computed.regional_complexity: the file the pipeline
    wrote in the home, through a view. The mart holds exactly what the computation (and the dbt
    Python model it replaces) gives on the same input, with the mart's own types."""
    home = Path(marts.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0]).parent
    path = home / "computed" / "regional_complexity.parquet"
    assert path.is_file()
    assert marts.execute("select count(*) from duckdb_tables() where table_name = 'int_regional_complexity'").fetchone() == (0,)
    marts.execute(f"set file_search_path = '{home}'")  # as every connection of the pipeline (and docs/ingestion.md)
    view = marts.sql("select * from computed.regional_complexity order by all").pl()
    assert view.equals(pl.read_parquet(path).sort(view.columns))
    inputs = marts.sql("select year, region_code, okpd2, output_value from intermediate.int_region_product_yearly_output").pl()
    assert inputs.schema["output_value"] == pl.Decimal(18, 3)
    expected = economic_complexity(inputs, location="region_code", product="okpd2", value="output_value", period="year")
    assert view.equals(expected.sort(view.columns))
    mart = marts.sql("select year, region_code, okpd2, output_value, rca, presence, diversity, ubiquity, eci, pci "
                     "from marts.regional_complexity order by all").pl()
    assert mart.equals(expected.with_columns(pl.col("presence", "diversity", "ubiquity").cast(pl.Int32)).sort(mart.columns))
    assert mart.height == inputs.height == 3


def test_sovereignty_index_and_the_all_row(marts):
    uas = one(marts, "select * from marts.sovereignty_index where project_code = 'UAS' and year = 2026")
    assert_close(uas, {
        "independence": AREA_DOMESTIC_SHARE, "localisation": AREA_LOCALISATION, "technology": AREA_TECHNOLOGY,
        "leadership": AREA_LEADERSHIP, "sovereignty_index": INDEX_UAS, "missing_pillars": None,
    })
    nmc = one(marts, "select * from marts.sovereignty_index where project_code = 'NMC' and year = 2026")
    assert nmc["sovereignty_index"] is None and "independence" in nmc["missing_pillars"]
    everything = one(marts, "select * from marts.sovereignty_index where project_code = 'ALL' and year = 2026")
    assert_close(everything, {"sovereignty_index": INDEX_UAS, "areas_in_index": 1})  # UAS is the only area with S


def test_sovereignty_index_uncertainty(marts):
    uas = one(marts, "select * from marts.sovereignty_index_uncertainty where project_code = 'UAS' and year = 2026")
    # A weighted geometric mean lies between the smallest and the largest pillar.
    low, high = 100 * min(AREA_LOCALISATION, AREA_TECHNOLOGY), 100 * max(AREA_DOMESTIC_SHARE, AREA_LEADERSHIP)
    assert low <= uas["index_p05"] <= uas["index_p50"] <= uas["index_p95"] <= high
    assert (uas["median_rank"], uas["draws"]) == (1, 1000)


def test_project_progress_statuses(marts):
    uas = dict(marts.execute(
        "select indicator_code, status from marts.project_progress where project_code = 'UAS' and year = 2026"
    ).fetchall())
    # One quarter reported: flows are compared with a quarter of the target, ratios with the target.
    assert uas["domestic_share"] == "on_track"  # 0.661 >= 0.6, but not a complete year
    assert uas["facilities_launched"] == "on_track"  # 2 + 1 = 3 >= 10 x 1/4
    assert uas["investment"] == "off_track"  # 20000 < 0.9 x 100000 x 1/4
    assert uas["jobs_created"] == "at_risk"  # 50 >= 0.9 x 55, < 55
    assert uas["leadership_share"] == "at_risk"  # 0.8 >= 0.9 x 0.85, < 0.85
    assert uas["sovereignty_index"] == "on_track"  # INDEX_UAS ~ 60.3 >= 50
    nmc = one(marts, "select * from marts.project_progress where project_code = 'NMC' and indicator_code = 'domestic_share' and year = 2026")
    assert nmc["status"] == "no_data" and nmc["actual_value"] is None
    facilities = one(marts, "select * from marts.project_progress where project_code = 'UAS' and indicator_code = 'facilities_launched' and year = 2026")
    assert_close(facilities, {"actual_value": 3, "target_value": 10, "compared_target": 2.5, "achievement": 0.3, "quarters_reported": 1})


def test_data_quality_reports_per_load_and_rule(marts):
    producer = one(marts, "select * from marts.data_quality where file_name = 'producer.csv' and rule = 'inn.check_digits'")
    assert_close(producer, {"rows_read": 3, "rows_loaded": 3, "rows_checked": 3, "rows_failing": 0, "severity": "hard"})


REQUIRED_MARTS = {  # outputs.md, "Required marts"
    "product_independence", "area_independence", "product_leadership", "area_leadership", "regional_development",
    "regional_complexity", "project_progress", "sovereignty_index", "sovereignty_index_uncertainty", "data_quality",
}


def test_every_required_mart_is_there_with_every_column_documented_in_the_warehouse(marts):
    tables = {t for (t,) in marts.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
    assert REQUIRED_MARTS <= tables
    undocumented = marts.execute(
        "select table_name || '.' || column_name from duckdb_columns() where schema_name = 'marts' and coalesce(comment, '') = ''"
    ).fetchall()
    assert undocumented == []


def test_every_incremental_model_declares_exactly_its_columns(marts):
    """What lets a run rebuild an incremental model whose columns a new version changed
    (builds.drop_reshaped_incremental_tables): its YAML lists every column of its table. In the
    table's order, and with the type of the column it is partitioned by on Spark (period or
    year): Spark keeps that column as folder names, and the warehouse's view of a Spark table
    puts it back in its place and type (spark.folder_query)."""
    manifest = json.loads(Path(dbt_project().manifest_path).read_text())
    incremental = [node for node in manifest["nodes"].values()
                   if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"]
    assert len(incremental) > 10
    for node in incremental:
        columns = [c for (c,) in marts.execute("select column_name from duckdb_columns() where schema_name = ? "
                                               "and table_name = ? order by column_index", [node["schema"], node["name"]]).fetchall()]
        assert columns == list(node["columns"]), node["name"]
        grain = "year" if node["name"].endswith("_yearly") else "period"
        assert node["columns"][grain].get("data_type"), node["name"]


def test_every_dbt_unit_test_passes(marts, tmp_path):
    """Runs leave dbt's unit tests out (they test the SQL, not the data: they belong here, not in
    every production run). They run here against a copy of the warehouse these tests built,
    whose models give the unit tests their column types."""
    source = Path(marts.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0])
    settings = dataclasses.replace(Settings.from_env(), home=tmp_path)
    shutil.copy2(source, settings.warehouse)
    for folder in ("raw", "computed"):  # the raw and computed views' files, named relative to the home
        shutil.copytree(source.parent / folder, tmp_path / folder)
    result = run_dbt(settings, ["test", "--select", "test_type:unit", "--target-path", str(tmp_path / "target")],
                     capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-5000:]
    assert re.search(r"PASS=(\d+)", result.stdout) and int(re.search(r"PASS=(\d+)", result.stdout)[1]) >= 30
