"""Uncertainty of the sovereignty index over its weights (metrics.md section 5).

Draws weight vectors from a flat Dirichlet with a fixed, recorded seed, recomputes each area's
index S = 100 x prod n_i^w_i from its clamped pillars (int_area_sovereignty_index) for every
draw, and summarises the draws per area and year: 5th, 50th and 95th percentiles (linear interpolation) and the median rank
(1 = highest index among the year's areas with an index). The ALL row is recomputed per draw
as the consumption-weighted mean of the areas' indices, like marts.sovereignty_index.
"""

import numpy as np
import polars as pl

PILLARS = ("independence", "localisation", "technology", "leadership")


def area_draws(areas: pl.DataFrame, weights: np.ndarray) -> np.ndarray:
    """S for every area (rows) and weight draw (columns)."""
    log_pillars = np.log(areas.select(f"{p}_clamped" for p in PILLARS).to_numpy())
    return 100 * np.exp(log_pillars @ weights.T)


def median_ranks(draws: np.ndarray) -> np.ndarray:
    """Each area's median rank over the draws; rank 1 is the highest index in a draw."""
    ranks = (-draws).argsort(axis=0).argsort(axis=0) + 1
    return np.median(ranks, axis=1)


def summarise_year(year: int, areas: pl.DataFrame, weights: np.ndarray) -> list[dict]:
    draws = area_draws(areas, weights)
    consumption = areas["apparent_consumption"].cast(pl.Float64).to_numpy()
    national = (consumption @ draws) / consumption.sum() if consumption.sum() else np.full(len(weights), np.nan)
    rows = []
    for code, area, rank in zip(areas["project_code"], draws, median_ranks(draws)):
        rows.append(summary(code, year, area, rank))
    rows.append(summary("ALL", year, national, None))
    return rows


def summary(code: str, year: int, values: np.ndarray, rank: float | None) -> dict:
    p05, p50, p95 = (None, None, None) if np.isnan(values).any() else np.percentile(values, [5, 50, 95])
    return {"project_code": code, "year": year, "index_p05": p05, "index_p50": p50, "index_p95": p95, "median_rank": rank}


def model(dbt, session):
    dbt.config(materialized="table")
    seed, size = int(dbt.config.get("weight_seed")), int(dbt.config.get("weight_draws"))
    weights = np.random.default_rng(seed).dirichlet(np.ones(len(PILLARS)), size=size)
    index = dbt.ref("int_area_sovereignty_index").pl()
    assessed = index.filter(pl.col("sovereignty_index").is_not_null()).sort("year", "project_code")
    rows = [row for (year,), areas in assessed.group_by("year", maintain_order=True) for row in summarise_year(year, areas, weights)]
    # Areas whose index is NULL (a missing pillar) keep a row with NULL percentiles.
    unassessed = index.filter(pl.col("sovereignty_index").is_null())
    rows += [summary(code, year, np.array([np.nan]), None) for code, year in unassessed.select("project_code", "year").iter_rows()]
    schema = {"project_code": pl.String, "year": pl.Int32, "index_p05": pl.Float64, "index_p50": pl.Float64,
              "index_p95": pl.Float64, "median_rank": pl.Float64}
    result = pl.DataFrame(rows, schema=schema, orient="row").with_columns(draws=pl.lit(size), seed=pl.lit(seed))
    return result.sort("year", "project_code").to_arrow()
