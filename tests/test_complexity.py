"""pipelines.transformation.complexity against Stata's ecomplexity output and small hand-computed cases."""

from __future__ import annotations

from math import sqrt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.transformation.complexity import economic_complexity

FIXTURE = Path(__file__).parent / "fixtures" / "ecomplexity" / "stata_ground_truth.csv"
KEYS = ["year", "origin", "hs92"]


@pytest.fixture(scope="module")
def stata() -> pl.DataFrame:
    # hs92 stays text (product codes); export_val has decimals in some rows.
    return pl.read_csv(FIXTURE, schema_overrides={"hs92": pl.String, "export_val": pl.Float64})


def run(table: pl.DataFrame, period: str | None = "year") -> pl.DataFrame:
    return economic_complexity(
        table, location="origin", product="hs92", value="export_val", period=period
    )


def long_table(values: dict[str, dict[str, float]], year: int = 2024) -> pl.DataFrame:
    """{location: {product: value}} as the long input table."""
    return pl.DataFrame(
        [
            {"year": year, "origin": r, "hs92": p, "export_val": float(q)}
            for r, row in values.items()
            for p, q in row.items()
        ]
    )


def assert_eci_is_mean_pci_of_present_products(table: pl.DataFrame, presence: str) -> None:
    means = table.group_by("year", "origin").agg(
        pl.col("eci").first(), pl.col("pci").filter(pl.col(presence) == 1).mean().alias("mean_pci")
    )
    np.testing.assert_allclose(means["eci"], means["mean_pci"], rtol=0, atol=1e-12)


# (1) Stata reference -----------------------------------------------------------------------


@pytest.mark.parametrize("year", [1995, 1996])
def test_reproduces_stata(stata: pl.DataFrame, year: int) -> None:
    expected = stata.filter(pl.col("year") == year)
    result = run(expected.select(*KEYS, "export_val"))

    assert result.select(KEYS).equals(expected.select(KEYS))
    for column in ["rca", "eci", "pci"]:
        np.testing.assert_allclose(result[column], expected[column], rtol=1e-5)
    assert result["presence"].cast(pl.Int64).equals(expected["M"], check_names=False)
    assert result["diversity"].equals(expected["diversity"])
    assert result["ubiquity"].equals(expected["ubiquity"])


def test_output_schema(stata: pl.DataFrame) -> None:
    result = run(stata.select(*KEYS, "export_val"))
    assert result.schema == pl.Schema(
        {
            "year": pl.Int64,
            "origin": pl.String,
            "hs92": pl.String,
            "export_val": pl.Float64,
            "rca": pl.Float64,
            "presence": pl.Int8,
            "diversity": pl.Int64,
            "ubiquity": pl.Int64,
            "eci": pl.Float64,
            "pci": pl.Float64,
        }
    )


def test_years_are_computed_separately(stata: pl.DataFrame) -> None:
    both = run(stata.select(*KEYS, "export_val"))
    alone = run(stata.filter(pl.col("year") == 1996).select(*KEYS, "export_val"))
    assert both.filter(pl.col("year") == 1996).equals(alone)


# (2) Hand-computed example ------------------------------------------------------------------


def test_hand_computed_example() -> None:
    # Product totals are 10 each (world shares 1/3); location totals 11, 6, 13.
    table = long_table(
        {
            "A": {"x": 5, "y": 5, "z": 1},
            "B": {"x": 2, "y": 2, "z": 2},  # same mix as the world: rca exactly 1
            "C": {"x": 3, "y": 3, "z": 7},
        }
    )
    result = run(table).sort("origin", "hs92")

    # rca = (Q / location total) / (1/3)
    rca = [15 / 11, 15 / 11, 3 / 11, 1, 1, 1, 9 / 13, 9 / 13, 21 / 13]
    np.testing.assert_allclose(result["rca"], rca, rtol=1e-12)
    # B's rca of exactly 1 counts as presence (rca >= 1).
    assert result["presence"].to_list() == [1, 1, 0, 1, 1, 1, 0, 0, 1]
    assert result["diversity"].to_list() == [2, 2, 2, 3, 3, 3, 1, 1, 1]
    assert result["ubiquity"].to_list() == [2, 2, 2] * 3

    # M~p rows: x = y = (5/12, 5/12, 1/6), z = (1/6, 1/6, 2/3). Eigenvalues 1, 1/2, 0;
    # eigenvector of 1/2: PCI = (1, 1, -2). ECI = mean PCI of present products = (1, 0, -2),
    # positively correlated with diversity (2, 3, 1): sign kept. Mean ECI -1/3, population
    # variance 14/9, N = 3 x 3: sd = sqrt(14/9 x 9/8) = sqrt(7)/2.
    sd = sqrt(7) / 2
    eci = [(e + 1 / 3) / sd for e in (1, 0, -2)]
    pci = [(p + 1 / 3) / sd for p in (1, 1, -2)]
    np.testing.assert_allclose(result["eci"], np.repeat(eci, 3), rtol=1e-12)
    np.testing.assert_allclose(result["pci"], pci * 3, rtol=1e-12)


# (3) Degenerate inputs ----------------------------------------------------------------------


def assert_no_complexity(result: pl.DataFrame) -> None:
    assert result["eci"].null_count() == result.height
    assert result["pci"].null_count() == result.height


def test_single_location() -> None:
    result = run(long_table({"A": {"x": 1, "y": 2, "z": 3}}))
    assert result["rca"].to_list() == [1.0, 1.0, 1.0]  # its mix is the world's
    assert result["presence"].to_list() == [1, 1, 1]
    assert result["diversity"].to_list() == [3, 3, 3]
    assert result["ubiquity"].to_list() == [1, 1, 1]
    assert_no_complexity(result)


def test_single_product() -> None:
    result = run(long_table({"A": {"x": 1}, "B": {"x": 2}}))
    assert result["presence"].to_list() == [1, 1]
    assert_no_complexity(result)


def test_all_zero_values() -> None:
    result = run(long_table({"A": {"x": 0, "y": 0}, "B": {"x": 0, "y": 0}}))
    assert result["rca"].null_count() == 4  # 0/0: undefined
    assert result["presence"].to_list() == [0, 0, 0, 0]
    assert result["diversity"].to_list() == [0, 0, 0, 0]
    assert result["ubiquity"].to_list() == [0, 0, 0, 0]
    assert_no_complexity(result)


def test_zero_location_is_left_out() -> None:
    # B exports nothing: no rca, no presence, no eci (its products keep their pci); the
    # others are computed as if B were absent (N counts locations with presence only).
    with_b = run(long_table({"A": {"x": 3, "y": 1}, "B": {"x": 0, "y": 0}, "C": {"x": 1, "y": 3}}))
    without_b = run(long_table({"A": {"x": 3, "y": 1}, "C": {"x": 1, "y": 3}}))
    b = with_b.filter(pl.col("origin") == "B")
    assert b["rca"].null_count() == 2 and b["presence"].to_list() == [0, 0]
    assert b["eci"].null_count() == 2
    assert with_b.filter(pl.col("origin") != "B").equals(without_b)


def test_locations_without_spread() -> None:
    # Identical locations: the ECI vector is constant, so it cannot be standardised.
    assert_no_complexity(run(long_table({"A": {"x": 1, "y": 1}, "B": {"x": 1, "y": 1}})))


def test_empty_table() -> None:
    empty = long_table({"A": {"x": 1}}).clear()
    assert run(empty).height == 0


def test_degenerate_period_does_not_affect_others(stata: pl.DataFrame) -> None:
    good = stata.filter(pl.col("year") == 1995).select(*KEYS, "export_val")
    bad = long_table({"aut": {"1704": 5.0}}, year=1997)
    result = run(pl.concat([good, bad]))
    assert result.filter(pl.col("year") == 1995).equals(run(good))
    assert_no_complexity(result.filter(pl.col("year") == 1997))


def test_invalid_input_is_rejected() -> None:
    table = long_table({"A": {"x": 1, "y": 2}, "B": {"x": 2, "y": 1}})
    with pytest.raises(ValueError, match="duplicate"):
        run(pl.concat([table, table.head(1)]))
    with pytest.raises(ValueError, match="negative"):
        run(table.with_columns(pl.col("export_val") * -1))
    with pytest.raises(ValueError, match="null"):
        run(table.with_columns(pl.lit(None, pl.String).alias("origin")))


# (4) Output rows are the input rows ---------------------------------------------------------


def test_rows_are_the_input_rows(stata: pl.DataFrame) -> None:
    # Shuffled, with combinations missing and an extra column: same rows, same order back.
    table = (
        stata.select(*KEYS, "export_val", "density")
        .sample(fraction=1.0, shuffle=True, seed=7)
        .filter(pl.int_range(pl.len()) % 7 != 0)
    )
    result = run(table)
    assert result.select(*KEYS, "export_val").equals(table.select(*KEYS, "export_val"))


def test_missing_combinations_count_as_zero(stata: pl.DataFrame) -> None:
    table = stata.select(*KEYS, "export_val")
    zeroed = table.with_columns(
        pl.when(pl.col("origin") == "pol").then(0.0).otherwise("export_val").alias("export_val")
    )
    dropped = zeroed.filter(pl.col("export_val") > 0)
    assert run(dropped).equals(run(zeroed).filter(pl.col("export_val") > 0))


def test_without_period(stata: pl.DataFrame) -> None:
    year = stata.filter(pl.col("year") == 1995).select(*KEYS, "export_val")
    result = run(year.drop("year"), period=None)
    assert result.columns[:3] == ["origin", "hs92", "export_val"]
    assert result.equals(run(year).drop("year"))


# (5) ECI = mean PCI of the present products --------------------------------------------------


def test_eci_is_mean_pci_in_stata_output(stata: pl.DataFrame) -> None:
    assert_eci_is_mean_pci_of_present_products(stata, presence="M")


def test_eci_is_mean_pci_in_our_output(stata: pl.DataFrame) -> None:
    result = run(stata.select(*KEYS, "export_val"))
    assert_eci_is_mean_pci_of_present_products(result, presence="presence")


def test_exact_inputs_give_identical_results_in_any_row_order():
    """Decimal inputs are summed exactly, so a mart rebuilt from the same data is bit-identical."""
    from decimal import Decimal

    rng = np.random.default_rng(7)
    rows = [
        (year, f"{r:02d}", f"p{p}", Decimal(int(rng.integers(0, 10**9))) / 1000)
        for year in (2025, 2026)
        for r in range(1, 30)
        for p in range(12)
    ]
    table = pl.DataFrame(rows, schema={"year": pl.Int32, "r": pl.String, "p": pl.String, "q": pl.Decimal(18, 3)}, orient="row")
    run = lambda frame: economic_complexity(frame, location="r", product="p", value="q", period="year").sort("year", "r", "p")
    assert run(table).equals(run(table.sample(fraction=1.0, shuffle=True, seed=1)))
