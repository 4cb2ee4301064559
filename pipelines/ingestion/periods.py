"""Quarters: parsing every spelling inputs.md accepts, and the canonical '2025-Q1' form."""

from __future__ import annotations

import re
from datetime import date

import polars as pl

ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}

# Each accepted spelling, as a regex with named groups year and q (digit) or roman.
QUARTER_PATTERNS = (
    r"^(?P<year>[0-9]{4})\s*-?\s*[QqКк](?P<q>[1-4])$",  # 2025-Q1, 2025Q1
    r"^[QqКк](?P<q>[1-4])\s*-?\s*(?P<year>[0-9]{4})$",  # Q1 2025
    r"^(?P<q>[1-4])\s*(?:кв\.?|квартал)\s*(?P<year>[0-9]{4})(?:\s*г\.?)?$",  # 1 кв. 2025
    r"^(?P<roman>IV|I{1,3})\s*(?:кв\.?|квартал)\s*(?P<year>[0-9]{4})(?:\s*г\.?)?$",  # I квартал 2025
)
_COMPILED = tuple(re.compile(p, re.IGNORECASE) for p in QUARTER_PATTERNS)

FIRST_QUARTER = "2000-Q1"  # the first quarter the warehouse holds: characteristics accept years from 2000 (inputs.md)


def quarter_label(year: int, quarter: int) -> str:
    return f"{year}-Q{quarter}"


def parse_quarter(text: str) -> str | None:
    """The canonical label of a quarter written in any accepted spelling, or None."""
    cleaned = " ".join(text.replace("\u00a0", " ").split())
    for pattern in _COMPILED:
        match = pattern.match(cleaned)
        if match:
            groups = match.groupdict()
            quarter = int(groups["q"]) if groups.get("q") else ROMAN[groups["roman"].upper()]
            return quarter_label(int(groups["year"]), quarter)
    return None


def parse_quarter_expr(text: pl.Expr) -> pl.Expr:
    """Vectorised parse_quarter: null where the text is not a quarter."""
    cleaned = text.str.replace_all(r"[\s\u00a0]+", " ").str.strip_chars()
    parsed = pl.lit(None, dtype=pl.String)
    for pattern in reversed(QUARTER_PATTERNS):
        extracted = cleaned.str.extract_groups(f"(?i){pattern}")
        fields = extracted.struct
        if "roman" in pattern:
            q = (
                fields.field("roman")
                .str.to_uppercase()
                .replace_strict(ROMAN, default=None, return_dtype=pl.Int8)
                .cast(pl.String)
            )
        else:
            q = fields.field("q")
        label = fields.field("year") + pl.lit("-Q") + q
        parsed = pl.when(label.is_not_null()).then(label).otherwise(parsed)
    return parsed


def quarter_of(day: date) -> str:
    return quarter_label(day.year, (day.month - 1) // 3 + 1)


def quarter_range(first: str, last: str) -> list[str]:
    """Every quarter label from first to last inclusive."""
    year, quarter = int(first[:4]), int(first[-1])
    end = (int(last[:4]), int(last[-1]))
    labels = []
    while (year, quarter) <= end:
        labels.append(quarter_label(year, quarter))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return labels
