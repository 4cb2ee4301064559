"""Disclosure control (metrics.md section 6): which published figures are confidential.

The primary rules mark the cells built from too few producers or dominated by one; secondary
suppression adds complements until no published total gives a suppressed cell away; the figures
derived from cells (leadership, sovereignty index) follow. extracts.py applies the result to the
published tables. The design, and why it is sound: docs/disclosure.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl


@dataclass(frozen=True)
class DisclosurePolicy:
    """The two settings of metrics.md section 6."""

    min_producers: int = 3  # threshold rule: a cell with fewer distinct producers is confidential
    dominance_share: float = 0.85  # (1, k) dominance: so is a cell whose largest producer has more

    def __post_init__(self):
        if self.min_producers < 1 or not 0 < self.dominance_share <= 1:
            raise ValueError(f"invalid disclosure policy: {self}")

    def output_confidential(self) -> pl.Expr:
        """The primary rule on cells with producer_count and top1_share. A cell without producers
        (output 0) describes no enterprise; a cell without producer reports has no figure."""
        count = pl.col("producer_count")
        too_few = (count > 0) & (count < self.min_producers)
        return (too_few | (pl.col("top1_share") > self.dominance_share)).fill_null(False)

    def technical_level_confidential(self) -> pl.Expr:
        """technical_level is one enterprise's K (the largest) and with one or two producers the
        median is theirs too: the threshold rule on producers_assessed. Dominance is about shares
        of a sum and has no meaning for a maximum."""
        assessed = pl.col("producers_assessed")
        return (assessed > 0) & (assessed < self.min_producers)


@dataclass(frozen=True)
class Suppression:
    """What is confidential, by unit of suppression.

    product_years: okpd2, project_code, year, suppressed: the product's quarterly figures and its
        yearly output (product_leadership), always together.
    area_years: project_code, year and three statuses: output_suppressed (the area's quarterly
        figures and every yearly figure computed from the area's sums), leadership_suppressed
        (leadership_share) and index_suppressed (the sovereignty index, computed from both).
    years: year, consumption_suppressed and index_suppressed: the ALL row of the sovereignty index.
    regional_cells: region_code, project_code, period, suppressed: output_value and producer_count.
    technical_levels: code (okpd2), year, confidential: a product's technical level (one enterprise's K).
    """

    product_years: pl.DataFrame
    area_years: pl.DataFrame
    years: pl.DataFrame
    regional_cells: pl.DataFrame
    technical_levels: pl.DataFrame


def suppress(con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy) -> Suppression:
    """Primary and secondary suppression on the marts, then the statuses of the derived figures."""
    products, areas, regions = _product_years(con, policy), _area_years(con, policy), _regional_cells(con, policy)
    units = pl.concat(frame.select("unit", "q", "suppressed") for frame in (products, areas, regions))
    status = complement_suppression(units, _groups(products, areas, regions)).select("unit", "suppressed")
    products, areas, regions = (frame.drop("suppressed").join(status, on="unit") for frame in (products, areas, regions))
    area_years = _area_statuses(con, products, areas)
    return Suppression(
        product_years=products.select("okpd2", "project_code", "year", "suppressed").sort("year", "okpd2"),
        area_years=area_years.sort("year", "project_code"),
        years=_national_statuses(con, area_years).sort("year"),
        regional_cells=regions.select("region_code", "project_code", "period", "suppressed").sort("period", "region_code", "project_code"),
        technical_levels=con.sql("select okpd2, year, producers_assessed from marts.product_leadership").pl().select(
            code="okpd2", year="year", confidential=policy.technical_level_confidential()
        ),
    )


def complement_suppression(units: pl.DataFrame, groups: list[pl.DataFrame]) -> pl.DataFrame:
    """Secondary suppression (metrics.md section 6): while a group has exactly one suppressed unit,
    also suppress its unsuppressed unit with the smallest q; repeat until no group has exactly one.

    units: unit, q, suppressed. groups: frames of (group, unit), each a partition of its units into
    groups that add up to a published total (the total being one of the units); they are settled in
    the order given, so that a complement found in a finer group also settles the coarser one.
    """
    while True:
        suppressed = units["suppressed"].sum()
        for members in groups:
            units = _add_complements(units, members)
        if units["suppressed"].sum() == suppressed:
            return units


def _add_complements(units: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    candidates = members.join(units, on="unit").filter(
        pl.col("suppressed").sum().over("group") == 1, ~pl.col("suppressed")
    )
    # Smallest q first, so that the least is lost; units without output last, because an attacker
    # guesses a zero easily; the unit name settles ties.
    picks = (
        candidates.sort("group", pl.col("q").fill_null(0) == 0, "q", "unit")
        .group_by("group", maintain_order=True)
        .agg(pl.col("unit").first())["unit"]
    )
    return units.with_columns(suppressed=pl.col("suppressed") | pl.col("unit").is_in(picks.implode()))


def _product_years(con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy) -> pl.DataFrame:
    """Product units: the product's quarters of a year and its yearly output. Suppressing whole
    years keeps the quarter x product tables of an area one-dimensional (docs/disclosure.md). The
    yearly cell needs no rule of its own: when it is confidential, so is one of its quarters (its
    producers are the union of theirs, its largest producer's share a weighted mean of theirs)."""
    cells = con.sql(
        "select okpd2, project_code, year, output_value, producer_count, top1_share from marts.product_independence"
    ).pl()
    return _units(cells, ["okpd2", "project_code", "year"], policy, "product")


def _area_years(con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy) -> pl.DataFrame:
    """Area units: the area's quarters of a year and every yearly figure of the area's sums (an
    area is a cell of its own: many producers in all may still be one producer's output)."""
    cells = con.sql("select project_code, year, output_value, producer_count, top1_share from marts.area_independence").pl()
    return _units(cells, ["project_code", "year"], policy, "area")


def _units(cells: pl.DataFrame, keys: list[str], policy: DisclosurePolicy, kind: str) -> pl.DataFrame:
    """One unit per keys over the quarterly cells: confidential when any of its cells is."""
    return cells.group_by(keys).agg(
        q=pl.col("output_value").cast(pl.Float64).sum(),
        suppressed=policy.output_confidential().any(),
    ).with_columns(unit=pl.format(kind + " {}" * len(keys), *keys))


def _regional_cells(con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy) -> pl.DataFrame:
    cells = con.sql("""
        select cells.region_code, cells.project_code, cells.period, cells.year, regions.federal_district,
            cells.output_value, cells.producer_count, cells.top1_share
        from marts.regional_development as cells
        left join reference.regions as regions on regions.region_code = cells.region_code
    """).pl()
    return cells.select(
        "region_code", "project_code", "period", "year", "federal_district",
        unit=pl.format("region {} {} {}", "region_code", "project_code", "period"),
        q=pl.col("output_value").cast(pl.Float64),
        suppressed=policy.output_confidential(),
    )


def _groups(products: pl.DataFrame, areas: pl.DataFrame, regions: pl.DataFrame) -> list[pl.DataFrame]:
    """The groups adding up to a published total, finest first. The total is a member: suppressed
    alone, it is the sum of its published parts.
    - district: the regions of a federal district (metrics.md) in an area's quarter;
    - area-quarter: the area's quarter (its unit) and its regions;
    - area-year: the area's year (its unit) and its products' years.
    """
    area_unit = areas.select("project_code", "year", "unit")
    district = regions.select(group=pl.format("{} {} {}", "project_code", "period", "federal_district"), unit="unit")
    area_quarter = pl.concat([
        regions.select("project_code", "period", "unit"),
        regions.select("project_code", "period", "year").unique().join(area_unit, on=["project_code", "year"]).drop("year"),
    ]).select(group=pl.format("{} {}", "project_code", "period"), unit="unit")
    area_year = pl.concat([products.select("project_code", "year", "unit"), area_unit]).select(
        group=pl.format("{} {}", "project_code", "year"), unit="unit"
    )
    return [district, area_quarter, area_year]


def _area_statuses(con: duckdb.DuckDBPyConnection, products: pl.DataFrame, areas: pl.DataFrame) -> pl.DataFrame:
    """leadership_share is the yearly output of the area's leader products over that of its
    assessed products: with the area's own yearly output, it relates the totals of three band
    classes (leader, other assessed, not assessed). It is published only when publishing those
    totals themselves would be safe: no class with exactly one suppressed product, and, when the
    area is suppressed, at least one in 'not assessed' (else area = leader + other assessed +
    published products). Otherwise the share is suppressed, rather than more products."""
    bands = con.sql("select okpd2, year, band from marts.product_leadership").pl()
    band_class = (
        pl.when(pl.col("band") == "leader").then(pl.lit("leader"))
        .when(pl.col("band") == "not_assessed").then(pl.lit("not_assessed"))
        .otherwise(pl.lit("other_assessed"))
    )
    classes = ("leader", "other_assessed", "not_assessed")
    counts = bands.join(products, on=["okpd2", "year"]).group_by("project_code", "year").agg(
        (pl.col("suppressed") & (band_class == name)).sum().alias(name) for name in classes
    )
    statuses = areas.select("project_code", "year", output_suppressed="suppressed").join(
        counts, on=["project_code", "year"], how="left"
    )
    output = pl.col("output_suppressed")
    leader, other, not_assessed = (pl.col(name).fill_null(0) for name in classes)
    leadership = (leader == 1) | (other == 1) | pl.when(output).then(not_assessed == 0).otherwise(not_assessed == 1)
    return statuses.select(
        "project_code",
        "year",
        output,
        leadership_suppressed=leadership,
        # the index is computed from every pillar: with the others and the weights it gives one away
        index_suppressed=output | leadership,
    )


def _national_statuses(con: duckdb.DuckDBPyConnection, area_years: pl.DataFrame) -> pl.DataFrame:
    """The ALL row: its consumption is the sum over the areas in the index (those with every
    pillar) and its index their consumption-weighted mean, so one hidden figure of such an area
    would be the difference from the published ones."""
    in_index = con.sql(
        "select project_code, year, missing_pillar_count = 0 as in_index from marts.sovereignty_index where project_code <> 'ALL'"
    ).pl()
    areas = area_years.join(in_index, on=["project_code", "year"])
    return areas.group_by("year").agg(
        consumption_suppressed=(pl.col("output_suppressed") & pl.col("in_index")).any(),
        index_suppressed=(pl.col("index_suppressed") & pl.col("in_index")).any(),
    )
