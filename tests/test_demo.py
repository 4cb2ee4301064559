"""The demo generator (demo/generator.py): deterministic, complete, every quirk and defect present
and where the manifest says. Files are read back here with plain tools (no ingestion code), so
these tests check the generator against inputs.md, not against the reader."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import time
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.ingestion.catalogues import load_catalogues
from pipelines.ingestion.contracts import KINDS
from demo.generator import SCALES, generate_demo, write_demo
from pipelines.ingestion.inn import inn_is_valid
from pipelines.ingestion.periods import parse_quarter, quarter_range

TODAY = date(2026, 11, 28)
QUARTERS = quarter_range("2025-Q1", "2026-Q4")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("demo")
    return home, generate_demo(home, scale="small", seed=42, today=TODAY)


def inbox_files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted((home / "inbox").rglob("*")) if p.is_file()}


def entries(manifest: dict, **where) -> list[dict]:
    return [f for f in manifest["files"] if all(f.get(k) == v for k, v in where.items())]


# --- reading the files back -------------------------------------------------------------------


def canonical_name(kind: str, header: str) -> str:
    """The contract column a header cell names (case-insensitive, trimmed, English or Russian)."""
    cell = str(header).strip().lower()
    return next((c.name for c in KINDS[kind].columns if cell in (c.name, c.alias_ru)), cell)


def read_rows(home: Path, entry: dict) -> pl.DataFrame:
    """A loadable report as text cells under canonical names, with `_row` as ingestion numbers it."""
    path = home / "inbox" / entry["kind"] / entry["file"]
    if entry["format"] == "csv":
        text = path.read_bytes().decode(entry["encoding"])
        frame = pl.read_csv(io.StringIO(text), separator=entry["delimiter"], infer_schema=False)
        first = 2
    elif entry["format"] == "xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(min_row=3, values_only=True)]
        assert rows[-1][0] in ("Итого", "Total")
        frame = pl.DataFrame(rows[1:-1], schema=rows[0], orient="row").with_columns(pl.all().replace("", None))
        first = 4
    else:
        frame = pl.read_parquet(path).cast(pl.String)
        first = 1
    frame = frame.rename({c: canonical_name(entry["kind"], c) for c in frame.columns})
    return frame.with_row_index("_row", offset=first)


def number(cell: str | None) -> float | None:
    """A numeric cell as inputs.md reads it: thousands separators, decimal comma, dash = 0."""
    if cell is None:
        return None
    cleaned = cell.replace(" ", "").replace("\u00a0", "").replace("\u202f", "").replace(",", ".")
    return 0.0 if cleaned in ("-", "–", "—") else float(cleaned)


@pytest.fixture(scope="module")
def producer_rows(demo) -> pl.DataFrame:
    home, manifest = demo
    frames = [read_rows(home, e).with_columns(_file=pl.lit(e["file"]))
              for e in entries(manifest, kind="producer", expected_status="loaded")]
    return pl.concat(frames, how="diagonal")


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_and_day_give_the_same_bytes_and_mtimes(demo, tmp_path):
    home, manifest = demo
    again = generate_demo(tmp_path, scale="small", seed=42, today=TODAY)
    assert inbox_files(tmp_path) == inbox_files(home)
    assert (tmp_path / "demo" / "manifest.json").read_bytes() == (home / "demo" / "manifest.json").read_bytes()
    assert again == manifest
    for entry in manifest["files"]:
        relative = Path("inbox") / entry["kind"] / entry["file"]
        assert (tmp_path / relative).stat().st_mtime == (home / relative).stat().st_mtime


def test_another_seed_gives_other_data(demo, tmp_path):
    home, _ = demo
    generate_demo(tmp_path, scale="small", seed=43, today=TODAY)
    ours, theirs = inbox_files(home), inbox_files(tmp_path)
    common = set(ours) & set(theirs)
    assert common and all(ours[name] != theirs[name] for name in common if "producer_" in name)


def test_small_scale_is_quick(tmp_path):
    started = time.perf_counter()
    generate_demo(tmp_path, scale="small", seed=1, today=TODAY)
    assert time.perf_counter() - started < 5


def test_volume_scales_the_enterprises(demo, producer_rows, tmp_path):
    """--volume 0.5 draws half the enterprises (the benchmark's scaling curve); 0 is refused."""
    manifest = generate_demo(tmp_path, scale="small", seed=42, today=TODAY, volume=0.5)
    half = pl.concat([read_rows(tmp_path, e) for e in entries(manifest, kind="producer", expected_status="loaded")],
                     how="diagonal")
    assert manifest["scale"] == "small x0.5"
    assert half["inn"].n_unique() == pytest.approx(producer_rows["inn"].n_unique() / 2, rel=0.15)
    with pytest.raises(ValueError, match="above 0"):
        generate_demo(tmp_path, scale="small", volume=0)


def test_unknown_scale_is_refused(tmp_path):
    with pytest.raises(ValueError, match="national"):
        generate_demo(tmp_path, scale="huge")


# --- coverage -------------------------------------------------------------------------------------


def test_every_kind_is_delivered(demo):
    _, manifest = demo
    assert {f["kind"] for f in manifest["files"]} == set(KINDS)
    assert 30 <= len(manifest["files"]) <= 60
    assert 1_500 <= manifest["totals"]["rows_in_loaded_files"]["producer"] <= 5_000


def test_quarters_are_the_last_eight_up_to_today(demo, producer_rows):
    _, manifest = demo
    assert manifest["quarters"] == QUARTERS
    reported = {q for f in entries(manifest, kind="producer") for q in f["quarters"]}
    assert reported == set(QUARTERS)
    periods = producer_rows["period"].map_elements(parse_quarter, return_dtype=pl.String)
    assert set(periods.drop_nulls()) == set(QUARTERS) | {"2027-Q1"}  # 2027-Q1: the future-period defect


def test_bioeconomy_products_appear_only_from_2026(demo, producer_rows):
    home, manifest = demo
    bio = set(load_catalogues().products.filter(pl.col("project_code") == "BIO")["okpd2"])
    periods = producer_rows["period"].map_elements(parse_quarter, return_dtype=pl.String)
    bio_periods = set(periods.filter(producer_rows["okpd2"].is_in(list(bio))))
    assert bio_periods and min(bio_periods) >= "2026-Q1"
    trade = pl.concat([read_rows(home, e) for e in entries(manifest, kind="trade")], how="diagonal")
    trade_periods = trade["period"].map_elements(parse_quarter, return_dtype=pl.String)
    assert min(trade_periods.filter(trade["okpd2"].is_in(list(bio)))) >= "2026-Q1"
    targets = read_rows(home, entries(manifest, kind="targets")[0])
    assert set(targets.filter(pl.col("project_code") == "BIO")["year"]) == {"2026"}


def test_one_quarter_has_no_customs_file_and_some_products_no_customs_rows(demo):
    home, manifest = demo
    missing = manifest["missing_trade_quarter"]
    covered = [q for f in entries(manifest, kind="trade") for q in f["quarters"]]
    assert sorted(covered) == [q for q in QUARTERS if q != missing] and missing != QUARTERS[-1]
    products = set(load_catalogues().product_codes)
    assert any(set(read_rows(home, f)["okpd2"]) < products for f in entries(manifest, kind="trade"))


def test_a_region_reports_the_latest_quarter_late(demo):
    home, manifest = demo
    late = manifest["late_reporter"]["region_code"]
    latest, previous = (read_rows(home, entries(manifest, kind="regional", quarters=[q])[0])
                        for q in (QUARTERS[-1], QUARTERS[-2]))
    assert late not in set(latest["region_code"]) and late in set(previous["region_code"])


def test_some_benchmarks_are_revised_and_some_characteristics_incomplete(demo):
    home, manifest = demo
    benchmarks = pl.concat([read_rows(home, e) for e in entries(manifest, kind="benchmarks")], how="diagonal")
    revisions = benchmarks.group_by("okpd2", "parameter_code").len().filter(pl.col("len") > 1)
    assert revisions.height >= 3
    parameters = benchmarks.group_by("okpd2").agg(pl.col("parameter_code").n_unique().alias("expected"))
    for entry in entries(manifest, kind="characteristics"):
        reported = read_rows(home, entry).group_by("inn", "okpd2").agg(pl.len().alias("reported"))
        short = reported.join(parameters, on="okpd2").filter(pl.col("reported") < pl.col("expected"))
        assert 0 < short.height < reported.height / 4


def test_some_products_have_fewer_than_three_producers(producer_rows):
    producers = producer_rows.group_by("period", "okpd2").agg(pl.col("inn").n_unique())
    assert producers.filter(pl.col("inn") < 3).height > 0


# --- formats --------------------------------------------------------------------------------------


def test_csv_quirks_are_present(demo):
    home, manifest = demo
    cp1251 = [(home / "inbox" / f["kind"] / f["file"]).read_bytes() for f in entries(manifest, encoding="cp1251")]
    assert cp1251 and all(data.decode("cp1251") for data in cp1251)
    with pytest.raises(UnicodeDecodeError):
        cp1251[0].decode("utf-8")
    text = "".join(data.decode("cp1251") for data in cp1251)
    assert "\u00a0" in text  # non-breaking space as thousands separator
    assert "отечественная" in text and "импорт" in text and "Период" in text
    assert re.search(r"[1-4] кв\. 20\d\d;", text) and re.search(r"I{1,3}V? квартал 20\d\d;", text)
    assert ";-;" in text and ";–;" in text  # dashes for zero
    assert '"ООО «Прибор; Автоматика»"' in text  # quoted delimiter
    assert "механики\nим." in text  # quoted line break inside a name
    utf8 = "".join((home / "inbox" / f["kind"] / f["file"]).read_text("utf-8")
                   for f in entries(manifest, encoding="utf-8"))
    assert "\u202f" in utf8 and ";—;" in utf8  # narrow no-break space only in UTF-8
    assert re.search(r"\bQ[1-4] 20\d\d;", utf8) and re.search(r"\b20\d\d-Q[1-4],", utf8)
    boms = [(home / "inbox" / f["kind"] / f["file"]).read_bytes() for f in entries(manifest, encoding="utf-8-sig")]
    assert boms and all(data.startswith(b"\xef\xbb\xbf") for data in boms)
    assert any(re.search(r"\b20\d\dQ[1-4],", data.decode("utf-8-sig")) for data in boms)


def test_decimal_commas_and_thousands_separators_read_back(demo, producer_rows):
    values = producer_rows["output_value"].drop_nulls()
    assert values.str.contains(r"^\d{1,3}(\u00a0\d{3})+,\d$").any()
    assert values.str.contains(r"^\d{1,3}(\u202f\d{3})+,\d$").any()
    assert values.str.contains(r"^\d{1,3}( \d{3})+,\d$").any()
    assert values.str.contains(r"^\d{4,}\.\d$").any()
    assert all(number(v) >= 0 for v in values if not v.startswith("-"))


def test_xlsx_files_have_a_title_an_empty_row_a_header_and_a_totals_row(demo):
    home, manifest = demo
    books = entries(manifest, format="xlsx", expected_status="loaded")
    assert {f["header_language"] for f in books} == {"ru", "en"}
    for entry in books:
        sheet = openpyxl.load_workbook(home / "inbox" / entry["kind"] / entry["file"], read_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] and all(v is None for v in rows[1])
        assert all(isinstance(v, str) and v != v.strip() for v in rows[2])  # "  ИНН " must be fine
        assert len(rows) == 3 + entry["rows"] + 1 and rows[-1][0] in ("Итого", "Total")


def test_parquet_files_have_canonical_names_and_types(demo):
    home, manifest = demo
    books = entries(manifest, format="parquet")
    assert {f["kind"] for f in books} >= {"producer", "trade"}
    for entry in books:
        frame = pl.read_parquet(home / "inbox" / entry["kind"] / entry["file"])
        assert frame.columns == KINDS[entry["kind"]].column_names
        assert frame.schema["period"] == pl.String
        money = "output_value" if entry["kind"] == "producer" else "value"
        assert frame.schema[money] == pl.Float64


def test_headers_in_both_languages_and_an_extra_and_an_omitted_column(demo):
    home, manifest = demo
    languages = {f["header_language"] for f in manifest["files"] if f["expected_status"] == "loaded"}
    assert languages == {"ru", "en"}
    extra = [f for f in manifest["files"] if f.get("extra_columns")]
    assert extra and "примечание" in read_rows(home, extra[0]).columns
    omitted = [f for f in manifest["files"] if f.get("omitted_columns")]
    assert omitted and "trl" not in read_rows(home, omitted[0]).columns


# --- INNs and defects -----------------------------------------------------------------------------


def test_every_inn_is_valid_except_the_injected_ones(demo, producer_rows):
    home, manifest = demo
    injected = ("bad_inn_check_digit", "several_rules")
    bad_inn = {(d["file"], d["row"]) for d in manifest["defects"] if d["defect"] in injected}
    invalid = producer_rows.filter(~pl.col("inn").map_elements(inn_is_valid, return_dtype=pl.Boolean))
    assert set(invalid.select("_file", "_row").iter_rows()) == bad_inn
    assert producer_rows["inn"].str.len_chars().is_in([10, 12]).all()
    assert (producer_rows["inn"].str.len_chars() == 12).any()
    regions = producer_rows.filter(pl.col("inn").str.slice(0, 2) != pl.col("region_code"))
    assert regions.height <= sum(1 for d in manifest["defects"] if d["defect"] == "unknown_region")
    for entry in entries(manifest, kind="characteristics"):
        assert all(inn_is_valid(inn) for inn in read_rows(home, entry)["inn"])


def test_each_defect_is_on_the_row_the_manifest_names(demo, producer_rows):
    home, manifest = demo
    cat = load_catalogues()
    rows = {(r["_file"], r["_row"]): r for r in producer_rows.iter_rows(named=True)}
    checks = {
        "bad_inn_check_digit": lambda r: not inn_is_valid(r["inn"]),
        "unknown_okpd2": lambda r: r["okpd2"] not in cat.product_codes,
        "unknown_region": lambda r: r["region_code"] not in cat.region_codes,
        "imported_exceeds_components": lambda r: number(r["imported_components_cost"]) > number(r["components_cost"]),
        "missing_output_value": lambda r: r["output_value"] is None,
        "several_rules": lambda r: not inn_is_valid(r["inn"]) and r["okpd2"] not in cat.product_codes
        and number(r["output_value"]) < 0,
        "future_period": lambda r: parse_quarter(r["period"]) > QUARTERS[-1],
        "export_exceeds_output": lambda r: number(r["export_value"]) > number(r["output_value"]),
        "unusual_unit": lambda r: r["okei"] != cat.usual_unit()[r["okpd2"]] and r["okei"] in cat.unit_codes,
    }
    row_defects = [d for d in manifest["defects"] if d["kind"] == "producer" and d["row"] is not None]
    assert {d["defect"] for d in row_defects} == set(checks)
    for d in row_defects:
        assert checks[d["defect"]](rows[(d["file"], d["row"])]), d
    assert len(row_defects) < 0.02 * producer_rows.height
    country = [d for d in manifest["defects"] if d["defect"] == "unknown_country"]
    for d in country:
        trade = read_rows(home, entries(manifest, file=d["file"])[0])
        assert trade.filter(pl.col("_row") == d["row"])["partner_country"].item() not in cat.country_codes


def test_healthy_rows_break_no_rule_the_checks_can_see(demo, producer_rows):
    _, manifest = demo
    cat = load_catalogues()
    defective = pl.DataFrame([(d["file"], d["row"]) for d in manifest["defects"] if d["row"]], schema=["_file", "_row"],
                             orient="row")
    healthy = producer_rows.join(defective, on=["_file", "_row"], how="anti")
    assert set(healthy["okpd2"]) <= set(cat.product_codes) and set(healthy["region_code"]) <= set(cat.region_codes)
    for r in healthy.iter_rows(named=True):
        assert number(r["imported_components_cost"]) <= number(r["components_cost"])
        assert (number(r["export_value"]) or 0) <= number(r["output_value"])
        assert r["okei"] == cat.usual_unit()[r["okpd2"]]


def test_whole_file_cases(demo):
    home, manifest = demo
    by_defect = {d["defect"]: d for d in manifest["defects"] if d["row"] is None}
    resent = by_defect["duplicate_file"]
    copy, original = (home / "inbox" / "producer" / resent[k] for k in ("file", "duplicate_of"))
    assert copy.read_bytes() == original.read_bytes()
    assert entries(manifest, file=resent["file"])[0]["expected_status"] == "duplicate"
    assert Path(by_defect["wrong_extension"]["file"]).suffix == ".txt"
    broken = home / "inbox" / "producer" / by_defect["corrupt_xlsx"]["file"]
    with pytest.raises(zipfile.BadZipFile):
        openpyxl.load_workbook(broken)
    assert {f["file"] for f in manifest["files"] if f["expected_status"] == "rejected"} == {
        by_defect["wrong_extension"]["file"], broken.name}


def test_the_correction_sorts_first_but_arrives_later(demo):
    home, manifest = demo
    correction = next(d for d in manifest["defects"] if d["defect"] == "corrected_resubmission")
    arrival = {f["file"]: f["arrival"] for f in manifest["files"]}
    assert correction["file"] < correction["replaces"] and arrival[correction["file"]] > arrival[correction["replaces"]]
    new, old = (read_rows(home, entries(manifest, file=correction[k])[0]) for k in ("file", "replaces"))
    old = old.filter(pl.col("inn") == correction["inn"])
    assert set(new["inn"]) == {correction["inn"]} and new.height == old.height
    assert set(new["okpd2"]) == set(old["okpd2"])
    assert sum(map(number, new["output_value"])) > sum(map(number, old["output_value"]))


# --- manifest and arrival order -------------------------------------------------------------------


def test_manifest_lists_every_file_written(demo):
    home, manifest = demo
    listed = {f"inbox/{f['kind']}/{f['file']}" for f in manifest["files"]}
    assert listed == set(inbox_files(home))
    assert json.loads((home / "demo" / "manifest.json").read_text("utf-8")) == manifest
    for entry in entries(manifest, expected_status="loaded"):
        assert read_rows(home, entry).height == entry["rows"]
    assert [f["arrival"] for f in manifest["files"]] == list(range(1, len(manifest["files"]) + 1))


def test_mtimes_follow_the_arrival_order(demo):
    home, manifest = demo
    paths = [home / "inbox" / f["kind"] / f["file"] for f in manifest["files"]]
    by_mtime = sorted(paths, key=lambda p: (p.stat().st_mtime_ns, p.name))
    assert by_mtime == paths
    assert len({p.stat().st_mtime for p in paths}) == len(paths)
    assert all(os.path.getmtime(p) < time.mktime(TODAY.timetuple()) + 86_400 for p in paths)


def test_files_of_a_quarter_arrive_after_the_reference_data(demo):
    _, manifest = demo
    order = [f["kind"] for f in manifest["files"]]
    assert order[0] == "benchmarks" and order.index("targets") < order.index("producer")
    assert order.index("characteristics") > order.index("producer")


# --- the national code path, scaled down --------------------------------------------------------


def test_national_layout_on_a_tiny_population(tmp_path):
    scale = dataclasses.replace(SCALES["national"], enterprises=300, max_file_rows=400, max_xlsx_rows=150)
    manifest = write_demo(tmp_path, scale, seed=5, today=TODAY)
    assert manifest["quarters"] == quarter_range("2022-Q1", "2026-Q4")
    producer = entries(manifest, kind="producer", expected_status="loaded")
    assert all(f["rows"] <= 150 for f in producer if f["format"] == "xlsx")
    assert all(f["rows"] <= 400 for f in producer)
    assert any(f["file"].endswith("_2.csv") or f["file"].endswith("_2.parquet") for f in producer)
    assert {f["format"] for f in producer} == {"csv", "xlsx", "parquet"}
    counts = manifest["totals"]["defects"]
    assert all(counts[d] == scale.defects_per_type for d in ("bad_inn_check_digit", "future_period", "unusual_unit"))
    # An enterprise's quarter is never split over two files (the later would revise away the earlier).
    # A future_period defect row is not the enterprise's quarter: two of them may name one
    # enterprise in two files.
    seen = {}
    for entry in producer:
        if entry["file"].startswith("a_correction"):
            continue
        for inn, period in read_rows(tmp_path, entry).select("inn", "period").unique().iter_rows():
            key = (inn, parse_quarter(period))
            if key[1] > manifest["quarters"][-1]:
                continue
            assert seen.setdefault(key, entry["file"]) == entry["file"], key
