"""The index level as a linked table of its own: the national (ALL) sovereignty index.

The ALL index of a year is the consumption-weighted mean of the indexes of the areas in it
(metrics.md section 5): sum_a C_a * I_a = ALL * sum_a C_a. With every area's consumption
published, the published ALL index is one LINEAR relation between the area indexes, and with the
published area indexes it is a relation between the hidden ones. Each hidden index has a range of
its own, before the ALL index: its other three pillars are published (an index is hidden with its
leadership share only: a hidden consumption makes the relation nonlinear, and the ALL index is then
hidden), so it is I(L) = I * (clamp(L) / clamp(L_true)) ** w, a function of its leadership share L,
and L = leader output / assessed output (public bands) can only take the values the linked table of
output (linked_table.py) leaves it. Areas share no hidden cell (their consumptions are published),
so these ranges are independent, and the hidden indexes an attacker can reconcile with the ALL
index are exactly the points of the ALL relation inside the box of the ranges: two LPs per hidden
index give its interval. That interval in turn bounds the area's leadership share, two linear
inequalities on its products' yearly output (share_bounds_table), under which the hidden cells must
still keep their protection levels (docs/disclosure.md, "The ALL index").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
import scipy.sparse as sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from pipelines.publication.linked_table import LEADERSHIP, NATIONAL, SHARE_BOUND, LinkedTable, cell_id, leadership_relations

# Pillars are clamped to [CLAMP_LOW, 1] before the index is computed (metrics.md section 5).
CLAMP_LOW = 0.01
# Interval gaps are compared with the levels up to LP round-off (as audit.py's cells).
TOLERANCE = 1e-6


@dataclass(frozen=True)
class IndexInterval:
    """A hidden area index: the attacker's interval given the published ALL index (lowest,
    highest), and the range the area's own figures leave it without the ALL index (own_lowest,
    own_highest: the published pillars, and the shares its products' outputs allow). A hidden
    index is a secondary figure, hidden because it would give its leadership share and through it
    confidential cells away: like a secondary cell it must not be recovered, an interval of at
    least `required` of its value; what must keep the protection level are the cells behind it
    (the share bounds, checked on the linked table). The interval is not required on each side:
    an index whose share is 1 is at the top of its own range, a public fact."""

    cell: str  # 'index BIO 2026'
    value: float
    lowest: float
    highest: float
    own_lowest: float
    own_highest: float
    required: float

    @property
    def below(self) -> float:
        return (self.value - self.lowest) / self.value

    @property
    def above(self) -> float:
        return (self.highest - self.value) / self.value

    @property
    def narrowest(self) -> float:
        return self.below + self.above

    @property
    def protected(self) -> bool:
        return self.narrowest >= self.required * (1 - TOLERANCE)

    def as_json(self) -> dict:
        def share(gap: float) -> float | None:
            return None if math.isinf(gap) else round(float(gap), 6)

        return {"cell": self.cell, "below": share(self.below), "above": share(self.above),
                "own_below": share((self.value - self.own_lowest) / self.value),
                "own_above": share((self.own_highest - self.value) / self.value), "required": self.required}


@dataclass(frozen=True)
class NationalIndexCheck:
    """The hidden indexes' intervals, and the linked table with the bounds the ALL index sets on
    the hidden leadership shares (hidden: its hidden cells, the bounds' surpluses included)."""

    intervals: list[IndexInterval]
    table: LinkedTable
    hidden: np.ndarray

    def indexes_protected(self) -> bool:
        return all(interval.protected for interval in self.intervals)

    def bounded_groups(self) -> np.ndarray:
        """The hidden cells linked to a share bound (the only ones the ALL index can narrow)."""
        bounded = (self.table.cells["kind"] == SHARE_BOUND).to_numpy()
        mask = np.zeros(len(self.hidden), dtype=bool)
        for group in self.table.hidden_groups(self.hidden):
            if bounded[group].any():
                mask[group] = True
        return mask


def area_year_blocks(table: LinkedTable) -> np.ndarray:
    """A label per cell: the cells of one area's year (its products' and regions' cells, its
    quarters, its year and its leadership share) share one, as they are linked to other areas'
    only through the national total (a cell of kind national, with a label of its own)."""
    national = (table.cells["kind"] == NATIONAL).to_numpy()
    incidence = abs(table.matrix()).astype(bool).astype(np.int32) @ sparse.diags_array((~national).astype(np.int32), dtype=np.int32)
    _, labels = connected_components(incidence.T @ incidence, directed=False)
    return labels


def index_areas(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The area-years in their year's ALL index (every pillar present): project_code, year,
    consumption, index, share (leadership pillar), share_clamped, weight (of the leadership
    pillar), the names of the cells behind them (area_year, leadership), and leaders and assessed:
    the product-year cells of the area's leader and assessed products (public bands)."""
    areas = con.sql("""
        select project_code, year, cast(apparent_consumption as double) as consumption,
            sovereignty_index as index, leadership as share, leadership_clamped as share_clamped,
            weight_leadership as weight
        from marts.sovereignty_index
        where project_code <> 'ALL' and missing_pillar_count = 0
    """).pl()
    bands = product_bands(con)
    product = cell_id("product_year", "okpd2", "year")
    members = bands.filter(pl.col("band") != "not_assessed").group_by("project_code", "year").agg(
        leaders=product.filter(pl.col("band") == "leader"), assessed=product,
    )
    return areas.join(members, on=["project_code", "year"], how="left").with_columns(
        area_year=cell_id("area_year", "project_code", "year"),
        leadership=cell_id(LEADERSHIP, "project_code", "year"),
        index_cell=cell_id("index", "project_code", "year"),
    ).sort("year", "project_code")


def product_bands(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """okpd2, project_code, year, band: which products' output the leadership shares add up."""
    return con.sql("select okpd2, project_code, year, band from marts.product_leadership").pl()


def index_at(area: dict, share: float) -> float:
    """The area's index with its leadership share replaced, the other pillars as published."""
    return area["index"] * (min(max(share, CLAMP_LOW), 1.0) / area["share_clamped"]) ** area["weight"]


def share_at(area: dict, index: float) -> tuple[float, float]:
    """The leadership shares that give the area this index: an interval, because clamping makes
    every share up to CLAMP_LOW give the same index (and a weight of 0 makes the index blind to it)."""
    if area["weight"] == 0:
        return 0.0, 1.0
    clamped = area["share_clamped"] * (index / area["index"]) ** (1 / area["weight"])
    if clamped <= CLAMP_LOW * (1 + TOLERANCE):
        return 0.0, CLAMP_LOW
    return min(clamped, 1.0), min(clamped, 1.0)


def share_range(table: LinkedTable, matrix: sparse.csr_array, groups: list[np.ndarray], hidden: np.ndarray,
                area: dict) -> tuple[float, float]:
    """The lowest and highest leadership share (leader output / assessed output) of any table
    consistent with the release's linked table: a linear-fractional program, solved as an LP by the
    Charnes-Cooper transformation (y = t * deviations, t = 1 / assessed output)."""
    position = table.index()
    values = table.cells["value"].to_numpy()
    assessed = [position[c] for c in area["assessed"] or [] if c in position]
    leaders = [position[c] for c in area["leaders"] or [] if c in position]
    leader_total, assessed_total = values[leaders].sum(), values[assessed].sum()
    touched = [group for group in groups if hidden[group].any() and np.isin(group, assessed).any()]
    if not touched or assessed_total <= 0:  # every assessed product published: the share is known
        share = leader_total / assessed_total if assessed_total > 0 else area["share"]
        return share, share
    cells = np.concatenate(touched)
    rows = np.flatnonzero(abs(matrix[:, cells]).sum(axis=1) > 0)
    local = sparse.csr_array(matrix[rows, :][:, cells])
    size = len(cells)
    in_assessed, in_leaders = np.isin(cells, assessed).astype(float), np.isin(cells, leaders).astype(float)
    # equalities: the relations on y, and assessed(y) + assessed_total * t = 1
    a_eq = sparse.vstack([sparse.hstack([local, sparse.csr_array((len(rows), 1))]),
                          sparse.csr_array(np.append(in_assessed, assessed_total)[None, :])])
    b_eq = np.append(np.zeros(len(rows)), 1.0)
    # an output cannot fall below 0: -y_j - value_j * t <= 0 (a slack is free)
    outputs = np.flatnonzero(~table.slack[cells])
    a_ub = sparse.csr_array((np.concatenate([-np.ones(len(outputs)), -values[cells[outputs]]]),
                             (np.concatenate([np.arange(len(outputs))] * 2),
                              np.concatenate([outputs, np.full(len(outputs), size)]))), shape=(len(outputs), size + 1))
    bounds = [(None, None)] * size + [(0, None)]
    objective = np.append(in_leaders, leader_total)
    found = []
    for sign in (1.0, -1.0):
        lp = linprog(sign * objective, A_ub=a_ub, b_ub=np.zeros(len(outputs)), A_eq=a_eq, b_eq=b_eq, bounds=bounds,
                     method="highs")
        if lp.status != 0:
            raise RuntimeError(f"the leadership share's LP for {area['leadership']} failed: {lp.message}")
        found.append(min(max(sign * lp.fun, 0.0), 1.0))
    return found[0], found[1]


def own_index_ranges(table: LinkedTable, hidden: np.ndarray, areas: pl.DataFrame) -> dict[str, tuple[float, float]]:
    """index cell -> the range each area's index has of its own, with its share hidden."""
    matrix, groups = table.matrix(), table.hidden_groups(hidden)
    ranges = {}
    for area in areas.iter_rows(named=True):
        low, high = share_range(table, matrix, groups, hidden, area)
        ranges[area["index_cell"]] = (index_at(area, low), index_at(area, high))
    return ranges


def national_intervals(year: pl.DataFrame, own: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """For each hidden index of a year's areas (index_hidden), its lowest and highest value given
    the published ALL index: sum over hidden a of C_a * (I_a' - I_a) = 0, each I_a' in its own range."""
    hidden = year.filter("index_hidden")
    weights = hidden["consumption"].to_numpy()[None, :]
    bounds = [(own[cell][0] - value, own[cell][1] - value) for cell, value in zip(hidden["index_cell"], hidden["index"])]
    intervals = {}
    for position, (cell, value) in enumerate(zip(hidden["index_cell"], hidden["index"])):
        ends = []
        for sign in (1.0, -1.0):
            objective = np.zeros(hidden.height)
            objective[position] = sign
            lp = linprog(objective, A_eq=weights, b_eq=[0.0], bounds=bounds, method="highs")
            if lp.status != 0:
                raise RuntimeError(f"the ALL index's LP for {cell} failed: {lp.message}")
            ends.append(value + sign * lp.fun)
        intervals[cell] = (ends[0], ends[1])
    return intervals


def check_national_index(table: LinkedTable, hidden: np.ndarray, areas: pl.DataFrame, bands: pl.DataFrame,
                         required: float, own: dict[str, tuple[float, float]] | None = None) -> NationalIndexCheck:
    """What the published ALL indexes tell an attacker. areas: index_areas of the years whose ALL
    index is published, with index_hidden and consumption_hidden; own: their own index ranges
    (own_index_ranges) when already known; required: the width a hidden index's interval must
    keep, as a share of its value (the secondary protection level). A hidden consumption makes
    the ALL index a nonlinear relation in the hidden figures that no LP bounds: its hidden
    indexes count as recovered."""
    own = own if own is not None else own_index_ranges(table, hidden, areas.filter("index_hidden"))
    intervals, shares = [], {}
    for (year_value,), year in areas.group_by("year", maintain_order=True):
        if not year["index_hidden"].any():
            continue
        if year["consumption_hidden"].any():  # no own range either: nothing may be taken from it
            intervals += [IndexInterval(cell, value, value, value, -math.inf, math.inf, required)
                          for cell, value in year.filter("index_hidden").select("index_cell", "index").iter_rows()]
            continue
        found = national_intervals(year, own)
        for area in year.filter("index_hidden").iter_rows(named=True):
            lowest, highest = found[area["index_cell"]]
            cell = area["index_cell"]
            intervals.append(IndexInterval(cell, area["index"], lowest, highest, *own[cell], required))
            shares[(area["project_code"], year_value)] = (share_at(area, lowest)[0], share_at(area, highest)[1])
    bounded, with_bounds = share_bounds_table(table, bands, shares)
    return NationalIndexCheck(intervals, bounded, np.concatenate([hidden, np.ones(with_bounds, dtype=bool)]))


def share_bounds_table(
    table: LinkedTable, bands: pl.DataFrame, shares: dict[tuple[str, int], tuple[float, float]]
) -> tuple[LinkedTable, int]:
    """The linked table with the bounds low <= L <= high on hidden leadership shares as relations,
    leader - low * assessed - u = 0 and high * assessed - leader - v = 0 with hidden surpluses
    u, v >= 0 (cells of kind share_bound, appended after the table's cells); and how many were
    added. A bound at 0 or 1 says nothing the outputs do not and is left out."""
    frames = []
    for (code, year), (low, high) in sorted(shares.items()):
        area = bands.filter(project_code=code, year=year)
        for side, share, sign in (("lower", low, 1.0), ("upper", high, -1.0)):
            if (side == "lower" and share <= 0) or (side == "upper" and share >= 1):
                continue
            rows = leadership_relations(area.with_columns(leadership_share=pl.lit(share)))
            frames.append(rows.select(relation=pl.lit(f"{SHARE_BOUND} {code} {year} {side}"), cell="cell",
                                      coefficient=pl.col("coefficient") * sign))
    if not frames:
        return table, 0
    relations = pl.concat(frames).join(table.cells.select("cell", "value"), on="cell").filter(pl.col("coefficient") != 0)
    surpluses = relations.group_by("relation", maintain_order=True).agg(
        value=(pl.col("coefficient") * pl.col("value")).sum().clip(lower_bound=0.0)
    ).select(cell="relation", kind=pl.lit(SHARE_BOUND), value="value", primary=pl.lit(False), basis=pl.lit(0.0))
    relations = pl.concat([
        relations.select("relation", "cell", "coefficient"),
        surpluses.select(relation="cell", cell="cell", coefficient=pl.lit(-1.0)),
    ])
    cells = pl.concat([table.cells, surpluses.select(table.cells.columns)])
    return LinkedTable(cells=cells, relations=pl.concat([table.relations, relations])), surpluses.height


def index_statuses(areas: pl.DataFrame, table: LinkedTable, hidden: np.ndarray) -> pl.DataFrame:
    """index_areas with consumption_hidden (its area-year hidden) and index_hidden (that or its
    leadership share hidden), as a hidden-cells mask of the linked table decides."""
    names = set(table.cells.filter(pl.Series(hidden))["cell"])
    consumption = pl.col("area_year").is_in(list(names))
    return areas.with_columns(consumption_hidden=consumption, index_hidden=consumption | pl.col("leadership").is_in(list(names)))

