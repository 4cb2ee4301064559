"""One test per row rule of inputs.md: a row that breaks only that rule, and what happens to it."""

from __future__ import annotations

import pytest

from pipelines.ingestion.catalogues import load_catalogues
from pipelines.ingestion.contracts import KINDS, ColumnType
from pipelines.ingestion.validation import ValidationContext, rule_list
from tests.conftest import TODAY
from tests.reports import csv_bytes, deliver, row

# A cell value that breaks each type's parse rule.
UNPARSEABLE = {
    ColumnType.DECIMAL: ("not_a_number", "12,5,1"),
    ColumnType.MEASURE: ("not_a_number", "twelve"),
    ColumnType.INTEGER: ("not_an_integer", "1.5"),
    ColumnType.QUARTER: ("not_a_quarter", "2025-Q5"),
    ColumnType.DATE: ("not_a_date", "31.02.2024"),
    ColumnType.ENUM: ("not_an_accepted_value", "other"),
}


def format_cases():
    """(kind, rule, changes) for the missing-value and parse rules every column has."""
    for kind in KINDS.values():
        for column in kind.columns:
            if column.required:
                yield kind.name, f"{column.name}.missing", {column.name: None}
            if column.type in UNPARSEABLE:
                problem, cell = UNPARSEABLE[column.type]
                yield kind.name, f"{column.name}.{problem}", {column.name: cell}
            if column.type == ColumnType.DECIMAL and column.name != "imported_components_cost":
                yield kind.name, f"{column.name}.too_large", {column.name: "1000000000000000"}


CONTENT_CASES = [
    ("producer", "period.in_future", {"period": "2027-Q1"}),
    ("producer", "period.before_2000", {"period": "1999-Q4"}),
    ("producer", "inn.not_10_or_12_digits", {"inn": "77070838"}),
    ("producer", "inn.check_digits", {"inn": "7707083894"}),
    ("producer", "enterprise_name.too_long", {"enterprise_name": "А" * 501}),
    ("producer", "region_code.not_in_catalogue", {"region_code": "00"}),
    ("producer", "okved2.bad_pattern", {"okved2": "2651"}),
    ("producer", "okpd2.not_in_catalogue", {"okpd2": "99.99.99"}),
    ("producer", "okei.not_in_catalogue", {"okei": "999"}),
    ("producer", "output_qty.negative", {"output_qty": "-1"}),
    ("producer", "output_value.negative", {"output_value": "-1"}),
    ("producer", "export_value.negative", {"export_value": "-1"}),
    ("producer", "components_cost.negative", {"components_cost": "-1", "imported_components_cost": "0"}),
    ("producer", "imported_components_cost.too_large", {"imported_components_cost": "1e15"}),
    ("producer", "imported_components_cost.negative", {"imported_components_cost": "-1"}),
    ("producer", "imported_components_cost.exceeds_components_cost", {"imported_components_cost": "501"}),
    ("producer", "rnd_expenses.negative", {"rnd_expenses": "-1"}),
    ("producer", "employees.negative", {"employees": "-1"}),
    ("producer", "trl.out_of_range", {"trl": "10"}),
    ("trade", "period.in_future", {"period": "2027-Q1"}),
    ("trade", "period.before_2000", {"period": "1999-Q4"}),
    ("trade", "okpd2.not_in_catalogue", {"okpd2": "99.99.99"}),
    ("trade", "partner_country.not_in_catalogue", {"partner_country": "XX"}),
    ("trade", "value.negative", {"value": "-1"}),
    ("regional", "period.in_future", {"period": "2027-Q1"}),
    ("regional", "period.before_2000", {"period": "1999-Q4"}),
    ("regional", "region_code.not_in_catalogue", {"region_code": "00"}),
    ("regional", "project_code.not_in_catalogue", {"project_code": "XYZ"}),
    ("regional", "facilities_launched.negative", {"facilities_launched": "-1"}),
    ("regional", "investment.negative", {"investment": "-1"}),
    ("regional", "jobs_created.negative", {"jobs_created": "-1"}),
    ("regional", "specialists_trained.negative", {"specialists_trained": "-1"}),
    ("characteristics", "year.out_of_range", {"year": "1999"}),
    ("characteristics", "inn.not_10_or_12_digits", {"inn": "123"}),
    ("characteristics", "inn.check_digits", {"inn": "500100732258"}),
    ("characteristics", "okpd2.not_in_catalogue", {"okpd2": "99.99.99"}),
    ("characteristics", "parameter_code.not_in_benchmarks", {"parameter_code": "P99"}),
    ("characteristics", "value.not_positive", {"value": "0"}),
    ("benchmarks", "okpd2.not_in_catalogue", {"okpd2": "99.99.99"}),
    ("benchmarks", "weight.not_positive", {"weight": "0"}),
    ("benchmarks", "best_value.not_positive", {"best_value": "-3"}),
    ("targets", "project_code.not_in_catalogue", {"project_code": "XYZ"}),
    ("targets", "target_value.negative", {"target_value": "-0.1"}),
]

SOFT_CASES = [
    ("producer", "export_value.exceeds_output_value", {"export_value": "1500"}),
    ("producer", "okei.not_usual_unit", {"okei": "166"}),
]

HARD_CASES = list(format_cases()) + CONTENT_CASES


def test_every_rule_has_a_case():
    ctx = ValidationContext(load_catalogues(), TODAY)
    declared = {(kind, rule.name) for kind in KINDS for rule in rule_list(KINDS[kind], ctx)}
    covered = {(kind, rule) for kind, rule, _ in HARD_CASES + SOFT_CASES}
    covered.add(("producer", "inn_okpd2_period.repeated_in_file"))  # needs two rows: own test below
    assert declared == covered


def deliver_benchmarks_first(warehouse, kind):
    if kind == "characteristics":  # its parameter codes are checked against loaded benchmarks
        deliver(warehouse.home, "benchmarks", "b.csv", csv_bytes([row("benchmarks")]))
        warehouse.ingest("benchmarks")


# Cases whose change breaks a second rule by necessity (the rules are not independent).
ALSO_BROKEN = {
    ("producer", "components_cost.negative"): ["imported_components_cost.exceeds_components_cost"],
    ("producer", "imported_components_cost.too_large"): ["imported_components_cost.exceeds_components_cost"],
    ("characteristics", "okpd2.not_in_catalogue"): ["parameter_code.not_in_benchmarks"],
}


@pytest.mark.parametrize(("kind", "rule", "changes"), HARD_CASES, ids=[f"{k}:{r}" for k, r, _ in HARD_CASES])
def test_hard_rule_quarantines_the_row_with_its_reason(warehouse, kind, rule, changes):
    deliver_benchmarks_first(warehouse, kind)
    deliver(warehouse.home, kind, "report.csv", csv_bytes([row(kind, **changes), row(kind)]))
    (result,) = warehouse.ingest(kind)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    expected = sorted([rule, *ALSO_BROKEN.get((kind, rule), [])])
    ((file_name, row_number, reasons),) = warehouse.rows("select file_name, row_number, reasons from audit.quarantine")
    assert (file_name, row_number, sorted(reasons)) == ("report.csv", 2, expected)
    assert warehouse.value(
        "select rows_failing from audit.rule_results where rule = ? and kind = ?", [rule, kind]
    ) == 1


@pytest.mark.parametrize(("kind", "rule", "changes"), SOFT_CASES, ids=[r for _, r, _ in SOFT_CASES])
def test_soft_rule_loads_the_row_and_flags_it(warehouse, kind, rule, changes):
    deliver(warehouse.home, kind, "report.csv", csv_bytes([row(kind, **changes)]))
    (result,) = warehouse.ingest(kind)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    assert warehouse.value("select _soft_flags from raw.producer") == [rule]


def test_same_enterprise_product_and_quarter_twice_in_a_file_is_kept_and_flagged(warehouse):
    deliver(warehouse.home, "producer", "twice.csv", csv_bytes([row("producer"), row("producer", output_value="700")]))
    warehouse.ingest("producer")
    assert warehouse.rows("select _soft_flags from raw.producer") == [(["inn_okpd2_period.repeated_in_file"],)] * 2


def test_a_row_breaking_several_rules_records_every_reason(warehouse):
    bad = row("producer", inn="7707083894", okpd2="99.99.99", output_value="-5", imported_components_cost="900")
    deliver(warehouse.home, "producer", "bad.csv", csv_bytes([bad]))
    warehouse.ingest("producer")
    assert sorted(warehouse.value("select reasons from audit.quarantine")) == [
        "imported_components_cost.exceeds_components_cost",
        "inn.check_digits",
        "okpd2.not_in_catalogue",
        "output_value.negative",
    ]


def test_a_cell_of_spaces_only_is_empty(warehouse):
    """inputs.md: an empty cell is missing. An optional amount of spaces is zero, not an error;
    a required cell of spaces is missing."""
    rows = [row("producer", export_value="   ", rnd_expenses="\u00a0"), row("producer", inn="7707083893", enterprise_name="  ")]
    deliver(warehouse.home, "producer", "spaces.csv", csv_bytes(rows))
    warehouse.ingest("producer")
    assert warehouse.rows("select export_value, rnd_expenses from raw.producer") == [(0, 0)]
    assert warehouse.value("select reasons from audit.quarantine") == ["enterprise_name.missing"]


def test_inn_is_kept_as_text_with_leading_zeros(warehouse):
    from pipelines.ingestion.inn import complete_inn

    inn = complete_inn("027406211")
    deliver(warehouse.home, "producer", "zero.csv", csv_bytes([row("producer", inn=inn, region_code="02")]))
    warehouse.ingest("producer")
    assert warehouse.value("select inn from raw.producer") == inn


def test_cast_first_number_parsing_equals_the_regular_expressions():
    """parsed_numbers takes plain casts where they succeed and parse_number elsewhere: on every
    spelling of a number (and of a non-number) the two give the same value, null where unparsed."""
    import polars as pl

    from pipelines.ingestion.validation import parse_number, parsed_numbers

    cells = pl.Series("cell", [
        "1", "-2.5", ".5", "5.", "+5", "1e3", "1E-3", "1e400", "-1e400", "1 234 567,8", "1\u00a0234,5",
        "1\u202f500.25", "1\t000", "12,5,1", "1,5", ",5", "-", "—", "–", "inf", "-inf", "NaN", "nan",
        "Infinity", "twelve", "1_000", "0x10", "1.2.3", "1e", " 1 ", "1 ,5", None, "0", "-0", "00012,50",
    ])
    expected = cells.to_frame().select(parse_number(pl.col("cell"))).to_series()
    assert parsed_numbers(cells).to_list() == expected.to_list()
    assert expected.null_count() > 1 and expected.is_infinite().sum() == 2  # the list tests both ways


def test_an_accepted_value_is_read_in_any_case_and_either_language(warehouse):
    """technology_origin is parsed once per distinct spelling (validation.parsed_once_per_text):
    every spelling of a row maps to its canonical value, in whatever case, and an unknown one is
    quarantined, whichever rows share the spelling."""
    spellings = {"Отечественная": "domestic", "ЛИЦЕНЗИОННАЯ": "licensed", "Foreign": "foreign", "domestic": "domestic"}
    rows = [row("producer", technology_origin=spelling, inn=inn) for spelling, inn in zip(
        [*spellings, "Отечественная", "своя"], ["7707083893", "7736050003", "7702070139", "7728168971", "7710140679", "7830002293"])]
    deliver(warehouse.home, "producer", "origins.csv", csv_bytes(rows))
    warehouse.ingest("producer")
    assert warehouse.rows("select technology_origin from raw.producer order by _row_number") == [
        (value,) for value in [*spellings.values(), "domestic"]]
    assert warehouse.rows("select row_number, reasons from audit.quarantine") == [(7, ["technology_origin.not_an_accepted_value"])]
