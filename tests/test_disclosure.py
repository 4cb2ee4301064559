"""Disclosure control of the published extracts (metrics.md section 6, docs/disclosure.md).

Small marts are built by hand from a few enterprise rows (a model of the dbt marts, enough columns
for the extracts) to check the primary rules, the derived figures and secondary suppression. An
attacker who knows every linear relation between the published figures then tries to recover each
suppressed value, on those marts and on the demo warehouse built by the real pipeline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
import scipy.linalg
import scipy.sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from demo import generator as demo
from pipelines.command_line.cli import main
from pipelines.publication import disclosure
from pipelines.publication.audit import audit_release
from pipelines.publication.disclosure import DisclosurePolicy, complement_suppression, suppress, whole_unit_suppression
from pipelines.publication.extracts import CELL_FIGURES, build_extracts
from pipelines.publication.linked_table import LinkedTable
from pipelines.publication.protection import NO_PATTERN, ProtectionResult
from pipelines.publication.solutions import SolvedProblems, problem_key, remember_solutions, remembered_solutions
from pipelines.warehouse import create_schemas
from tests.conftest import TODAY

PUBLISHED = (
    "product_independence", "area_independence", "product_leadership", "area_leadership",
    "regional_development", "project_progress", "sovereignty_index", "sovereignty_index_uncertainty",
    "partner_exposure", "partner_exposure_yearly", "supply_stress", "risk_signals",
)
REGIONS = {"01": "Southern", "02": "Southern", "03": "Volga", "04": "Volga"}
QUARTERS = ("2025-Q1", "2025-Q2")
NO_CONTROL = DisclosurePolicy(min_producers=1, dominance_share=1.0)


# --- hand-built marts ----------------------------------------------------------------------------


@dataclass
class Scenario:
    products: dict[str, str]  # okpd2 -> priority area
    producers: list[tuple[str, str, str, str, float]]  # inn, okpd2, region, period, output
    bands: dict[str, tuple[str, int]] = field(default_factory=dict)  # okpd2 -> band, producers assessed


def producing(inns: list[str], okpd2: str, region: str, outputs: dict[str, float]) -> list[tuple]:
    return [(inn, okpd2, region, period, output) for inn in inns for period, output in outputs.items()]


def every_quarter(output: float) -> dict[str, float]:
    return dict.fromkeys(QUARTERS, output)


# AAA: a1 has two producers (threshold), a2 three, one of them with 900 of 1000 in Q2 (dominance),
# a3 four balanced producers, a4 none. BBB: b1 one producer, b2 and b3 three each, b4 none.
PRIMARY = Scenario(
    products={"a1": "AAA", "a2": "AAA", "a3": "AAA", "a4": "AAA", "b1": "BBB", "b2": "BBB", "b3": "BBB", "b4": "BBB"},
    producers=[
        *producing(["1001", "1002"], "a1", "01", every_quarter(100)),
        *producing(["1003"], "a2", "02", {"2025-Q1": 50, "2025-Q2": 900}),
        *producing(["1004", "1005"], "a2", "02", every_quarter(50)),
        *producing(["1006", "1007"], "a3", "03", every_quarter(300)),
        *producing(["1008", "1009"], "a3", "04", every_quarter(300)),
        *producing(["2001"], "b1", "01", every_quarter(80)),
        *producing(["2002", "2003", "2004"], "b2", "02", every_quarter(100)),
        *producing(["2005", "2006", "2007"], "b3", "03", every_quarter(200)),
    ],
    bands={
        "a1": ("leader", 2), "a2": ("leader", 3), "a3": ("comparable", 3), "a4": ("not_assessed", 0),
        "b1": ("leader", 1), "b2": ("comparable", 3), "b3": ("leader", 3), "b4": ("not_assessed", 0),
    },
)

# CCC: enterprise 3001 makes 2000 of the area's 2245 in Q1 (dominance of c1, of region 01 and of the
# area) but only 30 in Q2; every other cell has three balanced producers.
CASCADE = Scenario(
    products={"c1": "CCC", "c2": "CCC"},
    producers=[
        *producing(["3001"], "c1", "01", {"2025-Q1": 2000, "2025-Q2": 30}),
        *producing(["3002", "3003"], "c1", "01", {"2025-Q1": 10, "2025-Q2": 30}),
        *producing(["3004", "3005", "3006"], "c2", "02", every_quarter(20)),
        *producing(["3007", "3008", "3009"], "c2", "03", every_quarter(30)),
        *producing(["3010", "3011", "3012"], "c2", "04", every_quarter(25)),
    ],
    bands={"c1": ("leader", 3), "c2": ("leader", 3)},
)

SUMS = ["output_value", "components_cost", "imported_components_cost", "domestic_technology_output_value", "rnd_expenses"]
TECHNICAL_LEVELS = {"leader": 1.1, "comparable": 0.9, "lagging": 0.5, "not_assessed": None}


def ratio(numerator: str | pl.Expr, denominator: str | pl.Expr) -> pl.Expr:
    numerator, denominator = (pl.col(e) if isinstance(e, str) else e for e in (numerator, denominator))
    return pl.when(denominator != 0).then(numerator / denominator)


def flows(rows: pl.DataFrame, grid: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sums over producers, producer_count and top1_share per cell (int_cell_producer_totals)."""
    by_inn = rows.group_by(*keys, "inn").agg(pl.col(SUMS).sum())
    totals = by_inn.group_by(keys).agg(
        pl.col(SUMS).sum(), producer_count=(pl.col("output_value") > 0).sum(), top=pl.col("output_value").max()
    )
    cells = grid.join(totals, on=keys, how="left").with_columns(pl.col(*SUMS, "producer_count").fill_null(0))
    return cells.with_columns(top1_share=ratio("top", "output_value")).drop("top")


def independence(cells: pl.DataFrame) -> pl.DataFrame:
    """The ratios of metrics.md section 1 (int_independence)."""
    c = pl.col("output_value") + pl.col("imports") - pl.col("exports")
    import_dependency = pl.when(c > 0).then(pl.col("imports") / c)
    return cells.with_columns(
        apparent_consumption=c,
        consumption_nonpositive=c <= 0,
        import_dependency=import_dependency,
        self_sufficiency=pl.when(c > 0).then(pl.col("output_value") / c),
        domestic_share=1 - import_dependency,
        localisation=1 - ratio("imported_components_cost", "components_cost"),
        domestic_technology_share=ratio("domestic_technology_output_value", "output_value"),
        rnd_intensity=ratio("rnd_expenses", "output_value"),
        strategic_dependency=import_dependency > 0.5,
    )


def early_warning_marts(product_quarters: pl.DataFrame, area_quarters: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """partner_exposure and supply_stress with one partner (CN) supplying a third of every cell's
    imports, and risk_signals with a localisation and a dependency signal for every product and
    area from Q1 to Q2 (thresholds do not matter to disclosure control), and a late region."""
    cells = pl.concat([
        product_quarters.select("period", "year", "quarter", "imports", "apparent_consumption", "import_dependency",
                                "localisation", level=pl.lit("product"), code="okpd2", project_code="project_code"),
        area_quarters.select("period", "year", "quarter", "imports", "apparent_consumption", "import_dependency",
                             "localisation", level=pl.lit("area"), code="project_code", project_code="project_code"),
    ])
    exposure = cells.select(
        "period", "year", "quarter", "level", "code", "project_code",
        partner_type=pl.lit("country"), partner_code=pl.lit("CN"), partner_imports=pl.col("imports") / 3,
        partner_countries=pl.lit(1), imports="imports", apparent_consumption="apparent_consumption",
        consumption_share=ratio(pl.col("imports") / 3, "apparent_consumption"), import_share=pl.lit(1 / 3),
        within_group_hhi=pl.lit(None, pl.Float64),
    )
    stress = exposure.select(
        "period", "year", "quarter", "level", "code", "project_code", "partner_type", "partner_code", "partner_imports",
        unmet_share="consumption_share",
        import_dependency_after=ratio(pl.col("imports") * 2 / 3, pl.col("apparent_consumption") - pl.col("partner_imports")),
        import_hhi_after=pl.lit(1.0),
        strategic_dependency_before=pl.lit(False), strategic_dependency_after=pl.lit(False),
        becomes_strategic_dependency=pl.lit(False), products_becoming_strategic=pl.lit(0),
        output_share_affected=pl.lit(0.5),
    )
    before, after = (cells.filter(period=period) for period in QUARTERS)
    pairs = after.join(before, on=["level", "code", "project_code"], suffix="_before")
    signals = pl.concat([
        pairs.select(
            "period", "period_before", "level", "code", "project_code", subject=pl.lit(None, pl.String),
            signal_type=pl.lit(signal_type), severity=pl.lit("medium"),
            value_before=f"{figure}_before", value_after=figure, threshold=pl.lit(0.1), message=pl.lit(signal_type),
        )
        for signal_type, figure in (("localisation_fall", "localisation"), ("import_dependency_rise_quarter", "import_dependency"))
    ] + [pl.DataFrame({
        "period": [QUARTERS[-1]], "period_before": [None], "level": ["region"], "code": ["01"], "project_code": [None],
        "subject": [None], "signal_type": ["report_late"], "severity": ["medium"], "value_before": [None],
        "value_after": [None], "threshold": [None], "message": ["late"],
    })], how="diagonal_relaxed")
    yearly = exposure.group_by("year", "level", "code", "project_code", "partner_type", "partner_code").agg(
        pl.col("partner_imports", "imports", "apparent_consumption").sum(), quarters_reported=pl.len(),
    ).with_columns(
        partner_countries=pl.lit(1), consumption_share=ratio("partner_imports", "apparent_consumption"),
        import_share=ratio("partner_imports", "imports"), within_group_hhi=pl.lit(None, pl.Float64),
    )
    return {"marts.partner_exposure": exposure, "marts.partner_exposure_yearly": yearly, "marts.supply_stress": stress,
            "marts.risk_signals": signals}


def write_marts(con: duckdb.DuckDBPyConnection, scenario: Scenario) -> None:
    """The eleven published marts, reference.regions and raw.producer of a scenario."""
    products = pl.DataFrame({"okpd2": list(scenario.products), "project_code": list(scenario.products.values())})
    products = products.with_row_index("rank").with_columns(imports=100.0 * (pl.col("rank") + 1), exports=pl.lit(10.0))
    periods = pl.DataFrame({"period": QUARTERS}).with_columns(
        year=pl.col("period").str.slice(0, 4).cast(pl.Int32), quarter=pl.col("period").str.slice(6, 1).cast(pl.Int32)
    )
    rows = pl.DataFrame(scenario.producers, schema=["inn", "okpd2", "region_code", "period", "output_value"], orient="row")
    rows = rows.join(products.select("okpd2", "project_code"), on="okpd2").join(periods, on="period").with_columns(
        components_cost=pl.col("output_value") / 2,
        imported_components_cost=pl.col("output_value") / 8,
        domestic_technology_output_value=pl.col("output_value") / 4,
        rnd_expenses=pl.col("output_value") / 20,
    )
    product_grid = products.join(periods, how="cross")
    product_quarters = independence(flows(rows, product_grid, ["okpd2", "project_code", "period", "year", "quarter"]))
    area_grid = product_grid.group_by("project_code", "period", "year", "quarter").agg(pl.col("imports", "exports").sum())
    area_quarters = independence(flows(rows, area_grid, ["project_code", "period", "year", "quarter"])).join(
        product_quarters.group_by("project_code", "period").agg(strategic_dependencies=pl.col("strategic_dependency").sum()),
        on=["project_code", "period"],
    )
    area_years = independence(area_quarters.group_by("project_code", "year").agg(pl.col(*SUMS, "imports", "exports").sum()))
    # the yearly cells, for the primary rules (producers and the largest one over the year)
    year_grid = products.join(periods.select("year").unique(), how="cross")
    product_years = flows(rows, year_grid.select("okpd2", "project_code", "year"), ["okpd2", "project_code", "year"])
    area_year_cells = flows(rows, year_grid.select("project_code", "year").unique(), ["project_code", "year"])

    bands = pl.DataFrame(
        [(okpd2, *scenario.bands.get(okpd2, ("not_assessed", 0))) for okpd2 in scenario.products],
        schema=["okpd2", "band", "producers_assessed"], orient="row",
    ).with_columns(technical_level=pl.col("band").replace_strict(TECHNICAL_LEVELS, return_dtype=pl.Float64))
    product_leadership = (
        product_quarters.group_by("okpd2", "project_code", "year").agg(pl.col("output_value").sum())
        .join(bands, on="okpd2")
        .with_columns(technical_level_median=pl.col("technical_level") - 0.1)
    )
    assessed = pl.col("band") != "not_assessed"
    area_leadership = product_leadership.group_by("project_code", "year").agg(
        assessed_output_value=pl.col("output_value").filter(assessed).sum(),
        leader_output_value=pl.col("output_value").filter(pl.col("band") == "leader").sum(),
    ).with_columns(leadership_share=ratio("leader_output_value", "assessed_output_value"))

    pillars = area_years.join(area_leadership, on=["project_code", "year"]).select(
        "project_code", "year", "apparent_consumption",
        independence="domestic_share", localisation="localisation", technology="domestic_technology_share",
        leadership="leadership_share",
    ).with_columns(
        pl.col(pillar).clip(0.01, 1).alias(f"{pillar}_clamped") for pillar in ("independence", "localisation", "technology", "leadership")
    )
    areas_index = pillars.with_columns(
        missing_pillar_count=pl.sum_horizontal(pl.col("independence", "localisation", "technology", "leadership").is_null()),
        sovereignty_index=100 * pl.fold(1.0, lambda product, pillar: product * pillar, pl.col("^.*_clamped$")) ** 0.25,
        **{f"weight_{pillar}": pl.lit(0.25) for pillar in PILLARS},
    )
    national = areas_index.group_by("year").agg(
        apparent_consumption=pl.col("apparent_consumption").sum(),
        sovereignty_index=(pl.col("apparent_consumption") * pl.col("sovereignty_index")).sum() / pl.col("apparent_consumption").sum(),
    ).with_columns(project_code=pl.lit("ALL"))
    sovereignty_index = pl.concat([areas_index, national], how="diagonal_relaxed")
    uncertainty = sovereignty_index.select(
        "project_code", "year",
        index_p05=0.9 * pl.col("sovereignty_index"), index_p50="sovereignty_index", index_p95=1.1 * pl.col("sovereignty_index"),
        median_rank=pl.when(pl.col("project_code") != "ALL").then(pl.col("sovereignty_index").rank(descending=True)),
    )
    actuals = {
        "domestic_share": pl.col("independence"), "localisation": pl.col("localisation"),
        "domestic_technology_share": pl.col("technology"), "leadership_share": pl.col("leadership"),
        "sovereignty_index": pl.col("sovereignty_index"), "investment": pl.lit(1000.0),
    }
    targets = {"sovereignty_index": 60.0, "investment": 2000.0}
    project_progress = pl.concat(
        areas_index.select(
            "project_code", "year", indicator_code=pl.lit(indicator), target_value=pl.lit(targets.get(indicator, 0.5)),
            actual_value=actual.cast(pl.Float64),
        )
        for indicator, actual in actuals.items()
    ).with_columns(
        achievement=pl.col("actual_value") / pl.col("target_value"),
        status=pl.when(pl.col("actual_value") >= pl.col("target_value")).then(pl.lit("on_track")).otherwise(pl.lit("off_track")),
    )
    region_grid = rows.select("region_code", "project_code", "period", "year").unique()
    regional = flows(rows, region_grid, ["region_code", "project_code", "period", "year"]).select(
        "period", "year", "region_code", "project_code", "output_value", "producer_count", "top1_share",
        investment=pl.lit(500.0),
    )
    tables = {
        "marts.product_independence": product_quarters.drop("rank", "domestic_technology_output_value"),
        "marts.area_independence": area_quarters.drop("domestic_technology_output_value"),
        "marts.product_independence_yearly": product_years,
        "marts.area_independence_yearly": area_year_cells,
        "marts.product_leadership": product_leadership,
        "marts.area_leadership": area_leadership,
        "marts.regional_development": regional,
        "marts.project_progress": project_progress,
        "marts.sovereignty_index": sovereignty_index,
        "marts.sovereignty_index_uncertainty": uncertainty,
        **early_warning_marts(product_quarters, area_quarters),
        "reference.regions": pl.DataFrame({"region_code": list(REGIONS), "federal_district": list(REGIONS.values())}),
        "raw.producer": rows.select("inn", "period", enterprise_name=pl.format("АО «Завод {}»", "inn")),
    }
    for schema in ("marts", "reference", "raw"):
        con.execute(f"create schema if not exists {schema}")
    for table, frame in tables.items():
        con.execute(f"create or replace table {table} as select * from frame")


@pytest.fixture
def marts(request) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    write_marts(con, request.param)
    yield con
    con.close()


def suppressed(frame: pl.DataFrame, *keys: str) -> set:
    return set(frame.filter("suppressed").select(keys).iter_rows())


def published(frames: dict[str, pl.DataFrame], name: str, figure: str, **where) -> list:
    """The published (value, flag) pairs of a figure in the rows matching where."""
    rows = frames[name].filter(**where)
    assert rows.height, (name, where)
    return list(zip(rows[figure], rows[f"{figure}_flag"]))


def frames_of(con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy = DisclosurePolicy(), whole_unit: bool = False) -> dict[str, pl.DataFrame]:
    """The published extracts, by secondary suppression by optimisation or by the whole-unit method."""
    suppression = whole_unit_suppression(con, policy) if whole_unit else None
    return {name: extract.frame for name, extract in build_extracts(con, policy, suppression).items()}


# --- (1) primary rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
@pytest.mark.parametrize(
    ("policy", "confidential"),
    [
        # a1: two producers; a2 in Q2: 900 of 1000; b1: one producer
        (DisclosurePolicy(), {("a1", "2025-Q1"), ("a1", "2025-Q2"), ("a2", "2025-Q2"), ("b1", "2025-Q1"), ("b1", "2025-Q2")}),
        (DisclosurePolicy(min_producers=2), {("a2", "2025-Q2"), ("b1", "2025-Q1"), ("b1", "2025-Q2")}),
        (DisclosurePolicy(dominance_share=0.9), {("a1", "2025-Q1"), ("a1", "2025-Q2"), ("b1", "2025-Q1"), ("b1", "2025-Q2")}),
        (DisclosurePolicy(min_producers=4), {
            ("a1", "2025-Q1"), ("a1", "2025-Q2"), ("a2", "2025-Q1"), ("a2", "2025-Q2"),
            ("b1", "2025-Q1"), ("b1", "2025-Q2"), ("b2", "2025-Q1"), ("b2", "2025-Q2"), ("b3", "2025-Q1"), ("b3", "2025-Q2"),
        }),
        (NO_CONTROL, set()),
    ],
)
def test_threshold_and_dominance_rules_mark_exactly_their_cells(marts, policy, confidential):
    cells = marts.sql("select okpd2, period, producer_count, top1_share from marts.product_independence").pl()
    # a4 and b4 have no producer: nothing about an enterprise to disclose
    assert set(cells.filter(policy.output_confidential()).select("okpd2", "period").iter_rows()) == confidential


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_the_rules_apply_to_every_published_cell(marts):
    regions = marts.sql("select region_code, project_code, period, producer_count, top1_share from marts.regional_development").pl()
    confidential = regions.filter(DisclosurePolicy().output_confidential()).select("region_code", "project_code", "period")
    # two producers per region in AAA's 01, 03 and 04; 02 is dominated by 1003 in Q2; BBB's 01 has one
    assert set(confidential.iter_rows()) == {
        *((region, "AAA", period) for region in ("01", "03", "04") for period in QUARTERS),
        ("02", "AAA", "2025-Q2"), ("01", "BBB", "2025-Q1"), ("01", "BBB", "2025-Q2"),
    }
    areas = marts.sql("select project_code, producer_count, top1_share from marts.area_independence").pl()
    assert areas.filter(DisclosurePolicy().output_confidential()).is_empty()
    assert areas.filter(DisclosurePolicy(min_producers=8).output_confidential())["project_code"].unique().to_list() == ["BBB"]


def test_technical_level_is_confidential_below_the_threshold_of_producers_assessed():
    assessed = pl.DataFrame({"producers_assessed": [0, 1, 2, 3]})
    assert assessed.select(DisclosurePolicy().technical_level_confidential()).to_series().to_list() == [False, True, True, False]
    assert assessed.select(DisclosurePolicy(min_producers=4).technical_level_confidential()).to_series().to_list() == [False, True, True, True]


def test_a_policy_out_of_range_is_refused():
    with pytest.raises(ValueError):
        DisclosurePolicy(min_producers=0)
    with pytest.raises(ValueError):
        DisclosurePolicy(dominance_share=1.5)


# --- (2) derived figures -------------------------------------------------------------------------


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_every_figure_of_a_confidential_cell_is_suppressed_and_customs_figures_stay(marts):
    frames = frames_of(marts)
    a1 = frames["product_independence"].filter(okpd2="a1")
    for figure in (*CELL_FIGURES, "strategic_dependency"):
        assert a1[figure].null_count() == 2 and a1[f"{figure}_flag"].to_list() == ["c", "c"], figure
    assert a1["imports"].to_list() == [100.0, 100.0] and a1["exports"].to_list() == [10.0, 10.0]
    for frame in frames.values():
        assert "top1_share" not in frame.columns
    # the area is published, but its count of strategic dependencies would give a1's and a2's flags away
    area = frames["area_independence"].filter(project_code="AAA")
    assert area["output_value_flag"].null_count() == 2 and area["strategic_dependencies_flag"].to_list() == ["c", "c"]


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_early_warning_extracts_hide_what_gives_a_confidential_cell_away(marts):
    """Exposure and stress rows follow their product-quarter's status; a signal about a hidden
    product-quarter (in either period compared) is left out whole, every other one is published."""
    frames = frames_of(marts)
    statuses = suppress(marts, DisclosurePolicy())
    hidden = {(okpd2, period) for okpd2, period, suppressed
              in statuses.product_quarters.select("okpd2", "period", "suppressed").iter_rows() if suppressed}
    assert hidden  # the scenario has confidential products: the test would prove nothing otherwise
    exposure = frames["partner_exposure"].filter(level="product")
    assert exposure.height
    for row in exposure.iter_rows(named=True):
        secret = (row["code"], row["period"]) in hidden
        assert (row["consumption_share_flag"] == "c") == secret and (row["consumption_share"] is None) == secret
        assert row["partner_imports"] is not None and row["import_share"] is not None  # customs figures stay
    for row in frames["supply_stress"].filter(level="product").iter_rows(named=True):
        assert (row["unmet_share_flag"] == "c") == ((row["code"], row["period"]) in hidden)
    cell_signals = ("strategic_dependency_new", "import_dependency_rise_quarter", "import_dependency_rise_year",
                    "localisation_fall", "domestic_technology_fall")
    mart = marts.sql("select * from marts.risk_signals").pl()
    about_hidden = pl.struct("code", "period").map_elements(lambda r: (r["code"], r["period"]) in hidden, return_dtype=pl.Boolean)
    before_hidden = pl.struct("code", "period_before").map_elements(
        lambda r: (r["code"], r["period_before"]) in hidden, return_dtype=pl.Boolean)
    left_out = (pl.col("level") == "product") & pl.col("signal_type").is_in(cell_signals) & (about_hidden | before_hidden)
    expected = mart.filter(~left_out.fill_null(False))
    signals = frames["risk_signals"]
    assert mart.height > expected.height > 0  # some signals are left out, some published
    assert signals.select(sorted(expected.columns)).sort(pl.all()).equals(expected.select(sorted(expected.columns)).sort(pl.all()))
    assert signals.filter(signal_type="report_late").height == 1
    assert not [column for column in signals.columns if column.endswith("_flag")]


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_the_whole_unit_method_hides_a_dominated_quarters_whole_year(marts):
    frames = frames_of(marts, whole_unit=True)
    # a2 is dominated in Q2 only; Q1 and the yearly output (product_leadership) would give Q2 away
    assert published(frames, "product_independence", "output_value", okpd2="a2") == [(None, "c"), (None, "c")]
    assert published(frames, "product_leadership", "output_value", okpd2="a2") == [(None, "c")]
    assert published(frames, "product_leadership", "output_value", okpd2="a3") == [(2400.0, None)]


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_technical_levels_of_fewer_than_three_assessed_producers_are_suppressed(marts):
    frames = frames_of(marts)
    assert published(frames, "product_leadership", "technical_level", okpd2="a1") == [(None, "c")]  # 2 assessed
    assert published(frames, "product_leadership", "technical_level_median", okpd2="b1") == [(None, "c")]  # 1
    assert published(frames, "product_leadership", "technical_level", okpd2="a2") == [(1.1, None)]  # 3
    assert published(frames, "product_leadership", "technical_level", okpd2="a4") == [(None, None)]  # none: no figure
    assert frames["product_leadership"]["band"].null_count() == 0  # bands stay (docs/disclosure.md)


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_leadership_index_and_progress_follow_the_figures_they_are_computed_from(marts):
    frames = frames_of(marts, whole_unit=True)
    # AAA: its two suppressed products are both leaders, so the leader total covers two hidden values
    assert published(frames, "area_leadership", "leadership_share", project_code="AAA")[0][1] is None
    # BBB: b1 (leader) and its complement b2 (comparable) are alone in their band classes
    assert published(frames, "area_leadership", "leadership_share", project_code="BBB") == [(None, "c")]
    assert "leader_output_value" not in frames["area_leadership"].columns
    for figure in ("leadership", "leadership_clamped", "sovereignty_index"):
        assert published(frames, "sovereignty_index", figure, project_code="BBB") == [(None, "c")]
    assert published(frames, "sovereignty_index", "independence", project_code="BBB")[0][1] is None
    # the ALL index averages the areas': with BBB's hidden it is hidden too; its consumption is the
    # sum of the areas', all published
    assert published(frames, "sovereignty_index", "sovereignty_index", project_code="ALL") == [(None, "c")]
    assert published(frames, "sovereignty_index", "apparent_consumption", project_code="ALL")[0][1] is None
    assert published(frames, "sovereignty_index", "sovereignty_index", project_code="AAA")[0][1] is None
    for code, hidden in (("AAA", None), ("BBB", "c"), ("ALL", "c")):
        assert published(frames, "sovereignty_index_uncertainty", "index_p50", project_code=code)[0][1] == hidden
    progress = frames["project_progress"].filter(project_code="BBB")
    hidden = {row["indicator_code"]: row["achievement_flag"] for row in progress.iter_rows(named=True)}
    assert hidden == {
        "leadership_share": "c", "sovereignty_index": "c", "domestic_share": None, "localisation": None,
        "domestic_technology_share": None, "investment": None,
    }
    assert progress.filter(indicator_code="sovereignty_index")["status"].to_list() == [None]


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_suppressed_cells_counts_the_flags_and_no_control_flags_nothing(marts):
    extracts = build_extracts(marts, DisclosurePolicy())
    for extract in extracts.values():
        flags = extract.frame.select(pl.col("^.*_flag$"))
        assert extract.suppressed_cells == sum(flags[name].count() for name in flags.columns)
        assert set(flags.unpivot()["value"].drop_nulls()) <= {"c"}
    assert extracts["product_independence"].suppressed_cells > 0
    assert all(extract.suppressed_cells == 0 for extract in build_extracts(marts, NO_CONTROL).values())


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_extracts_have_a_deterministic_row_and_column_order(marts):
    first, second = build_extracts(marts, DisclosurePolicy()), build_extracts(marts, DisclosurePolicy())
    for name in PUBLISHED:
        assert first[name].frame.equals(second[name].frame)
    columns = first["product_independence"].frame.columns
    assert columns[columns.index("output_value") + 1] == "output_value_flag"
    assert first["product_independence"].frame["period", "okpd2"].rows() == sorted(first["product_independence"].frame["period", "okpd2"].rows())


# --- (3) secondary suppression -------------------------------------------------------------------


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_a_lone_suppressed_product_gets_the_smallest_nonzero_complement_by_whole_units(marts):
    result = whole_unit_suppression(marts, DisclosurePolicy())
    # AAA: a1 and a2 already hide each other. BBB: b1 alone; b4 (0) would be guessed, b2 < b3
    assert suppressed(result.product_years, "okpd2") == {("a1",), ("a2",), ("b1",), ("b2",)}
    assert not result.area_years["output_suppressed"].any()
    # the districts: AAA Q1 has 01 (two producers) beside 02; BBB 01 (one producer) beside 02
    regions = suppressed(result.regional_cells, "region_code", "project_code", "period")
    assert ("02", "AAA", "2025-Q1") in regions and ("02", "BBB", "2025-Q1") in regions and ("03", "BBB", "2025-Q1") not in regions


def test_complements_are_added_until_no_group_has_exactly_one():
    units = pl.DataFrame({
        "unit": ["A", "B", "C", "D", "E", "F"],
        "q": [10.0, 5.0, 3.0, 8.0, 1.0, 0.0],
        "suppressed": [True, False, False, False, False, False],
    })
    # A's group takes C (smallest); C's takes D; D's takes E, not F (zero)
    groups = [pl.DataFrame({"group": ["g1"] * 3 + ["g2"] * 2 + ["g3"] * 3, "unit": ["A", "B", "C", "C", "D", "D", "E", "F"]})]
    assert complement_suppression(units, groups).filter("suppressed")["unit"].sort().to_list() == ["A", "C", "D", "E"]


@pytest.mark.parametrize("marts", [CASCADE], indirect=True)
def test_whole_unit_suppression_iterates_across_areas_quarters_and_districts(marts):
    result = whole_unit_suppression(marts, DisclosurePolicy())
    # Q1: 3001 dominates c1, region 01 and the area. The area hides its whole year, Q2 included, so
    # in Q2 the area's regions must hide one region (02, the smallest), whose district then needs 01.
    assert suppressed(result.product_years, "okpd2") == {("c1",)}
    assert result.area_years["output_suppressed"].to_list() == [True]
    assert suppressed(result.regional_cells, "region_code", "period") == {
        ("01", "2025-Q1"), ("02", "2025-Q1"), ("01", "2025-Q2"), ("02", "2025-Q2"),
    }
    # c1 is the only leader suppressed: leadership would be the area's hidden output minus c2
    assert result.area_years["leadership_suppressed"].to_list() == [True]


# --- (4) the attacker ----------------------------------------------------------------------------


FIGURES = {"Q": "output_value", "comp": "components_cost", "imp": "imported_components_cost", "rnd": "rnd_expenses"}


class Attack:
    """An outsider holding the published extracts: every linear relation between published and
    hidden figures, solved for the hidden ones. Variables are tuples (figure, level, *key)."""

    def __init__(self):
        self.equations: list[tuple[dict, float]] = []
        self.inequalities: list[tuple[dict, float]] = []  # sum(c * v) <= rhs
        self.targets: dict[tuple, str] = {}  # hidden figure -> where it is published
        self.absent: set[tuple] = set()  # figures that do not exist (NULL without a flag)
        self.inconsistency = 0.0
        # hidden area index (code, year) -> its interval given the published ALL index
        self.index_intervals: dict[tuple, tuple[float, float]] = {}

    def read(self, var: tuple, row: dict, column: str) -> None:
        value, flag = row[column], row.get(f"{column}_flag")
        if flag == "c":
            self.targets[var] = column
        elif value is None:
            self.absent.add(var)
        else:
            self.equation({var: 1.0}, value)

    def equation(self, coefficients: dict, rhs: float = 0.0) -> None:
        if not self.absent.intersection(coefficients):
            self.equations.append((coefficients, rhs))

    def total(self, total: tuple, parts: list[tuple]) -> None:
        self.equation({total: 1.0, **{part: -1.0 for part in parts}})

    def at_most(self, coefficients: dict, rhs: float = 0.0) -> None:
        self.inequalities.append((coefficients, rhs))

    def substituted(self) -> tuple[dict[tuple, float], list[tuple], np.ndarray, np.ndarray]:
        """The figures fixed one by one (equations with one unknown left), and the rest of the
        system in them: unknowns, matrix and right-hand side."""
        known: dict[tuple, float] = {}
        pending, progress = self.equations, True
        while progress:  # equations with one unknown left fix it
            progress, rest = False, []
            for coefficients, rhs in pending:
                unknown = [var for var, c in coefficients.items() if var not in known and abs(c) > 1e-12]
                rest_rhs = rhs - sum(c * known[var] for var, c in coefficients.items() if var in known)
                if len(unknown) == 1:
                    known[unknown[0]] = rest_rhs / coefficients[unknown[0]]
                    progress = True
                elif unknown:
                    rest.append((coefficients, rhs))
                else:
                    self.check(rest_rhs, rhs)
            pending = rest
        unknowns = sorted({var for coefficients, _ in pending for var in coefficients if var not in known}, key=str)
        index = {var: i for i, var in enumerate(unknowns)}
        a, b = np.zeros((len(pending), len(unknowns))), np.zeros(len(pending))
        for row, (coefficients, rhs) in enumerate(pending):
            b[row] = rhs - sum(c * known[var] for var, c in coefficients.items() if var in known)
            for var, c in coefficients.items():
                if var in index:
                    a[row, index[var]] = c
        return known, unknowns, a, b

    def system(self) -> tuple[dict[tuple, float], list[tuple], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """substituted(), and the inequalities in the unknowns left: matrix and right-hand side."""
        known, unknowns, a, b = self.substituted()
        index = {var: i for i, var in enumerate(unknowns)}
        c, d = np.zeros((len(self.inequalities), len(unknowns))), np.zeros(len(self.inequalities))
        for row, (coefficients, rhs) in enumerate(self.inequalities):
            d[row] = rhs - sum(k * known[var] for var, k in coefficients.items() if var in known)
            for var, k in coefficients.items():
                if var in index:
                    c[row, index[var]] = k
        return known, unknowns, a, b, c, d

    def intervals(self) -> dict[tuple, tuple[float, float]]:
        """The lowest and highest value of each hidden figure the equations and inequalities leave,
        with every figure >= 0 (all are sums of enterprise figures): two LPs per figure, over the
        relations linked to it."""
        known, unknowns, a, b, c, d = self.system()
        found = {var: (v, v) for var, v in known.items() if var in self.targets}
        for columns, rows, inequalities in self.components(a, c):
            for position, column in enumerate(columns):
                if unknowns[column] not in self.targets:
                    continue
                objective = np.zeros(len(columns))
                objective[position] = 1.0
                lowest = self.optimum(objective, a[np.ix_(rows, columns)], b[rows], c[np.ix_(inequalities, columns)], d[inequalities])
                highest = self.optimum(-objective, a[np.ix_(rows, columns)], b[rows], c[np.ix_(inequalities, columns)], d[inequalities])
                found[unknowns[column]] = (lowest[0], -highest[0])
        return found

    @staticmethod
    def components(a: np.ndarray, c: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The unknowns in groups linked by an equation or inequality, with those rows."""
        if not a.shape[1]:
            return []
        matrix = np.abs(np.vstack([a, c]))
        count, labels = connected_components(scipy.sparse.csr_array(matrix.T @ matrix > 0), directed=False)
        groups = []
        for label in range(count):
            columns = np.flatnonzero(labels == label)
            groups.append((columns, np.flatnonzero(np.abs(a[:, columns]).sum(axis=1) > 0),
                           np.flatnonzero(np.abs(c[:, columns]).sum(axis=1) > 0)))
        return groups

    @staticmethod
    def optimum(objective, a, b, c, d) -> tuple[float, np.ndarray | None]:
        """min objective . x over the figures >= 0 (inf and None when unbounded)."""
        lp = linprog(objective, A_eq=a, b_eq=b, A_ub=c if len(d) else None, b_ub=d if len(d) else None,
                     bounds=(0, None), method="highs")
        assert lp.status in (0, 3), lp.message
        return (lp.fun, lp.x) if lp.status == 0 else (-np.inf, None)

    def ratio_range(self, numerator: tuple, denominator: tuple) -> tuple[float, float]:
        """The lowest and highest numerator / denominator (figures >= 0, denominator > 0), by
        Dinkelbach's iterations: t <- the ratio at the optimum of numerator - t * denominator."""
        known, unknowns, a, b, c, d = self.system()
        if numerator in known and denominator in known:
            return (known[numerator] / known[denominator],) * 2
        index = {var: i for i, var in enumerate(unknowns)}
        columns, rows, inequalities = next(group for group in self.components(a, c)
                                           if index.get(numerator, index.get(denominator)) in group[0])
        local = {var: position for position, var in enumerate(unknowns[i] for i in columns)}
        ends = []
        for sign in (1.0, -1.0):  # lowest, highest
            def value(x, var):
                return x[local[var]] if var in local else known[var]

            t = None
            for _ in range(50):
                objective = np.zeros(len(columns))
                for var, k in ((numerator, 1.0), (denominator, -(t or 0.0))):
                    if var in local:
                        objective[local[var]] += sign * k
                _, x = self.optimum(objective, a[np.ix_(rows, columns)], b[rows], c[np.ix_(inequalities, columns)], d[inequalities])
                if x is None:  # the numerator's complement (or itself) grows without bound
                    t = 0.0 if sign > 0 else 1.0
                    break
                ratio = value(x, numerator) / value(x, denominator)
                if t is not None and abs(ratio - t) < 1e-12:
                    break
                t = ratio
            ends.append(t)
        return ends[0], ends[1]

    def determined(self) -> dict[tuple, float]:
        """The hidden figures the equations fix, with their values."""
        known, unknowns, a, b = self.substituted()
        if unknowns:
            index = {var: i for i, var in enumerate(unknowns)}
            solution = np.linalg.lstsq(a, b, rcond=None)[0]
            self.check(np.abs(a @ solution - b).max(), np.abs(b).max())
            free = scipy.linalg.null_space(a)
            fixed = np.abs(free).max(axis=1, initial=0) < 1e-8
            known.update((var, solution[i]) for var, i in index.items() if fixed[i])
        return {var: value for var, value in known.items() if var in self.targets}

    def check(self, residual: float, scale: float) -> None:
        """The attacker's relations must hold on the published figures, or the attack proves nothing."""
        self.inconsistency = max(self.inconsistency, abs(residual) / max(1.0, abs(scale)))


def value(row: dict, column: str) -> float | None:
    """A published figure (None when hidden or NULL)."""
    return row[column] if row.get(f"{column}_flag") is None else None


def attack(extracts: dict[str, pl.DataFrame]) -> Attack:
    frames = {name: frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64)) for name, frame in extracts.items()}
    attacker = Attack()
    products, areas = frames["product_independence"], frames["area_independence"]
    for frame, level, key in ((products, "product", "okpd2"), (areas, "area", "project_code")):
        for row in frame.iter_rows(named=True):
            read_cell(attacker, (level, row[key], row["period"]), row)
    for row in frames["product_leadership"].iter_rows(named=True):
        attacker.read(("Q", "product-year", row["okpd2"], row["year"]), row, "output_value")
    for row in frames["regional_development"].iter_rows(named=True):
        attacker.read(("Q", "region", row["region_code"], row["project_code"], row["period"]), row, "output_value")
    for row in frames["area_leadership"].iter_rows(named=True):  # if the sums of the share were published
        for column, total in (("leader_output_value", "leader"), ("assessed_output_value", "assessed")):
            if column in row:
                attacker.read(("Q", total, row["project_code"], row["year"]), row, column)
    read_yearly_ratios(attacker, frames, areas)
    read_early_warning(attacker, frames)

    # additive relations: areas = their products, years = their quarters, areas = their regions
    for code, period in areas.select("project_code", "period").iter_rows():
        in_area = products.filter(project_code=code, period=period)["okpd2"]
        for figure in (*FIGURES, "dt"):
            attacker.total((figure, "area", code, period), [(figure, "product", p, period) for p in in_area])
        regions = frames["regional_development"].filter(project_code=code, period=period)["region_code"]
        attacker.total(("Q", "area", code, period), [("Q", "region", r, code, period) for r in regions])
    for (okpd2, year), rows in products.group_by("okpd2", "year"):
        attacker.total(("Q", "product-year", okpd2, year), [("Q", "product", okpd2, p) for p in rows["period"]])
    for (code, year), rows in areas.group_by("project_code", "year"):
        for figure in (*FIGURES, "dt"):
            attacker.total((figure, "area-year", code, year), [(figure, "area", code, p) for p in rows["period"]])
        in_area = products.filter(project_code=code, year=year)["okpd2"].unique()
        attacker.total(("Q", "area-year", code, year), [("Q", "product-year", p, year) for p in in_area])
    # leader and assessed output: subsets of the area's products, by the public bands
    for (code, year), rows in frames["product_leadership"].group_by("project_code", "year"):
        leaders, assessed = rows.filter(band="leader")["okpd2"], rows.filter(pl.col("band") != "not_assessed")["okpd2"]
        attacker.total(("Q", "leader", code, year), [("Q", "product-year", p, year) for p in leaders])
        attacker.total(("Q", "assessed", code, year), [("Q", "product-year", p, year) for p in assessed])
    read_national_total(attacker, frames, areas)
    read_national_index(attacker, frames)
    return attacker


def read_cell(attacker: Attack, where: tuple, row: dict) -> None:
    """A product or area quarter: its sums, and every published ratio with the public M and X."""
    q, comp, imp, rnd, dt = (("Q", *where), ("comp", *where), ("imp", *where), ("rnd", *where), ("dt", *where))
    for figure, column in FIGURES.items():
        attacker.read((figure, *where), row, column)
    if row["domestic_technology_share_flag"] == "c":
        attacker.targets[dt] = "domestic_technology_share"
    if value(row, "output_value") == 0:
        attacker.equation({dt: 1.0}, 0.0)  # nothing made, nothing made with domestic technology
    consumption(attacker, q, row["imports"], row["exports"], {
        "consumption": value(row, "apparent_consumption"), "import_dependency": value(row, "import_dependency"),
        "domestic_share": value(row, "domestic_share"), "self_sufficiency": value(row, "self_sufficiency"),
    })
    ratios = {"localisation": (imp, comp), "domestic_technology_share": (dt, q), "rnd_intensity": (rnd, q)}
    for column, (numerator, denominator) in ratios.items():
        if (r := value(row, column)) is not None:
            share = 1 - r if column == "localisation" else r  # localisation = 1 - imported / components
            attacker.equation({numerator: 1.0, denominator: -share})


def consumption(attacker: Attack, q: tuple, m: float | None, x: float | None, published: dict) -> None:
    """C = Q + M - X, import_dependency = M / C, domestic_share = 1 - M / C, self_sufficiency = Q / C."""
    if m is None or x is None:
        return
    if (c := published.get("consumption")) is not None:
        attacker.equation({q: 1.0}, c - m + x)
    dependencies = [published.get("import_dependency")]
    if (share := published.get("domestic_share")) is not None:
        dependencies.append(1 - share)
    for d in filter(lambda d: d is not None, dependencies):
        attacker.equation({q: d}, m - d * (m - x))
    if (s := published.get("self_sufficiency")) is not None:
        attacker.equation({q: 1 - s}, s * (m - x))


def read_early_warning(attacker: Attack, frames: dict[str, pl.DataFrame]) -> None:
    """Exposure, stress and signals: M_j / C, (M - M_j) / (C - M_j) and the values of a signal
    give the cell's C (hence Q, with the public M and X) or its localisation."""
    public = {}
    for name, level, key in (("product_independence", "product", "okpd2"), ("area_independence", "area", "project_code")):
        for row in frames[name].iter_rows(named=True):
            public[(level, row[key], row["period"])] = (row["imports"], row["exports"])
    for row in frames["partner_exposure"].iter_rows(named=True):
        where = (row["level"], row["code"], row["period"])
        m, x = public[where]
        share, m_j = value(row, "consumption_share"), row["partner_imports"]
        consumption(attacker, ("Q", *where), m, x, {
            "consumption": value(row, "apparent_consumption") if "apparent_consumption" in row else None,
            "import_dependency": share * m / m_j if share and m_j else None,
        })
    yearly_trade = {}
    for (level, code, year), rows in pl.concat(
        [frames["product_independence"].select("okpd2", "year", "imports", "exports").rename({"okpd2": "code"}).with_columns(level=pl.lit("product")),
         frames["area_independence"].select("project_code", "year", "imports", "exports").rename({"project_code": "code"}).with_columns(level=pl.lit("area"))],
        how="diagonal",
    ).group_by("level", "code", "year"):
        yearly_trade[(level, code, year)] = (rows["imports"].sum(), rows["exports"].sum())
    for row in frames["partner_exposure_yearly"].iter_rows(named=True):
        m, x = yearly_trade[(row["level"], row["code"], row["year"])]
        share, m_j = value(row, "consumption_share"), row["partner_imports"]
        q = ("Q", "product-year" if row["level"] == "product" else "area-year", row["code"], row["year"])
        consumption(attacker, q, m, x, {"import_dependency": share * m / m_j if share and m_j else None})
    for row in frames["supply_stress"].iter_rows(named=True):
        where = (row["level"], row["code"], row["period"])
        m, x = public[where]
        after, m_j = value(row, "import_dependency_after"), row["partner_imports"]
        if after and m is not None:
            consumption(attacker, ("Q", *where), m, x, {"consumption": m_j + (m - m_j) / after})
    for row in frames["risk_signals"].iter_rows(named=True):
        for period, figure in ((row["period_before"], row["value_before"]), (row["period"], row["value_after"])):
            where = (row["level"], row["code"], period)
            if figure is None or where not in public:
                continue
            if row["signal_type"].startswith(("import_dependency", "strategic_dependency")):
                consumption(attacker, ("Q", *where), *public[where], {"import_dependency": figure})
            elif row["signal_type"] == "localisation_fall":
                attacker.equation({("imp", *where): 1.0, ("comp", *where): -(1 - figure)})


def unclamped(row: dict, pillar: str) -> float | None:
    """A pillar, from itself or from its clamped value when that is inside (0.01, 1)."""
    clamped = value(row, f"{pillar}_clamped")
    return value(row, pillar) if clamped is None or not 0.01 < clamped < 1 else clamped


def read_yearly_ratios(attacker: Attack, frames: dict[str, pl.DataFrame], areas: pl.DataFrame) -> None:
    """The area's yearly figures: consumption and pillars (sovereignty_index), actuals and
    achievements (project_progress), the leadership share; yearly M and X are the quarters' sums."""
    trade = areas.group_by("project_code", "year").agg(
        m=pl.when(pl.col("imports").null_count() == 0).then(pl.col("imports").sum()),
        x=pl.when(pl.col("exports").null_count() == 0).then(pl.col("exports").sum()),
    )
    yearly = {(r["project_code"], r["year"]): r for r in trade.iter_rows(named=True)}
    progress = frames["project_progress"].with_columns(
        actual=pl.coalesce(
            pl.when(pl.col("actual_value_flag").is_null()).then("actual_value"),
            pl.when(pl.col("achievement_flag").is_null()).then(pl.col("achievement") * pl.col("target_value")),
        )
    )
    statements = [  # (area, year, indicator, value)
        (r["project_code"], r["year"], r["indicator_code"], r["actual"]) for r in progress.iter_rows(named=True)
    ]
    pillars = {"independence": "domestic_share", "localisation": "localisation", "technology": "domestic_technology_share", "leadership": "leadership_share"}
    hidden_when = {"apparent_consumption": ["Q"], "localisation": ["comp", "imp"], "technology": ["dt"]}
    for row in frames["sovereignty_index"].filter(pl.col("project_code") != "ALL").iter_rows(named=True):
        statements += [(row["project_code"], row["year"], indicator, unclamped(row, pillar)) for pillar, indicator in pillars.items()]
        statements.append((row["project_code"], row["year"], "consumption", value(row, "apparent_consumption")))
        for column, figures in hidden_when.items():  # the area's yearly sums behind a hidden figure
            if row[f"{column}_flag"] == "c":
                attacker.targets.update(((figure, "area-year", row["project_code"], row["year"]), column) for figure in figures)
    for row in frames["area_leadership"].iter_rows(named=True):
        statements.append((row["project_code"], row["year"], "leadership_share", value(row, "leadership_share")))
    for code, year, indicator, figure in statements:
        if figure is None or (code, year) not in yearly:
            continue
        where = (code, year)
        q, comp, imp, dt = ("Q", "area-year", *where), ("comp", "area-year", *where), ("imp", "area-year", *where), ("dt", "area-year", *where)
        if indicator in ("consumption", "domestic_share"):
            consumption(attacker, q, yearly[where]["m"], yearly[where]["x"], {indicator: figure})
        elif indicator == "localisation":
            attacker.equation({imp: 1.0, comp: -(1 - figure)})
        elif indicator == "domestic_technology_share":
            attacker.equation({dt: 1.0, q: -figure})
        elif indicator == "leadership_share":
            attacker.equation({("Q", "leader", *where): 1.0, ("Q", "assessed", *where): -figure})


def read_national_total(attacker: Attack, frames: dict[str, pl.DataFrame], areas: pl.DataFrame) -> None:
    """ALL's consumption is the sum over the areas in the index (those with every pillar)."""
    index = frames["sovereignty_index"]
    for row in index.filter(project_code="ALL").iter_rows(named=True):
        national = ("Q", "all", row["year"])
        codes = index.filter(pl.col("project_code") != "ALL", year=row["year"], missing_pillar_count=0)["project_code"]
        attacker.total(national, [("Q", "area-year", code, row["year"]) for code in codes])
        trade = areas.filter(pl.col("project_code").is_in(codes.implode()), year=row["year"])
        consumption(attacker, national, trade["imports"].sum(), trade["exports"].sum(), {"consumption": value(row, "apparent_consumption")})
        if row["apparent_consumption_flag"] == "c":
            attacker.targets[national] = "apparent_consumption"


PILLARS = ("independence", "localisation", "technology", "leadership")


def read_national_index(attacker: Attack, frames: dict[str, pl.DataFrame]) -> None:
    """A published ALL index: sum_a C_a I_a = ALL * sum_a C_a over the areas with every pillar.
    With their consumptions published it is linear in the hidden indexes, and a hidden index is
    K * clamp(L) ** w with K from its three published pillars and the published weights, L its
    leadership share = leader / assessed output, whose range the linear relations give. The
    indexes' intervals on the ALL relation bound each hidden share, hence two inequalities on the
    area's products."""
    index = frames["sovereignty_index"]
    for row in index.filter(pl.col("sovereignty_index_flag").is_null() & pl.col("sovereignty_index").is_not_null(),
                            project_code="ALL").iter_rows(named=True):
        areas = index.filter(pl.col("project_code") != "ALL", year=row["year"], missing_pillar_count=0)
        hidden = areas.filter(pl.col("sovereignty_index_flag").is_not_null())
        if hidden.is_empty() or areas["apparent_consumption_flag"].is_not_null().any():
            continue  # nothing to attack, or a nonlinear relation (nonlinear_leaks)
        shown = areas.filter(pl.col("sovereignty_index_flag").is_null())
        consumption = areas["apparent_consumption"].sum()
        rest = row["sovereignty_index"] * consumption - (shown["apparent_consumption"] * shown["sovereignty_index"]).sum()
        boxes, scale = [], {}
        for area in hidden.iter_rows(named=True):
            where = (area["project_code"], area["year"])
            scale[where] = 100 * np.prod([area[f"{p}_clamped"] ** area[f"weight_{p}"] for p in PILLARS[:3]])
            low, high = attacker.ratio_range(("Q", "leader", *where), ("Q", "assessed", *where))
            boxes.append(tuple(scale[where] * min(max(share, 0.01), 1) ** area["weight_leadership"] for share in (low, high)))
        weights = hidden["apparent_consumption"].to_numpy()[None, :]
        for position, area in enumerate(hidden.iter_rows(named=True)):
            where, w = (area["project_code"], area["year"]), area["weight_leadership"]
            objective = np.zeros(hidden.height)
            objective[position] = 1.0
            ends = [sign * linprog(sign * objective, A_eq=weights, b_eq=[rest], bounds=boxes, method="highs").fun
                    for sign in (1.0, -1.0)]
            attacker.index_intervals[where] = (ends[0], ends[1])
            leader, assessed = ("Q", "leader", *where), ("Q", "assessed", *where)
            low, high = ((end / scale[where]) ** (1 / w) for end in ends)
            if low > 0.01:  # leader >= low * assessed
                attacker.at_most({leader: -1.0, assessed: low})
            if high < 1:  # leader <= high * assessed
                attacker.at_most({leader: 1.0, assessed: -high})


def nonlinear_leaks(extracts: dict[str, pl.DataFrame]) -> list[str]:
    """Published figures that are functions of few enough hidden ones to be solved for them."""
    index, uncertainty = extracts["sovereignty_index"], extracts["sovereignty_index_uncertainty"]
    # S = 100 prod n_i^w_i with published weights: one equation in the hidden clamped pillars
    leaks = [f"index {r['project_code']} {r['year']}" for r in index.iter_rows(named=True)
             if r["sovereignty_index_flag"] is None and any(r[f"{p}_clamped_flag"] for p in PILLARS)]
    # ALL: consumption-weighted mean of the indices of the areas with every pillar; with a hidden
    # consumption, a product of two hidden figures (linear in the indexes otherwise: attack());
    # its percentiles over the weight draws are more equations in the hidden shares
    uncertain = uncertainty.filter(pl.col("index_p50_flag").is_null(), project_code="ALL")["year"]
    for (year,), rows in index.group_by("year"):
        areas = rows.filter(pl.col("project_code") != "ALL", missing_pillar_count=0)
        if rows.filter(project_code="ALL")["sovereignty_index_flag"].is_null().all() and areas["apparent_consumption_flag"].is_not_null().any():
            leaks.append(f"ALL {year}")
        if year in uncertain and areas["sovereignty_index_flag"].is_not_null().any():
            leaks.append(f"ALL uncertainty {year}")
    # the percentiles over weight draws are more equations in the same pillars
    hidden = set(index.filter(pl.col("sovereignty_index_flag").is_not_null()).select("project_code", "year").iter_rows())
    leaks += [f"uncertainty {r}" for r in uncertainty.filter(pl.col("index_p50_flag").is_null()).select("project_code", "year").iter_rows() if r in hidden]
    progress = extracts["project_progress"].filter(
        pl.col("actual_value_flag").is_null() | pl.col("achievement_flag").is_null(), indicator_code="sovereignty_index"
    )
    leaks += [f"progress {r}" for r in progress.select("project_code", "year").iter_rows() if r in hidden]
    return leaks


def assert_nothing_recoverable(extracts: dict[str, pl.DataFrame]) -> Attack:
    attacker = attack(extracts)
    recovered = attacker.determined()
    assert attacker.targets, "nothing hidden: the attack would prove nothing"
    assert attacker.inconsistency < 1e-6, "the attacker's relations do not hold on the published figures"
    assert recovered == {}
    assert nonlinear_leaks(extracts) == []
    return attacker


@pytest.mark.parametrize("whole_unit", [False, True])
@pytest.mark.parametrize("marts", [PRIMARY, CASCADE], indirect=True)
def test_the_attacker_recovers_nothing_from_hand_built_extracts(marts, whole_unit):
    assert_nothing_recoverable(frames_of(marts, whole_unit=whole_unit))


def reveal(extracts: dict[str, pl.DataFrame], con: duckdb.DuckDBPyConnection, name: str, keys: list[str], where: pl.Expr) -> dict:
    """The extracts with the hidden figures of some rows of one extract published as in the mart."""
    frame, mart = extracts[name], con.sql(f"select * from marts.{name}").pl()
    figures = [column.removesuffix("_flag") for column in frame.columns if column.endswith("_flag")]
    joined = frame.join(mart.select(*keys, *(pl.col(f).alias(f"{f}_mart") for f in figures)), on=keys, how="left")
    revealed = joined.with_columns(
        *(pl.when(where).then(pl.col(f"{f}_mart")).otherwise(pl.col(f)).alias(f) for f in figures),
        *(pl.when(where).then(None).otherwise(pl.col(f"{f}_flag")).alias(f"{f}_flag") for f in figures),
    ).select(frame.columns)
    return {**extracts, name: revealed}


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_the_attacker_recovers_b1_when_its_complement_is_published(marts):
    extracts = frames_of(marts)
    # b1 (80 a quarter, one producer) is protected by b3 (600), not by the smaller b2 (300): b2 is
    # 'comparable', b1 and b3 leaders, so with b2 hidden the leadership share would give b1 away
    # and would have to be hidden too, with BBB's index
    assert published(extracts, "product_independence", "output_value", okpd2="b3") == [(None, "c"), (None, "c")]
    assert published(extracts, "product_independence", "output_value", okpd2="b2") == [(300, None), (300, None)]
    leaky = reveal(extracts, marts, "product_independence", ["okpd2", "period"], pl.col("okpd2") == "b3")
    recovered = attack(leaky).determined()
    # BBB's published quarters minus b2, b3 and b4
    assert recovered[("Q", "product", "b1", "2025-Q1")] == pytest.approx(80.0)
    assert recovered[("Q", "product", "b1", "2025-Q2")] == pytest.approx(80.0)


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_the_attacker_recovers_a_quarter_when_a_product_year_is_only_partly_suppressed(marts):
    # a2 is confidential in Q2 only; publishing its Q1 gives a1's Q1 away (AAA's Q1 minus the rest)
    extracts = frames_of(marts)
    leaky = reveal(extracts, marts, "product_independence", ["okpd2", "period"], (pl.col("okpd2") == "a2") & (pl.col("period") == "2025-Q1"))
    assert attack(leaky).determined()[("Q", "product", "a1", "2025-Q1")] == pytest.approx(200.0)


def test_the_exactly_one_rule_alone_leaks_in_a_table_of_products_by_quarters():
    """metrics.md's rule on its own: products x quarters with yearly and area totals. Two 2 x 2
    blocks (A, B x Q1, Q2 and C, D x Q3, Q4) joined by B/Q3: every row and column has 0 or at least
    two hidden cells, yet B/Q3 = rows A + B - columns Q1 + Q2."""
    hidden = {("A", 1), ("A", 2), ("B", 1), ("B", 2), ("C", 3), ("C", 4), ("D", 3), ("D", 4), ("B", 3)}
    attacker = Attack()
    for cell in hidden:
        attacker.targets[cell] = "output_value"
    cells = [(p, t) for p in "ABCD" for t in (1, 2, 3, 4)]
    for cell in cells:
        if cell not in hidden:
            attacker.equation({cell: 1.0}, 1.0)
    for p in "ABCD":
        attacker.equation({cell: 1.0 for cell in cells if cell[0] == p}, 4.0)
    for t in (1, 2, 3, 4):
        attacker.equation({cell: 1.0 for cell in cells if cell[1] == t}, 4.0)
    assert set(attacker.determined()) == {("B", 3)}


def national_scenario(third_band: str) -> Scenario:
    """Three areas, each in a region of its own. AAA: a1 (leader, four producers, 800 a quarter) and
    a2 (comparable, one producer, 200): its share, 0.8, gives a2 away, so it is hidden with AAA's
    index. BBB likewise, with b2 only 1 % of it (share 0.99). Under a published ALL index, AAA's
    index can fall only as far as BBB's can rise, to a share of 1: a2 could rise by 5 % of its value,
    half its protection level. CCC: c1 (leader) and c2 (third_band), four producers and 1000 a
    quarter each, nothing confidential."""
    return Scenario(
        products={"a1": "AAA", "a2": "AAA", "b1": "BBB", "b2": "BBB", "c1": "CCC", "c2": "CCC"},
        producers=[
            *producing(["1001", "1002", "1003", "1004"], "a1", "01", every_quarter(200)),
            *producing(["1005"], "a2", "01", every_quarter(200)),
            *producing(["2001", "2002", "2003", "2004"], "b1", "02", every_quarter(250)),
            *producing(["2005"], "b2", "02", every_quarter(10)),
            *producing(["3001", "3002", "3003", "3004"], "c1", "03", every_quarter(250)),
            *producing(["3005", "3006", "3007", "3008"], "c2", "03", every_quarter(250)),
        ],
        bands={"a1": ("leader", 4), "a2": ("comparable", 1), "b1": ("leader", 4), "b2": ("comparable", 1),
               "c1": ("leader", 4), "c2": (third_band, 0 if third_band == "not_assessed" else 4)},
    )


@pytest.mark.parametrize("marts", [national_scenario("comparable")], indirect=True)
def test_the_index_level_hides_one_more_area_to_keep_the_all_index_published(marts):
    """CCC's share (0.5) is known, its products published: the index level hides it with c1 and c2
    in one quarter and their years (the cheapest pair that lets it move), so that CCC's index
    absorbs what BBB's cannot."""
    suppression = suppress(marts, DisclosurePolicy())
    assert suppression.years.select("year", "index_suppressed", "uncertainty_suppressed").rows() == [(2025, False, True)]
    assert set(suppression.area_years.filter("leadership_suppressed")["project_code"]) == {"AAA", "BBB", "CCC"}
    assert not suppression.area_years["output_suppressed"].any()
    hidden_c = suppression.product_quarters.filter(pl.col("okpd2").str.starts_with("c"))
    assert suppressed(hidden_c, "okpd2", "period") == {("c1", "2025-Q1"), ("c2", "2025-Q1")}
    extracts = frames_of(marts)
    audit = audit_release(marts, DisclosurePolicy(), extracts)
    assert audit.passed and {interval.cell for interval in audit.index_intervals} == {
        "index AAA 2025", "index BBB 2025", "index CCC 2025",
    }
    assert_nothing_recoverable(extracts)
    assert_every_hidden_figure_keeps_its_level(marts, extracts)


@pytest.mark.parametrize("marts", [national_scenario("comparable")], indirect=True)
def test_a_release_reuses_the_problems_solved_before_for_the_same_problems_only(marts, monkeypatch):
    """The cell-level pattern and the index level's openings (CCC's, above) are answered once: a
    second release of the same marts runs no optimiser and takes every answer from what the first
    solved (and kept in the warehouse), with the same result; another protection level is another
    problem, solved afresh."""
    solves = []

    def counted(*args, **kwargs):
        solves.append(kwargs.get("moves"))
        return optimal_suppression(*args, **kwargs)

    optimal_suppression = disclosure.optimal_suppression
    monkeypatch.setattr(disclosure, "optimal_suppression", counted)
    first_solved = SolvedProblems()
    first = suppress(marts, DisclosurePolicy(), first_solved)
    openings = [moves for moves in solves if moves]
    assert openings and solves.count(None) == 1  # one cell-level part: the year's areas meet in ALL
    assert any(hidden is not None and hidden.any() for hidden in first_solved.used.values())
    assert len(first_solved.used) == len(solves)

    store = duckdb.connect()
    create_schemas(store)
    remember_solutions(store, first_solved)
    kept = remembered_solutions(store)
    assert kept.known.keys() == first_solved.used.keys()
    for key, hidden in first_solved.used.items():
        assert (kept.known[key] is None) if hidden is None else np.array_equal(kept.known[key], hidden)

    solves.clear()
    second = suppress(marts, DisclosurePolicy(), kept)
    assert solves == []
    for name in ("product_quarters", "product_years", "area_quarters", "area_years", "years", "regional_cells"):
        assert getattr(second, name).equals(getattr(first, name)), name

    solves.clear()
    suppress(marts, DisclosurePolicy(protection=0.12), kept)
    assert solves.count(None) == 1 and any(solves)  # solved again: other levels, other problems


def test_a_problem_key_changes_with_any_input():
    cells = pl.DataFrame({"cell": ["a", "b", "t"], "kind": ["product_quarter", "product_quarter", "area_quarter"],
                          "value": [1.0, 2.0, 3.0], "primary": [True, False, False], "basis": [1.0, 2.0, 3.0]})
    relations = pl.DataFrame({"relation": ["r", "r", "r"], "cell": ["a", "b", "t"], "coefficient": [1.0, 1.0, -1.0]})
    hidden = np.array([True, True, False])

    def key(table_cells=cells, hidden=hidden, numbers=(2, 0.5)):
        return problem_key(LinkedTable(table_cells, relations), hidden, numbers=numbers)

    assert key() == key()
    assert len({key(), key(table_cells=cells.with_columns(value=pl.Series([1.0, 2.0 + 1e-12, 3.0]))),
                key(table_cells=cells.with_columns(primary=pl.Series([True, True, False]))),
                key(hidden=np.array([True, False, True])), key(numbers=(2, 0.5 + 1e-12))}) == 5


def test_only_settled_answers_are_kept():
    """A pattern and the proof that none exists are answers; a solve that ran out of time is not,
    and is tried again."""
    solved = SolvedProblems()
    pattern = np.array([True, False, True])
    assert solved.answer("found", lambda: ProtectionResult(pattern, None, 0.1)).hidden is pattern
    assert solved.answer("none", lambda: ProtectionResult(None, NO_PATTERN, 0.1)).hidden is None
    assert solved.answer("late", lambda: ProtectionResult(None, "time limit of 1 s reached", 1.0)).hidden is None
    assert solved.known.keys() == solved.used.keys() == {"found", "none"}
    again = solved.answer("found", lambda: pytest.fail("solved again"))
    assert again.hidden is pattern and again.reason is None and again.seconds == 0
    assert solved.answer("none", lambda: pytest.fail("solved again")).reason == NO_PATTERN


@pytest.mark.parametrize("marts", [national_scenario("not_assessed")], indirect=True)
def test_the_all_index_is_hidden_when_no_pattern_protects(marts):
    """c2 not assessed: CCC's share is 1 whatever its outputs, so no hidden cell of CCC lets its
    index move, and AAA and BBB are the same as above: the ALL index is hidden, CCC's published."""
    suppression = suppress(marts, DisclosurePolicy())
    assert suppression.years.select("year", "consumption_suppressed", "index_suppressed").rows() == [(2025, False, True)]
    assert set(suppression.area_years.filter("index_suppressed")["project_code"]) == {"AAA", "BBB"}
    assert not suppression.product_quarters.filter(pl.col("okpd2").str.starts_with("c"))["suppressed"].any()
    extracts = frames_of(marts)
    assert published(extracts, "sovereignty_index", "sovereignty_index", project_code="ALL") == [(None, "c")]
    audit = audit_release(marts, DisclosurePolicy(), extracts)
    assert audit.passed and not audit.index_intervals
    assert_nothing_recoverable(extracts)


# --- (5) no enterprise anywhere ------------------------------------------------------------------


def assert_no_enterprise_identity(con: duckdb.DuckDBPyConnection, extracts: dict, tmp_path) -> None:
    enterprises = con.sql("select distinct inn, enterprise_name from raw.producer").pl()
    secrets = set(enterprises["inn"].drop_nulls()) | set(enterprises["enterprise_name"].drop_nulls())
    assert secrets
    # an INN is a whole number: the digits of a published ratio may contain it by chance
    pattern = re.compile("|".join(rf"(?<!\d){re.escape(secret)}(?!\d)" for secret in sorted(secrets)))
    for name, extract in extracts.items():
        frame = extract.frame
        assert not any(word in column for column in frame.columns for word in ("inn", "enterprise", "top1"))
        texts = set(frame.select(pl.all().cast(pl.String)).unpivot()["value"].drop_nulls())
        assert not any(pattern.search(text) for text in texts), name
        path = tmp_path / f"{name}.parquet"
        frame.write_parquet(path)
        metadata = pq.read_metadata(path)
        stored = [str(metadata.schema), str(metadata.metadata), str(pq.read_schema(path))]
        stored += [str(metadata.row_group(g).column(c).statistics) for g in range(metadata.num_row_groups) for c in range(metadata.num_columns)]
        assert not any(pattern.search(text) for text in stored), name


def assert_no_cell_of_a_few_producers_is_published(con: duckdb.DuckDBPyConnection, extracts: dict) -> None:
    """A published output of a cell of one or two producers would be a per-producer row."""
    policy = DisclosurePolicy()
    for name, keys in (("product_independence", ["okpd2", "period"]), ("area_independence", ["project_code", "period"]),
                       ("regional_development", ["region_code", "project_code", "period"])):
        mart = con.sql(f"select {', '.join(keys)}, producer_count, top1_share from marts.{name}").pl()
        cells = extracts[name].frame.join(mart.filter(policy.output_confidential()).select(keys), on=keys)
        assert cells["output_value"].null_count() == cells.height, name


@pytest.mark.parametrize("marts", [PRIMARY], indirect=True)
def test_no_enterprise_identity_in_hand_built_extracts(marts, tmp_path):
    extracts = build_extracts(marts, DisclosurePolicy())
    assert_no_enterprise_identity(marts, extracts, tmp_path)
    assert_no_cell_of_a_few_producers_is_published(marts, extracts)


# --- the demo warehouse, built by the real pipeline ----------------------------------------------


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("disclosure_home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SOVEREIGNTY_HOME", str(home))
        env.setenv("SOVEREIGNTY_TODAY", TODAY.isoformat())
        assert main(["demo"]) == 0
        main(["run"])  # its exit code also covers publication, which these tests do not need
    return home


@pytest.fixture(scope="module")
def demo_warehouse(demo_home):
    # raw.producer (read for the enterprises' names) is a view of Parquet files under the home
    con = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True, config={"file_search_path": str(demo_home)})
    assert all(con.execute(f"select count(*) from marts.{name}").fetchall()[0][0] for name in PUBLISHED)
    yield con
    con.close()


@pytest.mark.slow
def test_the_attacker_recovers_nothing_from_the_demo_release(demo_warehouse):
    extracts = frames_of(demo_warehouse)
    attacker = assert_nothing_recoverable(extracts)
    hidden_levels = {target[1] for target in attacker.targets}
    assert {"product", "product-year", "region"} <= hidden_levels


@pytest.mark.slow
def test_the_attacker_recovers_a_demo_value_when_a_complement_is_published(demo_warehouse):
    extracts = frames_of(demo_warehouse)
    product_years = suppress(demo_warehouse, DisclosurePolicy()).product_years.filter("suppressed")
    primary = demo_warehouse.sql("select okpd2, year from marts.product_independence where producer_count between 1 and 2").pl().unique()
    complement = product_years.join(primary, on=["okpd2", "year"], how="anti").sort("year", "okpd2").row(0, named=True)
    leaky = reveal(extracts, demo_warehouse, "product_independence", ["okpd2", "period"],
                   (pl.col("okpd2") == complement["okpd2"]) & (pl.col("year") == complement["year"]))
    recovered = {var: v for var, v in attack(leaky).determined().items() if var[:2] == ("Q", "product")}
    truth = demo_warehouse.sql("select okpd2, period, output_value from marts.product_independence").pl()
    truth = {("Q", "product", okpd2, period): float(v) for okpd2, period, v in truth.iter_rows()}
    assert recovered and all(v == pytest.approx(truth[var]) for var, v in recovered.items())


@pytest.mark.slow
def test_the_demo_release_shows_exactly_the_planted_changes_at_high_severity(demo_home, demo_warehouse):
    """docs/demo.md: a partner's surge, a localisation drop and a slipping project, as the
    generator lists them in the manifest. Each is a high-severity signal of the release (the
    products are not confidential); no other signal is of high severity, save the same change
    seen in the area of the changed product, whose figures include it."""
    manifest = json.loads((demo_home / "demo" / "manifest.json").read_text(encoding="utf-8"))
    planted = manifest["planted_changes"]
    signals = build_extracts(demo_warehouse, DisclosurePolicy())["risk_signals"].frame
    high = set(signals.filter(severity="high").select("period", "signal_type", "level", "code", "subject").iter_rows())
    expected = {(c["period"], c["signal_type"], c["level"], c["code"], c["subject"]) for c in planted}
    in_their_areas = {(c["period"], c["signal_type"], "area", c["area"], c["subject"]) for c in planted if c["area"]}
    assert expected <= high <= expected | in_their_areas
    surge = signals.filter(signal_type="partner_share_rise", level="product", code=demo.SURGE_PRODUCT, severity="high")
    assert surge["value_after"].to_list() == [pytest.approx(demo.SURGE_SHARE, abs=0.01)]


def test_no_enterprise_identity_in_the_demo_extracts(demo_warehouse, tmp_path):
    extracts = build_extracts(demo_warehouse, DisclosurePolicy())
    assert_no_enterprise_identity(demo_warehouse, extracts, tmp_path)
    assert_no_cell_of_a_few_producers_is_published(demo_warehouse, extracts)


def truth_of(con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy) -> dict[tuple, tuple[float, bool]]:
    """The attacker's output variables with their true value and whether the cell is confidential."""
    truth = {}
    for level, mart, keys in (
        ("product", "product_independence", ["okpd2", "period"]), ("product-year", "product_independence_yearly", ["okpd2", "year"]),
        ("area", "area_independence", ["project_code", "period"]), ("area-year", "area_independence_yearly", ["project_code", "year"]),
        ("region", "regional_development", ["region_code", "project_code", "period"]),
    ):
        cells = con.sql(f"select {', '.join(keys)}, output_value, producer_count, top1_share from marts.{mart}").pl()
        for row in cells.with_columns(primary=policy.output_confidential()).iter_rows(named=True):
            truth[("Q", level, *(row[k] for k in keys))] = (float(row["output_value"]), row["primary"])
    return truth


def assert_every_hidden_figure_keeps_its_level(con: duckdb.DuckDBPyConnection, extracts: dict[str, pl.DataFrame]) -> Attack:
    """The attacker's own LPs, on every relation it writes from the extracts (the cost, R&D and
    domestic-technology sums and ratios included, and a published ALL index), independently of the
    audit's model: every hidden cell keeps its level, and every hidden area index under a published
    ALL index an interval of at least the secondary level, the one the audit finds (the attacker
    derives it from the published pillars and its own relations, the audit from the marts and the
    linked table)."""
    policy = DisclosurePolicy()
    truth = truth_of(con, policy)
    attacker = attack(extracts)
    intervals = {var: bounds for var, bounds in attacker.intervals().items() if var in truth}
    assert {var for var, (_, primary) in truth.items() if primary} <= set(intervals), "a confidential cell is published"
    for var, (lowest, highest) in intervals.items():
        value, primary = truth[var]
        level = (policy.protection if primary else policy.secondary_protection) * value * (1 - 1e-6)
        assert lowest <= value - level and highest >= value + level, (var, value, lowest, highest)
    audited = {interval.cell: interval for interval in audit_release(con, policy, extracts).index_intervals}
    assert len(attacker.index_intervals) == len(audited)
    for (code, year), (lowest, highest) in attacker.index_intervals.items():
        found = audited[f"index {code} {year}"]
        assert (lowest, highest) == pytest.approx((found.lowest, found.highest), rel=1e-6)
        assert highest - lowest >= policy.secondary_protection * found.value
    return attacker


@pytest.mark.slow
def test_the_attacker_cannot_narrow_a_hidden_demo_figure_below_its_protection_level(demo_warehouse):
    attacker = assert_every_hidden_figure_keeps_its_level(demo_warehouse, frames_of(demo_warehouse))
    assert attacker.index_intervals, "no ALL index published over hidden area indexes: its relation is not tested"


@pytest.mark.slow
def test_the_all_index_over_a_single_hidden_area_index_gives_it_away(demo_warehouse):
    """With every other area index published, the ALL index determines the hidden one, hence its
    leadership share and the confidential product behind it: the audit withholds such a release."""
    policy = DisclosurePolicy()
    extracts = frames_of(demo_warehouse)
    hidden = extracts["sovereignty_index"].filter(pl.col("sovereignty_index_flag").is_not_null(), pl.col("project_code") != "ALL")
    published_all = extracts["sovereignty_index"].filter(
        pl.col("sovereignty_index_flag").is_null() & pl.col("sovereignty_index").is_not_null(), project_code="ALL"
    )["year"]
    hidden = hidden.filter(pl.col("year").is_in(published_all.implode())).sort("year", "project_code")
    assert hidden.height >= 2, "no published ALL index over two hidden area indexes: nothing to test"
    kept = hidden.row(0, named=True)
    others = hidden.filter(pl.col("project_code") != kept["project_code"], year=kept["year"])["project_code"]
    where = pl.col("project_code").is_in(others.implode()) & (pl.col("year") == kept["year"])
    leaky = reveal(extracts, demo_warehouse, "sovereignty_index", ["project_code", "year"], where)
    failures = {f.cell for f in audit_release(demo_warehouse, policy, leaky).failures}
    assert f"index {kept['project_code']} {kept['year']}" in failures
    attacker = attack(leaky)
    lowest, highest = attacker.index_intervals[(kept["project_code"], kept["year"])]
    assert highest - lowest <= 1e-6 * highest


@pytest.mark.slow
def test_the_audit_passes_the_demo_release_and_fails_it_with_the_complements_published(demo_warehouse):
    policy = DisclosurePolicy()
    extracts = frames_of(demo_warehouse)
    audit = audit_release(demo_warehouse, policy, extracts)
    assert audit.passed and audit.narrowest(True).narrowest >= policy.protection
    assert audit.residual < 1e-9  # the relations hold on the true values
    # the product quarters hidden as complements, published: the confidential ones they protect fall
    cells = demo_warehouse.sql("select okpd2, period, producer_count, top1_share from marts.product_independence").pl()
    confidential = cells.filter(policy.output_confidential()).select(key=pl.concat_str("okpd2", "period"))["key"]
    complements = pl.concat_str("okpd2", "period").is_in(confidential.implode()).not_()
    leaky = reveal(extracts, demo_warehouse, "product_independence", ["okpd2", "period"], complements)
    failed = audit_release(demo_warehouse, policy, leaky)
    assert not failed.passed and any(f.primary for f in failed.failures)


@pytest.mark.slow
def test_demo_indexes_are_hidden_only_where_a_leadership_share_gives_a_product_away(demo_warehouse):
    policy = DisclosurePolicy()
    suppression = suppress(demo_warehouse, policy)
    assert suppression.method == "optimal", suppression.fallback_reason
    areas = suppression.area_years
    assert not areas["output_suppressed"].any()
    assert areas["index_suppressed"].to_list() == areas["leadership_suppressed"].to_list()
    # each hidden share is needed: published, it narrows a product below its protection level
    extracts = frames_of(demo_warehouse)
    for code, year in areas.filter("leadership_suppressed").select("project_code", "year").iter_rows():
        where = (pl.col("project_code") == code) & (pl.col("year") == year)
        leaky = reveal(extracts, demo_warehouse, "area_leadership", ["project_code", "year"], where)
        assert not audit_release(demo_warehouse, policy, leaky).passed, (code, year)


@pytest.mark.slow
def test_optimisation_hides_less_output_than_whole_units_on_the_demo(demo_warehouse):
    policy = DisclosurePolicy()
    optimal = audit_release(demo_warehouse, policy, frames_of(demo_warehouse)).loss["all"]
    whole_units = audit_release(demo_warehouse, policy, frames_of(demo_warehouse, whole_unit=True)).loss["all"]
    assert optimal["hidden_output_share"] < whole_units["hidden_output_share"]
    assert optimal["hidden_cells"] < whole_units["hidden_cells"]
