"""Every format quirk of inputs.md, read end to end through the ingestion into raw."""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl

from tests.reports import VALID_ROWS, csv_bytes, deliver, parquet_bytes, row, russian, xlsx_bytes


def test_cp1251_semicolon_decimal_comma_and_nbsp_thousands(warehouse):
    rows = [
        row(
            "producer",
            period="1 кв. 2025",
            output_value="1\u00a0234\u00a0567,8",
            components_cost="2 000,5",
            imported_components_cost="—",
            technology_origin="отечественная",
        )
    ]
    content = csv_bytes(rows, delimiter=";", encoding="cp1251", header=russian(list(rows[0]), "producer"))
    deliver(warehouse.home, "producer", "form.csv", content)
    (result,) = warehouse.ingest("producer")
    assert (result.status, result.rows_loaded) == ("loaded", 1)
    assert warehouse.rows(
        "select period, output_value, components_cost, imported_components_cost, technology_origin from raw.producer"
    ) == [("2025-Q1", Decimal("1234567.800"), Decimal("2000.500"), Decimal("0.000"), "domestic")]
    assert warehouse.rows("select encoding, delimiter from audit.loads") == [("cp1251", ";")]


def test_utf8_bom_comma_and_narrow_no_break_space(warehouse):
    rows = [row("producer", output_value="1\u202f500.25", period="2025Q1")]
    deliver(warehouse.home, "producer", "bom.csv", b"\xef\xbb\xbf" + csv_bytes(rows))
    warehouse.ingest("producer")
    assert warehouse.rows("select period, output_value from raw.producer") == [("2025-Q1", Decimal("1500.250"))]
    assert warehouse.value("select encoding from audit.loads") == "utf-8-sig"


def test_quoted_fields_with_delimiters_and_newlines(warehouse):
    name = 'ООО "Завод; №1"\nфилиал'
    deliver(warehouse.home, "producer", "q.csv", csv_bytes([row("producer", enterprise_name=name)], delimiter=";"))
    warehouse.ingest("producer")
    assert warehouse.value("select enterprise_name from raw.producer") == name


def test_header_names_are_matched_case_insensitively_after_trimming(warehouse):
    rows = [VALID_ROWS["producer"]]
    header = [f"  {name.upper()} " for name in russian(list(rows[0]), "producer")]
    deliver(warehouse.home, "producer", "caps.csv", csv_bytes(rows, header=header))
    (result,) = warehouse.ingest("producer")
    assert result.rows_loaded == 1


def test_every_quarter_spelling(warehouse):
    spellings = ["2025-Q1", "2025Q1", "Q1 2025", "1 кв. 2025", "I квартал 2025", "IV квартал 2024"]
    rows = [row("trade", period=p, partner_country=c) for p, c in zip(spellings, ["CN", "DE", "IT", "JP", "US", "KR"])]
    deliver(warehouse.home, "trade", "t.csv", csv_bytes(rows))
    warehouse.ingest("trade")
    assert [p for (p,) in warehouse.rows("select period from raw.trade order by _row_number")] == [
        "2025-Q1"
    ] * 5 + ["2024-Q4"]


def test_dates_in_both_formats_and_russian_enums(warehouse):
    rows = [
        row("benchmarks", valid_from="01.03.2024", direction="больше"),
        row("benchmarks", parameter_code="P02", valid_from="2025-01-01", direction="меньше"),
    ]
    deliver(warehouse.home, "benchmarks", "b.csv", csv_bytes(rows))
    warehouse.ingest("benchmarks")
    assert [(str(d), direction) for d, direction in warehouse.rows("select valid_from, direction from raw.benchmarks order by 1")] == [
        ("2024-03-01", "higher"),
        ("2025-01-01", "lower"),
    ]


def test_dash_means_zero_and_missing_optional_values_mean_zero(warehouse):
    deliver(warehouse.home, "producer", "d.csv", csv_bytes([row("producer", export_value="–", rnd_expenses=None)]))
    warehouse.ingest("producer")
    assert warehouse.rows("select export_value, rnd_expenses from raw.producer") == [(Decimal("0.000"), Decimal("0.000"))]


def test_one_digit_region_code_is_read_with_its_leading_zero(warehouse):
    deliver(warehouse.home, "regional", "r.csv", csv_bytes([row("regional", region_code="2")]))
    warehouse.ingest("regional")
    assert warehouse.value("select region_code from raw.regional") == "02"


def test_xlsx_form_title_header_and_totals_row(warehouse):
    rows = [row("producer", output_value="1000"), row("producer", inn="500100732259", output_value="2000")]
    header = russian(list(rows[0]), "producer")
    deliver(warehouse.home, "producer", "form.xlsx", xlsx_bytes(rows, header=header, title="Форма П-1 (технологии)", totals="Итого по форме"))
    (result,) = warehouse.ingest("producer")
    assert (result.rows_read, result.rows_loaded, result.rows_skipped) == (3, 2, 1)
    # Excel row numbers: title on row 1, empty row 2, header on row 3, data from row 4.
    assert warehouse.rows("select _row_number from raw.producer order by 1") == [(4,), (5,)]
    assert warehouse.rows("select rule, severity, rows_failing from audit.rule_results where severity = 'skip'") == [
        ("totals_row", "skip", 1)
    ]


def test_xlsx_english_header_with_total_row(warehouse):
    rows = [row("trade"), row("trade", partner_country="DE")]
    deliver(warehouse.home, "trade", "customs.xlsx", xlsx_bytes(rows, totals="Total"))
    (result,) = warehouse.ingest("trade")
    assert (result.rows_loaded, result.rows_skipped) == (2, 1)


def test_parquet_with_canonical_names_and_types(warehouse):
    frame = pl.DataFrame(
        {"period": ["2025-Q2"], "okpd2": ["26.51.20"], "partner_country": ["DE"], "flow": ["export"], "value": [12.5]}
    )
    deliver(warehouse.home, "trade", "customs.parquet", parquet_bytes(frame))
    warehouse.ingest("trade")
    assert warehouse.rows("select period, flow, value from raw.trade") == [("2025-Q2", "export", Decimal("12.500"))]


def test_extra_columns_are_ignored_and_recorded(warehouse):
    rows = [{**VALID_ROWS["trade"], "comment": "checked"}]
    deliver(warehouse.home, "trade", "x.csv", csv_bytes(rows))
    warehouse.ingest("trade")
    assert warehouse.value("select extra_columns from audit.loads") == ["comment"]


def test_blank_rows_are_skipped_and_counted(warehouse):
    content = csv_bytes([VALID_ROWS["trade"]]) + b",,,,\n"
    deliver(warehouse.home, "trade", "blank.csv", content)
    (result,) = warehouse.ingest("trade")
    assert (result.rows_read, result.rows_loaded, result.rows_skipped) == (2, 1, 1)


def test_quarantine_keeps_original_values_under_the_delivered_header(warehouse):
    rows = [row("producer", output_value="1\u00a0000,5", okpd2="99.99.99")]
    header = russian(list(rows[0]), "producer")
    deliver(warehouse.home, "producer", "bad.csv", csv_bytes(rows, delimiter=";", encoding="cp1251", header=header))
    warehouse.ingest("producer")
    original, reasons, row_number = warehouse.rows("select original_values, reasons, row_number from audit.quarantine")[0]
    assert json.loads(original)["выпуск_тыс_руб"] == "1\u00a0000,5"
    assert reasons == ["okpd2.not_in_catalogue"]
    assert row_number == 2


def test_field_counts_match_python_csv_on_quoting_edge_cases():
    """The byte-level field count (readers.field_counts) splits records as the csv module does:
    quoted delimiters and line breaks, doubled quotes, blank lines with either line ending, and
    quotes inside unquoted fields, which take the csv module's path."""
    import csv
    import io

    from pipelines.ingestion.readers import field_counts

    cases = [
        'a;b;c\n1;;3\n\n4;5\n"x";"";""\n6;7;8;9\n',
        'a;b\r\n1;2\r\n\r\n3\r\n',
        'a;b\n"x;y";2\n"q""r;";3;4',
        'a;b\n"x\ny";1\n"p""\n""q";2\n\n"\n;\n";3;4\n',
        'a;b\r\n"x\r\ny";1\r\n',
        'a;b\n"x\n"y;1\n',  # a closing quote inside a field: the csv module's path
        'a;b\n  \n1;2;\n;\n',
    ]
    for text in cases:
        expected = [len(record) for record in csv.reader(io.StringIO(text, newline=""), delimiter=";")]
        assert field_counts(text.encode(), ";").to_list() == expected, text


def test_the_plans_column_readers_give_the_full_readers_periods(tmp_path):
    """Planning a run reads only the period column (readers.csv_column, parquet_column): its cells
    must be the full reader's, whatever the encoding, BOM, quoting and header language."""
    from pipelines.ingestion.contracts import KINDS
    from pipelines.ingestion.readers import csv_column, parquet_column, read_report

    spellings = [" 1 кв. 2025", "I квартал 2025 ", "2025-Q2", '"Q3 2025"', "IV квартал 2024", "", "2025Q1"]
    rows = [row("trade", period=p) for p in spellings]
    files = {
        "cp1251, Russian header, Cyrillic periods": csv_bytes(rows, delimiter=";", encoding="cp1251",
                                                              header=russian(list(rows[0]), "trade")),
        "cp1251, ASCII periods, Cyrillic elsewhere": csv_bytes(
            [row("trade", period="2025-Q2", okpd2="26.51.20"), row("trade", period="Q1 2025")], delimiter=";",
            encoding="cp1251", header=russian(list(rows[0]), "trade")),
        "UTF-8 with BOM": b"\xef\xbb\xbf" + csv_bytes(rows),
        "UTF-8, CRLF, Russian header": csv_bytes(rows, header=russian(list(rows[0]), "trade")).replace(b"\n", b"\r\n"),
    }
    kind = KINDS["trade"]
    for name, content in files.items():
        expected = read_report(tmp_path / "f.csv", kind, content).frame["period"].drop_nulls()
        assert csv_column(kind, content, "period").drop_nulls().to_list() == expected.to_list(), name
    frame = pl.DataFrame({("Период" if name == "period" else name): [value] * 2 for name, value in VALID_ROWS["trade"].items()})
    frame = frame.with_columns(pl.Series("Период", ["I квартал 2025", " 2025-Q2"]))
    expected = read_report(tmp_path / "f.parquet", kind, parquet_bytes(frame)).frame["period"]
    assert parquet_column(kind, parquet_bytes(frame), "period").to_list() == expected.to_list() == ["I квартал 2025", "2025-Q2"]
    assert csv_column(kind, csv_bytes([{"okpd2": "26.51.20"}]), "period") is None


def test_utf8_check_and_blank_check_agree_with_pythons_decoder():
    """readers.is_utf8 (Polars' validator) and is_blank decide as bytes.decode("utf-8") and
    str.strip would, on the byte sequences where validators differ most often."""
    import random

    from pipelines.ingestion.readers import is_blank, is_utf8

    odd = [b"", b"abc", "квартал".encode(), "квартал".encode("cp1251"), b"\xed\xa0\x80",  # an encoded surrogate
           b"\xc0\xaf", b"\xe0\x80\xaf",  # overlong forms
           b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80",  # beyond U+10FFFF, five bytes
           "ok€".encode()[:-1], b"\xef\xbb\xbfabc", "\U0001f600".encode(), b"a\x80b", b"\xc2\xa0"]
    generator = random.Random(7)
    odd += [bytes(generator.randrange(256) for _ in range(generator.randrange(1, 9))) for _ in range(3000)]
    odd += [bytes(generator.choice(b"\xc2\xa0\xe2\x80\xaf \t\r\n\x85ab") for _ in range(generator.randrange(1, 9)))
            for _ in range(3000)]
    for content in odd:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        assert is_utf8(content) == (text is not None), content
        if text is not None:
            assert is_blank(content) == (not text.strip()), content
    spaces = "\u00a0\u202f\u3000 \t\r\n".encode()
    assert is_blank(spaces) and not is_blank(spaces + "я".encode()) and not is_blank(spaces + b"x")
