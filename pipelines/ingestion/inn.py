"""INN (taxpayer number) check digits, inputs.md: weights over the leading digits, sum mod 11 mod 10.

`inn_is_valid` is the scalar rule (tests, demo generator); `inn_is_valid_expr` is the same rule
as a Polars expression so that validation of millions of rows stays vectorised.
"""

from __future__ import annotations

import polars as pl

WEIGHTS_10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
WEIGHTS_12_FIRST = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
WEIGHTS_12_SECOND = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def check_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights)) % 11 % 10


def inn_is_valid(inn: str) -> bool:
    if not inn.isascii() or not inn.isdigit():
        return False
    if len(inn) == 10:
        return check_digit(inn, WEIGHTS_10) == int(inn[9])
    if len(inn) == 12:
        return check_digit(inn, WEIGHTS_12_FIRST) == int(inn[10]) and check_digit(
            inn, WEIGHTS_12_SECOND
        ) == int(inn[11])
    return False


def complete_inn(prefix: str) -> str:
    """Append the check digit(s) to 9 or 10 leading digits, giving a valid 10- or 12-digit INN."""
    if len(prefix) == 9:
        return prefix + str(check_digit(prefix, WEIGHTS_10))
    if len(prefix) == 10:
        eleven = prefix + str(check_digit(prefix, WEIGHTS_12_FIRST))
        return eleven + str(check_digit(eleven, WEIGHTS_12_SECOND))
    raise ValueError(f"an INN prefix has 9 or 10 digits, got {prefix!r}")


def _check_digit_expr(inn: pl.Expr, weights: tuple[int, ...]) -> pl.Expr:
    total = pl.sum_horizontal(
        inn.str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(weights)
    )
    return total % 11 % 10


def _digit_expr(inn: pl.Expr, position: int) -> pl.Expr:
    return inn.str.slice(position, 1).cast(pl.Int32, strict=False)


def inn_is_valid_expr(inn: pl.Expr) -> pl.Expr:
    """True when the text is a 10- or 12-digit INN with valid check digits (null stays null)."""
    digits_only = inn.str.contains(r"^([0-9]{10}|[0-9]{12})$")
    valid_10 = _check_digit_expr(inn, WEIGHTS_10) == _digit_expr(inn, 9)
    valid_12 = (_check_digit_expr(inn, WEIGHTS_12_FIRST) == _digit_expr(inn, 10)) & (
        _check_digit_expr(inn, WEIGHTS_12_SECOND) == _digit_expr(inn, 11)
    )
    length = inn.str.len_chars()
    return digits_only & pl.when(length == 10).then(valid_10).otherwise(valid_12)
