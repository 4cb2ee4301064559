"""Economic complexity (Hidalgo and Hausmann), as the Stata `ecomplexity` package computes it.

metrics.md section 3 asks for the `ecomplexity` method exactly; the reference values are in
`tests/fixtures/ecomplexity/` (Stata output). For each period separately:

- rca = (Q_rp / sum_p Q_rp) / (sum_r Q_rp / sum_rp Q_rp) (Balassa); presence M_rp = rca >= 1;
- diversity k_r = sum_p M_rp, ubiquity k_p = sum_r M_rp;
- PCI vector: real part of the eigenvector of the second-largest eigenvalue of
  M~p = (D_p^-1 M^T)(D_r^-1 M), over the locations and products with presence only;
  ECI vector = (D_r^-1 M) x PCI vector, i.e. the mean PCI vector of each location's products;
  both flipped when diversity and the ECI vector are negatively correlated;
- eci = (ECI - mean) / sd and pci = (PCI - mean) / sd with the mean and sd of the ECI vector.
  Stata takes them with `summarize` over its long location x product table, so sd is the
  *sample* sd over N = (locations with presence) x (products of the period) rows:
  population sd over locations x sqrt(N / (N - 1)). Using the ECI mean and sd for both keeps
  eci = mean pci of the location's present products.

Missing (location, product) rows count as zero, as Stata's zero-filled rectangle does; the
output keeps exactly the input rows.

Degenerate periods give null eci and pci (never an error): fewer than 2 locations or fewer
than 2 products with presence, or an ECI vector with no spread (e.g. all locations present in
the same products). rca is null where it is undefined (a location, product or period whose
total is zero, or a null value); such rows have presence 0.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# Internal column names, so the code below does not depend on the caller's names.
_T, _R, _P, _Q = "period", "location", "product", "value"

# An ECI vector whose sd is below this has no spread: the eigenvector components are at most 1
# in absolute value (unit norm), so real differences between locations are far larger.
_MIN_SD = 1e-12


def economic_complexity(
    table: pl.DataFrame,
    *,
    location: str,
    product: str,
    value: str,
    period: str | None = None,
) -> pl.DataFrame:
    """rca, presence, diversity, ubiquity, eci and pci of every (period, location, product) row.

    Returns the input rows (same order) with columns period (if given), location, product,
    value, rca (Float64), presence (Int8 0/1), diversity (Int64), ubiquity (Int64),
    eci (Float64) and pci (Float64). Values must be non-negative; keys must be non-null and
    unique. Raises ValueError otherwise.
    """
    keys = [period, location, product] if period is not None else [location, product]
    work = table.select(
        pl.col(period).alias(_T) if period is not None else pl.lit(0).alias(_T),
        pl.col(location).alias(_R),
        pl.col(product).alias(_P),
        pl.col(value).alias(_Q),
    )
    _check_input(work, keys, value)

    work = _with_presence(work)
    eci, pci = _complexity_indices(work)
    out = work.join(eci, on=[_T, _R], how="left", maintain_order="left").join(
        pci, on=[_T, _P], how="left", maintain_order="left"
    )

    names = {_R: location, _P: product, _Q: value}
    if period is not None:
        names = {_T: period, **names}
    indicators = ["rca", "presence", "diversity", "ubiquity", "eci", "pci"]
    return out.select(*names, *indicators).rename(names)


def _check_input(work: pl.DataFrame, keys: list[str], value: str) -> None:
    """Reject inputs for which the location x product matrix is not well defined."""
    if work.select(pl.any_horizontal(pl.col(_T, _R, _P).is_null()).any()).item():
        raise ValueError(f"null in key columns {keys}")
    if work.select(pl.struct(_T, _R, _P).is_duplicated().any()).item():
        raise ValueError(f"duplicate rows for key columns {keys}")
    if work.select((pl.col(_Q) < 0).any()).item():
        raise ValueError(f"negative values in column {value!r}")


def _with_presence(work: pl.DataFrame) -> pl.DataFrame:
    """Add rca, presence, diversity and ubiquity (period-wise window sums)."""
    # Totals are summed in the input's own type before the cast: an exact (decimal or integer)
    # input then gives the same rca whatever order the rows arrive in.
    def total(*keys: str) -> pl.Expr:
        return pl.col(_Q).sum().over(*keys).cast(pl.Float64)

    location_share = pl.col(_Q).cast(pl.Float64) / total(_T, _R)
    product_share = total(_T, _P) / total(_T)
    # 0/0 (zero totals) gives NaN: rca is undefined there, so null.
    rca = (location_share / product_share).fill_nan(None)
    presence = (pl.col("rca") >= 1).fill_null(False).cast(pl.Int8)
    return (
        work.with_columns(rca.alias("rca"))
        .with_columns(presence.alias("presence"))
        .with_columns(
            pl.col("presence").sum().over(_T, _R).cast(pl.Int64).alias("diversity"),
            pl.col("presence").sum().over(_T, _P).cast(pl.Int64).alias("ubiquity"),
        )
    )


def _complexity_indices(work: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """eci per (period, location) and pci per (period, product), over rows with presence.

    Locations and products without presence never appear here, so they get null after the
    left join; so do all rows of a degenerate period.
    """
    present = work.with_columns(
        pl.col(_P).n_unique().over(_T).alias("n_products")  # before filtering: all products
    ).filter(pl.col("presence") == 1)
    # 0-based matrix row and column of each present cell.
    present = present.with_columns(
        (pl.col(_R).rank("dense").over(_T) - 1).alias("row"),
        (pl.col(_P).rank("dense").over(_T) - 1).alias("col"),
    )

    eci_parts, pci_parts = [], []
    for part in present.partition_by(_T, maintain_order=True):
        rows, cols = part["row"].to_numpy(), part["col"].to_numpy()
        matrix = np.zeros((rows.max() + 1, cols.max() + 1))
        matrix[rows, cols] = 1.0
        indices = _standardised_indices(matrix, part["n_products"][0])
        if indices is None:
            continue
        # Matrix row i is the location of dense rank i (column j: the product), so gather.
        eci_by_row, pci_by_col = indices
        eci_parts.append(
            part.select(_T, _R, "row").unique().select(
                _T, _R, pl.lit(pl.Series("eci", eci_by_row)).gather(pl.col("row"))
            )
        )
        pci_parts.append(
            part.select(_T, _P, "col").unique().select(
                _T, _P, pl.lit(pl.Series("pci", pci_by_col)).gather(pl.col("col"))
            )
        )

    # The typed empty frames keep the schema when no period has indices.
    eci_schema: dict[str, pl.DataType | type[pl.DataType]] = {_T: work.schema[_T], _R: work.schema[_R], "eci": pl.Float64}
    pci_schema: dict[str, pl.DataType | type[pl.DataType]] = {_T: work.schema[_T], _P: work.schema[_P], "pci": pl.Float64}
    return (
        pl.concat([pl.DataFrame(schema=eci_schema), *eci_parts]),
        pl.concat([pl.DataFrame(schema=pci_schema), *pci_parts]),
    )


def _standardised_indices(
    matrix: np.ndarray, n_products: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """(eci per row, pci per column) of a 0/1 matrix with no empty row or column, or None.

    n_products is the number of products of the period (with presence or not): it sets the
    size N of Stata's long table for the sample sd.
    """
    n_locations, n_present_products = matrix.shape
    if n_locations < 2 or n_present_products < 2:
        return None
    eci, pci = _eci_pci_vectors(matrix)

    n = n_locations * n_products
    mean = eci.mean()
    sd = eci.std() * np.sqrt(n / (n - 1))
    if sd < _MIN_SD:
        return None
    return (eci - mean) / sd, (pci - mean) / sd


def _eci_pci_vectors(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unstandardised (ECI, PCI) vectors of the presence matrix M (locations x products)."""
    diversity = matrix.sum(axis=1)
    ubiquity = matrix.sum(axis=0)
    location_mean = matrix / diversity[:, None]  # D_r^-1 M
    product_mean = matrix.T / ubiquity[:, None]  # D_p^-1 M^T
    eigenvalues, eigenvectors = np.linalg.eig(product_mean @ location_mean)

    # The eigenvalues are real in theory (M~p is similar to a symmetric matrix); the largest
    # is 1 with a constant eigenvector, so the information is in the second one.
    second = np.argsort(-eigenvalues.real, kind="stable")[1]
    pci = eigenvectors[:, second].real
    eci = location_mean @ pci

    # The eigenvector's sign is arbitrary: orient it so that more diverse locations score
    # higher. Covariance has the sign of the correlation and no 0/0 when diversity is constant
    # (then, as in Stata, the sign is kept).
    if np.mean((diversity - diversity.mean()) * (eci - eci.mean())) < 0:
        return -eci, -pci
    return eci, pci
