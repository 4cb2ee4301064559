"""The linked tables of output value behind a release: cells and the linear relations between them.

Both the suppressor (protection.py) and the auditor (audit.py) work on this model. A cell is one
published output value (Q); every other figure of a cell (consumption, the ratios, the cost, R&D
and domestic-technology sums) is hidden or published with it, and with the public imports and
exports each gives Q away (docs/disclosure.md, "What an attacker has"). The relations are the
ones an outsider can write from the release:

- an area's quarter is the sum of its products' quarters, and the sum of its regions' cells;
- a product's or area's year is the sum of its quarters;
- the national (ALL) consumption of a year is the sum over the areas in the index, so its Q is
  the sum of their yearly Q (their yearly imports and exports are public);
- an area's leadership share L relates the yearly output of its products by their public bands:
  sum(leader products) - L * sum(assessed products) = 0. The share can be hidden instead of
  cells (it hides the area's index): its relation then has a free slack, a cell of kind
  'leadership' with value 0 that an attacker knows only when the share is published.

A cell without a figure (NULL output: no producer reports) is not in the table; a relation whose
total has no figure is not either.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
import scipy.sparse as sparse
from scipy.sparse.csgraph import connected_components

# kind -> (mart holding its output_value, producer_count and top1_share, key columns)
CELL_SOURCES = {
    "product_quarter": ("product_independence", ("okpd2", "period")),
    "product_year": ("product_independence_yearly", ("okpd2", "year")),
    "area_quarter": ("area_independence", ("project_code", "period")),
    "area_year": ("area_independence_yearly", ("project_code", "year")),
    "region": ("regional_development", ("region_code", "project_code", "period")),
}
NATIONAL = "national"  # the ALL row's yearly Q: no mart of its own, never confidential by itself
LEADERSHIP = "leadership"  # the slack of a leadership share's relation (not an output value)
# the surplus of a bound on a hidden leadership share that the published ALL index implies
# (index_table.py): leader output - bound * assessed output, >= 0 or <= 0 (not an output value)
SHARE_BOUND = "share_bound"


def cell_id(kind: str, *keys: str | pl.Expr) -> pl.Expr:
    """The cell's name, e.g. 'product_quarter 26.20.11 2026-Q1': unique, stable and sortable."""
    return pl.format(kind + " {}" * len(keys), *keys)


@dataclass(frozen=True)
class LinkedTable:
    """cells: cell, kind, value (Float64, >= 0), primary (Bool), and basis, the output value that
    hiding the cell hides (its value; for a leadership slack, the area's assessed output), in a
    fixed order (by cell); relations: relation, cell, coefficient: sum(coefficient * value) = 0."""

    cells: pl.DataFrame
    relations: pl.DataFrame

    def index(self) -> dict[str, int]:
        return {cell: i for i, cell in enumerate(self.cells["cell"])}

    def matrix(self) -> sparse.csr_array:
        """Relations x cells, in the order of `cells`."""
        position = self.index()
        names = sorted(set(self.relations["relation"]))
        row_of = {name: i for i, name in enumerate(names)}
        rows = np.array([row_of[r] for r in self.relations["relation"]], dtype=np.int64)
        cols = np.array([position[c] for c in self.relations["cell"]], dtype=np.int64)
        values = self.relations["coefficient"].to_numpy()
        return sparse.csr_array(sparse.coo_array((values, (rows, cols)), shape=(len(names), self.cells.height)))

    @property
    def slack(self) -> np.ndarray:
        """Free variables: the slacks of hidden leadership shares."""
        return (self.cells["kind"] == LEADERSHIP).to_numpy()

    @property
    def auxiliary(self) -> np.ndarray:
        """Cells that are no published output value (slacks and share-bound surpluses): they have
        no protection level of their own."""
        return self.cells["kind"].is_in([LEADERSHIP, SHARE_BOUND]).to_numpy()

    def subtable(self, cells: np.ndarray) -> LinkedTable:
        """The cells of the mask, with every relation restricted to them: what the relations say of
        them when the cells left out keep their values. A pattern chosen on it holds on the whole
        table when no relation links a cell it may hide to a hidden cell left out."""
        kept = self.cells.filter(pl.Series(cells))
        return LinkedTable(cells=kept, relations=self.relations.join(kept.select("cell"), on="cell", how="semi"))

    def hidden_groups(self, hidden: np.ndarray) -> list[np.ndarray]:
        """The hidden cells in groups linked by relations (two hidden cells of one relation are
        linked): an attacker's LP for a cell involves only its group. In a fixed order."""
        return self._linked_groups(np.flatnonzero(hidden))

    def linked_parts(self) -> list[np.ndarray]:
        """Every cell, in parts that no relation links (positions, in a fixed order): the area-years
        of a year's ALL index, which the national total links, are one part, and every other
        area-year is one of its own. Secondary suppression chooses each part's pattern on its own
        (disclosure.cell_pattern)."""
        return self._linked_groups(np.arange(self.cells.height))

    def _linked_groups(self, cells: np.ndarray) -> list[np.ndarray]:
        """The given cells in groups linked by the relations between them (directly or through
        others of them)."""
        if len(cells) == 0:
            return []
        incidence = abs(self.matrix()[:, cells]).astype(bool).astype(np.int32)
        adjacency = (incidence.T @ incidence).astype(bool)
        count, labels = connected_components(adjacency, directed=False)
        return [cells[labels == label] for label in range(count)]

    def residual(self) -> float:
        """The largest relative violation of a relation by the true values (0 up to rounding)."""
        matrix, values = self.matrix(), self.cells["value"].to_numpy()
        if matrix.shape[0] == 0:
            return 0.0
        scale = abs(matrix) @ values
        return float(np.max(np.abs(matrix @ values) / np.maximum(scale, 1.0)))


def build_linked_table(con: duckdb.DuckDBPyConnection, primary_rule: pl.Expr) -> LinkedTable:
    """The table of the warehouse behind con; primary_rule marks confidential cells (a boolean
    expression on producer_count and top1_share: DisclosurePolicy.output_confidential)."""
    frames = {}
    for kind, (mart, keys) in CELL_SOURCES.items():
        frame = con.sql(f"select {', '.join(keys)}, output_value, producer_count, top1_share from marts.{mart}").pl()
        frames[kind] = frame.filter(pl.col("output_value").is_not_null()).select(
            *keys, cell=cell_id(kind, *keys), kind=pl.lit(kind), value=pl.col("output_value").cast(pl.Float64),
            primary=primary_rule,
        )
    index_areas = con.sql(
        "select project_code, year from marts.sovereignty_index where project_code <> 'ALL' and missing_pillar_count = 0"
    ).pl()
    in_index = frames["area_year"].join(index_areas, on=["project_code", "year"])
    national = in_index.group_by("year").agg(value=pl.col("value").sum()).select(
        "year", cell=cell_id(NATIONAL, "year"), kind=pl.lit(NATIONAL), value="value", primary=pl.lit(False)
    )
    outputs = pl.concat([frame.select("cell", "kind", "value", "primary") for frame in (*frames.values(), national)])

    product_quarters = con.sql("select okpd2, project_code, period, year from marts.product_independence").pl()
    regions = con.sql("select region_code, project_code, period from marts.regional_development").pl()
    bands = con.sql("""
        select products.okpd2, products.project_code, products.year, products.band, areas.leadership_share
        from marts.product_leadership as products
        join marts.area_leadership as areas using (project_code, year)
        where areas.leadership_share is not null
    """).pl()
    relations = pl.concat([
        _sums("area_quarter", ["project_code", "period"], "product_quarter", product_quarters, ["okpd2", "period"], "products"),
        _sums("area_quarter", ["project_code", "period"], "region", regions, ["region_code", "project_code", "period"], "regions"),
        _sums("product_year", ["okpd2", "year"], "product_quarter", product_quarters, ["okpd2", "period"], "quarters"),
        _sums("area_year", ["project_code", "year"], "area_quarter",
              product_quarters.select("project_code", "period", "year").unique(), ["project_code", "period"], "quarters"),
        _sums(NATIONAL, ["year"], "area_year", in_index.select("project_code", "year"), ["project_code", "year"], "areas"),
        leadership_relations(bands),
    ])
    slacks = (
        relations.filter(pl.col("relation").str.starts_with(LEADERSHIP)).join(outputs, on="cell")
        .group_by("relation").agg(basis=pl.col("value").sum())
        .select(cell="relation", kind=pl.lit(LEADERSHIP), value=pl.lit(0.0), primary=pl.lit(False), basis="basis")
    )
    cells = pl.concat([outputs.with_columns(basis="value"), slacks]).sort("cell")
    relations = pl.concat([
        relations,
        slacks.select(relation="cell", cell="cell", coefficient=pl.lit(1.0), is_total=pl.lit(False)),
    ])
    # a sum needs its total; every relation holds over the cells with a figure (the marts' sums
    # skip the others too), and a zero coefficient (L = 1 for the leaders) relates nothing
    sums = relations.filter("is_total")["relation"]
    relations = relations.join(cells.select("cell"), on="cell", how="semi").filter(pl.col("coefficient") != 0)
    complete = relations.filter("is_total")["relation"]
    relations = relations.filter(pl.col("relation").is_in(complete.implode()) | ~pl.col("relation").is_in(sums.implode()))
    relations = relations.filter(pl.len().over("relation") > 1)
    return LinkedTable(cells=cells, relations=relations.select("relation", "cell", "coefficient").sort("relation", "cell"))


def _sums(total_kind: str, total_keys: list[str], part_kind: str, parts: pl.DataFrame, part_keys: list[str], name: str) -> pl.DataFrame:
    """total - sum(parts) = 0, one relation per total; parts has the total's and the part's keys."""
    members = parts.select(
        relation=cell_id(total_kind, *total_keys) + pl.lit(f" = {name}"),
        total=cell_id(total_kind, *total_keys),
        part=cell_id(part_kind, *part_keys),
    ).unique()
    totals = members.select("relation", cell="total", coefficient=pl.lit(1.0), is_total=pl.lit(True)).unique()
    return pl.concat([totals, members.select("relation", cell="part", coefficient=pl.lit(-1.0), is_total=pl.lit(False))])


def leadership_relations(bands: pl.DataFrame) -> pl.DataFrame:
    """sum over leaders (1 - L) * Q - sum over other assessed L * Q = 0, for each share L
    (bands: okpd2, project_code, year, band, leadership_share)."""
    share = pl.col("leadership_share").cast(pl.Float64)
    return bands.filter(pl.col("band") != "not_assessed").select(
        relation=cell_id(LEADERSHIP, "project_code", "year"),
        cell=cell_id("product_year", "okpd2", "year"),
        coefficient=pl.when(pl.col("band") == "leader").then(1 - share).otherwise(-share),
        is_total=pl.lit(False),
    )
