"""The published extracts (outputs.md, "Publication"; issue #13's early warning) with disclosure control applied.

Each extract is its mart with every confidential figure NULL and, next to each figure the rules
can suppress, a `<metric>_flag` column: 'c' where suppressed, NULL otherwise. A flagged figure is
flagged whatever its value was, NULL included: an unflagged NULL would tell that the hidden figure
was undefined (consumption <= 0, no output). Rows are sorted by the extract's key. Which figures
are confidential: disclosure.py; the rules extract by extract: docs/disclosure.md. risk_signals is
the exception: a signal about a confidential cell is left out whole, rather than published with its
values flagged (the signal itself says the hidden figure moved past a threshold).

Every published column carries its description and unit, taken from where the column is defined:
the dbt model's (or seed's) YAML, through the dbt manifest (`description`, `config: {meta: {unit}}`).
The catalogue extracts give the names behind the codes (products, areas, regions, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import duckdb
import polars as pl

from pipelines.publication.disclosure import DisclosurePolicy, Suppression, suppress
from pipelines.transformation.dbt_project import dbt_project

FLAG = "c"
FLAG_DESCRIPTION = "'c' where {figure} is confidential and withheld (then {figure} is NULL); NULL where it is published."

# The warehouse's bookkeeping: which load or build a row came from (the incremental models'
# last_load_id, the raw tables' _load_id, _source_file, ...). Not a figure, and it would make
# releases of equal data differ: never published, from any table.
BOOKKEEPING = re.compile(r"^_|(^|_)(load|build)_id$")

NEVER_PUBLISHED = (
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
ALL_UNCERTAINTY = pl.col("all_uncertainty_suppressed")

IS_ALL = pl.col("project_code") == "ALL"

Rules = dict[str, pl.Expr]  # figure -> suppressed when true


@dataclass(frozen=True)
class Column:
    """What a published column holds, as its Parquet field metadata and the manifest give it."""

    description: str
    unit: str | None  # None for codes, periods, flags, text

    def metadata(self) -> dict[str, str]:
        return {"description": self.description} | ({"unit": self.unit} if self.unit else {})


@dataclass(frozen=True)
class Extract:
    frame: pl.DataFrame
    suppressed_cells: int
    node: str  # the dbt model or seed it is published from, whose YAML describes its columns

    def columns(self) -> dict[str, Column]:
        """Every column of the frame, in its order, with its description and unit."""
        return describe(self.frame, self.node)


def is_published(column: str) -> bool:
    return not BOOKKEEPING.search(column) and column not in NEVER_PUBLISHED


@cache
def documented_columns() -> dict[str, dict[str, Column]]:
    """The columns of each dbt node ('model.sovereignty.product_independence') as its YAML describes
    them, read from dbt's manifest once for every extract (the manifest is some 2 MB of JSON)."""
    with open(dbt_project().manifest_path, encoding="utf-8") as handle:
        nodes = json.load(handle)["nodes"]
    return {node: {name: Column(c["description"].strip(), c["config"]["meta"].get("unit")) for name, c in props["columns"].items()}
            for node, props in nodes.items()}


def describe(frame: pl.DataFrame, node: str) -> dict[str, Column]:
    """The description and unit of each column of a published frame: a flag's from its figure's
    name, every other from the dbt node the frame is published from."""
    documented = documented_columns()[node]
    columns = {}
    for name in frame.columns:
        figure = name.removesuffix("_flag")
        if name != figure and figure in frame.columns:
            columns[name] = Column(FLAG_DESCRIPTION.format(figure=figure), None)
        elif name in documented:
            columns[name] = documented[name]
        else:
            raise ValueError(f"column {name} of {node} is published but not described in its YAML")
    return columns


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
        frame, suppressed_cells = _publish(mart.columns, joined, rules, keys)
        extracts[name] = Extract(frame, suppressed_cells, f"model.sovereignty.{name}")
    return extracts


def build_catalogues(con: duckdb.DuckDBPyConnection) -> dict[str, Extract]:
    """The catalogue extracts, by name, from the reference tables (dbt's seeds) behind con."""
    catalogues = {}
    for name, (seed, keys) in CATALOGUES.items():
        frame = con.sql(f"select * from reference.{seed}").pl().sort(keys)
        catalogues[name] = Extract(frame, 0, f"seed.sovereignty.{seed}")
    return catalogues


def _publish(columns: list[str], joined: pl.DataFrame, rules: Rules, keys: list[str]) -> tuple[pl.DataFrame, int]:
    unknown = rules and joined.select(pl.any_horizontal(rule.is_null() for rule in rules.values()).any()).item()
    if unknown:  # a figure whose status is unknown must not be published: a missing status is a bug
        raise ValueError(f"disclosure status unknown for some rows of the extract keyed by {keys}")
    flagged = joined.with_columns(
        *(pl.when(~rule).then(pl.col(figure)).alias(figure) for figure, rule in rules.items()),
        *(pl.when(rule).then(pl.lit(FLAG)).alias(f"{figure}_flag") for figure, rule in rules.items()),
    )
    published = [
        name
        for column in columns
        if is_published(column)
        for name in ([column, f"{column}_flag"] if column in rules else [column])
    ]
    frame = flagged.select(published).sort(keys)
    return frame, sum(frame[f"{figure}_flag"].count() for figure in rules)


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
    # the percentiles over weight draws are more equations in the pillars, the rank places the index;
    # ALL's are hidden with any area index in it, even when the ALL index is published (disclosure.py)
    hidden = pl.when(IS_ALL).then(ALL_UNCERTAINTY).otherwise(INDEX)
    return _with_area_statuses(mart, s), dict.fromkeys(("index_p05", "index_p50", "index_p95", "median_rank"), hidden)


def _with_cell_statuses(mart: pl.DataFrame, s: Suppression, at: str) -> pl.DataFrame:
    """cell_suppressed: the status of the row's product (level product, code okpd2) or area (level
    area, code project_code) in the quarter (at='period', or another column holding a quarter) or
    the year (at='year') of the row, and hidden_flags: whether any product of the area is hidden
    then (the area's counts of product flags would give a hidden flag away)."""
    if at == "year":
        product_areas = s.product_quarters.select("okpd2", "project_code").unique()
        products = s.product_years.join(product_areas, on="okpd2", how="left").rename({"year": "when"})
        areas = s.area_years.select("project_code", when="year", suppressed="output_suppressed")
    else:
        products = s.product_quarters.rename({"period": "when"})
        areas = s.area_quarters.rename({"period": "when"})
    when = pl.col("when").cast(mart.schema[at])
    cells = pl.concat([
        products.select(level=pl.lit("product"), code="okpd2", when=when, cell_suppressed="suppressed"),
        areas.select(level=pl.lit("area"), code="project_code", when=when, cell_suppressed="suppressed"),
    ])
    hidden_flags = products.group_by("project_code", when).agg(hidden_flags=pl.col("suppressed").any())
    joined = mart.join(cells, left_on=["level", "code", at], right_on=["level", "code", "when"], how="left")
    return joined.join(hidden_flags, left_on=["project_code", at], right_on=["project_code", "when"], how="left").with_columns(
        pl.col("hidden_flags").fill_null(False)
    )


def _partner_exposure(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    # M_j and M are customs statistics; C and M_j / C give the cell's output away (Q = C - M + X).
    # Quarterly rows follow the quarter's cell, yearly rows the year's (each hidden on its own).
    hidden = pl.col("cell_suppressed")
    at = "period" if "period" in mart.columns else "year"
    return _with_cell_statuses(mart, s, at), dict.fromkeys(("apparent_consumption", "consumption_share"), hidden)


def _supply_stress(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    # unmet share M_j / C and dependency after (M - M_j) / (C - M_j) give C, the strategic flags
    # bound it; the HHI after is customs only. An area's count of products becoming strategic and
    # its output share affected (a sum of its products' outputs) follow its products' statuses.
    cell, flags = pl.col("cell_suppressed"), pl.col("hidden_flags")
    rules = dict.fromkeys(
        ("unmet_share", "import_dependency_after", "strategic_dependency_before", "strategic_dependency_after",
         "becomes_strategic_dependency"),
        cell,
    )
    return _with_cell_statuses(mart, s, "period"), {**rules, "products_becoming_strategic": flags,
                                                     "output_share_affected": cell | flags}


# risk_signals: the signal types whose values come from the cell's enterprise figures (C or Q)
CELL_SIGNALS = (
    "strategic_dependency_new", "import_dependency_rise_quarter", "import_dependency_rise_year", "localisation_fall",
    "domestic_technology_fall",
)


def _risk_signals(mart: pl.DataFrame, s: Suppression, policy: DisclosurePolicy) -> tuple[pl.DataFrame, Rules]:
    """Signals about a confidential figure in either of the two periods are left out (the row's
    values, and the very fact that it moved past a threshold, are about the hidden figure).
    partner_share_rise (customs) and report_late are never hidden."""
    signals = mart.with_row_index("signal")
    project_hidden = pl.lit(False)
    for indicator, source in INDICATOR_SOURCES.items():
        project_hidden = pl.when(pl.col("subject") == indicator).then(source).otherwise(project_hidden)
    for period in ("period", "period_before"):
        # quarterly signals follow the cells of their quarters; yearly ones (a year '2026') the year's statuses
        dated = signals.with_columns(year=pl.col(period).str.slice(0, 4).cast(pl.Int32))
        in_year = _with_cell_statuses(dated, s, period)
        in_year = in_year.join(s.area_years, on=["project_code", "year"], how="left").join(
            s.technical_levels.select("code", "year", level_confidential="confidential"), on=["code", "year"], how="left"
        )
        status = in_year.select(
            "signal",
            hidden=pl.when(pl.col("signal_type").is_in(CELL_SIGNALS)).then(pl.col("cell_suppressed"))
            .when(pl.col("signal_type") == "project_status_worse").then(project_hidden)
            .when(pl.col("signal_type") == "leadership_band_fall").then(pl.col("level_confidential"))
            .otherwise(pl.lit(False)),
        )
        if status["hidden"].null_count():
            raise ValueError("disclosure status unknown for some risk signals: a missing status is a bug")
        signals = signals.join(status.rename({"hidden": f"hidden_{period}"}), on="signal", how="left")
    published = signals.filter(~pl.col("hidden_period") & ~pl.col("hidden_period_before"))
    return published.drop("signal", "hidden_period", "hidden_period_before"), {}


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
    # issue #13, early warning (docs/early_warning.md)
    "partner_exposure": (["period", "level", "code", "partner_type", "partner_code"], _partner_exposure),
    "partner_exposure_yearly": (["year", "level", "code", "partner_type", "partner_code"], _partner_exposure),
    "supply_stress": (["period", "level", "code", "partner_type", "partner_code"], _supply_stress),
    "risk_signals": (["period", "level", "code", "signal_type", "subject"], _risk_signals),
}

# The names behind the codes of the extracts: catalogue extract -> (reference seed, row order), each
# naming the code in the comment. Classifiers and the warehouse's own lists, no enterprise data:
# published whole, as dbt loaded them.
CATALOGUES: dict[str, tuple[str, list[str]]] = {
    "catalogue_products": ("products", ["okpd2"]),  # okpd2
    "catalogue_priority_areas": ("priority_areas", ["project_code"]),  # project_code (ALL: all areas)
    "catalogue_regions": ("regions", ["region_code"]),  # region_code
    "catalogue_indicators": ("indicators", ["indicator_code"]),  # project_progress.indicator_code
    "catalogue_countries": ("countries", ["country_code"]),  # partner_code of partner_type country
    "catalogue_partner_groups": ("partner_groups", ["group_code", "country_code", "valid_from"]),  # of partner_type group
    "catalogue_units": ("units", ["okei"]),  # catalogue_products.okei
}
