from __future__ import annotations

import polars as pl
import pytest

from pipelines.ingestion.periods import parse_quarter, parse_quarter_expr, quarter_range

SPELLINGS = {
    "2025-Q1": "2025-Q1",
    "2025Q2": "2025-Q2",
    "Q3 2025": "2025-Q3",
    "1 кв. 2025": "2025-Q1",
    "4 кв 2024": "2024-Q4",
    "I квартал 2025": "2025-Q1",
    "IV квартал 2024": "2024-Q4",
    "III квартал 2025 г.": "2025-Q3",
    "2025-Q5": None,
    "V квартал 2025": None,
    "2025": None,
}


@pytest.mark.parametrize(("text", "label"), SPELLINGS.items())
def test_every_accepted_spelling(text, label):
    assert parse_quarter(text) == label


def test_vectorised_parse_matches():
    frame = pl.DataFrame({"t": list(SPELLINGS)})
    assert frame.select(parse_quarter_expr(pl.col("t"))).to_series().to_list() == list(SPELLINGS.values())


def test_quarter_range_crosses_years():
    assert quarter_range("2024-Q3", "2025-Q2") == ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
