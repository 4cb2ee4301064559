"""Optimisations solved before: the answers of the cell-level optimiser kept in the warehouse, so
that a run whose new reports change one year solves only that year's problems again
(docs/disclosure.md, "Problems are solved once").

Two kinds of problem make up a release's disclosure work: the cheapest pattern of each linked part
of the table (disclosure.cell_pattern: at national scale a part per year, about 6 s in all) and the
openings of the index level (disclosure.open_index: the cheapest cells of an area's year that let
its leadership share move; 25 optimisations and some 6 600 LPs, about 26 s). Each is a function of
its problem alone: the cells and relations it is solved on, the pattern it extends, the cells it
may hide, the move asked for, the protection levels, and the code and solver that answer it. The
key of a stored answer is a digest of all of that, so an answer is reused only for the same
problem, never for a year whose figures, confidential cells or pattern changed, and a changed
optimiser or SciPy starts afresh. Only settled answers are kept (a pattern, or the proof that none
exists): a solve that ran out of time is tried again by the next run. The table holds the answers
the latest release used, no more.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl
import scipy

from pipelines.publication import linked_table, protection
from pipelines.publication.linked_table import LinkedTable
from pipelines.publication.protection import NO_PATTERN, ProtectionResult


@functools.cache
def solver_code() -> bytes:
    """What answers a problem: the optimiser and the linked table's code, and the SciPy (HiGHS) version."""
    sources = "".join(inspect.getsource(module) for module in (protection, linked_table))
    return (sources + scipy.__version__).encode()


def problem_key(table: LinkedTable, *arrays: np.ndarray, numbers: tuple[float, ...]) -> str:
    """The digest of an optimisation's inputs: the table (cells and relations, exactly: CSV writes
    the shortest text that reads back as the same float), the arrays and numbers passed with it."""
    digest = hashlib.sha256(solver_code())
    for frame in (table.cells, table.relations):
        digest.update(frame.write_csv().encode())
    for array in arrays:
        digest.update(array.dtype.str.encode() + array.tobytes() + b"|")
    digest.update(repr(numbers).encode())
    return digest.hexdigest()


@dataclass
class SolvedProblems:
    """Answers by problem key: known, read from the warehouse; used, those this release needed
    (what remember_solutions keeps). An answer is the problem's hidden cells, or None: no pattern."""

    known: dict[str, np.ndarray | None] = field(default_factory=dict)
    used: dict[str, np.ndarray | None] = field(default_factory=dict)

    def answer(self, key: str, solve: Callable[[], ProtectionResult]) -> ProtectionResult:
        """The stored answer (solved in no time), else solve's."""
        if key in self.known:
            hidden = self.used[key] = self.known[key]
            return ProtectionResult(hidden, None if hidden is not None else NO_PATTERN, 0.0)
        result = solve()
        if result.settled:
            self.known[key] = self.used[key] = result.hidden
        return result


def remembered_solutions(con: duckdb.DuckDBPyConnection) -> SolvedProblems:
    rows = con.execute("select problem, cells, hidden from audit.disclosure_solutions").fetchall()
    return SolvedProblems({key: None if hidden is None else np.unpackbits(np.frombuffer(hidden, np.uint8), count=cells).astype(bool)
                           for key, cells, hidden in rows})


def remember_solutions(con: duckdb.DuckDBPyConnection, solved: SolvedProblems) -> None:
    """Keep the answers this release used, in place of the stored ones (one transaction)."""
    frame = pl.DataFrame(
        [(key, None if hidden is None else len(hidden), None if hidden is None else np.packbits(hidden).tobytes())
         for key, hidden in solved.used.items()],
        schema={"problem": pl.String, "cells": pl.Int64, "hidden": pl.Binary}, orient="row",
    )
    con.execute("begin")
    try:
        con.execute("delete from audit.disclosure_solutions")
        con.from_arrow(frame).insert_into("audit.disclosure_solutions")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
