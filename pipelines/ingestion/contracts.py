"""The report kinds of inputs.md as data: columns, Russian aliases, types and revision keys.

Everything that depends on the input contract (readers, validation, the raw DDL, the demo
generator, the dbt sources) reads it from here, so the contract is written down once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ColumnType(str, Enum):
    TEXT = "text"
    DECIMAL = "decimal"  # money and quantities: DECIMAL(18,3) in raw
    MEASURE = "measure"  # technical parameters and weights: DOUBLE in raw (tiny or huge values)
    INTEGER = "integer"
    QUARTER = "quarter"  # canonical text '2025-Q1'
    DATE = "date"
    ENUM = "enum"


# Raw (DuckDB) type of each column type. Money is DECIMAL so that sums are exact and
# therefore identical whatever the thread schedule (published bytes must be reproducible).
RAW_SQL_TYPE = {
    ColumnType.TEXT: "VARCHAR",
    ColumnType.DECIMAL: "DECIMAL(18,3)",
    ColumnType.MEASURE: "DOUBLE",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.QUARTER: "VARCHAR",
    ColumnType.DATE: "DATE",
    ColumnType.ENUM: "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    alias_ru: str
    type: ColumnType
    required: bool = False
    # Enum columns: accepted spelling -> canonical value.
    choices: dict[str, str] | None = None
    # Numeric columns whose missing value means zero (inputs.md: "missing = 0").
    missing_is_zero: bool = False
    # The column may be absent from a file's header (inputs.md marks it optional or "missing = 0");
    # any other absent column rejects the whole file.
    may_be_absent: bool = False


@dataclass(frozen=True)
class ReportKind:
    name: str
    columns: tuple[Column, ...]
    revision_key: tuple[str, ...]
    quarterly: bool
    # Kinds whose rows this kind's validation looks up, so a run ingests them first (Dagster's
    # dependencies between the ingestion assets): characteristics are checked against the
    # parameters of the benchmarks already loaded (parameter_code.not_in_benchmarks).
    ingested_after: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


TECHNOLOGY_ORIGIN = {
    "domestic": "domestic",
    "licensed": "licensed",
    "foreign": "foreign",
    "отечественная": "domestic",
    "лицензионная": "licensed",
    "иностранная": "foreign",
}
FLOW = {"import": "import", "export": "export", "импорт": "import", "экспорт": "export"}
DIRECTION = {"higher": "higher", "lower": "lower", "больше": "higher", "меньше": "lower"}

# metrics.md section 4: the indicators a target may name.
INDICATOR_CODES = (
    "domestic_share",
    "localisation",
    "domestic_technology_share",
    "leadership_share",
    "facilities_launched",
    "investment",
    "jobs_created",
    "specialists_trained",
    "sovereignty_index",
)

T, D, M, INT, Q, DT, E = (
    ColumnType.TEXT,
    ColumnType.DECIMAL,
    ColumnType.MEASURE,
    ColumnType.INTEGER,
    ColumnType.QUARTER,
    ColumnType.DATE,
    ColumnType.ENUM,
)

PRODUCER = ReportKind(
    name="producer",
    quarterly=True,
    revision_key=("inn", "period"),
    columns=(
        Column("period", "период", Q, required=True),
        Column("inn", "инн", T, required=True),
        Column("enterprise_name", "наименование", T, required=True),
        Column("region_code", "код_региона", T, required=True),
        Column("okved2", "оквэд2", T, required=True),
        Column("okpd2", "окпд2", T, required=True),
        Column("output_qty", "выпуск_натур", D, required=True),
        Column("okei", "океи", T, required=True),
        Column("output_value", "выпуск_тыс_руб", D, required=True),
        Column("export_value", "экспорт_тыс_руб", D, missing_is_zero=True, may_be_absent=True),
        Column("components_cost", "комплектующие_тыс_руб", D, required=True),
        Column("imported_components_cost", "импорт_комплектующих_тыс_руб", D, required=True),
        Column("technology_origin", "происхождение_технологии", E, required=True, choices=TECHNOLOGY_ORIGIN),
        Column("rnd_expenses", "ниокр_тыс_руб", D, missing_is_zero=True, may_be_absent=True),
        Column("employees", "численность", INT),
        Column("trl", "угт", INT, may_be_absent=True),
    ),
)

TRADE = ReportKind(
    name="trade",
    quarterly=True,
    revision_key=("period",),
    columns=(
        Column("period", "период", Q, required=True),
        Column("okpd2", "окпд2", T, required=True),
        Column("partner_country", "страна", T, required=True),
        Column("flow", "направление", E, required=True, choices=FLOW),
        Column("value", "стоимость_тыс_руб", D, required=True),
    ),
)

REGIONAL = ReportKind(
    name="regional",
    quarterly=True,
    revision_key=("region_code", "period", "project_code"),
    columns=(
        Column("period", "период", Q, required=True),
        Column("region_code", "код_региона", T, required=True),
        Column("project_code", "код_нацпроекта", T, required=True),
        Column("facilities_launched", "запущено_производств", INT, required=True),
        Column("investment", "инвестиции_тыс_руб", D, required=True),
        Column("jobs_created", "создано_рабочих_мест", INT, required=True),
        Column("specialists_trained", "подготовлено_специалистов", INT, required=True),
    ),
)

CHARACTERISTICS = ReportKind(
    name="characteristics",
    quarterly=False,
    ingested_after=("benchmarks",),
    revision_key=("inn", "okpd2", "year", "parameter_code"),
    columns=(
        Column("year", "год", INT, required=True),
        Column("inn", "инн", T, required=True),
        Column("okpd2", "окпд2", T, required=True),
        Column("parameter_code", "код_параметра", T, required=True),
        Column("value", "значение", M, required=True),
    ),
)

BENCHMARKS = ReportKind(
    name="benchmarks",
    quarterly=False,
    revision_key=("okpd2", "parameter_code", "valid_from"),
    columns=(
        Column("okpd2", "окпд2", T, required=True),
        Column("parameter_code", "код_параметра", T, required=True),
        Column("parameter_name", "параметр", T, required=True),
        Column("unit", "ед_изм", T, required=True),
        Column("direction", "направление", E, required=True, choices=DIRECTION),
        Column("weight", "вес", M, required=True),
        Column("best_value", "лучшее_значение", M, required=True),
        Column("analogue", "аналог", T, required=True),
        Column("valid_from", "действует_с", DT, required=True),
    ),
)

TARGETS = ReportKind(
    name="targets",
    quarterly=False,
    revision_key=("project_code", "indicator_code", "year"),
    columns=(
        Column("project_code", "код_нацпроекта", T, required=True),
        Column("indicator_code", "код_показателя", E, required=True, choices={c: c for c in INDICATOR_CODES}),
        Column("year", "год", INT, required=True),
        Column("target_value", "целевое_значение", D, required=True),
    ),
)

KINDS: dict[str, ReportKind] = {
    k.name: k for k in (PRODUCER, TRADE, REGIONAL, CHARACTERISTICS, BENCHMARKS, TARGETS)
}

# Metadata columns every raw table carries after the report's own columns (outputs.md).
RAW_METADATA_COLUMNS = {
    "_load_id": "BIGINT",  # audit.loads.load_id; increases with arrival, so it orders revisions
    "_source_file": "VARCHAR",  # the file name as delivered to the inbox
    "_row_number": "BIGINT",  # the row in that file (see docs/ingestion.md for numbering)
    "_ingested_at": "TIMESTAMP",
    "_soft_flags": "VARCHAR[]",  # soft rules the row breaks (loaded anyway, reported)
}
