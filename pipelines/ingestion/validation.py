"""The row rules of inputs.md as vectorised Polars expressions.

A file's text cells are parsed into typed columns, every rule is evaluated on every row at
once, and each row ends up either loaded (with the soft rules it breaks) or quarantined with
every hard rule it breaks. Rule names are `<column>.<what is wrong>`; docs/ingestion.md lists
them all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from pipelines.ingestion.catalogues import Catalogues
from pipelines.ingestion.contracts import ColumnType, ReportKind
from pipelines.ingestion.inn import inn_is_valid_expr
from pipelines.ingestion.periods import FIRST_QUARTER, parse_quarter_expr, quarter_of
from pipelines.ingestion.readers import FIELD_COUNT, ROW_NUMBER

TEXT_PREFIX = "__text_"
NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
DASHES = ["-", "–", "—"]
# DECIMAL(18,3) holds 15 digits before the point: a larger money value cannot be stored.
DECIMAL_LIMIT = 1e15
# Code columns that XLSX files may store as numbers ("796.0"): the ".0" is the reader's, not the sender's.
NUMERIC_CODE_COLUMNS = ("inn", "region_code", "okei")
OKVED2_PATTERN = r"^[0-9]{2}(\.[0-9]{1,2}(\.[0-9]{1,2})?)?$"


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str  # "hard": the row is quarantined; "soft": loaded and flagged
    broken: pl.Expr  # true where the row breaks the rule


@dataclass
class ValidationContext:
    catalogues: Catalogues
    today: date
    # (okpd2, parameter_code) pairs that appear in the benchmarks already loaded.
    benchmark_parameters: frozenset[tuple[str, str]] = frozenset()


@dataclass
class ValidatedFile:
    loaded: pl.DataFrame  # canonical typed columns, ROW_NUMBER, _soft_flags
    quarantined: pl.DataFrame  # ROW_NUMBER, original_values (JSON text), reasons (list)
    rule_counts: list[tuple[str, str, int, int]]  # (rule, severity, rows checked, rows failing)


def text(column: str) -> pl.Expr:
    return pl.col(TEXT_PREFIX + column)


def parse_number(cell: pl.Expr) -> pl.Expr:
    """'1 234 567,8' -> 1234567.8; a lone dash means zero (Russian statistical convention)."""
    compact = cell.str.replace_all(r"[\s\u00a0\u202f]", "")
    compact = pl.when(compact.is_in(DASHES)).then(pl.lit("0")).otherwise(compact)
    compact = compact.str.replace(",", ".", literal=True)
    return pl.when(compact.str.contains(NUMBER)).then(compact.cast(pl.Float64, strict=False))


def applied(parse: Callable[[pl.Expr], pl.Expr], cells: pl.Series) -> pl.Series:
    """An expression parser run on a Series of cells (the Series' own name is the column)."""
    return cells.to_frame().select(parse(pl.col(cells.name))).to_series()


def parsed_numbers(cells: pl.Series) -> pl.Series:
    """parse_number of every cell, with the regular expressions only where plain casts fail.

    Polars' float cast accepts what NUMBER accepts, and also 'inf' and 'nan'. A cell it turns into
    a finite number as given, or once the usual thousands separators (space, no-break space,
    narrow no-break space) are dropped and the decimal comma made a point, parses to that number in
    parse_number too: it holds no other space and is no dash. Only the rest (other white space,
    dashes, text) goes through parse_number's regular expressions; the casts cost a fifth of them.
    """
    def without_separators(rest: pl.Series) -> pl.Series:
        for separator in (" ", "\u00a0", "\u202f"):
            rest = rest.str.replace_all(separator, "", literal=True)
        return rest.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)

    values = cells.cast(pl.Float64, strict=False)
    for attempt in (without_separators, functools.partial(applied, parse_number)):
        unparsed = (values.is_null() | ~values.is_finite()) & cells.is_not_null()
        if not unparsed.any():
            break
        values = values.scatter(unparsed.arg_true(), attempt(cells.filter(unparsed)))
    return values


def parse_date(cell: pl.Expr) -> pl.Expr:
    day = cell.str.slice(0, 10)  # XLSX date cells arrive as '2025-01-31 00:00:00'
    return pl.coalesce(day.str.to_date("%Y-%m-%d", strict=False), day.str.to_date("%d.%m.%Y", strict=False))


def parse_code(column: str, cell: pl.Expr, cells: pl.Series) -> pl.Expr:
    # the regular expression only for a file with such a cell: it costs a tenth of validation
    if column in NUMERIC_CODE_COLUMNS and cells.str.ends_with(".0").any():
        cell = cell.str.replace(r"^(\d+)\.0$", "${1}")
    if column == "region_code":
        cell = cell.str.zfill(2)  # inputs.md: '1' is read as '01'
    return cell


def parsed_once_per_text(cells: pl.Series, parse: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """parse(cells) computed for each distinct text once and spread back over the rows: a file
    names a few quarters, or spells an accepted value a few ways, in up to millions of rows, and
    parsing a quarter takes four regexes (lower-casing Cyrillic text costs as much as a regex)."""
    distinct = cells.unique().drop_nulls()
    parsed = applied(parse, distinct)
    return pl.col(cells.name).replace_strict(distinct, parsed, default=None, return_dtype=parsed.dtype)


def typed_value(kind: ReportKind, column: str, cells: pl.Series) -> pl.Expr:
    """The parsed value of a column (null where the cell is empty or does not parse); cells are
    the column's text, for parses done once per distinct text."""
    spec = kind.column(column)
    cell = text(column)
    match spec.type:
        case ColumnType.DECIMAL | ColumnType.MEASURE:
            value = pl.lit(parsed_numbers(cells))
            if spec.missing_is_zero:  # an empty cell is zero; an unparseable one stays null (an error)
                return pl.when(cell.is_null()).then(pl.lit(0.0)).otherwise(value)
            return value
        case ColumnType.INTEGER:
            value = pl.lit(parsed_numbers(cells))
            return pl.when(value == value.round(0)).then(value.cast(pl.Int64, strict=False))
        case ColumnType.QUARTER:
            return parsed_once_per_text(cells, parse_quarter_expr)
        case ColumnType.DATE:
            return parse_date(cell)
        case ColumnType.ENUM:
            choices = spec.choices
            return parsed_once_per_text(
                cells, lambda cell: cell.str.to_lowercase().replace_strict(choices, default=None, return_dtype=pl.String)
            )
        case _:
            return parse_code(column, cell, cells)


def format_rules(kind: ReportKind) -> list[Rule]:
    """Missing required values and cells that do not parse as their column's type."""
    rules = []
    for spec in kind.columns:
        cell, value = text(spec.name), pl.col(spec.name)
        if spec.required:
            rules.append(Rule(f"{spec.name}.missing", "hard", cell.is_null()))
        unparsed = cell.is_not_null() & value.is_null()
        problem = {
            ColumnType.DECIMAL: "not_a_number",
            ColumnType.MEASURE: "not_a_number",
            ColumnType.INTEGER: "not_an_integer",
            ColumnType.QUARTER: "not_a_quarter",
            ColumnType.DATE: "not_a_date",
            ColumnType.ENUM: "not_an_accepted_value",
        }.get(spec.type)
        if problem:
            rules.append(Rule(f"{spec.name}.{problem}", "hard", unparsed))
        if spec.type == ColumnType.DECIMAL:
            rules.append(Rule(f"{spec.name}.too_large", "hard", value.abs() >= DECIMAL_LIMIT))
    return rules


def non_negative(*columns: str) -> list[Rule]:
    return [Rule(f"{c}.negative", "hard", pl.col(c) < 0) for c in columns]


def positive(*columns: str) -> list[Rule]:
    return [Rule(f"{c}.not_positive", "hard", pl.col(c) <= 0) for c in columns]


def in_catalogue(column: str, codes: list[str]) -> Rule:
    return Rule(f"{column}.not_in_catalogue", "hard", ~pl.col(column).is_in(codes))


def inn_rules() -> list[Rule]:
    inn = pl.col("inn")
    well_formed = inn.str.contains(r"^([0-9]{10}|[0-9]{12})$")
    return [
        Rule("inn.not_10_or_12_digits", "hard", ~well_formed),
        Rule("inn.check_digits", "hard", well_formed & ~inn_is_valid_expr(inn)),
    ]


def period_rules(today: date) -> list[Rule]:
    """Quarters from 2000-Q1 (the warehouse's first, as for characteristics' years) to today's.
    Quarter labels sort chronologically as text ('2025-Q4' < '2026-Q1')."""
    return [
        Rule("period.in_future", "hard", pl.col("period") > quarter_of(today)),
        Rule("period.before_2000", "hard", pl.col("period") < FIRST_QUARTER),
    ]


def content_rules(kind: ReportKind, ctx: ValidationContext) -> list[Rule]:
    """The hard and soft rules inputs.md states for each report kind."""
    cat = ctx.catalogues
    match kind.name:
        case "producer":
            usual_unit = pl.col("okpd2").replace_strict(cat.usual_unit(), default=None, return_dtype=pl.String)
            return [
                *period_rules(ctx.today),
                *inn_rules(),
                Rule("enterprise_name.too_long", "hard", pl.col("enterprise_name").str.len_chars() > 500),
                in_catalogue("region_code", cat.region_codes),
                Rule("okved2.bad_pattern", "hard", ~pl.col("okved2").str.contains(OKVED2_PATTERN)),
                in_catalogue("okpd2", cat.product_codes),
                in_catalogue("okei", cat.unit_codes),
                *non_negative(
                    "output_qty",
                    "output_value",
                    "export_value",
                    "components_cost",
                    "imported_components_cost",
                    "rnd_expenses",
                    "employees",
                ),
                Rule(
                    "imported_components_cost.exceeds_components_cost",
                    "hard",
                    pl.col("imported_components_cost") > pl.col("components_cost"),
                ),
                Rule("trl.out_of_range", "hard", ~pl.col("trl").is_between(1, 9)),
                Rule("export_value.exceeds_output_value", "soft", pl.col("export_value") > pl.col("output_value")),
                Rule("okei.not_usual_unit", "soft", pl.col("okei") != usual_unit),
                Rule(
                    "inn_okpd2_period.repeated_in_file",
                    "soft",
                    pl.struct("inn", "okpd2", "period").is_duplicated()
                    & pl.all_horizontal(pl.col("inn", "okpd2", "period").is_not_null()),
                ),
            ]
        case "trade":
            return [
                *period_rules(ctx.today),
                in_catalogue("okpd2", cat.product_codes),
                in_catalogue("partner_country", cat.country_codes),
                *non_negative("value"),
            ]
        case "regional":
            return [
                *period_rules(ctx.today),
                in_catalogue("region_code", cat.region_codes),
                in_catalogue("project_code", cat.project_codes),
                *non_negative("facilities_launched", "investment", "jobs_created", "specialists_trained"),
            ]
        case "characteristics":
            known = pl.DataFrame(
                sorted(ctx.benchmark_parameters), schema=["okpd2", "parameter_code"], orient="row"
            )
            return [
                Rule("year.out_of_range", "hard", ~pl.col("year").is_between(2000, ctx.today.year)),
                *inn_rules(),
                in_catalogue("okpd2", cat.product_codes),
                Rule(
                    "parameter_code.not_in_benchmarks",
                    "hard",
                    pl.all_horizontal(pl.col("okpd2", "parameter_code").is_not_null())
                    & ~pl.struct("okpd2", "parameter_code").is_in(known.to_struct().implode()),
                ),
                *positive("value"),
            ]
        case "benchmarks":
            return [in_catalogue("okpd2", cat.product_codes), *positive("weight", "best_value")]
        case "targets":
            return [in_catalogue("project_code", cat.project_codes), *non_negative("target_value")]
    raise ValueError(f"no rules for report kind {kind.name!r}")


# A CSV record with fewer or more fields than the header: its cells cannot be matched to columns.
FIELD_COUNT_RULE = Rule("row.field_count", "hard", pl.col(FIELD_COUNT).is_not_null())


def rule_list(kind: ReportKind, ctx: ValidationContext) -> list[Rule]:
    return format_rules(kind) + content_rules(kind, ctx)


def validate(kind: ReportKind, frame: pl.DataFrame, original_names: dict[str, str], ctx: ValidationContext) -> ValidatedFile:
    """Split a read file into loaded and quarantined rows, counting each rule's failures."""
    present = [c for c in kind.column_names if c in frame.columns]
    absent = [c for c in kind.column_names if c not in frame.columns]
    texts = frame.with_columns(
        *[pl.col(c).alias(TEXT_PREFIX + c) for c in present],
        *[pl.lit(None, dtype=pl.String).alias(TEXT_PREFIX + c) for c in absent],
    )
    # Lazily, so that Polars computes an expression used several times (a number parsed for its
    # check and its value) once, and runs the columns' expressions side by side.
    work = texts.lazy().with_columns(
        typed_value(kind, c, texts[TEXT_PREFIX + c]).alias(c) for c in kind.column_names
    ).collect()
    rules = ([FIELD_COUNT_RULE] if FIELD_COUNT in frame.columns else []) + rule_list(kind, ctx)
    broken = work.lazy().select(
        ROW_NUMBER,
        *[r.broken.fill_null(False).alias(r.name) for r in rules],
    ).collect()
    counts = [(r.name, r.severity, broken.height, int(broken[r.name].sum())) for r in rules]
    work = work.with_columns(
        _reasons=names_of_broken(broken, [r for r in rules if r.severity == "hard"]),
        _soft_flags=names_of_broken(broken, [r for r in rules if r.severity == "soft"]),
    )
    is_bad = pl.col("_reasons").list.len() > 0
    # selected before filtered, so that the text columns are not copied with the kept rows
    loaded = work.select(*kind.column_names, ROW_NUMBER, "_soft_flags", "_reasons").filter(~is_bad).drop("_reasons")
    delivered = [c for c in frame.columns if c not in (ROW_NUMBER, FIELD_COUNT)]
    quarantined = work.filter(is_bad).select(
        ROW_NUMBER,
        pl.struct(pl.col(TEXT_PREFIX + c if c in kind.column_names else c).alias(original_names[c]) for c in delivered)
        .struct.json_encode()
        .alias("original_values"),
        pl.col("_reasons").alias("reasons"),
    )
    return ValidatedFile(loaded=loaded, quarantined=quarantined, rule_counts=counts)


def names_of_broken(broken: pl.DataFrame, rules: list[Rule]) -> pl.Series:
    """Per row, the names of the rules it breaks (an empty list for a clean row).

    The lists are built only for the rows that break a rule: building a list per row is by far
    the costliest step of validation, and almost every row of a real report is clean.
    """
    if not rules:
        return pl.Series([[]] * broken.height, dtype=pl.List(pl.String))
    names = pl.concat_list(pl.when(pl.col(r.name)).then(pl.lit(r.name)) for r in rules).list.drop_nulls()
    indexed = broken.select(pl.int_range(pl.len()).alias("_index"), *[r.name for r in rules])
    flagged = indexed.filter(pl.any_horizontal(r.name for r in rules)).select("_index", names.alias("_names"))
    return (
        indexed.select("_index")
        .join(flagged, on="_index", how="left", maintain_order="left")
        .select(pl.col("_names").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .to_series()
    )
