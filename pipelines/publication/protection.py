"""Secondary suppression by optimisation: the cheapest set of hidden cells that gives every hidden
cell its protection interval (docs/disclosure.md, "Secondary suppression").

The model is the one of τ-ARGUS's optimal method (Fischetti and Salazar-González): a binary s_j per
cell (1 = hidden), primary cells fixed to 1, minimise the information lost sum(cost_j * s_j), subject
to: for each hidden cell k and each direction, some table that satisfies every published relation,
keeps every published cell and every value >= 0 moves k by at least p * value_k. By linear
programming duality that is a family of linear "capacity" cuts in s; they are generated as needed:

1. the master MILP (HiGHS through scipy.optimize.milp) chooses s under the cuts known so far, seeded
   with the cuts of every single relation (a cell's group must be able to absorb the move);
2. for each connected group of hidden cells, the attacker's LP (max and min of each hidden cell)
   checks the pattern; a cell it narrows too much yields the cut of the LP's dual, which the
   current pattern violates and every protecting pattern satisfies;
3. repeat until no cut is violated: the pattern is then optimal (under the cost) and protecting.

The suppressor bounds upward moves by the largest value in the table (an attacker has no such bound,
so this only makes the suppressor stricter than the audit). Zero cells are never chosen: an
attacker guesses a zero easily and they cannot absorb a downward move.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from pipelines.publication.attacker_lp import AttackerLp
from pipelines.publication.linked_table import LEADERSHIP, NATIONAL, LinkedTable

# The information lost by hiding a cell: its output value, times a weight by kind so that totals
# stay published unless no pattern of finer cells protects: an area's quarter is worth ten of its
# products' cells, its year (the area's index and yearly figures) a hundred. The national row's
# consumption is linked only to the areas' years in the index: it is needed only to protect such a
# hidden area-year, and then the ALL index is hidden anyway (the areas' weighted mean), so all that
# hiding it loses is one figure, the country's consumption, much less than a second area's index.
COST_WEIGHTS = {
    "product_quarter": 1.0,
    "product_year": 1.0,
    "region": 1.0,
    "area_quarter": 10.0,
    "area_year": 100.0,
    NATIONAL: 1.0,
    # a hidden leadership share hides the area's index, and nothing else: half an area-year
    LEADERSHIP: 50.0,
}
# A cell counts as protected when the attacker's move reaches the level up to this relative slack
# (LP round-off); the audit measures the interval itself.
TOLERANCE = 1e-7
NO_PATTERN = "no pattern protects every confidential cell"


@dataclass(frozen=True)
class ProtectionResult:
    hidden: np.ndarray | None  # bool per cell of the table, None when no optimal pattern was found
    reason: str | None  # why not (time limit, no protecting pattern)
    seconds: float

    @property
    def settled(self) -> bool:
        """The answer of the problem whatever the time allowed: a pattern, or the proof that none protects."""
        return self.hidden is not None or self.reason == NO_PATTERN


def cell_costs(table: LinkedTable) -> np.ndarray:
    """cost_j, scaled to the table's total output, plus a tie-breaker by position (cells are sorted
    by name) far below any real difference, so that equally cheap patterns do not depend on HiGHS."""
    basis = table.cells["basis"].to_numpy()
    weights = table.cells["kind"].replace_strict(COST_WEIGHTS, return_dtype=pl.Float64).to_numpy()
    scale = max(basis.sum(), 1.0)
    return weights * basis / scale + 1e-9 * np.arange(1, len(basis) + 1) / len(basis)


def optimal_suppression(
    table: LinkedTable, protection: float, secondary_protection: float, time_limit: float, *,
    hidden_already: np.ndarray | None = None, may_hide: np.ndarray | None = None, moves: dict[int, float] | None = None,
) -> ProtectionResult:
    """The cheapest protecting pattern. To extend a pattern rather than choose one (the index level,
    disclosure.protect_national_index): hidden_already, the cells of a protecting pattern, which
    stay hidden (its groups that no new cell joins are not checked again); may_hide, the only cells
    it may hide besides (None: any); moves, cells (by position) that must be hidden and movable by
    at least that much in each direction, like a confidential cell's level (a leadership share's
    slack, so that the area's index gets a range of its own)."""
    started = time.monotonic()
    values, slack = table.cells["value"].to_numpy(), table.slack
    primary = table.cells["primary"].to_numpy()
    matrix = table.matrix()
    capacity = float(values.max(initial=0.0))
    # how far each cell can move down when hidden: to 0, or freely for a slack
    down = np.where(slack, capacity, values)
    levels = np.where(primary, protection, secondary_protection) * values
    required = primary.copy()  # the cells with a level to reach whatever else is hidden
    for cell, move in (moves or {}).items():
        levels[cell], required[cell] = move, True
    # a slack is no output value to protect, unless it must move
    measured = ~slack | required
    cuts = _Cuts(len(values))
    for row in range(matrix.shape[0]):
        _seed_cuts(cuts, matrix, row, levels, down, required, capacity)
    kept = required if hidden_already is None else required | hidden_already
    lower = kept.astype(float)
    allowed = primary | (values > 0) | slack
    upper = np.where(kept | (allowed if may_hide is None else allowed & may_hide), 1.0, 0.0)
    costs = cell_costs(table)
    # the cuts of each group of hidden cells checked; none for a group of the pattern extended,
    # unless a cell of it must now move
    verified: dict[frozenset, list] = {}
    if hidden_already is not None:
        verified = {frozenset(group.tolist()): [] for group in table.hidden_groups(hidden_already)
                    if not np.isin(group, list(moves or {})).any()}

    def outcome(hidden: np.ndarray | None, reason: str | None) -> ProtectionResult:
        return ProtectionResult(hidden, reason, time.monotonic() - started)

    if not len(values):  # no output reported yet (producer reports not arrived): nothing to hide
        return outcome(np.zeros(0, dtype=bool), None)
    while True:
        remaining = time_limit - (time.monotonic() - started)
        if remaining <= 0:
            return outcome(None, f"time limit of {time_limit:g} s reached")
        result = milp(
            costs, integrality=np.ones(len(values)), bounds=Bounds(lower, upper), constraints=cuts.constraint(),
            options={"time_limit": remaining, "presolve": True},
        )
        if result.status == 1:
            return outcome(None, f"time limit of {time_limit:g} s reached")
        if result.status == 2:
            return outcome(None, NO_PATTERN)
        if result.x is None:
            return outcome(None, f"the solver failed: {result.message}")
        hidden = result.x > 0.5
        added = 0
        for component in table.hidden_groups(hidden):
            key = frozenset(component.tolist())
            if key not in verified:
                verified[key] = _component_cuts(matrix, component, levels, down, measured, capacity)
            for members, weights, cell in verified[key]:
                if weights @ hidden[members] < levels[cell] * (1 - TOLERANCE):
                    cuts.add(members, weights, cell, levels[cell])
                    added += 1
        if not added:
            return outcome(hidden, None)


class _Cuts:
    """Rows of sum_j w_j s_j - level * s_k >= 0: if k is hidden, the cells' capacities can move it
    by its protection level."""

    def __init__(self, size: int):
        self.size = size
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.data: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, members: np.ndarray, weights: np.ndarray, cell: int, level: float) -> None:
        """members: the cells with a weight (sorted, cell among them). A weight above the level is
        cut to the level: on 0/1 variables the cut says the same, and its LP relaxation is far
        tighter (a huge capacity would let a total hidden to one millionth satisfy it)."""
        row = np.minimum(weights, level) - np.where(members == cell, level, 0.0)
        keep = row != 0
        self.rows.append(np.full(int(keep.sum()), len(self.rows)))
        self.cols.append(members[keep])
        self.data.append(row[keep])

    def constraint(self) -> LinearConstraint | list:
        if not self.rows:
            return []
        matrix = sparse.csr_array(
            (np.concatenate(self.data), (np.concatenate(self.rows), np.concatenate(self.cols))), shape=(len(self.rows), self.size)
        )
        return LinearConstraint(matrix, lb=0.0, ub=np.inf)


def capacities(reduced_costs: np.ndarray, down: np.ndarray, capacity: float) -> np.ndarray:
    """Weak duality: for any multipliers of the relations, with reduced costs r, the move of a cell
    is at most sum over hidden j of r_j+ * down_j (j can go down to 0) + r_j- * capacity (up)."""
    return np.where(reduced_costs > 0, reduced_costs * down, -reduced_costs * capacity)


def _seed_cuts(cuts: _Cuts, matrix: sparse.csr_array, row: int, levels: np.ndarray, down: np.ndarray,
               required: np.ndarray, capacity: float) -> None:
    """The cuts of one relation alone for its required members (confidential, or with a move to
    allow): moving member k by d moves the others by -d in total. (A secondary cell gets its cuts
    from the LPs once it is hidden: seeding every cell of every relation would make the master
    problem many times larger.)"""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    members, coefficients = matrix.indices[start:end], matrix.data[start:end]
    order = np.argsort(members)
    members, coefficients = members[order], coefficients[order]
    for position, cell in enumerate(members):
        if not required[cell]:
            continue
        for direction in (1.0, -1.0):
            reduced = direction * coefficients / coefficients[position]
            reduced[position] = 0.0
            cuts.add(members, capacities(reduced, down[members], capacity), cell, levels[cell])


def _component_cuts(matrix: sparse.csr_array, component: np.ndarray, levels: np.ndarray, down: np.ndarray,
                    measured: np.ndarray, capacity: float) -> list:
    """For each measured cell of a hidden group (an output value, or a slack that must move) and each
    direction, the attacker's LP (deviations y from the true values: relations hold, published cells
    fixed, values >= 0) and its dual's cut."""
    rows = np.flatnonzero(abs(matrix[:, component]).sum(axis=1) > 0)
    members = np.unique(matrix[rows, :].indices)  # the group and the published cells next to it
    touched = matrix[rows, :][:, members]
    attacker = AttackerLp(matrix[rows, :][:, component], -down[component], np.full(len(component), capacity))
    in_group = np.isin(members, component)
    found = []
    for position, cell in enumerate(component):
        if not measured[cell]:
            continue
        for direction in (1.0, -1.0):
            if math.isinf(attacker.minimum(position, -direction)):
                raise RuntimeError("the attacker's LP is unbounded: every cell's rise is bounded by the capacity")
            marginals = attacker.row_duals()
            cost = np.where(members == cell, -direction, 0.0)
            best = None
            for sign in (1.0, -1.0):  # any multipliers give a valid cut: keep the tighter one
                weights = capacities(cost - sign * (touched.T @ marginals), down[members], capacity)
                if best is None or weights[in_group].sum() < best[in_group].sum():
                    best = weights
            found.append((members, best, cell))
    return found
