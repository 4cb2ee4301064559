"""The attacker's LP of one group of hidden cells, kept in HiGHS and solved for one objective after
another: the suppressor's cut generation (protection.py) and the disclosure audit (audit.py) both
minimise and maximise each hidden cell of a group over the same constraints.

The model goes to HiGHS once per group, and each solve changes the objective and starts from the
previous one's optimal basis. A fresh scipy.optimize.linprog per objective set up and solved the
whole LP each time, most of a release's disclosure work (docs/performance.md).

Through SciPy's own binding of HiGHS, `scipy.optimize._highspy._core` (what linprog and milp call;
SciPy is pinned in requirements.lock, and tests/test_protection.py fails if the binding moves):
HiGHS's public binding, highspy, prints its banner into the run's output at first use.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sparse
from scipy.optimize._highspy import _core as highs

# Statuses of a solve with no finite minimum. The constraints are always met by zero deviations
# (every group's lower bounds are <= 0 <= its upper bounds), so a status "unbounded or
# infeasible" means unbounded.
UNBOUNDED = {highs.HighsModelStatus.kUnbounded, highs.HighsModelStatus.kUnboundedOrInfeasible}


class AttackerLp:
    """relations @ y = 0 for the deviations y of a group's cells from their true values, each
    deviation between its bounds (lower: how far the cell can fall, upper: how far it can rise,
    either infinite)."""

    def __init__(self, relations: sparse.csr_array, lower: np.ndarray, upper: np.ndarray):
        columns = sparse.csc_array(relations)
        lp = highs.HighsLp()
        lp.num_col_, lp.num_row_ = columns.shape[1], columns.shape[0]
        lp.col_cost_ = np.zeros(columns.shape[1])
        lp.col_lower_, lp.col_upper_ = lower.astype(float), upper.astype(float)
        lp.row_lower_ = lp.row_upper_ = np.zeros(columns.shape[0])
        lp.a_matrix_.format_ = highs.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = columns.shape[1], columns.shape[0]
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = columns.indptr, columns.indices, columns.data
        self.solver = highs._Highs()
        self.solver.setOptionValue("output_flag", False)
        self.solver.passModel(lp)
        self.objective: int | None = None

    def minimum(self, position: int, coefficient: float) -> float:
        """The minimum of coefficient * y[position]; -inf when it is unbounded below."""
        if self.objective is not None:
            self.solver.changeColCost(self.objective, 0.0)
        self.solver.changeColCost(position, coefficient)
        self.objective = position
        self.solver.run()
        status = self.solver.getModelStatus()
        if status in UNBOUNDED:
            return -math.inf
        if status != highs.HighsModelStatus.kOptimal:
            raise RuntimeError(f"the attacker's LP failed: {self.solver.modelStatusToString(status)}")
        return self.solver.getInfo().objective_function_value

    def row_duals(self) -> np.ndarray:
        """The relations' duals (linprog's eqlin.marginals) at the last finite minimum."""
        return np.array(self.solver.getSolution().row_dual)
