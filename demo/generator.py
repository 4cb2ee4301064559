"""Synthetic demo reports: `sovereignty demo --scale small|national --seed N`.

Writes a realistic, deterministic set of reports of all six kinds into `home/inbox/<kind>/`,
in every format and spelling inputs.md accepts, with a small documented share of defects, and
`home/demo/manifest.json`: every file in its intended arrival order (which the files' mtimes
reproduce) and every injected defect with the row number the ingestion will report.
docs/demo.md describes the contents.

The producer reports are drawn first, from a fixed population of enterprises; the other kinds
are calibrated on what the producer reports add up to, so that the metrics come out plausible
(import dependency, partner concentration, target statuses).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter
import yaml

from pipelines.ingestion.catalogues import Catalogues, load_catalogues
from pipelines.ingestion.contracts import KINDS, ColumnType, ReportKind
from pipelines.ingestion.inn import complete_inn
from pipelines.ingestion.periods import quarter_label, quarter_of, quarter_range

# --------------------------------------------------------------------------------------------
# Scales
# --------------------------------------------------------------------------------------------

DISTRICTS = ("Central", "Northwestern", "Southern", "North Caucasian", "Volga", "Ural", "Siberian", "Far Eastern")


@dataclass(frozen=True)
class Scale:
    enterprises: int
    quarters: int
    extra_products: tuple[int, float]  # an enterprise makes 1 + Binomial(n, p) products
    file_groups: tuple[tuple[str, tuple[str, ...]], ...]  # producer file name part -> districts
    max_file_rows: int  # a larger producer file is split, between enterprises
    max_xlsx_rows: int  # a larger file is written as CSV instead (xlsxwriter is slow)
    defects_per_type: int
    assessed_per_product: int  # producers per product and year reporting characteristics


SCALES = {
    "small": Scale(
        enterprises=90,
        quarters=8,
        extra_products=(3, 0.75),
        file_groups=(
            ("central", ("Central",)),
            ("northwest_volga", ("Northwestern", "Volga")),
            ("south_ural_east", ("Southern", "North Caucasian", "Ural", "Siberian", "Far Eastern")),
        ),
        max_file_rows=100_000,
        max_xlsx_rows=50_000,
        defects_per_type=2,
        assessed_per_product=1_000,
    ),
    "national": Scale(
        enterprises=118_000,
        quarters=20,
        extra_products=(8, 0.5),
        file_groups=tuple((d.lower().replace(" ", "_"), (d,)) for d in DISTRICTS),
        max_file_rows=120_000,
        max_xlsx_rows=20_000,
        defects_per_type=30,
        assessed_per_product=40,
    ),
}

# --------------------------------------------------------------------------------------------
# How the economy looks: areas, products, regions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    weight: float  # share of enterprises whose main area this is
    growth: float  # mean annual real growth of output
    import_dependency: float  # typical M / C of the area's products
    imported_components: float  # typical imported share of components cost
    origin: tuple[float, float, float]  # domestic, licensed, foreign technology
    rnd: float  # typical R&D expenses / output of firms doing R&D
    exporters: float  # share of firms that export
    partners: tuple[str, ...]  # import partners, the usual leader first
    regions: dict[str, float]  # where the area's industry concentrates (weight multipliers)
    roots: tuple[str, ...]  # firm name roots


TECHNOLOGIES = ("domestic", "licensed", "foreign")
EXPORT_PARTNERS = ("KZ", "BY", "CN", "IN", "TR", "UZ", "AM", "KG", "EG", "VN", "AZ", "MN")


@dataclass(frozen=True)
class Product:
    price: float  # thousand roubles per unit of the product's usual OKEI unit
    import_dependency: float | None = None  # overrides the area's
    leader: tuple[str, float] | None = None  # the dominant import partner and its share
    producers: int | None = None  # a niche product made by exactly this many enterprises


# The demo's world, as data (world.yml beside this file): the areas' and the notable products'
# profiles, and each product's best foreign analogue with its parameters; `default` stands for any
# area or product not listed.
WORLD = yaml.safe_load((Path(__file__).with_name("world.yml")).read_text(encoding="utf-8"))
AREAS = {
    code: Area(**{**area, "origin": tuple(area["origin"]), "partners": tuple(area["partners"]), "roots": tuple(area["roots"])})
    for code, area in WORLD["areas"].items()
}
PRODUCTS = {
    okpd2: Product(**{**product, "leader": (product["leader"]["partner"], product["leader"]["share"])
                      if "leader" in product else None})
    for okpd2, product in WORLD["products"].items()
}
# okpd2 -> (analogue, ((parameter name, unit, direction, best value), ...))
ANALOGUES = {
    okpd2: (analogue["name"], tuple((p["name"], p["unit"], p["direction"], p["best"]) for p in analogue["parameters"]))
    for okpd2, analogue in WORLD["analogues"].items()
}
DEFAULT_AREA, DEFAULT_PRODUCT, DEFAULT_ANALOGUE = AREAS.pop("default"), PRODUCTS.pop("default"), ANALOGUES.pop("default")

# Changes planted in the latest quarter (or year) for the early-warning signals (docs/demo.md,
# docs/early_warning.md); everything else changes only by trend and noise.
# A partner's surge: the product's second import partner supplies this share of its imports
# (the others share the rest in their usual proportions); total imports are as drawn.
SURGE_PRODUCT, SURGE_SHARE = "28.30.59", 0.75
SURGE_PARTNER = 1  # the second in the product's list of partners (the first is its usual leader)
# A localisation drop: every producer of the product imports half of the components it used to
# make at home.
LOCALISATION_DROP_PRODUCT, LOCALISATION_KEPT = "28.41.21", 0.5
# A project slipping: the target of this (area, flow indicator) is met comfortably every year
# (actual = target / TARGET_EASY) except the latest, where it is out of reach (target / actual =
# TARGET_OUT_OF_REACH, below 90 %: off track).
SLIPPING_TARGET, TARGET_EASY, TARGET_OUT_OF_REACH = ("MPA", "investment"), 0.9, 1.3

# Relative weight of regions as locations of industry; regions not listed get OTHER_REGION.
REGION_WEIGHTS = {
    "77": 18, "50": 10, "78": 9, "16": 6, "66": 6, "54": 4, "52": 4, "63": 4, "59": 3, "74": 4,
    "02": 4, "24": 2, "61": 3, "23": 3, "36": 2, "18": 2, "38": 2, "73": 1.5, "64": 1.5, "76": 1.5,
    "47": 2, "72": 2, "55": 1.5, "40": 1.5, "71": 1.5, "42": 1.5, "56": 1.2, "31": 1.2, "39": 1,
}
OTHER_REGION = 0.4
SEASON = np.array([0.86, 0.98, 1.00, 1.16])  # Q1..Q4: Russian industry peaks in Q4
RAMP_QUARTERS = 4  # an entrant reaches its full size, a leaver winds down, over a year
LEAVER_QUALITY = 0.85  # a leaver's products are this far behind technically
DEFECT_ROW_SHARE = 0.05  # planted row defects only on rows with at most this share of their product's quarter

# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

LEGAL_FORMS = (("ООО", 0.6), ("АО", 0.3), ("ПАО", 0.05), ("ФГУП", 0.05))
NAME_PREFIXES = ("", "", "", "НПО ", "НПП ", "НИИ ", "Опытный завод ", "Завод ")
NAME_SUFFIXES = ("пром", "тех", "систем", "маш", "прибор", "лаб", "комплекс", "инжиниринг", "завод")
SURNAMES = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
            "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров")
FIRST_NAMES = ("Александр", "Сергей", "Дмитрий", "Андрей", "Алексей", "Максим", "Евгений", "Иван", "Михаил")
PATRONYMICS = ("Александрович", "Сергеевич", "Владимирович", "Николаевич", "Игоревич", "Викторович", "Петрович")
# Names that CSV writers must quote: one holds the delimiter, one a line break (pasted from a
# two-line cell). Both are given to enterprises present in every quarter.
AWKWARD_NAMES = ("ООО «Прибор; Автоматика»", "АО «Завод точной механики\nим. М. И. Калинина»")

# --------------------------------------------------------------------------------------------
# File styles: how a sender writes a file
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    name: str
    format: str  # csv, xlsx, parquet
    language: str = "en"  # of the headers and the enumerations
    quarter: str = "{y}-Q{q}"  # {y} year, {q} quarter digit, {r} Roman numeral
    date: str = "%Y-%m-%d"
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str = "."
    thousands: str = ""
    zero: str | None = None  # how a zero is written in numeric cells (Russian "none" dash)
    header_case: str = "as_is"  # as_is, title, upper
    header_pad: bool = False  # surround header cells with spaces
    line_terminator: str = "\n"
    omit: tuple[str, ...] = ()  # optional columns this sender leaves out

    @property
    def first_data_row(self) -> int:
        """The row number (as ingestion counts) of the first data row."""
        # XLSX: title row, empty row, header row. CSV: the header is record 1.
        return 4 if self.format == "xlsx" else 2 if self.format == "csv" else 1


# Russian senders: 1C exports in Windows-1251 with CRLF line ends, Excel forms.
RU: dict = {"language": "ru", "date": "%d.%m.%Y", "decimal": ","}
RU_CP1251 = Style("ru_cp1251", "csv", quarter="{q} кв. {y}", encoding="cp1251", delimiter=";", thousands="\u00a0",
                  zero="-", header_case="title", line_terminator="\r\n", **RU)
RU_CP1251_ROMAN = Style("ru_cp1251_roman", "csv", quarter="{r} квартал {y}", encoding="cp1251", delimiter=";",
                        thousands=" ", zero="–", header_case="upper", line_terminator="\r\n", omit=("trl",), **RU)
# U+202F cannot be encoded in CP1251, so only this UTF-8 sender uses it.
RU_UTF8 = Style("ru_utf8", "csv", quarter="Q{q} {y}", encoding="utf-8", delimiter=";", thousands="\u202f", zero="—",
                **RU)
XLSX_RU = Style("xlsx_ru", "xlsx", quarter="{q} кв. {y}", zero="—", header_case="upper", header_pad=True, **RU)
EN_UTF8 = Style("en_utf8", "csv", quarter="{y}-Q{q}", encoding="utf-8", delimiter=",")
EN_UTF8_BOM = Style("en_utf8_bom", "csv", quarter="{y}Q{q}", encoding="utf-8-sig", delimiter=",", header_case="upper")
XLSX_EN = Style("xlsx_en", "xlsx", quarter="{y}-Q{q}", header_case="title", header_pad=True)
PARQUET = Style("parquet", "parquet")
EXTENSIONS = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
TOTALS_WORD = {"ru": "Итого", "en": "Total"}

# Which sender writes which file, cycling over the files of a kind.
PRODUCER_STYLES = (RU_CP1251, EN_UTF8, XLSX_RU, RU_CP1251_ROMAN, EN_UTF8_BOM, PARQUET, RU_UTF8, XLSX_EN)
TRADE_STYLES = (PARQUET, RU_CP1251, EN_UTF8_BOM, XLSX_RU, EN_UTF8, RU_UTF8, XLSX_EN, RU_CP1251_ROMAN)
REGIONAL_STYLES = (RU_CP1251_ROMAN, XLSX_RU, EN_UTF8, RU_UTF8, RU_CP1251, XLSX_EN, EN_UTF8_BOM)
CHARACTERISTICS_STYLES = (XLSX_RU, EN_UTF8, RU_CP1251)

TITLES = {
    "producer": ("Сведения о производстве продукции приоритетных направлений (форма ТС-1), {p}",
                 "Production report of priority-area products, {p}"),
    "trade": ("Внешняя торговля по странам (данные таможенной статистики), {p}",
              "Foreign trade by partner country (customs statistics), {p}"),
    "regional": ("Отчёт субъектов РФ о реализации национальных проектов, {p}",
                 "Regional report on the national projects, {p}"),
    "characteristics": ("Технические характеристики продукции, {p} год", "Technical characteristics of products, {p}"),
    "benchmarks": ("Параметры лучших зарубежных аналогов, редакция {p}", "Best foreign analogues, edition {p}"),
    "targets": ("Целевые показатели национальных проектов, {p}", "National-project targets, {p}"),
}

# --------------------------------------------------------------------------------------------
# Defects
# --------------------------------------------------------------------------------------------

# defect -> (severity, the rule of inputs.md it should trip, the rule names docs/ingestion.md
# gives them). Severity "file" concerns a whole file; its expected status is in the file entry.
DEFECTS = {
    "bad_inn_check_digit": ("hard", "inn: valid check digits", ["inn.check_digits"]),
    "unknown_okpd2": ("hard", "okpd2: in the products catalogue", ["okpd2.not_in_catalogue"]),
    "unknown_region": ("hard", "region_code: in the regions catalogue", ["region_code.not_in_catalogue"]),
    "imported_exceeds_components": ("hard", "imported_components_cost <= components_cost",
                                    ["imported_components_cost.exceeds_components_cost"]),
    "missing_output_value": ("hard", "output_value: required", ["output_value.missing"]),
    "several_rules": ("hard", "inn: valid check digits; okpd2: in the products catalogue; output_value >= 0",
                      ["inn.check_digits", "okpd2.not_in_catalogue", "output_value.negative"]),
    "future_period": ("hard", "period: not in the future", ["period.in_future"]),
    "export_exceeds_output": ("soft", "export_value > output_value", ["export_value.exceeds_output_value"]),
    "unusual_unit": ("soft", "okei: not the product's usual unit", ["okei.not_usual_unit"]),
    "unknown_country": ("hard", "partner_country: in the countries catalogue", ["partner_country.not_in_catalogue"]),
    "duplicate_file": ("file", "same sha256 as an earlier file: logged as a duplicate, nothing changes", []),
    "corrected_resubmission": ("file", "revision key (inn, period): replaces the earlier rows of that enterprise "
                               "and quarter", []),
    "wrong_extension": ("file", "extension not csv, xlsx or parquet: file rejected whole", []),
    "corrupt_xlsx": ("file", "unreadable file: rejected whole", []),
}
PRODUCER_ROW_DEFECTS = tuple(d for d, (severity, *_) in DEFECTS.items()
                             if severity != "file" and d != "unknown_country")
UNKNOWN_OKPD2 = "25.73.40"  # a real OKPD2 code (hand tools) that is not in the catalogue
UNKNOWN_COUNTRY = "XX"
UNUSUAL_UNIT = {"796": "839", "168": "166", "166": "163", "778": "796"}  # usual -> plausible mistake


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def generate_demo(home: Path, *, scale: str = "small", seed: int = 42, today: date | None = None,
                  volume: float = 1.0) -> dict:
    """Write the demo reports into home/inbox and return the manifest (also home/demo/manifest.json).

    volume scales the number of enterprises, and with it the producer rows that are most of the
    bytes (the benchmark's scaling curve runs the national demo at 1/4, 1/2 and 1). The file size
    limits scale with it, so that the same files are written, in the same formats, each holding
    that share of the rows: otherwise a smaller volume would write more of its files as XLSX,
    which is slower to read, and the curve would measure the mix of formats."""
    if scale not in SCALES:
        raise ValueError(f"unknown demo scale {scale!r}; choose one of {sorted(SCALES)}")
    if volume <= 0:
        raise ValueError(f"the demo's volume must be above 0, not {volume}")
    chosen = SCALES[scale]
    if volume != 1.0:
        chosen = replace(chosen, **{limit: max(1, round(getattr(chosen, limit) * volume))
                                    for limit in ("enterprises", "max_file_rows", "max_xlsx_rows")})
    name = scale if volume == 1.0 else f"{scale} x{volume:g}"
    return write_demo(Path(home), chosen, seed=seed, today=today or date.today(), scale_name=name)


def write_demo(home: Path, scale: Scale, *, seed: int, today: date, scale_name: str = "custom") -> dict:
    cat = load_catalogues()
    world = World.build(cat, scale, seed, today)
    inbox = Inbox(home, today)
    totals = write_producer_reports(world, inbox)
    imports, exports, surge_partner = write_trade_reports(world, totals, inbox)
    regional = write_regional_reports(world, totals, inbox)
    benchmarks = write_benchmarks(world, inbox)
    write_characteristics(world, benchmarks, inbox)
    write_targets(world, totals, (imports, exports), regional, inbox)
    return inbox.finish(
        {
            "generator": "demo.generator",
            "scale": scale_name,
            "seed": seed,
            "today": today.isoformat(),
            "quarters": world.quarters,
            "missing_trade_quarter": world.quarters[world.missing_trade_quarter],
            "late_reporter": regional["late_reporter"],
            "planted_changes": _planted_changes(world, surge_partner),
        }
    )


def _planted_changes(world: World, surge_partner: str) -> list[dict]:
    """The high-severity early-warning signal each planted change raises (docs/demo.md), named as
    marts.risk_signals names it, and the area whose figures include the changed product: there
    the change may raise the same signal too, at high severity when the product weighs enough in
    the area. Nothing else in the demo is meant to raise a high-severity signal."""
    latest, latest_year = world.quarters[-1], str(world.years[-1])
    area_of = dict(zip(world.products, world.product_area))
    slipping_area, slipping_indicator = SLIPPING_TARGET
    return [
        {"change": "partner_surge", "period": latest, "signal_type": "partner_share_rise", "level": "product",
         "code": SURGE_PRODUCT, "subject": surge_partner, "area": area_of[SURGE_PRODUCT]},
        {"change": "localisation_drop", "period": latest, "signal_type": "localisation_fall", "level": "product",
         "code": LOCALISATION_DROP_PRODUCT, "subject": None, "area": area_of[LOCALISATION_DROP_PRODUCT]},
        {"change": "project_slipping", "period": latest_year, "signal_type": "project_status_worse",
         "level": "project", "code": slipping_area, "subject": slipping_indicator, "area": None},
    ]


def _rng(seed: int, *key: int | str) -> np.random.Generator:
    """An independent random stream per purpose, so that chunks can be drawn in any order."""
    parts = [zlib.crc32(k.encode()) if isinstance(k, str) else k for k in key]
    return np.random.default_rng([seed, *parts])


# --------------------------------------------------------------------------------------------
# The population: enterprises and the products they make
# --------------------------------------------------------------------------------------------


@dataclass
class World:
    cat: Catalogues
    scale: Scale
    seed: int
    today: date
    quarters: list[str]
    products: list[str]  # okpd2, catalogue order
    product_area: list[str]
    product_from: np.ndarray  # first quarter index in which the product's area exists
    areas: list[str]  # project codes, catalogue order
    area_from_year: dict[str, int]
    pairs: pl.DataFrame  # one row per (enterprise, product) made, sorted by (group, inn, okpd2)
    missing_trade_quarter: int

    @classmethod
    def build(cls, cat: Catalogues, scale: Scale, seed: int, today: date) -> World:
        quarters = _last_quarters(today, scale.quarters)
        products = cat.product_codes
        product_area = cat.products["project_code"].to_list()
        areas = cat.priority_areas
        area_from_year = {a: int(y or 0) for a, y in zip(areas["project_code"], areas["available_from_year"])}
        product_from = np.array([_first_quarter_from(quarters, area_from_year[a]) for a in product_area])
        enterprises = _enterprises(cat, scale, quarters, _rng(seed, "enterprises"))
        pairs = _pairs(cat, scale, enterprises, product_from, _rng(seed, "pairs"))
        return cls(
            cat=cat,
            scale=scale,
            seed=seed,
            today=today,
            quarters=quarters,
            products=products,
            product_area=product_area,
            product_from=product_from,
            areas=cat.project_codes,
            area_from_year=area_from_year,
            pairs=pairs,
            # Early in the series: a year with one quarter lacking trade has NULL yearly imports
            # (metrics.md), and the headline figures are for the latest, complete year.
            missing_trade_quarter=1,
        )

    @property
    def years(self) -> list[int]:
        return sorted({int(q[:4]) for q in self.quarters})

    def area_available(self, area: str, year: int) -> bool:
        return year >= self.area_from_year[area]


def _last_quarters(today: date, n: int) -> list[str]:
    last = quarter_of(today)
    year, quarter = int(last[:4]), int(last[-1])
    index = year * 4 + quarter - 1 - (n - 1)
    return quarter_range(quarter_label(index // 4, index % 4 + 1), last)


def _first_quarter_from(quarters: list[str], year: int) -> int:
    return next((i for i, q in enumerate(quarters) if int(q[:4]) >= year), len(quarters))


def _next_quarter(label: str) -> str:
    year, quarter = int(label[:4]), int(label[-1])
    return quarter_label(year + 1, 1) if quarter == 4 else quarter_label(year, quarter + 1)


def _enterprises(cat: Catalogues, scale: Scale, quarters: list[str], rng: np.random.Generator) -> pl.DataFrame:
    n, n_quarters = scale.enterprises, len(quarters)
    areas = cat.project_codes
    area_weights = np.array([AREAS.get(a, DEFAULT_AREA).weight for a in areas], dtype=float)
    main_area = rng.choice(len(areas), n, p=area_weights / area_weights.sum())
    region_codes = cat.region_codes
    base = np.array([REGION_WEIGHTS.get(r, OTHER_REGION) for r in region_codes], dtype=float)
    region = np.empty(n, dtype=np.int64)
    for a, area in enumerate(areas):
        members = np.flatnonzero(main_area == a)
        weights = base * np.array([AREAS.get(area, DEFAULT_AREA).regions.get(r, 1.0) for r in region_codes])
        region[members] = rng.choice(len(region_codes), members.size, p=weights / weights.sum())
    individual = rng.random(n) < 0.03  # individual entrepreneurs: 12-digit INN
    # Quarterly output, thousand roubles: log-normal, median 15 million roubles.
    size = rng.lognormal(np.log(15_000), 1.6, n) * np.where(individual, 0.05, 1.0)
    # About 10% enter after the first quarter and 6% exit before the last, all from the smaller
    # half, as in real firm dynamics: a large firm entering or leaving a product with a few
    # producers would swing its shares past the early-warning thresholds.
    small = size < np.median(size)
    entry = np.where(small & (rng.random(n) < 0.20), rng.integers(1, max(n_quarters, 2), n), 0)
    exit_at = rng.integers(1, n_quarters + 1, n)
    exit_ = np.where(small & (rng.random(n) < 0.12) & (exit_at > entry), exit_at, n_quarters)
    steady = (entry == 0) & (exit_ == n_quarters) & ~individual  # companies present throughout
    names = _names(areas, main_area, individual, rng)
    # The awkward names go to steady companies, so every sender of their group writes them.
    for name, who in zip(AWKWARD_NAMES, rng.choice(np.flatnonzero(steady), len(AWKWARD_NAMES), replace=False)):
        names[who] = name
    district = dict(zip(cat.regions["region_code"], cat.regions["federal_district"]))
    group_of = {d: g for g, (_, districts) in enumerate(scale.file_groups) for d in districts}
    return pl.DataFrame(
        {
            "inn": _inns(region_codes, region, individual, rng),
            "enterprise_name": names,
            "region": region,
            "region_code": [region_codes[r] for r in region],
            "group": [group_of[district[region_codes[r]]] for r in region],
            "main_area": main_area,
            "individual": individual,
            "size": size,
            "productivity": rng.lognormal(np.log(1_800), 0.3, n),  # output per employee per quarter
            "exporter": rng.random(n),  # compared with the area's share of exporters
            "entry": entry,
            "exit": exit_,
            "steady": steady,
        }
    ).with_row_index("ent")


def _inns(region_codes: list[str], region: np.ndarray, individual: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Unique valid INNs whose first two digits are the region code."""
    # The k-th enterprise of a region gets an affine permutation of k (the multiplier is coprime
    # to both moduli, whose prime factors are 2, 3, 5 and 11), so numbers look scattered but
    # never repeat; the tail's first two digits, the tax office, are 01..99.
    multiplier = 7_654_321
    offsets = {person: rng.integers(modulus, size=len(region_codes)) for person, modulus in ((False, 9_900_000),
                                                                                          (True, 99_000_000))}
    counter: dict[tuple[int, bool], int] = defaultdict(int)
    inns = []
    for r, person in zip(region.tolist(), individual.tolist()):
        k = counter[(r, person)]
        counter[(r, person)] += 1
        if person:
            tail = f"{1_000_000 + (k * multiplier + int(offsets[True][r])) % 99_000_000:08d}"
        else:
            tail = f"{100_000 + (k * multiplier + int(offsets[False][r])) % 9_900_000:07d}"
        inns.append(complete_inn(region_codes[r] + tail))
    return inns


def _names(areas: list[str], main_area: np.ndarray, individual: np.ndarray, rng: np.random.Generator) -> list[str]:
    n = main_area.size
    forms = [form for form, _ in LEGAL_FORMS]
    form = rng.choice(len(forms), n, p=[share for _, share in LEGAL_FORMS])
    prefix = rng.integers(len(NAME_PREFIXES), size=n)
    suffix = rng.integers(len(NAME_SUFFIXES), size=n)
    root = rng.integers(1_000, size=n)  # taken modulo the number of roots of the enterprise's area
    surname, first, patronymic = (rng.integers(len(words), size=n) for words in (SURNAMES, FIRST_NAMES, PATRONYMICS))
    names = []
    for i in range(n):
        if individual[i]:
            names.append(f"ИП {SURNAMES[surname[i]]} {FIRST_NAMES[first[i]]} {PATRONYMICS[patronymic[i]]}")
        else:
            roots = AREAS.get(areas[main_area[i]], DEFAULT_AREA).roots
            core = roots[root[i] % len(roots)] + NAME_SUFFIXES[suffix[i]]
            names.append(f"{forms[form[i]]} «{NAME_PREFIXES[prefix[i]]}{core}»")
    return names


def _pairs(cat: Catalogues, scale: Scale, ents: pl.DataFrame, product_from: np.ndarray,
           rng: np.random.Generator) -> pl.DataFrame:
    """Which enterprise makes which product, and the static traits of that line of business."""
    products = cat.product_codes
    areas = cat.project_codes
    product_area = np.array([areas.index(a) for a in cat.products["project_code"]])
    profile = [PRODUCTS.get(p, DEFAULT_PRODUCT) for p in products]
    niche = np.array([p.producers is not None for p in profile])
    main_area = ents["main_area"].to_numpy()
    n = ents.height
    extra, p_extra = scale.extra_products
    count = np.where(ents["individual"].to_numpy(), 1, 1 + rng.binomial(extra, p_extra, n))
    count = np.minimum(count, int((~niche).sum()))
    # Gumbel top-k: k weighted draws without replacement, products of the main area 8x likelier.
    weights = np.where(product_area[None, :] == main_area[:, None], 8.0, 1.0)
    weights[:, niche] = 0.0
    with np.errstate(divide="ignore"):
        scores = np.log(weights) + rng.gumbel(size=weights.shape)
    chosen = np.argsort(-scores, axis=1, kind="stable")
    take = np.arange(len(products))[None, :] < count[:, None]
    ent = np.repeat(np.arange(n), count)
    prod = chosen[take]
    ent, prod = _attach_rare_products(ents, product_area, profile, ent, prod, rng)

    area_of = product_area[prod]
    area_profile = [AREAS.get(a, DEFAULT_AREA) for a in areas]
    m = ent.size
    share = rng.gamma(1.5, size=m)
    share /= np.bincount(ent, weights=share, minlength=n)[ent]
    origin_cdf = np.cumsum([a.origin for a in area_profile], axis=1)[area_of]
    origin = (rng.random(m)[:, None] > origin_cdf).sum(axis=1).clip(0, 2)
    mean_imported = np.array([a.imported_components for a in area_profile])[area_of]
    exporter = ents["exporter"].to_numpy()[ent] < np.array([a.exporters for a in area_profile])[area_of]
    does_rnd = rng.random(m) < 0.7
    has_trl = rng.random(m) < 0.25
    # Firms that leave are the weaker ones (selection on productivity): their products lag
    # technically, so that a leaver is not the best maker of a product, whose exit would lower
    # the product's technical level and its area's leadership share.
    leaving = ents["exit"].to_numpy()[ent] < scale.quarters
    trl_low = np.array([5, 7, 8])[origin]
    area_rnd = np.array([a.rnd for a in area_profile])[area_of]
    columns = ("ent", "inn", "enterprise_name", "region", "region_code", "group", "size", "productivity", "entry",
               "exit")
    return (
        ents.select(pl.col(columns).gather(pl.Series(ent)))
        .with_columns(
            prod=pl.Series(prod),
            area=pl.Series(area_of),
            okpd2=pl.Series(np.array(products)[prod]),
            okei=pl.Series(np.array(cat.products["okei"].to_list())[prod]),
            from_q=pl.Series(product_from[prod]),
            base=pl.col("size") * pl.Series(share),
            growth=pl.Series(np.array([a.growth for a in area_profile])[area_of] + rng.normal(0, 0.08, m)),
            price=pl.Series(np.array([p.price for p in profile])[prod] * rng.lognormal(0, 0.2, m)),
            origin=pl.Series(np.array(TECHNOLOGIES)[origin]),
            components_share=pl.Series(rng.uniform(0.35, 0.6, m)),
            imported_share=pl.Series(rng.beta(mean_imported * 6, (1 - mean_imported) * 6)),
            export_share=pl.Series(np.where(exporter, rng.beta(1.2, 8, m), 0.0)),
            rnd_share=pl.Series(np.where(does_rnd, area_rnd * rng.lognormal(0, 0.5, m), 0.0)),
            rnd_missing=pl.Series(rng.random(m) < 0.05),
            trl=pl.Series(rng.integers(trl_low, 10)).scatter(np.flatnonzero(~has_trl), None),
            # technical level relative to the product's
            quality=pl.Series(rng.lognormal(0, 0.12, m) * np.where(leaving, LEAVER_QUALITY, 1.0)),
        )
        .with_columns(okved2=pl.col("okpd2").str.slice(0, 5))  # the activity making the product
        # No producer makes more of the localisation drop's product than all the others together,
        # so that the dominance rule of disclosure control never hides it, and the planted
        # signal is published.
        .with_columns(base=pl.when(pl.col("okpd2") == LOCALISATION_DROP_PRODUCT)
                      .then(pl.min_horizontal("base", pl.col("base").sum().over("okpd2") - pl.col("base")))
                      .otherwise("base"))
        .sort("group", "inn", "okpd2")
    )


def _attach_rare_products(ents: pl.DataFrame, product_area: np.ndarray, profile: list[Product], ent: np.ndarray,
                          prod: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Give niche products their few producers, and any product left without one a producer."""
    size = ents["size"].to_numpy()
    steady = ents["steady"].to_numpy()
    main_area = ents["main_area"].to_numpy()
    extra_ent, extra_prod = [], []
    for p, product in enumerate(profile):
        wanted = product.producers or (0 if (prod == p).any() else 1)
        # Big-ticket products are made by big, long-established firms, of the area if possible.
        candidates = np.flatnonzero(steady & (main_area == product_area[p]))
        if candidates.size < wanted:
            candidates = np.flatnonzero(steady)
        biggest = candidates[np.argsort(-size[candidates], kind="stable")][: max(10, wanted)]
        for who in rng.choice(biggest, wanted, replace=False):
            extra_ent.append(who)
            extra_prod.append(p)
    ent = np.concatenate([ent, np.array(extra_ent, dtype=ent.dtype)])
    prod = np.concatenate([prod, np.array(extra_prod, dtype=prod.dtype)])
    return ent, prod


# --------------------------------------------------------------------------------------------
# Writing files in a style
# --------------------------------------------------------------------------------------------


def _ru_spellings(choices: dict[str, str]) -> dict[str, str]:
    """Canonical value -> its Russian spelling (first one listed in the contract)."""
    spelling: dict[str, str] = {}
    for written, canonical in choices.items():
        if not written.isascii():
            spelling.setdefault(canonical, written)
    return spelling


def _spell_quarter(label: str, style: Style) -> str:
    return style.quarter.format(y=label[:4], q=label[-1], r=ROMAN[int(label[-1])])


def _localise(frame: pl.DataFrame, kind: ReportKind, style: Style) -> pl.DataFrame:
    """Quarters, dates and enumerations as this sender spells them (numbers untouched)."""
    changes = []
    for name in frame.columns:
        if name not in kind.column_names:
            continue
        column = kind.column(name)
        if column.type is ColumnType.QUARTER:
            spelled = {q: _spell_quarter(q, style) for q in frame[name].drop_nulls().unique().to_list()}
            changes.append(pl.col(name).replace(spelled))
        elif column.type is ColumnType.DATE:
            changes.append(pl.col(name).dt.strftime(style.date))
        elif column.type is ColumnType.ENUM and style.language == "ru" and column.choices:
            changes.append(pl.col(name).replace(_ru_spellings(column.choices)))
    return frame.with_columns(changes)


def _number_text(value: pl.Expr, style: Style, group_thousands: bool) -> pl.Expr:
    """A number as this sender writes it: thousands separators, decimal comma, dash for zero."""
    milli = (value.cast(pl.Float64).abs() * 1000).round(0).cast(pl.Int64)  # rounded once, to 3 decimals
    whole = (milli // 1000).cast(pl.String)
    if group_thousands and style.thousands:
        sep = style.thousands
        # Insert the separator every 3 digits from the right: reverse, group, reverse back.
        whole = whole.str.reverse().str.replace_all(r"(\d{3})", "${1}" + sep).str.strip_chars_end(sep).str.reverse()
    fraction = (milli % 1000).cast(pl.String).str.zfill(3).str.strip_chars_end("0")
    text = pl.when(fraction == "").then(whole).otherwise(whole + style.decimal + fraction)
    text = pl.when(value < 0).then("-" + text).otherwise(text)
    if style.zero:
        text = pl.when(value == 0).then(pl.lit(style.zero)).otherwise(text)
    return text


def _as_text(frame: pl.DataFrame, kind: ReportKind, style: Style) -> pl.DataFrame:
    numeric = {ColumnType.DECIMAL, ColumnType.MEASURE, ColumnType.INTEGER}
    changes = []
    for name in frame.columns:
        column = kind.column(name) if name in kind.column_names else None
        if column and column.type in numeric:
            changes.append(_number_text(pl.col(name), style, column.type is not ColumnType.INTEGER).alias(name))
        else:
            changes.append(pl.col(name).cast(pl.String))
    return frame.select(changes)


def _header(name: str, kind: ReportKind, style: Style) -> str:
    text = name
    if name in kind.column_names and style.language == "ru":
        text = kind.column(name).alias_ru
    if style.header_case == "upper":
        text = text.upper()
    elif style.header_case == "title":
        text = text[:1].upper() + text[1:]
    return f"  {text} " if style.header_pad else text


def _write_csv(path: Path, frame: pl.DataFrame, kind: ReportKind, style: Style) -> None:
    text = _as_text(_localise(frame, kind, style), kind, style)
    text = text.rename({c: _header(c, kind, style) for c in text.columns})
    buffer = io.BytesIO()
    text.write_csv(buffer, separator=style.delimiter or ",", line_terminator=style.line_terminator,
                   include_bom=style.encoding == "utf-8-sig")
    data = buffer.getvalue()
    if style.encoding == "cp1251":
        data = data.decode("utf-8").encode("cp1251")
    path.write_bytes(data)


def _write_xlsx(path: Path, frame: pl.DataFrame, kind: ReportKind, style: Style, title: str, created: datetime) -> None:
    frame = _localise(frame, kind, style)
    numeric = {i for i, c in enumerate(frame.columns)
               if c in kind.column_names and kind.column(c).type in (ColumnType.DECIMAL, ColumnType.INTEGER)}
    money = [c for c in frame.columns if c in kind.column_names and kind.column(c).type is ColumnType.DECIMAL]
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": created})  # fixed, so the bytes are reproducible
    sheet = workbook.add_worksheet("Форма" if style.language == "ru" else "Report")
    sheet.write_string(0, 0, title)
    sheet.write_row(2, 0, [_header(c, kind, style) for c in frame.columns])
    first = style.first_data_row - 1  # xlsxwriter counts rows from 0
    for offset, values in enumerate(frame.iter_rows()):
        cells = [style.zero if i in numeric and v == 0 else v for i, v in enumerate(values)] if style.zero else values
        sheet.write_row(first + offset, 0, cells)
    totals: list[object] = [TOTALS_WORD[style.language]] + [None] * (frame.width - 1)
    for c in money:
        totals[frame.columns.index(c)] = round(frame[c].sum(), 3)
    sheet.write_row(first + frame.height, 0, totals)
    if style.language == "ru":
        # Only the first worksheet is read; a second one, as real forms have, must not matter.
        workbook.add_worksheet("Указания").write_string(0, 0, "Денежные показатели указываются в тысячах рублей.")
    workbook.close()


# --------------------------------------------------------------------------------------------
# The inbox and the manifest
# --------------------------------------------------------------------------------------------


class Inbox:
    """Writes report files and remembers, for the manifest, what each holds and when it arrives.

    Arrival order is a sort key (quarter index, stage): -1 before the first quarter; stages are
    0 ministry updates, 1 producer reports, 2 late producer deliveries (corrections, resent
    files), 3 customs, 4 regional reports, 5 annual characteristics.
    """

    def __init__(self, home: Path, today: date):
        self.home = home
        self.today = today
        self.created = datetime.combine(today, time(9, 0))
        self.files: list[dict] = []
        self.defects: list[dict] = []

    def path(self, kind: str, name: str) -> Path:
        folder = self.home / "inbox" / kind
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def report(self, kind: str, stem: str, frame: pl.DataFrame, style: Style, arrival: tuple[int, int], covers: dict,
               title: str = "", defects: Sequence[tuple[int, str]] = (), notes: dict | None = None) -> str:
        """Write a report file; title names its period in an XLSX form title; defects are
        (row index in frame, defect)."""
        name = stem + EXTENSIONS[style.format]
        path = self.path(kind, name)
        report_kind = KINDS[kind]
        if style.format == "csv":
            _write_csv(path, frame, report_kind, style)
        elif style.format == "xlsx":
            title = TITLES[kind][0 if style.language == "ru" else 1].format(p=title)
            _write_xlsx(path, frame, report_kind, style, title, self.created)
        else:
            frame.write_parquet(path)
        self.files.append(
            {
                "kind": kind,
                "file": name,
                "format": style.format,
                "style": style.name,
                "encoding": style.encoding,
                "delimiter": style.delimiter,
                "header_language": style.language,
                "rows": frame.height,
                "skipped_rows": 1 if style.format == "xlsx" else 0,  # the totals row
                "first_data_row": style.first_data_row,
                **covers,
                "expected_status": "loaded",
                "_arrival": arrival,
                **(notes or {}),
            }
        )
        for index, defect in defects:
            self.defect(kind, name, defect, row=index + style.first_data_row)
        return name

    def other_file(self, kind: str, name: str, data: bytes, arrival: tuple[int, int], entry: dict) -> None:
        """A file that is not a report in a style: a copy, a wrong extension, corrupt bytes."""
        self.path(kind, name).write_bytes(data)
        self.files.append({"kind": kind, "file": name, **entry, "_arrival": arrival})

    def defect(self, kind: str, file: str, defect: str, row: int | None = None, **details) -> None:
        severity, rule, rule_names = DEFECTS[defect]
        self.defects.append({"kind": kind, "file": file, "row": row, "defect": defect, "severity": severity,
                             "rule": rule, "ingestion_rules": rule_names, **details})

    def finish(self, header: dict) -> dict:
        """Order the files by arrival, give them increasing mtimes, write the manifest."""
        self.files.sort(key=lambda f: (f.pop("_arrival"), f["file"]))
        start = datetime.combine(self.today - timedelta(days=1), time(0), tzinfo=UTC).timestamp()
        for i, entry in enumerate(self.files):
            path = self.path(entry["kind"], entry["file"])
            mtime = start + 60 * i  # one minute apart, the day before `today`
            os.utime(path, (mtime, mtime))
            entry["arrival"] = i + 1
            entry["mtime"] = datetime.fromtimestamp(mtime, UTC).isoformat()
            entry["sha256"] = _sha256(path)
            entry["bytes"] = path.stat().st_size
        order = {(f["kind"], f["file"]): f["arrival"] for f in self.files}
        self.defects.sort(key=lambda d: (order[(d["kind"], d["file"])], d["row"] or 0))
        rows: Counter[str] = Counter()
        for entry in self.files:
            if entry["expected_status"] == "loaded":
                rows[entry["kind"]] += entry["rows"]
        manifest = {
            **header,
            "arrival_order": "files are listed in intended arrival order; "
            "their mtimes increase in that order, one minute apart",
            "row_numbers": "CSV: record number with the header as record 1; XLSX: Excel row number; "
            "Parquet: row index from 1",
            "totals": {
                "files": len(self.files),
                "rows_in_loaded_files": dict(sorted(rows.items())),  # data rows, quarantined ones included
                "defects": dict(sorted(Counter(d["defect"] for d in self.defects).items())),
            },
            "files": self.files,
            "defects": self.defects,
        }
        folder = self.home / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
        (folder / "manifest.json").write_text(text, encoding="utf-8")
        return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Producer reports
# --------------------------------------------------------------------------------------------


@dataclass
class Totals:
    """What the producer reports add up to (before defects), to calibrate the other kinds."""
    output: np.ndarray  # [product, quarter]
    exports: np.ndarray
    components: np.ndarray
    imported: np.ndarray
    domestic_output: np.ndarray  # output made with domestic technology
    regional_output: np.ndarray  # [region, area, quarter]

    @classmethod
    def empty(cls, world: World) -> Totals:
        shape = (len(world.products), len(world.quarters))
        return cls(output=np.zeros(shape), exports=np.zeros(shape), components=np.zeros(shape), imported=np.zeros(shape),
                   domestic_output=np.zeros(shape),
                   regional_output=np.zeros((len(world.cat.region_codes), len(world.areas), len(world.quarters))))

    def add(self, frame: pl.DataFrame, rows: pl.DataFrame, t: int) -> None:
        prod = rows["prod"].to_numpy()

        def by_product(values) -> np.ndarray:
            return np.bincount(prod, weights=values, minlength=self.output.shape[0])

        value = frame["output_value"].to_numpy()
        self.output[:, t] += by_product(value)
        self.exports[:, t] += by_product(frame["export_value"].to_numpy())
        self.components[:, t] += by_product(frame["components_cost"].to_numpy())
        self.imported[:, t] += by_product(frame["imported_components_cost"].to_numpy())
        self.domestic_output[:, t] += by_product(value * (frame["technology_origin"] == "domestic").to_numpy())
        n_regions, n_areas, _ = self.regional_output.shape
        cell = rows["region"].to_numpy() * n_areas + rows["area"].to_numpy()
        self.regional_output[:, :, t] += np.bincount(cell, weights=value, minlength=n_regions * n_areas).reshape(
            n_regions, n_areas)


@dataclass
class ProducerFile:
    t: int
    group: int
    start: int  # rows [start, stop) of the quarter-group's rows
    stop: int
    stem: str
    style: Style
    defects: list[tuple[int, str]]  # (row in the file, defect)
    minor_rows: np.ndarray  # per row of the file: it carries at most DEFECT_ROW_SHARE of its product's quarter
    extra_column: bool = False
    corrected: bool = False  # one of its enterprises resubmits a correction
    resent: bool = False  # delivered a second time, byte-identical
    misnamed: bool = False  # a draft of it is also delivered with a .txt extension
    corrupt_twin: bool = False  # a corrupt 'xlsx' arrives next to it


def _active_rows(world: World, t: int) -> pl.DataFrame:
    return world.pairs.filter((pl.col("entry") <= t) & (pl.col("exit") > t) & (pl.col("from_q") <= t))


def _split_between_enterprises(ent: np.ndarray, max_rows: int) -> list[tuple[int, int]]:
    """Row ranges of at most max_rows rows that never split an enterprise's rows: its (inn,
    period) rows must arrive in one file, or the later part would revise away the earlier.
    max_rows is far above the rows of one enterprise."""
    starts = np.flatnonzero(np.r_[True, ent[1:] != ent[:-1]])  # first row of each enterprise
    parts, start = [], 0
    while start < ent.size:
        stop = ent.size if ent.size - start <= max_rows else int(starts[starts <= start + max_rows][-1])
        parts.append((start, stop))
        start = stop
    return parts


def _plan_producer_files(world: World) -> list[ProducerFile]:
    scale = world.scale
    plans = []
    for t, label in enumerate(world.quarters):
        active = _active_rows(world, t)
        active = active.with_columns(expected=pl.Series(_expected_output(world, active, t)))
        active = active.with_columns(minor=pl.col("expected") <= DEFECT_ROW_SHARE * pl.col("expected").sum().over("okpd2"))
        for g, (group_name, _) in enumerate(scale.file_groups):
            rows = active.filter(pl.col("group") == g)
            ent, minor = rows["ent"].to_numpy(), rows["minor"].to_numpy()
            parts = _split_between_enterprises(ent, scale.max_file_rows) if ent.size else []
            for part, (start, stop) in enumerate(parts):
                style = PRODUCER_STYLES[(t + g + part) % len(PRODUCER_STYLES)]
                if style.format == "xlsx" and stop - start > scale.max_xlsx_rows:
                    style = RU_CP1251 if style.language == "ru" else EN_UTF8
                suffix = f"_{part + 1}" if len(parts) > 1 else ""
                stem = f"producer_{label.replace('-', '')}_{group_name}{suffix}"
                plans.append(ProducerFile(t, g, start, stop, stem, style, [], minor_rows=minor[start:stop]))
    rng = _rng(world.seed, "producer plan")
    n = len(world.quarters)
    # A correction for the quarter before the latest (it arrives with the latest quarter's files).
    next(p for p in plans if p.t == max(n - 2, 0)).corrected = True
    _place_defects(plans, scale.defects_per_type, rng)
    next(p for p in plans if p.style is RU_CP1251).extra_column = True
    csv_plans = [p for p in plans if p.style.format == "csv" and p.t < n - 1]
    csv_plans[int(rng.integers(len(csv_plans)))].resent = True
    plans[int(rng.integers(len(plans)))].misnamed = True
    plans[int(rng.integers(len(plans)))].corrupt_twin = True
    return plans


def _place_defects(plans: list[ProducerFile], per_type: int, rng: np.random.Generator) -> None:
    """Spread the row defects over distinct rows of all files, uniformly among the minor rows;
    the file with the corrected enterprise gets none, so that its correction is the only change.
    The defects are there to exercise ingestion: on a row carrying much of its product's quarter,
    a quarantined row would take a big producer out of the product's figures and move them past
    the early-warning thresholds, a story the demo does not mean to tell."""
    eligible = [np.zeros(0, dtype=bool) if p.corrected else p.minor_rows for p in plans]
    rows = np.array([e.sum() for e in eligible])
    ends = np.cumsum(rows)
    defects = np.repeat(PRODUCER_ROW_DEFECTS, per_type)
    picks = rng.choice(ends[-1], min(defects.size, int(ends[-1])), replace=False)
    for pick, defect in zip(picks.tolist(), defects.tolist()):
        f = int(np.searchsorted(ends, pick, side="right"))
        plans[f].defects.append((int(np.flatnonzero(eligible[f])[pick - int(ends[f] - rows[f])]), defect))


def _presence(rows: pl.DataFrame, t: int, n_quarters: int) -> np.ndarray:
    """The share of its full size each enterprise has in quarter t. Entrants grow into their
    market over their first RAMP_QUARTERS quarters and leavers wind down over their last ones, as
    firms do; one appearing or vanishing at full size would swing the shares of a product with a
    few producers (localisation, domestic technology) past the early-warning thresholds."""
    entry, exit_ = rows["entry"].to_numpy(), rows["exit"].to_numpy()
    growing = np.where(entry > 0, (t - entry + 1) / RAMP_QUARTERS, 1.0)
    leaving = np.where(exit_ < n_quarters, (exit_ - t) / RAMP_QUARTERS, 1.0)
    return np.clip(np.minimum(growing, leaving), 0.0, 1.0)


def _expected_output(world: World, rows: pl.DataFrame, t: int) -> np.ndarray:
    """Each (enterprise, product) row's output in quarter t before noise: its base, presence,
    growth and the season."""
    trend = (1 + rows["growth"].to_numpy()) ** (t / 4) * SEASON[int(world.quarters[t][-1]) - 1]
    return rows["base"].to_numpy() * _presence(rows, t, len(world.quarters)) * trend


def _producer_quarter(world: World, rows: pl.DataFrame, t: int, rng: np.random.Generator) -> pl.DataFrame:
    """The reported values of one quarter for the given (enterprise, product) rows."""
    label = world.quarters[t]
    n = rows.height
    value = np.round(_expected_output(world, rows, t) * rng.lognormal(0, 0.08, n), 1)
    pieces = (rows["okei"] == "796").to_numpy()
    qty = value / (rows["price"].to_numpy() * rng.lognormal(0, 0.03, n))
    qty = np.where(pieces, np.maximum(np.round(qty), 1), np.round(qty, 1))
    components = np.round(value * rows["components_share"].to_numpy() * rng.uniform(0.95, 1.05, n), 1)
    # Imported share of components falls 2% a year: localisation progresses.
    imported_share = np.clip(rows["imported_share"].to_numpy() * (1 - 0.02 * t / 4) * rng.uniform(0.9, 1.1, n), 0, 1)
    imported = np.round(components * imported_share, 1)
    exports = np.round(value * rows["export_share"].to_numpy() * rng.uniform(0.8, 1.2, n), 1)
    rnd = np.round(value * rows["rnd_share"].to_numpy() * rng.uniform(0.8, 1.2, n), 1)
    employees = np.maximum(np.round(value / rows["productivity"].to_numpy()), 1)
    return pl.DataFrame(
        {
            "period": pl.Series([label] * n, dtype=pl.String),
            "inn": rows["inn"],
            "enterprise_name": rows["enterprise_name"],
            "region_code": rows["region_code"],
            "okved2": rows["okved2"],
            "okpd2": rows["okpd2"],
            "output_qty": qty,
            "okei": rows["okei"],
            "output_value": value,
            "export_value": exports,
            "components_cost": components,
            "imported_components_cost": imported,
            "technology_origin": rows["origin"],
            # Some senders leave R&D empty (missing = 0) and a few the head count.
            "rnd_expenses": pl.Series(rnd).scatter(np.flatnonzero(rows["rnd_missing"].to_numpy()), None),
            "employees": pl.Series(employees.astype(np.int64)).scatter(np.flatnonzero(rng.random(n) < 0.03), None),
            "trl": rows["trl"].cast(pl.Int64),
        }
    )


def _break_rows(frame: pl.DataFrame, defects: list[tuple[int, str]], world: World) -> pl.DataFrame:
    for row, defect in defects:
        frame = _break_row(frame, row, defect, world)
    return frame


def _break_row(frame: pl.DataFrame, row: int, defect: str, world: World) -> pl.DataFrame:
    here = pl.int_range(pl.len()) == row

    def put(column: str, value) -> pl.Expr:
        return pl.when(here).then(value).otherwise(pl.col(column)).alias(column)

    bad_inn = pl.col("inn").str.head(-1) + ((pl.col("inn").str.tail(1).cast(pl.Int64) + 1) % 10).cast(pl.String)
    unknown_region = next(c for c in ("99", "98", "00") if c not in world.cat.region_codes)
    changes = {
        "bad_inn_check_digit": [put("inn", bad_inn)],
        "unknown_okpd2": [put("okpd2", pl.lit(UNKNOWN_OKPD2))],
        "unknown_region": [put("region_code", pl.lit(unknown_region))],
        "imported_exceeds_components": [
            put("imported_components_cost", (pl.col("components_cost") * 1.2 + 1).round(1))],
        "missing_output_value": [put("output_value", pl.lit(None, pl.Float64))],
        "several_rules": [
            put("inn", bad_inn), put("okpd2", pl.lit(UNKNOWN_OKPD2)), put("output_value", -pl.col("output_value"))],
        "future_period": [put("period", pl.lit(_next_quarter(quarter_of(world.today))))],
        "export_exceeds_output": [put("export_value", (pl.col("output_value") * 1.25).round(1))],
        "unusual_unit": [put("okei", pl.col("okei").replace_strict(UNUSUAL_UNIT, default=pl.lit("796")))],
        "unknown_country": [put("partner_country", pl.lit(UNKNOWN_COUNTRY))],
    }[defect]
    return frame.with_columns(changes)


def write_producer_reports(world: World, inbox: Inbox) -> Totals:
    totals = Totals.empty(world)
    plans = _plan_producer_files(world)
    for (t, g), group_plans in _grouped(plans):
        rows = _active_rows(world, t).filter(pl.col("group") == g)
        frame = _producer_quarter(world, rows, t, _rng(world.seed, "producer", t, g))
        if t == len(world.quarters) - 1:
            frame = _drop_localisation(frame)
        totals.add(frame, rows, t)
        for plan in group_plans:
            _write_producer_file(world, inbox, plan, frame.slice(plan.start, plan.stop - plan.start))
    return totals


def _drop_localisation(frame: pl.DataFrame) -> pl.DataFrame:
    """The planted localisation drop: LOCALISATION_DROP_PRODUCT's domestic components halve."""
    domestic = pl.col("components_cost") - pl.col("imported_components_cost")
    return frame.with_columns(
        imported_components_cost=pl.when(pl.col("okpd2") == LOCALISATION_DROP_PRODUCT)
        .then((pl.col("components_cost") - domestic * LOCALISATION_KEPT).round(1))
        .otherwise(pl.col("imported_components_cost"))
    )


def _grouped(plans: list[ProducerFile]):
    groups: dict[tuple[int, int], list[ProducerFile]] = defaultdict(list)
    for plan in plans:
        groups[(plan.t, plan.group)].append(plan)
    return groups.items()


def _write_producer_file(world: World, inbox: Inbox, plan: ProducerFile, clean: pl.DataFrame) -> None:
    label = world.quarters[plan.t]
    rng = _rng(world.seed, "producer file", plan.stem)
    frame = _break_rows(clean, plan.defects, world)
    notes: dict[str, object] = {}
    if plan.extra_column:
        # An unknown column: ingestion ignores it and records it.
        remarked = pl.Series(rng.random(frame.height) < 0.1)
        frame = frame.with_columns(pl.when(remarked).then(pl.lit("данные предварительные")).alias("Примечание"))
        notes["extra_columns"] = ["Примечание"]
    style = plan.style
    if style.omit:
        frame = frame.drop(style.omit)
        notes["omitted_columns"] = list(style.omit)
    name = inbox.report("producer", plan.stem, frame, style, (plan.t, 1), {"quarters": [label]},
                        title=_spell_quarter(label, style), defects=plan.defects, notes=notes)
    if plan.corrected:
        inn = _corrected_enterprise(clean, rng)
        _write_correction(world, inbox, clean.filter(pl.col("inn") == inn), name, plan.t, rng)
    _write_unusable_deliveries(world, inbox, plan, name, clean, rng)


def _corrected_enterprise(frame: pl.DataFrame, rng: np.random.Generator) -> str:
    """An enterprise of the file, with several products if there is one."""
    counts = frame["inn"].value_counts().sort("inn")
    several = counts.filter(pl.col("count") > 1)["inn"]
    candidates = several if len(several) else counts["inn"]
    return candidates[int(rng.integers(len(candidates)))]


def _write_unusable_deliveries(world: World, inbox: Inbox, plan: ProducerFile, name: str, clean: pl.DataFrame,
                               rng: np.random.Generator) -> None:
    """Deliveries around a report that add nothing: a byte-identical copy, a draft with a wrong
    extension, a corrupt 'xlsx' (a scan saved under the wrong name)."""
    label = world.quarters[plan.t]
    if plan.resent:
        copy = plan.stem + "_resent" + EXTENSIONS[plan.style.format]
        original = next(f for f in inbox.files if f["file"] == name)
        entry = {k: v for k, v in original.items() if k not in ("kind", "file", "_arrival")}
        inbox.other_file("producer", copy, inbox.path("producer", name).read_bytes(), (len(world.quarters) - 1, 2),
                         {**entry, "expected_status": "duplicate"})
        inbox.defect("producer", copy, "duplicate_file", duplicate_of=name)
    if plan.misnamed:
        draft = plan.stem + "_draft.txt"
        buffer = io.BytesIO()
        clean.head(10).write_csv(buffer)
        inbox.other_file("producer", draft, buffer.getvalue(), (plan.t, 1),
                         _rejected_entry("txt", 10, label, encoding="utf-8", delimiter=",", header_language="en"))
        inbox.defect("producer", draft, "wrong_extension")
    if plan.corrupt_twin:
        broken = plan.stem + "_scan.xlsx"
        inbox.other_file("producer", broken, rng.bytes(4096), (plan.t, 1), _rejected_entry("xlsx", 0, label))
        inbox.defect("producer", broken, "corrupt_xlsx")


def _rejected_entry(file_format: str, rows: int, label: str, *, encoding: str | None = None,
                    delimiter: str | None = None, header_language: str | None = None) -> dict:
    return {"format": file_format, "style": None, "encoding": encoding, "delimiter": delimiter,
            "header_language": header_language, "rows": rows, "skipped_rows": 0, "first_data_row": None,
            "quarters": [label], "expected_status": "rejected"}


def _write_correction(world: World, inbox: Inbox, rows: pl.DataFrame, original: str, t: int, rng) -> None:
    """The enterprise resubmits the quarter with revised output and costs."""
    factor = pl.Series(rng.uniform(1.03, 1.12, rows.height))
    money = ("output_value", "components_cost", "imported_components_cost", "export_value")
    corrected = rows.with_columns(
        (pl.col(c) * factor).round(1) for c in money
    ).with_columns(output_qty=pl.when(pl.col("okei") == "796").then((pl.col("output_qty") * factor).round(0).clip(1))
                   .otherwise((pl.col("output_qty") * factor).round(1)))
    inn, label = rows["inn"][0], world.quarters[t]
    # Named to sort before the original: arrival order, not name order, must decide.
    stem = f"a_correction_{inn}_{label.replace('-', '')}"
    arrival = (min(t + 1, len(world.quarters) - 1), 2)
    name = inbox.report("producer", stem, corrected, EN_UTF8, arrival, {"quarters": [label]}, notes={"replaces": original})
    inbox.defect("producer", name, "corrected_resubmission", replaces=original, inn=inn, period=label)


# --------------------------------------------------------------------------------------------
# Customs: imports and exports by partner country
# --------------------------------------------------------------------------------------------


def _partner_shares(world: World, rng: np.random.Generator) -> list[tuple[list[str], np.ndarray]]:
    """Per product: its import partners and their typical shares (a leader, then the rest)."""
    known = set(world.cat.country_codes)
    shares = []
    for okpd2, area in zip(world.products, world.product_area):
        profile = PRODUCTS.get(okpd2, DEFAULT_PRODUCT)
        partners = [c for c in AREAS.get(area, DEFAULT_AREA).partners if c in known]
        leader, lead = profile.leader or (partners[0], float(rng.uniform(0.2, 0.45)))
        others = [c for c in partners if c != leader]
        rest = rng.dirichlet(np.full(len(others), 1.5)) * (1 - lead)
        shares.append(([leader, *others], np.r_[lead, rest]))
    return shares


def write_trade_reports(world: World, totals: Totals, inbox: Inbox) -> tuple[np.ndarray, np.ndarray, str]:
    """One customs file per quarter, except one quarter. Returns imports and exports as
    [product, quarter] arrays, NaN where there is no file, and the partner of the planted surge."""
    rng = _rng(world.seed, "trade")
    shares = _partner_shares(world, rng)
    dependency = np.array([
        PRODUCTS.get(p, DEFAULT_PRODUCT).import_dependency
        or AREAS.get(a, DEFAULT_AREA).import_dependency * rng.uniform(0.7, 1.3)
        for p, a in zip(world.products, world.product_area)
    ])
    exporters = [c for c in EXPORT_PARTNERS if c in set(world.cat.country_codes)]
    imports, exports = np.full(totals.output.shape, np.nan), np.full(totals.output.shape, np.nan)
    quarters = [t for t in range(len(world.quarters)) if t != world.missing_trade_quarter]
    defect_quarters = rng.choice(quarters, world.scale.defects_per_type)
    for t in quarters:
        label = world.quarters[t]
        imports[:, t], exports[:, t] = 0.0, 0.0
        available = [p for p in range(len(world.products)) if world.product_from[p] <= t]
        # A product or two without any customs row this quarter: its imports are 0, not NULL. Only
        # nearly self-sufficient products, so that a quarter without their small imports is not a
        # swing of their import dependency (an early-warning signal).
        quiet = set(rng.choice([p for p in available if dependency[p] < 0.1], 1 + int(rng.integers(2))).tolist())
        records = []
        for p in available:
            if p in quiet:
                continue
            # Customs exports roughly match what producers declare; imports make M / C = d.
            total_exports = totals.exports[p, t] * rng.uniform(0.9, 1.1)
            d = np.clip(dependency[p] * (1 - 0.04 * t / 4) * rng.uniform(0.95, 1.05), 0.02, 0.95)
            total_imports = d / (1 - d) * max(totals.output[p, t] - total_exports, 0.0)
            partners, typical = shares[p]
            buyers = rng.choice(exporters, 2 + int(rng.integers(4)), replace=False)
            for flow, countries, split in (
                ("import", partners, rng.dirichlet(typical * 300 + 0.01) * total_imports),
                ("export", buyers, rng.dirichlet(np.ones(len(buyers))) * total_exports),
            ):
                if flow == "import" and world.products[p] == SURGE_PRODUCT and t == len(world.quarters) - 1:
                    split = _surge(split)
                values = np.round(split, 1)
                records += [(label, world.products[p], c, flow, v) for c, v in zip(countries, values.tolist()) if v > 0]
                (imports if flow == "import" else exports)[p, t] = values.sum()
        frame = pl.DataFrame(records, schema=KINDS["trade"].column_names, orient="row",
                             schema_overrides={"value": pl.Float64})
        # Like the producer defects, on minor rows: the customs row of a product's main partner
        # quarantined would make that partner's share of imports drop and rebound.
        product_imports = pl.col("value").sum().over("okpd2", "flow")
        minor = (pl.col("flow") == "import") & (pl.col("value") <= DEFECT_ROW_SHARE * product_imports)
        import_rows = np.flatnonzero(frame.select(minor).to_series().to_numpy())
        rows = rng.choice(import_rows, min(int((defect_quarters == t).sum()), import_rows.size), replace=False)
        hits = [(row, "unknown_country") for row in sorted(rows.tolist())]
        frame = _break_rows(frame, hits, world)
        style = TRADE_STYLES[t % len(TRADE_STYLES)]
        inbox.report("trade", f"customs_{label.replace('-', '')}", frame, style, (t, 3), {"quarters": [label]},
                     title=_spell_quarter(label, style), defects=hits)
    partners, _ = shares[world.products.index(SURGE_PRODUCT)]
    return imports, exports, partners[SURGE_PARTNER]


def _surge(split: np.ndarray) -> np.ndarray:
    """The planted partner surge: the second partner takes SURGE_SHARE of the imports, the
    others keep their proportions of the rest."""
    total, others = split.sum(), np.delete(split, SURGE_PARTNER)
    return np.insert(others / others.sum() * total * (1 - SURGE_SHARE), SURGE_PARTNER, total * SURGE_SHARE)


# --------------------------------------------------------------------------------------------
# Regional reports
# --------------------------------------------------------------------------------------------


def write_regional_reports(world: World, totals: Totals, inbox: Inbox) -> dict:
    """One consolidated file per quarter; one region reports the latest quarter late (not here)."""
    rng = _rng(world.seed, "regional")
    regions = world.cat.region_codes
    last = len(world.quarters) - 1
    present = np.flatnonzero(totals.regional_output[:, :, last].sum(axis=1) > 0)
    late = int(rng.choice(present))
    sums = np.zeros((len(world.areas), len(world.quarters), 4))  # facilities, investment, jobs, specialists
    for t, label in enumerate(world.quarters):
        output = totals.regional_output[:, :, t]
        region, area = np.nonzero(output > 0)  # regions active in a project: it has producers there
        if t == last:
            region, area = region[region != late], area[region != late]
        # A region's projects reach beyond the sampled producers: a base of tens of millions of
        # roubles, plus 5-12% of the producers' output.
        base = rng.lognormal(np.log(20_000), 1.0, region.size)
        investment = np.round(output[region, area] * rng.uniform(0.05, 0.12, region.size) + base, 1)
        facilities = rng.poisson(investment / 200_000)
        jobs = rng.poisson(facilities * 60 + investment / 2_000)
        specialists = rng.poisson(jobs * 0.6 + 5)
        for i, values in enumerate((facilities, investment, jobs, specialists)):
            sums[:, t, i] = np.bincount(area, weights=values, minlength=len(world.areas))
        frame = pl.DataFrame(
            {
                "period": [label] * region.size,
                "region_code": [regions[r] for r in region],
                "project_code": [world.areas[a] for a in area],
                "facilities_launched": facilities.astype(np.int64),
                "investment": investment,
                "jobs_created": jobs.astype(np.int64),
                "specialists_trained": specialists.astype(np.int64),
            },
            schema_overrides={"period": pl.String, "region_code": pl.String, "project_code": pl.String},
        ).sort("region_code", "project_code")
        notes: dict[str, object] = {"late_reporter_missing": regions[late]} if t == last else {}
        style = REGIONAL_STYLES[t % len(REGIONAL_STYLES)]
        inbox.report("regional", f"regional_{label.replace('-', '')}", frame, style, (t, 4), {"quarters": [label]},
                     title=_spell_quarter(label, style), notes=notes)
    return {"sums": sums, "late_reporter": {"region_code": regions[late], "period": world.quarters[last]}}


# --------------------------------------------------------------------------------------------
# Benchmarks and characteristics
# --------------------------------------------------------------------------------------------


def write_benchmarks(world: World, inbox: Inbox) -> pl.DataFrame:
    """The ministry's edition at the start, and an update revising a few benchmarks."""
    rng = _rng(world.seed, "benchmarks")
    first, last = world.years[0], world.years[-1]
    rows = []
    for okpd2, area in zip(world.products, world.product_area):
        analogue, parameters = ANALOGUES.get(okpd2, DEFAULT_ANALOGUE)
        valid_from = date(max(first, world.area_from_year[area]), 1, 1)
        for k, (name, unit, direction, best) in enumerate(parameters, start=1):
            weight = round(float(rng.uniform(0.15, 0.5)) * 20) / 20
            rows.append((okpd2, f"P{k:02d}", name, unit, direction, weight, float(best), analogue, valid_from))
    edition = pl.DataFrame(rows, schema=KINDS["benchmarks"].column_names, orient="row")
    inbox.report("benchmarks", f"benchmarks_{first}", edition, XLSX_RU, (-1, 0), {"valid_from": _dates(edition)},
                 title=str(first))

    # The analogue improved: a newer row per revised parameter, in force from mid-year (it
    # governs that whole year), plus one announced for next year (governs no year yet).
    candidates = edition.filter((pl.col("parameter_code") == "P01") & (pl.col("valid_from") == date(first, 1, 1)))
    revised = candidates[np.sort(rng.choice(candidates.height, 4, replace=False))]
    better = (pl.when(pl.col("direction") == "higher").then(pl.col("best_value") * 1.1)
              .otherwise(pl.col("best_value") / 1.1))
    mid_year = date(max(first, last - 1), 7, 1)
    update = revised.with_columns(
        best_value=better.round(4),
        analogue=pl.col("analogue") + ", новое поколение",
        valid_from=pl.Series([mid_year] * 3 + [date(last + 1, 1, 1)]),
    )
    arrival = next(i for i, q in enumerate(world.quarters) if q >= quarter_of(mid_year))
    inbox.report("benchmarks", f"benchmarks_update_{mid_year.isoformat()}", update, EN_UTF8, (arrival, 0),
                 {"valid_from": _dates(update)})
    return pl.concat([edition, update])


def _dates(frame: pl.DataFrame) -> list[str]:
    return sorted({d.isoformat() for d in frame["valid_from"]})


def _benchmark_in_force(benchmarks: pl.DataFrame, year: int) -> pl.DataFrame:
    """metrics.md §2: per (okpd2, parameter_code) the row with the latest valid_from <= 31 Dec."""
    return (
        benchmarks.filter(pl.col("valid_from") <= date(year, 12, 31))
        .sort("valid_from")
        .group_by("okpd2", "parameter_code", maintain_order=True)
        .last()
        .sort("okpd2", "parameter_code")
    )


def write_characteristics(world: World, benchmarks: pl.DataFrame, inbox: Inbox) -> None:
    """Per year, the technical parameters of the main producers' products against the benchmark.

    A producer's product keeps its parameters from year to year, as real products do: its own
    deviation on each parameter is drawn once, and it improves 2.5% a year with a little
    measurement noise; a producer that leaves a parameter out leaves the same one out every year.
    Redrawn every year, the best producer's level (the product's) would cross the leader band's
    boundary (K = 1) by chance and move its area's leadership share past the target."""
    rng = _rng(world.seed, "characteristics")
    level = dict(zip(world.products, rng.uniform(0.72, 1.12, len(world.products))))  # product's typical gap
    pairs = world.pairs.with_row_index("pair")
    most_parameters = max(len(parameters) for _, parameters in (*ANALOGUES.values(), DEFAULT_ANALOGUE))
    deviation = rng.lognormal(0, 0.08, (pairs.height, most_parameters))  # [pair, parameter]
    incomplete = rng.random(pairs.height) < 0.08  # about 8% leave one parameter out (no K)
    left_out = rng.integers(most_parameters, size=pairs.height)  # which one: modulo the product's parameters
    for i, year in enumerate(world.years):
        indices = [t for t, q in enumerate(world.quarters) if int(q[:4]) == year]
        made = pairs.filter(
            (pl.col("entry") <= indices[-1]) & (pl.col("exit") > indices[0]) & (pl.col("from_q") <= indices[-1])
        )
        assessed = (
            made.sort("base", descending=True)
            .group_by("okpd2", maintain_order=True)
            .head(world.scale.assessed_per_product)
            .sort("inn", "okpd2")
        )
        in_force = _benchmark_in_force(benchmarks, year).with_columns(
            k=pl.col("parameter_code").str.slice(1).cast(pl.Int64) - 1, parameters=pl.len().over("okpd2"))
        parameters = in_force.join(assessed.select("pair", "inn", "okpd2", "quality"), on="okpd2")
        pair, k = parameters["pair"].to_numpy(), parameters["k"].to_numpy()
        parameters = parameters.filter(~pl.Series(incomplete[pair] & (k == left_out[pair] % parameters["parameters"].to_numpy())))
        pair, k = parameters["pair"].to_numpy(), parameters["k"].to_numpy()
        ratio = np.clip(
            parameters["okpd2"].replace_strict(level, return_dtype=pl.Float64).to_numpy()
            * parameters["quality"].to_numpy() * deviation[pair, k] * (1 + 0.025 * (year - world.years[0]))
            * rng.lognormal(0, 0.02, parameters.height),
            0.3, 2.0,
        )
        best = parameters["best_value"].to_numpy()
        value = np.where((parameters["direction"] == "higher").to_numpy(), best * ratio, best / ratio)
        frame = (
            parameters.with_columns(year=pl.lit(year, pl.Int64), value=pl.Series(_significant(value, 4)))
            .select(KINDS["characteristics"].column_names)
            .sort("inn", "okpd2", "parameter_code")
        )
        style = CHARACTERISTICS_STYLES[i % len(CHARACTERISTICS_STYLES)]
        arrival = (indices[-1], 5)
        inbox.report("characteristics", f"characteristics_{year}", frame, style, arrival, {"years": [year]},
                     title=str(year))


def _significant(values: np.ndarray, digits: int) -> np.ndarray:
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(values))))
    return np.round(values * scale) / scale


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


def write_targets(world: World, totals: Totals, customs: tuple[np.ndarray, np.ndarray], regional: dict,
                  inbox: Inbox) -> None:
    """Targets near what the data will show, some above and some below, so statuses are mixed.
    Each (area, indicator) has one ambition for every year (a target's ratio to what the data
    show, or a fixed level), so that a status changes from one year to the next only when the data
    do, as with real targets; SLIPPING_TARGET is the planted exception."""
    rng = _rng(world.seed, "targets")
    flows = ("facilities_launched", "investment", "jobs_created", "specialists_trained")
    rows = []
    for a, area in enumerate(world.areas):
        products = [p for p, x in enumerate(world.product_area) if x == area]
        indicators = world.cat.indicators["indicator_code"].to_list()
        ambition = {
            indicator: float(rng.uniform(0.8, 1.3) if indicator in flows else rng.uniform(0.93, 1.15))
            for indicator in indicators
        }
        index_target = round(float(rng.uniform(40, 80)) * 2) / 2
        leadership_target = round(float(rng.uniform(0.3, 0.9)) * 20) / 20
        for year in world.years:
            if not world.area_available(area, year):
                continue
            t = [i for i, q in enumerate(world.quarters) if int(q[:4]) == year]
            ratios = _area_ratios(totals, customs, products, t)
            for indicator in indicators:
                if indicator in flows:
                    # Compared pro rata in a partial year; a target above actual / 0.9 is off track.
                    annual = regional["sums"][a, t, flows.index(indicator)].sum() * 4 / len(t)
                    factor = ambition[indicator]
                    if (area, indicator) == SLIPPING_TARGET:
                        factor = TARGET_OUT_OF_REACH if year == world.years[-1] else TARGET_EASY
                    target = annual * factor
                    value = round(target, 1) if indicator == "investment" else max(round(target), 1)
                elif indicator in ratios:
                    value = round(float(np.clip(ratios[indicator] * ambition[indicator], 0.3, 0.95)), 2)
                elif indicator == "sovereignty_index":
                    value = index_target
                else:  # leadership_share, which needs the whole leadership computation
                    value = leadership_target
                rows.append((area, indicator, year, float(value)))
    frame = pl.DataFrame(rows, schema=KINDS["targets"].column_names, orient="row")
    years = world.years
    inbox.report("targets", f"targets_{years[0]}-{years[-1]}", frame, RU_CP1251, (-1, 0),
                 {"years": years}, title=f"{years[0]}-{years[-1]}")


def _area_ratios(totals: Totals, customs: tuple[np.ndarray, np.ndarray], products: list[int],
                 quarters: list[int]) -> dict[str, float]:
    """An area's yearly shares, nearly as the warehouse will compute them (quarters with customs data)."""

    def total(values: np.ndarray, only_with_customs: bool = False) -> float:
        cells = values[np.ix_(products, quarters)]
        return float(np.nansum(cells[:, with_customs] if only_with_customs else cells))

    with_customs = ~np.isnan(customs[0][np.ix_(products, quarters)]).any(axis=0)
    q, m, x = total(totals.output, True), total(customs[0]), total(customs[1])
    ratios = {}
    if q + m - x > 0:
        ratios["domestic_share"] = 1 - m / (q + m - x)
    if total(totals.components) > 0:
        ratios["localisation"] = 1 - total(totals.imported) / total(totals.components)
    if total(totals.output) > 0:
        ratios["domestic_technology_share"] = total(totals.domestic_output) / total(totals.output)
    return ratios
