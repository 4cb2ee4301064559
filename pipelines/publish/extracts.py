"""The eight published extracts (outputs.md, "Publication") with disclosure control applied.

Each extract is its mart with every confidential figure NULL and, next to each figure the rules
can suppress, a `<metric>_flag` column: 'c' where suppressed, NULL otherwise. A flagged figure is
flagged whatever its value was, NULL included: an unflagged NULL would tell that the hidden figure
was undefined (consumption <= 0, no output). Rows are sorted by the extract's key. Which figures
are confidential: disclosure.py; the rules extract by extract: docs/disclosure.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines.publish.disclosure import DisclosurePolicy, Suppression, suppress

FLAG = "c"

NEVER_PUBLISHED = (
    # bookkeeping of the incremental models (the newest load behind a row): not a figure, and it
    # would make releases of equal data differ
    "last_load_id",
    "top1_share",  # the largest producer's share of a cell is that producer's own figure
    # area_leadership's sums of the yearly output of the area's leader and assessed products: not
    # metrics.md figures (leadership_share is), and totals over subsets of products whose hidden
    # values could be recomputed from the other totals (docs/disclosure.md)
    "assessed_output_value",
    "leader_output_value",
)

# The enterprise figures of a product or area cell (metrics.md section 1). Each gives the cell's
# output or one of its cost, R&D or domestic-technology sums away, with the public imports and
# exports (C = Q + M - X, import_dependency = M / C, self_sufficiency = Q / C, ...), or bounds it
# (consumption_nonpositive: Q <= X - M; producer_count 0: Q = 0), so all are suppressed with the cell.
CELL_FIGURES = (
    "output_value", "apparent_consumption", "consumption_nonpositive", "import_dependency", "self_sufficiency",
    "domestic_share", "components_cost", "imported_components_cost", "localisation", "domestic_technology_share",
    "rnd_expenses", "rnd_intensity", "producer_count",
)

# The area-year status each figure is computed from (disclosure.Suppression.area_years).
OUTPUT, LEADERSHIP, INDEX = pl.col("output_suppressed"), pl.col("leadership_suppressed"), pl.col("index_suppressed")
PILLAR_SOURCES = {"independence": OUTPUT, "localisation": OUTPUT, "technology": OUTPUT, "leadership": LEADERSHIP}
INDICATOR_SOURCES = {
    "domestic_share": OUTPUT,
    "localisation": OUTPUT,
    "domestic_technology_share": OUTPUT,
    "leadership_share": LEADERSHIP,
    "sovereignty_index": INDEX,
}
ALL_CONSUMPTION, ALL_INDEX = pl.col("all_consumption_suppressed"), pl.col("all_index_suppressed")

IS_ALL = pl.col("project_code") == "ALL"

Rules = dict[str, pl.Expr]  # figure -> suppressed when true


@dataclass(frozen=True)
class Extract:
    frame: pl.DataFrame
    suppressed_cells: int


def build_extracts(
    con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy, suppression: Suppression | None = None
) -> dict[str, Extract]:
    """The published extracts, by name, from the marts of the warehouse behind con, with the
    given suppression (by default disclosure.suppress's)."""
    suppression = suppression or suppress(con, policy)
    extracts = {}
    for name, (keys, rules_of) in EXTRACTS.items():
        mart = con.sql(f"select * from marts.{name}").pl()
        joined, rules = rules_of(mart, suppression, policy)
        extracts[name] = _publish(mart.columns, joined, rules, keys)
    return extracts


def _publish(columns: list[str], joined: pl.DataFrame, rules: Rules, keys: list[str]) -> Extract:
    unknown = joined.select(pl.any_horizontal(rule.is_null() for rule in rules.values()).any()).item()
    if unknown:  # a figure whose status is unknown must not be published: a missing status is a bug
        raise ValueError(f"disclosure status unknown for some rows of the extract keyed by {keys}")
    flagged = joined.with_columns(
        *(pl.when(~rule).then(pl.col(figure)).alias(figure) for figure, rule in rules.items()),
        *(pl.when(rule).then(pl.lit(FLAG)).alias(f"{figure}_flag") for figure, rule in rules.items()),
    )
    published = [
        name
        for column in columns
        if column not in NEVER_PUBLISHED
        for name in ([column, f"{column}_flag"] if column in rules else [column])
    ]
    frame = flagged.select(published).sort(keys)
    return Extract(frame=frame, suppressed_cells=sum(frame[f"{figure}_flag"].count() for figure in rules))


def _product_independence(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    # strategic_dependency compares import_dependency with 0.5: a bound on the hidden output
    joined = mart.join(s.product_quarters.select("okpd2", "period", "suppressed"), on=["okpd2", "period"], how="left")
    return joined, dict.fromkeys((*CELL_FIGURES, "strategic_dependency"), pl.col("suppressed"))


def _area_independence(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    # strategic_dependencies counts the area's flagged products: with a hidden flag, the count
    # and the published flags would give it away
    hidden_flags = s.product_quarters.group_by("project_code", "period").agg(hidden_flags=pl.col("suppressed").any())
    joined = mart.join(s.area_quarters, on=["project_code", "period"], how="left")
    joined = joined.join(hidden_flags, on=["project_code", "period"], how="left")
    return joined, {**dict.fromkeys(CELL_FIGURES, pl.col("suppressed")), "strategic_dependencies": pl.col("hidden_flags")}


def _product_leadership(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    joined = mart.join(s.product_years.select("okpd2", "year", "suppressed"), on=["okpd2", "year"], how="left")
    level = policy.technical_level_confidential()
    return joined, {"output_value": pl.col("suppressed"), "technical_level": level, "technical_level_median": level}


def _area_leadership(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    joined = mart.join(s.area_years, on=["project_code", "year"], how="left")
    return joined, {"leadership_share": LEADERSHIP}


def _regional_development(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    keys = ["region_code", "project_code", "period"]
    joined = mart.join(s.regional_cells.select(*keys, "suppressed"), on=keys, how="left")
    return joined, dict.fromkeys(("output_value", "producer_count"), pl.col("suppressed"))


def _project_progress(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    # the four regional flows come from regional reports, not from enterprises: never hidden
    hidden = pl.lit(False)
    for indicator, source in INDICATOR_SOURCES.items():
        hidden = pl.when(pl.col("indicator_code") == indicator).then(source).otherwise(hidden)
    # achievement x the published target is the actual; status places it within 10 % of the target
    return _with_area_statuses(mart, s), dict.fromkeys(("actual_value", "achievement", "status"), hidden)


def _sovereignty_index(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    rules = {}
    for pillar, source in PILLAR_SOURCES.items():
        rules[pillar] = rules[f"{pillar}_clamped"] = source
    rules["apparent_consumption"] = pl.when(IS_ALL).then(ALL_CONSUMPTION).otherwise(OUTPUT)
    rules["sovereignty_index"] = pl.when(IS_ALL).then(ALL_INDEX).otherwise(INDEX)
    return _with_area_statuses(mart, s), rules


def _sovereignty_index_uncertainty(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    # the percentiles over weight draws are more equations in the pillars, the rank places the index
    hidden = pl.when(IS_ALL).then(ALL_INDEX).otherwise(INDEX)
    return _with_area_statuses(mart, s), dict.fromkeys(("index_p05", "index_p50", "index_p95", "median_rank"), hidden)


def _with_area_statuses(mart: pl.DataFrame, s: Suppression) -> pl.DataFrame:
    """The area-year statuses and the ALL status of the row's year. The ALL row and targets of
    years without data have no area figures: nothing of theirs to hide."""
    joined = mart.join(s.area_years, on=["project_code", "year"], how="left")
    joined = joined.join(s.years.select("year", pl.all().exclude("year").name.prefix("all_")), on="year", how="left")
    return joined.with_columns(pl.col("^.*_suppressed$").fill_null(False))


# extract -> (row order, rules); in the order of outputs.md
EXTRACTS: dict[str, tuple[list[str], Callable[[pl.DataFrame, Suppression, DisclosurePolicy], tuple[pl.DataFrame, Rules]]]] = {
    "product_independence": (["period", "okpd2"], _product_independence),
    "area_independence": (["period", "project_code"], _area_independence),
    "product_leadership": (["year", "okpd2"], _product_leadership),
    "area_leadership": (["year", "project_code"], _area_leadership),
    "regional_development": (["period", "region_code", "project_code"], _regional_development),
    "project_progress": (["year", "project_code", "indicator_code"], _project_progress),
    "sovereignty_index": (["year", "project_code"], _sovereignty_index),
    "sovereignty_index_uncertainty": (["year", "project_code"], _sovereignty_index_uncertainty),
}
