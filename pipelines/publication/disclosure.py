"""Disclosure control (metrics.md section 6): which published figures are confidential.

The primary rules mark the cells built from too few producers or dominated by one; secondary
suppression hides more cells until every hidden cell keeps its protection interval against an
attacker holding the whole release (protection.py, by optimisation; when the solver finds no
pattern in its time limit, the conservative whole-unit method below); the figures derived from
cells (leadership, sovereignty index) follow, and the national (ALL) index is kept published by
secondary suppression at the index level (protect_national_index). extracts.py applies the result to the published
tables and audit.py checks it. The design, and why it is sound: docs/disclosure.md.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace
from itertools import combinations

import duckdb
import numpy as np
import polars as pl

from pipelines.publication.audit import attacker_intervals
from pipelines.publication.index_table import (
    area_year_blocks,
    check_national_index,
    index_areas,
    index_statuses,
    own_index_ranges,
    product_bands,
)
from pipelines.publication.linked_table import CELL_SOURCES, LEADERSHIP, NATIONAL, LinkedTable, build_linked_table, cell_id
from pipelines.publication.protection import ProtectionResult, cell_costs, optimal_suppression
from pipelines.publication.solutions import SolvedProblems, problem_key
from pipelines.settings import (
    DEFAULT_DOMINANCE_SHARE,
    DEFAULT_MIN_PRODUCERS,
    DEFAULT_PROTECTION,
    DEFAULT_SOLVER_TIME_LIMIT,
    Settings,
)

# Secondary (complementary) cells are not confidential: like τ-ARGUS and sdcTable, they get no
# protection interval of their own, only what keeps them from being recovered: an interval of this
# share of the protection level (0.1 % at p = 10 %), a margin LP round-off cannot close.
SECONDARY_SHARE_OF_PROTECTION = 0.01
# How far an area's index hidden to keep the ALL index published is made to move, as shares of the
# protection level, smallest first: the secondary level (an index must not be recovered) and on up,
# tenfold, as long as a smaller move absorbs too little (protect_national_index).
INDEX_MOVES = (SECONDARY_SHARE_OF_PROTECTION, 0.1, 1.0)


@dataclass(frozen=True)
class DisclosurePolicy:
    """The settings of metrics.md section 6; defaults and environment variables: pipelines/settings.py."""

    min_producers: int = DEFAULT_MIN_PRODUCERS  # threshold rule: a cell with fewer distinct producers is confidential
    dominance_share: float = DEFAULT_DOMINANCE_SHARE  # (1, k) dominance: so is a cell whose largest producer has more
    # a confidential cell's value must stay uncertain to an attacker by at least this share, up and down
    protection: float = DEFAULT_PROTECTION
    solver_time_limit: float = DEFAULT_SOLVER_TIME_LIMIT  # seconds for secondary suppression by optimisation

    @classmethod
    def from_settings(cls, settings: Settings) -> DisclosurePolicy:
        return cls(settings.disclosure_min_producers, settings.disclosure_dominance_share, settings.disclosure_protection,
                   settings.disclosure_solver_time_limit)

    def __post_init__(self):
        if (
            self.min_producers < 1
            or not 0 < self.dominance_share <= 1
            or not 0 <= self.protection < 1
            or not self.solver_time_limit > 0
        ):
            raise ValueError(f"invalid disclosure policy: {self}")

    @property
    def secondary_protection(self) -> float:
        return self.protection * SECONDARY_SHARE_OF_PROTECTION

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
    """What is hidden, cell by cell, and how it was decided.

    product_quarters: okpd2, project_code, period, suppressed: the product's quarterly figures.
    product_years: okpd2, year, suppressed: its yearly output (product_leadership).
    area_quarters: project_code, period, suppressed: the area's quarterly figures.
    area_years: project_code, year and three statuses: output_suppressed (every yearly figure
        computed from the area's sums), leadership_suppressed (leadership_share) and
        index_suppressed (the sovereignty index, computed from both).
    years: year, consumption_suppressed, index_suppressed and uncertainty_suppressed (its
        percentiles): the ALL rows of the sovereignty index and its uncertainty.
    regional_cells: region_code, project_code, period, suppressed: output_value and producer_count.
    method: 'optimal' (protection.py) or 'whole-unit' (the conservative fallback), with the reason
        for a fallback and the seconds the optimisation took.
    technical_levels: code (okpd2), year, confidential: a product's technical level (one enterprise's K).
    """

    product_quarters: pl.DataFrame
    product_years: pl.DataFrame
    area_quarters: pl.DataFrame
    area_years: pl.DataFrame
    years: pl.DataFrame
    regional_cells: pl.DataFrame
    technical_levels: pl.DataFrame
    method: str
    fallback_reason: str | None = None
    solver_seconds: float = 0.0


def suppress(con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy, solved: SolvedProblems | None = None) -> Suppression:
    """Primary suppression, then secondary suppression by optimisation; when the solver finds no
    protecting pattern within its time limit, the whole-unit method (docs/disclosure.md).
    solved: the problems earlier releases solved (solutions.py), which this one adds to."""
    solved = SolvedProblems() if solved is None else solved
    table = build_linked_table(con, policy.output_confidential())
    result = cell_pattern(table, policy, solved)
    if result.hidden is None:
        return replace(whole_unit_suppression(con, policy), fallback_reason=result.reason, solver_seconds=result.seconds)
    cells, national_hidden = protect_national_index(con, table, result.hidden, policy, solved)
    hidden = table.cells.select("cell", "kind", suppressed=pl.Series(cells))
    statuses = {kind: _cell_statuses(con, kind, hidden) for kind in CELL_SOURCES}
    slacks = hidden.filter(kind=LEADERSHIP).select("cell", leadership_suppressed="suppressed")
    area_years = statuses["area_year"].rename({"suppressed": "output_suppressed"}).with_columns(
        cell=cell_id(LEADERSHIP, "project_code", "year")
    ).join(slacks, on="cell", how="left").select(
        "project_code", "year", "output_suppressed",
        leadership_suppressed=pl.col("leadership_suppressed").fill_null(False),
    ).with_columns(index_suppressed=pl.col("output_suppressed") | pl.col("leadership_suppressed"))
    # the ALL consumption is a cell of the model (a hidden area-year is protected with it published
    # or hidden, as the optimiser chose); the ALL index as protect_national_index decided
    national = hidden.filter(kind=NATIONAL).select("cell", national_suppressed="suppressed")
    years = _national_statuses(con, area_years).with_columns(cell=cell_id(NATIONAL, "year")).join(national, on="cell", how="left").select(
        "year", consumption_suppressed=pl.col("national_suppressed").fill_null(False),
        index_suppressed=pl.col("year").is_in(national_hidden), uncertainty_suppressed="uncertainty_suppressed",
    )
    return _sorted(Suppression(
        product_quarters=statuses["product_quarter"],
        product_years=statuses["product_year"],
        area_quarters=statuses["area_quarter"],
        area_years=area_years,
        years=years,
        regional_cells=statuses["region"],
        technical_levels=_technical_levels(con, policy),
        method="optimal",
        solver_seconds=result.seconds,
    ))


def cell_pattern(table: LinkedTable, policy: DisclosurePolicy, solved: SolvedProblems) -> ProtectionResult:
    """The cheapest protecting pattern of the table's cells, chosen part by part
    (LinkedTable.linked_parts). No relation links two parts, so the cheapest pattern of each is the
    cheapest of the table; and a part whose problem an earlier release solved (every year but
    the newest, after a quarter's reports) is answered from solved. The costs and the suppressor's
    bound on upward moves are each part's own (protection.cell_costs), so that a part's answer
    does not depend on the rest of the table. The time limit is the whole table's: no pattern
    unless every part has one."""
    started = time.monotonic()
    hidden = np.zeros(table.cells.height, dtype=bool)
    for cells in table.linked_parts():
        in_part = np.zeros(table.cells.height, dtype=bool)
        in_part[cells] = True
        part = table.subtable(in_part)
        remaining = policy.solver_time_limit - (time.monotonic() - started)
        key = problem_key(part, numbers=(policy.protection, policy.secondary_protection))
        found = solved.answer(key, functools.partial(
            optimal_suppression, part, policy.protection, policy.secondary_protection, remaining))
        if found.hidden is None:
            return ProtectionResult(None, found.reason, time.monotonic() - started)
        hidden[cells] = found.hidden
    return ProtectionResult(hidden, None, time.monotonic() - started)


def protect_national_index(
    con: duckdb.DuckDBPyConnection, table: LinkedTable, hidden: np.ndarray, policy: DisclosurePolicy, solved: SolvedProblems
) -> tuple[np.ndarray, list[int]]:
    """Secondary suppression at the index level (docs/disclosure.md, "The ALL index"). A year's ALL
    index is published when, with it, every hidden area index keeps an interval and every hidden
    cell its protection level (index_table.check_national_index). When not, more area indexes are
    hidden (national_pattern). The ALL index is hidden when no pattern protects, or when an area's
    consumption is hidden (its term of the ALL relation is then a product of two hidden figures).
    Returns the hidden cells with the index level's added and the years whose ALL index is hidden."""
    areas, bands = index_statuses(index_areas(con), table, hidden), product_bands(con)
    blocks, costs = area_year_blocks(table), cell_costs(table)
    national_hidden = []
    for (year,), rows in areas.group_by("year", maintain_order=True):
        if not rows["index_hidden"].any():
            continue
        found = None if rows["consumption_hidden"].any() else national_pattern(table, hidden, rows, bands, blocks, costs, policy, solved)
        if found is None:
            national_hidden.append(year)
        else:
            hidden = found
    return hidden, national_hidden


def national_pattern(table: LinkedTable, hidden: np.ndarray, rows: pl.DataFrame, bands: pl.DataFrame, blocks: np.ndarray,
                     costs: np.ndarray, policy: DisclosurePolicy, solved: SolvedProblems) -> np.ndarray | None:
    """The hidden cells that let a year's ALL index be published (rows: its areas, with their
    statuses), or None. Under the ALL index a hidden index can only move as far as the other hidden
    ones absorb, so more area indexes are hidden to absorb more, each opened (open_index) so that
    it can move by a share of its value (INDEX_MOVES, smallest first). At each move the sets of
    opened areas are tried cheapest first (the cost of the cells each adds, its share included),
    among the areas the opening leaves an index range of their own (hiding a share the release
    still gives away absorbs nothing). The areas' years share no hidden cell, so an area's opening
    and own range do not depend on the others."""
    position, tried = table.index(), set()
    for move in (policy.protection * share for share in INDEX_MOVES):
        openings = {}
        for area in rows.filter(~pl.col("index_hidden")).iter_rows(named=True):
            opened = open_index(table, hidden, area, blocks == blocks[position[area["area_year"]]], move, policy, solved)
            if opened is not None:
                openings[area["project_code"]] = opened & ~hidden
        every = hidden.copy()
        for added in openings.values():
            every |= added
        own = own_index_ranges(table, every, rows)
        useful = [code for code, cell, value in rows.select("project_code", "index_cell", "index").iter_rows()
                  if code in openings and own[cell][1] - own[cell][0] >= policy.secondary_protection * value]
        sets = sorted((chosen for size in range(len(useful) + 1) for chosen in combinations(useful, size)),
                      key=lambda chosen: (sum(costs[openings[code]].sum() for code in chosen), chosen))
        for chosen in sets:
            trial = hidden.copy()
            for code in chosen:
                trial |= openings[code]
            if (key := trial.tobytes()) in tried:
                continue
            tried.add(key)
            statuses = rows.with_columns(index_hidden=pl.col("index_hidden") | pl.col("project_code").is_in(list(chosen)))
            check = check_national_index(table, trial, statuses, bands, policy.secondary_protection, own)
            if check.indexes_protected() and attacker_intervals(check.table, check.bounded_groups(), policy).passed:
                return trial
    return None


def open_index(table: LinkedTable, hidden: np.ndarray, area: dict, block: np.ndarray, move: float,
               policy: DisclosurePolicy, solved: SolvedProblems) -> np.ndarray | None:
    """The hidden cells with the area's leadership share hidden and the cheapest cells of its year
    (block: index_table.area_year_blocks) that let the share move as far as moves the index by
    `move` of its value, each way (the cell-level optimiser, its consumption kept published, so
    that no other area's cell is linked to the new ones). None when the index does not depend on
    the share or no pattern lets it move that far. An answer found before for the same problem
    is taken from solved."""
    if area["weight"] == 0:
        return None
    part = table.subtable(block)
    position = part.index()
    if area["leadership"] not in position:  # the share relates no output: it is what it is
        return None
    slack = position[area["leadership"]]
    # I ~ L^w: a relative move m of the index is one of m / w of the share, and the slack of the
    # share's relation moves by the share's move times the assessed output (the slack's basis)
    level = move / area["weight"] * area["share_clamped"] * part.cells["basis"][slack]
    may_hide = (part.cells["cell"] != area["area_year"]).to_numpy()
    key = problem_key(part, hidden[block], may_hide, numbers=(slack, level, policy.protection, policy.secondary_protection))
    found = solved.answer(key, lambda: optimal_suppression(
        part, policy.protection, policy.secondary_protection, policy.solver_time_limit,
        hidden_already=hidden[block], may_hide=may_hide, moves={slack: level},
    )).hidden
    if found is None:
        return None
    opened = hidden.copy()
    opened[block] = found
    return opened


def whole_unit_suppression(con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy) -> Suppression:
    """The conservative method: hide whole product-years and area-years (every quarter and the
    year), with complements by the exactly-one rule. Safe against exact recovery, with no
    protection interval; the fallback when optimisation fails, and the benchmark's baseline."""
    products, areas, regions = _product_years(con, policy), _area_years(con, policy), _regional_cells(con, policy)
    units = pl.concat(frame.select("unit", "q", "suppressed") for frame in (products, areas, regions))
    status = complement_suppression(units, _groups(products, areas, regions)).select("unit", "suppressed")
    products, areas, regions = (frame.drop("suppressed").join(status, on="unit") for frame in (products, areas, regions))
    area_years = _area_statuses(con, products, areas)
    quarters = con.sql("select okpd2, project_code, period, year from marts.product_independence").pl()
    area_quarters = quarters.select("project_code", "period", "year").unique()
    return _sorted(Suppression(
        product_quarters=quarters.join(products.select("okpd2", "year", "suppressed"), on=["okpd2", "year"]).drop("year"),
        product_years=products.select("okpd2", "year", "suppressed"),
        area_quarters=area_quarters.join(areas.select("project_code", "year", "suppressed"), on=["project_code", "year"]).drop("year"),
        area_years=area_years,
        years=_national_statuses(con, area_years),
        regional_cells=regions.select("region_code", "project_code", "period", "suppressed"),
        technical_levels=_technical_levels(con, policy),
        method="whole-unit",
    ))


def _technical_levels(con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy) -> pl.DataFrame:
    """Whether a product's technical level (one enterprise's K) is confidential, by year."""
    return con.sql("select okpd2, year, producers_assessed from marts.product_leadership").pl().select(
        code="okpd2", year="year", confidential=policy.technical_level_confidential()
    )


def _cell_statuses(con: duckdb.DuckDBPyConnection, kind: str, hidden: pl.DataFrame) -> pl.DataFrame:
    """The keys of every row of the kind's mart with its cell's status (a cell without a figure
    is not in the table and has nothing to hide)."""
    mart, keys = CELL_SOURCES[kind]
    extra = ", project_code" if kind == "product_quarter" else ""
    rows = con.sql(f"select {', '.join(keys)}{extra} from marts.{mart}").pl()
    statuses = rows.with_columns(cell=cell_id(kind, *keys)).join(hidden.select("cell", "suppressed"), on="cell", how="left")
    return statuses.select(*keys, *([pl.col("project_code")] if extra else []), suppressed=pl.col("suppressed").fill_null(False))


def _sorted(s: Suppression) -> Suppression:
    return replace(
        s,
        product_quarters=s.product_quarters.sort("period", "okpd2"),
        product_years=s.product_years.sort("year", "okpd2"),
        area_quarters=s.area_quarters.sort("period", "project_code"),
        area_years=s.area_years.sort("year", "project_code"),
        years=s.years.sort("year"),
        regional_cells=s.regional_cells.sort("period", "region_code", "project_code"),
        technical_levels=s.technical_levels.sort("year", "code"),
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
    would be the difference from the published ones. The whole-unit fallback hides the ALL index
    with any area index in it (optimisation decides by protect_national_index). The percentiles of
    ALL over the weight draws are hidden with any area index in either method: each is one more
    equation, nonlinear and different from the index's, in the hidden leadership shares (four
    equations in two shares determine them), which no linear audit bounds."""
    in_index = con.sql(
        "select project_code, year, missing_pillar_count = 0 as in_index from marts.sovereignty_index where project_code <> 'ALL'"
    ).pl()
    areas = area_years.join(in_index, on=["project_code", "year"])
    return areas.group_by("year").agg(
        consumption_suppressed=(pl.col("output_suppressed") & pl.col("in_index")).any(),
        index_suppressed=(pl.col("index_suppressed") & pl.col("in_index")).any(),
    ).with_columns(uncertainty_suppressed="index_suppressed")
