"""Secondary suppression by optimisation and the audit, on linked tables small enough to solve by
hand (docs/disclosure.md, "Secondary suppression" and "Audit"), and on random tables."""

from __future__ import annotations

import json
import math

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy.optimize import linprog

from pipelines.publication.publish import audit_failures
from pipelines.command_line.cli import main, print_blocked
from pipelines.publication.audit import attacker_intervals
from pipelines.publication import disclosure
from pipelines.publication.disclosure import DisclosurePolicy, cell_pattern, suppress
from pipelines.publication.linked_table import LEADERSHIP, LinkedTable
from pipelines.publication.protection import COST_WEIGHTS, optimal_suppression
from pipelines.publication.solutions import SolvedProblems
from tests.test_disclosure import PRIMARY, write_marts

POLICY = DisclosurePolicy()  # p = 10 %, secondary cells 0.1 %


def linked_table(cells: dict[str, tuple[str, float, bool]], relations: dict[str, dict[str, float]]) -> LinkedTable:
    """cells: name -> (kind, value, primary); relations: name -> {cell: coefficient}."""
    frame = pl.DataFrame(
        [(name, kind, float(value), primary) for name, (kind, value, primary) in cells.items()],
        schema={"cell": pl.String, "kind": pl.String, "value": pl.Float64, "primary": pl.Boolean}, orient="row",
    )
    rows = [(relation, cell, float(c)) for relation, members in relations.items() for cell, c in members.items()]
    basis = frame.join(
        pl.DataFrame(rows, schema=["relation", "cell", "coefficient"], orient="row").join(frame, on="cell")
        .group_by("relation").agg(slack_basis=pl.col("value").sum()),
        left_on="cell", right_on="relation", how="left",
    )
    frame = basis.with_columns(
        basis=pl.when(pl.col("kind") == LEADERSHIP).then("slack_basis").otherwise("value")
    ).drop("slack_basis").sort("cell")
    relation_frame = pl.DataFrame(rows, schema=["relation", "cell", "coefficient"], orient="row").sort("relation", "cell")
    return LinkedTable(cells=frame, relations=relation_frame)


def total(name: str, parts: list[str]) -> dict[str, dict[str, float]]:
    return {f"{name} = parts": {name: 1.0, **dict.fromkeys(parts, -1.0)}}


def hidden_names(table: LinkedTable, hidden: np.ndarray) -> set[str]:
    return set(table.cells.filter(pl.Series(hidden))["cell"])


def solve(table: LinkedTable, policy: DisclosurePolicy = POLICY) -> set[str]:
    result = optimal_suppression(table, policy.protection, policy.secondary_protection, policy.solver_time_limit)
    assert result.reason is None
    return hidden_names(table, result.hidden)


def interval(table: LinkedTable, hidden: set[str], cell: str, policy: DisclosurePolicy = POLICY):
    mask = table.cells["cell"].is_in(list(hidden)).to_numpy()
    audit = attacker_intervals(table, mask, policy)
    return next(i for i in audit.intervals if i.cell == cell), audit


# One area quarter (published, 200) of five products; P (100) is confidential. Moving P up by 10
# needs hidden products that can fall by 10 in all: a + b (5 + 8 = 13) cost less than c (30).
ONE_GROUP = linked_table(
    {"T": ("area_quarter", 200, False), "P": ("product_quarter", 100, True), "a": ("product_quarter", 5, False),
     "b": ("product_quarter", 8, False), "c": ("product_quarter", 30, False), "d": ("product_quarter", 57, False)},
    total("T", ["P", "a", "b", "c", "d"]),
)


def test_the_cheapest_complements_that_absorb_the_protection_level():
    assert solve(ONE_GROUP) == {"P", "a", "b"}
    p, audit = interval(ONE_GROUP, {"P", "a", "b"}, "P")
    # P + a + b = 113 is known: P in [0, 113]
    assert p.below == pytest.approx(1.0) and p.above == pytest.approx(0.13)
    a, _ = interval(ONE_GROUP, {"P", "a", "b"}, "a")
    assert a.below == pytest.approx(1.0) and a.above == pytest.approx(108 / 5)
    assert audit.passed and audit.narrowest(True).cell == "P"


def test_a_higher_protection_level_needs_more_complements():
    # 20 % of 100 is more than a + b can absorb: c (30) alone is the cheapest that can
    strict = DisclosurePolicy(protection=0.2)
    assert solve(ONE_GROUP, strict) == {"P", "c"}
    assert interval(ONE_GROUP, {"P", "c"}, "P", strict)[0].above == pytest.approx(0.3)


def test_the_audit_fails_a_complement_too_small_for_the_protection_level(capsys):
    p, audit = interval(ONE_GROUP, {"P", "a"}, "P")
    assert p.above == pytest.approx(0.05) and not p.protected
    assert [f.cell for f in audit.failures] == ["P"] and not audit.passed
    assert audit.summary()["narrowest_confidential"]["above"] == pytest.approx(0.05)
    # recorded like a failing blocking check, and printed the same way
    failures = audit_failures(audit)
    print_blocked("blocking check disclosure_audit failed", json.dumps([failures]))
    assert "disclosure_audit" in capsys.readouterr().err and failures["failed"][0]["kwargs"] == {"cell": "P", "required": 0.1}


# Products x quarters with the products' years and the quarters' area totals (2 x 2): hiding x11
# alone, any row or column gives it; the cheapest protecting pattern is the whole 2 x 2 cycle,
# where the attacker only knows x11 + t, x12 - t, x21 - t, x22 + t >= 0: x11 in [0, 30].
TWO_BY_TWO = linked_table(
    {"x11": ("product_quarter", 10, True), "x12": ("product_quarter", 20, False), "x21": ("product_quarter", 30, False),
     "x22": ("product_quarter", 40, False), "R1": ("product_year", 30, False), "R2": ("product_year", 70, False),
     "C1": ("area_quarter", 40, False), "C2": ("area_quarter", 60, False)},
    {**total("R1", ["x11", "x12"]), **total("R2", ["x21", "x22"]), **total("C1", ["x11", "x21"]), **total("C2", ["x12", "x22"])},
)


def test_a_table_of_products_by_quarters_hides_a_cycle_not_a_total():
    assert solve(TWO_BY_TWO) == {"x11", "x12", "x21", "x22"}
    x11, audit = interval(TWO_BY_TWO, {"x11", "x12", "x21", "x22"}, "x11")
    assert x11.below == pytest.approx(1.0) and x11.above == pytest.approx(2.0)
    # without x22 the cycle is open: x11 = C1 - x21 ... all determined
    x11, _ = interval(TWO_BY_TWO, {"x11", "x12", "x21"}, "x11")
    assert x11.below == pytest.approx(0.0) and x11.above == pytest.approx(0.0)


# An area (published, 920) of two leader products and one comparable product of one producer (C).
# Its leadership share L = 900 / 920 gives C = (1 - L) * 920 whatever else is hidden, unless the
# share itself is hidden (its relation gets a free slack) or the area: the share costs less.
SHARE = 900 / 920
LEADERS = linked_table(
    {"AY": ("area_year", 920, False), "L1": ("product_year", 500, False), "L2": ("product_year", 400, False),
     "C": ("product_year", 20, True), "leadership X": (LEADERSHIP, 0, False)},
    {**total("AY", ["L1", "L2", "C"]),
     "leadership X": {"L1": 1 - SHARE, "L2": 1 - SHARE, "C": -SHARE, "leadership X": 1.0}},
)


def test_a_leadership_share_that_gives_a_product_away_is_hidden_rather_than_the_area():
    assert solve(LEADERS) == {"C", "L2", "leadership X"}
    c, _ = interval(LEADERS, {"C", "L2", "leadership X"}, "C")
    assert c.below == pytest.approx(1.0) and c.above == pytest.approx(20.0)
    # with the share published, C is determined however many products are hidden
    c, _ = interval(LEADERS, {"C", "L1", "L2"}, "C")
    assert c.narrowest == pytest.approx(0.0, abs=1e-9)


# An area (published, 1000) of two leader products and two others, nothing confidential; its share
# S = 0.7. For the share to move by d each way, a leader and another product must trade d: each can
# fall to 0, so both must be worth at least d.
TRADED = linked_table(
    {"AY": ("area_year", 1000, False), "L1": ("product_year", 400, False), "L2": ("product_year", 300, False),
     "N1": ("product_year", 200, False), "N2": ("product_year", 100, False), "leadership Y": (LEADERSHIP, 0, False)},
    {**total("AY", ["L1", "L2", "N1", "N2"]),
     "leadership Y": {"L1": 0.3, "L2": 0.3, "N1": -0.7, "N2": -0.7, "leadership Y": 1.0}},
)


@pytest.mark.parametrize(("share_move", "may_hide", "hidden"), [
    (0.03, None, {"leadership Y", "L2", "N2"}),  # the cheapest pair
    (0.15, None, {"leadership Y", "L2", "N1"}),  # N2 cannot fall by 150
    (0.03, {"leadership Y", "L1", "N1", "N2"}, {"leadership Y", "L1", "N2"}),
])
def test_a_share_made_to_move_hides_the_cheapest_products_that_can_trade_that_much(share_move, may_hide, hidden):
    slack = TRADED.index()["leadership Y"]
    allowed = None if may_hide is None else TRADED.cells["cell"].is_in(list(may_hide)).to_numpy()
    # the share's relation is off by its move times the assessed output (1000): what its slack absorbs
    result = optimal_suppression(TRADED, 0.1, 0.001, 60, may_hide=allowed, moves={slack: share_move * 1000})
    assert hidden_names(TRADED, result.hidden) == hidden
    assert attacker_intervals(TRADED, result.hidden, POLICY).passed  # the products it hides are not recovered


def test_the_solution_is_the_same_every_time():
    table = TWO_BY_TWO
    first, second = (optimal_suppression(table, 0.1, 0.001, 60).hidden for _ in range(2))
    assert np.array_equal(first, second)


def test_the_time_limit_falls_back_to_the_whole_unit_method():
    result = optimal_suppression(ONE_GROUP, 0.1, 0.001, time_limit=1e-9)
    assert result.hidden is None and "time limit" in result.reason
    con = duckdb.connect()
    write_marts(con, PRIMARY)
    fallback = suppress(con, DisclosurePolicy(solver_time_limit=1e-9))
    assert fallback.method == "whole-unit" and "time limit" in fallback.fallback_reason
    assert suppress(con, DisclosurePolicy()).method == "optimal"


def random_table(seed: int) -> LinkedTable:
    """Products x quarters of one area: quarter cells, product years, area quarters and year; a
    quarter is confidential with probability 0.2; values spread over two orders of magnitude."""
    rng = np.random.default_rng(seed)
    products, quarters = 5, 4
    values = np.round(rng.lognormal(4, 1.2, size=(products, quarters)), 1)
    cells = {f"q{i}{t}": ("product_quarter", values[i, t], bool(rng.random() < 0.2)) for i in range(products) for t in range(quarters)}
    cells |= {f"y{i}": ("product_year", values[i].sum(), False) for i in range(products)}
    cells |= {f"a{t}": ("area_quarter", values[:, t].sum(), False) for t in range(quarters)}
    cells["A"] = ("area_year", values.sum(), False)
    relations = {}
    for i in range(products):
        relations |= total(f"y{i}", [f"q{i}{t}" for t in range(quarters)])
    for t in range(quarters):
        relations |= total(f"a{t}", [f"q{i}{t}" for i in range(products)])
    relations |= total("A", [f"a{t}" for t in range(quarters)])
    return linked_table(cells, relations)


@pytest.mark.parametrize("seed", range(8))
def test_every_pattern_chosen_on_random_tables_passes_the_audit(seed):
    table = random_table(seed)
    result = optimal_suppression(table, 0.1, 0.001, 60)
    assert result.reason is None
    audit = attacker_intervals(table, result.hidden, POLICY)
    assert audit.passed, audit.failures
    assert sum(i.primary for i in audit.intervals) == table.cells["primary"].sum()


def test_a_hidden_total_with_its_hidden_parts_leaves_them_unbounded_above():
    # T = P + a + b + c + d with T, P and a hidden: T - P - a is known (b, c, d are published),
    # so P can rise without bound (T and a with it) and fall to 0 (a and T absorb it)
    p, audit = interval(ONE_GROUP, {"T", "P", "a"}, "P")
    assert p.below == pytest.approx(1.0) and p.above == math.inf and p.protected
    assert audit.summary()["narrowest_confidential"]["above"] is None  # unbounded: no share


@pytest.mark.parametrize("seed", range(6))
def test_the_audit_intervals_are_those_of_a_fresh_lp_per_cell_and_direction(seed):
    """The audit solves a group's LPs one after another in one HiGHS model (attacker_lp.py); each
    interval equals that of scipy.optimize.linprog solving the cell's LP on its own (random hidden
    patterns), also where it is unbounded: q00 with its year, its quarter's area total and the
    area's year hidden can rise without bound."""
    table = random_table(seed)
    rng = np.random.default_rng(100 + seed)
    hidden = (table.cells["primary"].to_numpy() | (rng.random(table.cells.height) < 0.3)
              | table.cells["cell"].is_in(["q00", "y0", "a0", "A"]).to_numpy())
    values, names, matrix = table.cells["value"].to_numpy(), table.cells["cell"].to_list(), table.matrix()
    expected = {}
    for group in table.hidden_groups(hidden):
        rows = np.flatnonzero(abs(matrix[:, group]).sum(axis=1) > 0)
        bounds = [(-values[cell], None) for cell in group]
        for position, cell in enumerate(group):
            gaps = []
            for direction in (-1.0, 1.0):
                objective = np.zeros(len(group))
                objective[position] = -direction
                lp = linprog(objective, A_eq=matrix[rows, :][:, group], b_eq=np.zeros(len(rows)), bounds=bounds, method="highs")
                assert lp.status in (0, 3), lp.message
                gaps.append(math.inf if lp.status == 3 else -lp.fun / values[cell])
            expected[names[cell]] = gaps
    audit = attacker_intervals(table, hidden, POLICY)
    assert sorted(i.cell for i in audit.intervals) == sorted(expected)
    for i in audit.intervals:
        assert [i.below, i.above] == pytest.approx(expected[i.cell], rel=1e-9, abs=1e-12), i.cell
    assert any(math.isinf(i.above) for i in audit.intervals) and any(not math.isinf(i.above) for i in audit.intervals)


def side_by_side(*tables: LinkedTable) -> LinkedTable:
    """The tables as one, with nothing linking them: the cells and relations of the i-th named t<i>."""
    prefixed = [(table.cells.with_columns(cell=pl.lit(f"t{i} ") + pl.col("cell")),
                 table.relations.with_columns(relation=pl.lit(f"t{i} ") + pl.col("relation"), cell=pl.lit(f"t{i} ") + pl.col("cell")))
                for i, table in enumerate(tables)]
    return LinkedTable(pl.concat(cells for cells, _ in prefixed).sort("cell"),
                       pl.concat(relations for _, relations in prefixed).sort("relation", "cell"))


def test_the_pattern_is_chosen_part_by_part_and_a_part_solved_before_is_not_solved_again(monkeypatch):
    """Tables that no relation links (a year each, in a release) are solved one by one: the
    pattern is the cheapest of the whole table (its cost the same as solving the table at once)
    and protects it; a second release whose second part changed solves that part only."""
    solves = []

    def counted(table, *args, **kwargs):
        solves.append(set(table.cells["cell"]))
        return optimal_suppression(table, *args, **kwargs)

    monkeypatch.setattr(disclosure, "optimal_suppression", counted)
    first, second = random_table(1), random_table(2)
    table = side_by_side(first, second)
    solved = SolvedProblems()
    pattern = cell_pattern(table, POLICY, solved)
    assert pattern.reason is None and len(solves) == 2 and len(solved.used) == 2
    assert {cell.split()[0] for cell in solves[0]} == {"t0"} and {cell.split()[0] for cell in solves[1]} == {"t1"}
    assert attacker_intervals(table, pattern.hidden, POLICY).passed
    at_once = optimal_suppression(table, POLICY.protection, POLICY.secondary_protection, 60).hidden
    lost = (table.cells["kind"].replace_strict(COST_WEIGHTS, return_dtype=pl.Float64) * table.cells["basis"]).to_numpy()
    assert lost[pattern.hidden].sum() == pytest.approx(lost[at_once].sum(), rel=1e-9)

    solves.clear()
    changed = random_table(2).cells.with_columns(primary=pl.col("cell").is_in(["q00", "q11", "q22"]))
    again = cell_pattern(side_by_side(first, LinkedTable(changed, second.relations)), POLICY, solved)
    assert again.reason is None and len(solves) == 1 and {cell.split()[0] for cell in solves[0]} == {"t1"}
    assert np.array_equal(again.hidden[:first.cells.height], pattern.hidden[:first.cells.height])


@pytest.mark.parametrize("variable, value", [("SOVEREIGNTY_DISCLOSURE_PROTECTION", "1.5"), ("SOVEREIGNTY_DISCLOSURE_TIME_LIMIT", "soon")])
def test_an_unusable_disclosure_setting_is_refused_without_a_traceback(variable, value, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOVEREIGNTY_HOME", str(tmp_path))
    monkeypatch.setenv(variable, value)
    assert main(["status"]) == 2
    assert capsys.readouterr().err.startswith(f"{variable}={value!r} is not a valid value")
