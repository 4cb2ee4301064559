"""INN check digits: the spec's examples, and properties over generated numbers."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipelines.ingestion.inn import complete_inn, inn_is_valid, inn_is_valid_expr

prefixes = st.one_of(st.text("0123456789", min_size=9, max_size=9), st.text("0123456789", min_size=10, max_size=10))


def vectorised(values: list[str | None]) -> list[bool | None]:
    return pl.DataFrame({"inn": values}, schema={"inn": pl.String}).select(inn_is_valid_expr(pl.col("inn")))["inn"].to_list()


def test_examples_from_the_spec():
    assert inn_is_valid("7707083893")
    assert inn_is_valid("500100732259")
    assert vectorised(["7707083893", "500100732259"]) == [True, True]


def test_malformed_values_are_invalid():
    bad = ["", "770708389", "77070838931", "7707083893 ", "77O7083893", "５００１００７３２２５９"[:12]]
    assert not any(inn_is_valid(v) for v in bad)
    assert vectorised(bad) == [False] * len(bad)


@given(prefixes)
def test_completed_numbers_are_valid(prefix):
    inn = complete_inn(prefix)
    assert len(inn) in (10, 12) and inn.startswith(prefix)
    assert inn_is_valid(inn)


@given(prefixes, st.integers(1, 9))
def test_changing_the_last_digit_breaks_the_check(prefix, shift):
    inn = complete_inn(prefix)
    broken = inn[:-1] + str((int(inn[-1]) + shift) % 10)
    assert not inn_is_valid(broken)


@given(st.lists(st.one_of(st.none(), st.text("0123456789", min_size=8, max_size=13), prefixes.map(complete_inn)), max_size=50))
def test_vectorised_rule_agrees_with_the_scalar_rule(values):
    expected = [None if v is None else inn_is_valid(v) for v in values]
    assert vectorised(values) == expected
