"""The disclosure audit: the tightest interval an attacker can derive for every hidden figure.

Separate from the suppressor: it reads what is hidden from the published extracts themselves
(their `_flag` columns), not from the suppression that produced them, and it gives the attacker
no bound the suppressor assumed. For each hidden output cell, two linear programs, the minimum
and the maximum of the cell subject to every published relation (linked_table.py: sums over
products, regions, quarters and areas, the leadership shares), every published value and
non-negativity, give the interval the release leaves it. A published ALL index is a relation
between the hidden area indexes (index_table.py): the audit computes each hidden index's interval
under it, and the bounds it sets on the hidden leadership shares join the relations of the cells'
LPs. The release is withheld when a confidential cell's interval does not reach the protection
level on both sides, a secondary cell's the secondary level, or a hidden index is recovered
(docs/disclosure.md, "Audit" and "The ALL index").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl

from pipelines.publication.attacker_lp import AttackerLp
from pipelines.publication.index_table import IndexInterval, check_national_index, index_areas, product_bands
from pipelines.publication.linked_table import LEADERSHIP, NATIONAL, LinkedTable, build_linked_table, cell_id

if TYPE_CHECKING:  # disclosure.py's suppressor uses attacker_intervals: no import cycle at run time
    from pipelines.publication.disclosure import DisclosurePolicy

# where each kind of cell is published: extract, its key columns, the figure whose flag hides it
PUBLISHED_AS = {
    "product_quarter": ("product_independence", ("okpd2", "period"), "output_value"),
    "product_year": ("product_leadership", ("okpd2", "year"), "output_value"),
    "area_quarter": ("area_independence", ("project_code", "period"), "output_value"),
    # the area's yearly Q is its consumption minus the public imports plus exports
    "area_year": ("sovereignty_index", ("project_code", "year"), "apparent_consumption"),
    "region": ("regional_development", ("region_code", "project_code", "period"), "output_value"),
    LEADERSHIP: ("area_leadership", ("project_code", "year"), "leadership_share"),
}
# Interval gaps are compared with the levels up to LP round-off.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class CellInterval:
    cell: str
    primary: bool
    value: float
    below: float  # how far below its value the attacker's minimum is, as a share of the value
    above: float  # and the maximum above it (inf: unbounded)
    required: float

    @property
    def narrowest(self) -> float:
        return min(self.below, self.above)

    @property
    def protected(self) -> bool:
        return self.narrowest >= self.required * (1 - TOLERANCE)

    def as_json(self) -> dict:
        def share(gap: float) -> float | None:
            return None if math.isinf(gap) else round(float(gap), 6)

        return {"cell": self.cell, "primary": self.primary, "below": share(self.below), "above": share(self.above),
                "required": self.required}


@dataclass(frozen=True)
class AuditResult:
    protection: float
    secondary_protection: float
    intervals: list[CellInterval] = field(default_factory=list)
    residual: float = 0.0  # the largest relative violation of a relation by the true values
    loss: dict = field(default_factory=dict)  # information_loss of the release
    # hidden area indexes in a year whose ALL index is published (index_table.py)
    index_intervals: list[IndexInterval] = field(default_factory=list)

    @property
    def failures(self) -> list[CellInterval | IndexInterval]:
        cells: list[CellInterval | IndexInterval] = [interval for interval in self.intervals if not interval.protected]
        return cells + [interval for interval in self.index_intervals if not interval.protected]

    @property
    def passed(self) -> bool:
        return not self.failures

    def narrowest(self, primary: bool) -> CellInterval | None:
        cells = [interval for interval in self.intervals if interval.primary == primary]
        return min(cells, key=lambda interval: (interval.narrowest, interval.cell), default=None)

    def summary(self) -> dict:
        """For manifest.json: the narrowest intervals (as shares of their cells) and the failures."""
        primary, secondary = self.narrowest(True), self.narrowest(False)
        index = min(self.index_intervals, key=lambda interval: (interval.narrowest, interval.cell), default=None)
        return {
            "protection": self.protection,
            "secondary_protection": self.secondary_protection,
            "hidden_cells": len(self.intervals),
            "confidential_cells": sum(interval.primary for interval in self.intervals),
            "narrowest_confidential": primary.as_json() if primary else None,
            "narrowest_secondary": secondary.as_json() if secondary else None,
            "hidden_indexes_under_published_all": len(self.index_intervals),
            "narrowest_index": index.as_json() if index else None,
            "failures": [interval.as_json() for interval in self.failures],
            "passed": self.passed,
            "information_loss": self.loss,
        }


def audit_release(con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy, extracts: dict[str, pl.DataFrame]) -> AuditResult:
    """The attacker's interval for every hidden output cell and every hidden area index of the
    extracts (as published)."""
    table = build_linked_table(con, policy.output_confidential())
    flags = table.cells.select("cell").join(hidden_cells(extracts), on="cell", how="left")["hidden"]
    hidden = flags.fill_null(False).to_numpy()
    national = check_national_index(
        table, hidden, index_statuses(con, extracts), product_bands(con), policy.secondary_protection
    )
    result = attacker_intervals(national.table, national.hidden, policy)
    return replace(result, index_intervals=national.intervals, loss=information_loss(table, hidden))


def index_statuses(con: duckdb.DuckDBPyConnection, extracts: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The areas in the ALL index of the years whose ALL index is published, with what the
    release hides of them (index_hidden, consumption_hidden), read from its flags."""
    index = extracts["sovereignty_index"]
    published = index.filter(
        pl.col("sovereignty_index_flag").is_null() & pl.col("sovereignty_index").is_not_null(), project_code="ALL"
    )["year"]
    flags = index.filter(pl.col("project_code") != "ALL").select(
        "project_code", "year",
        index_hidden=pl.col("sovereignty_index_flag").is_not_null(),
        consumption_hidden=pl.col("apparent_consumption_flag").is_not_null(),
    )
    return index_areas(con).join(flags, on=["project_code", "year"]).filter(pl.col("year").is_in(published.implode()))


def information_loss(table: LinkedTable, hidden: np.ndarray) -> dict:
    """Cells and output value hidden, by kind of cell and over all (each level of the linked
    tables counts its own cells: a hidden year hides its output once more)."""
    cells = table.cells.with_columns(hidden=pl.Series(hidden)).filter(~pl.Series(table.auxiliary))
    by_kind = cells.group_by("kind").agg(
        cells=pl.len(), hidden_cells=pl.col("hidden").sum(),
        output=pl.col("value").sum(), hidden_output=pl.col("value").filter("hidden").sum(),
    )
    everything = by_kind.select(pl.lit("all").alias("kind"), pl.exclude("kind").sum())
    rows = pl.concat([by_kind.sort("kind"), everything]).with_columns(
        hidden_cell_share=(pl.col("hidden_cells") / pl.col("cells")).round(6),
        hidden_output_share=(pl.col("hidden_output") / pl.col("output")).fill_nan(0.0).round(6),
    )
    return {row["kind"]: {k: v for k, v in row.items() if k in ("cells", "hidden_cells", "hidden_cell_share", "hidden_output_share")}
            for row in rows.iter_rows(named=True)}


def attacker_intervals(table: LinkedTable, hidden: np.ndarray, policy: DisclosurePolicy) -> AuditResult:
    """For each hidden output cell of the table, the lowest and highest value consistent with the
    relations, the other cells' published values and non-negativity: two LPs, over the cell's group
    of hidden cells (the relations that touch it; every other cell in them is published)."""
    values, primary, slack = table.cells["value"].to_numpy(), table.cells["primary"].to_numpy(), table.slack
    auxiliary = table.auxiliary
    names = table.cells["cell"].to_list()
    matrix = table.matrix()
    intervals = []
    for group in table.hidden_groups(hidden):
        rows = np.flatnonzero(abs(matrix[:, group]).sum(axis=1) > 0)
        local = matrix[rows, :][:, group]
        # deviations from the true values: a hidden output (or share-bound surplus) can fall to 0
        # and rise without bound, the slack of a hidden leadership share is free
        lower = np.where(slack[group], -np.inf, -values[group])
        attacker = AttackerLp(local, lower, np.full(len(group), np.inf))
        for position, cell in enumerate(group):
            if auxiliary[cell]:
                continue
            gaps = []
            for direction in (-1.0, 1.0):  # lowest, highest: the furthest move, -min(-direction * y)
                furthest = -attacker.minimum(position, -direction)
                # an unbounded move is inf; a zero cell's level, a share of 0, is always met
                gaps.append(furthest / values[cell] if values[cell] > 0 else math.inf)
            level = policy.protection if primary[cell] else policy.secondary_protection
            intervals.append(CellInterval(names[cell], bool(primary[cell]), float(values[cell]), gaps[0], gaps[1], level))
    return AuditResult(policy.protection, policy.secondary_protection, intervals, table.residual())


def hidden_cells(extracts: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """cell, hidden: every cell the extracts flag as hidden, by the figure that publishes it."""
    frames = []
    for kind, (name, keys, figure) in PUBLISHED_AS.items():
        frame = extracts[name]
        if name == "sovereignty_index":
            frame = frame.filter(pl.col("project_code") != "ALL")
        frames.append(frame.select(cell=cell_id(kind, *keys), hidden=pl.col(f"{figure}_flag").is_not_null()))
    national = extracts["sovereignty_index"].filter(project_code="ALL")
    frames.append(national.select(cell=cell_id(NATIONAL, "year"), hidden=pl.col("apparent_consumption_flag").is_not_null()))
    return pl.concat(frames).group_by("cell").agg(pl.col("hidden").any())
