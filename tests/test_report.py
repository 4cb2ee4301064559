"""report.html: deterministic, self-contained, honest about suppressed cells, and drawn by a browser.

The extracts are built by hand, small enough that the number of marks in each chart is known.
The browser test renders the page in headless Chromium (Debian's `chromium`; `make test`
installs it when run as root) and keeps a screenshot in tests/artifacts/report.png.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
import unicodedata
import zlib
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from pipelines.publication.report import BLUE, render_report

ARTIFACTS = Path(__file__).parent / "artifacts"
C = "c"

# Marks each chart must draw for the extracts below (see the comments there).
EXPECTED_MARKS = {
    "sovereignty-index": 5,  # 3 dots (ALL 2025, MPA 2025, MPA 2026) + 2 whiskers (MPA)
    "import-dependency": 12,  # per area: 1 line + 3 dots (MPA and BIO miss a quarter, TRM's is suppressed)
    "leadership-bands": 4,  # MPA leader + comparable, TRM lagging + not assessed
    "project-progress": 4,  # one cell per (area, indicator)
    "regional-ranking": 2,  # the two regions that reported investment
    "partner-exposure": 5,  # 2025-Q4: MPA from CN, DE, TR; TRM from CN, BY (2025-Q3 and product rows not drawn)
}

MANIFEST = {
    "release_id": "20261128T120000Z-0123abcd",
    "created_at": "2026-11-28T12:00:00+00:00",
    "code_version": "0123456789abcdef",
    "disclosure": {"min_producers": 3, "dominance_share": 0.85, "protection": 0.1},
    "loads": [{"load_id": 1, "kind": "producer", "sha256": "ab" * 32, "rows_loaded": 40, "periods": ["2025-Q1"]}],
    "extracts": {
        "sovereignty_index": {"rows": 6, "sha256": "cd" * 32, "columns": [], "suppressed_cells": 2},
        "area_leadership": {"rows": 2, "sha256": "ef" * 32, "columns": [], "suppressed_cells": 1},
    },
    "validations": [  # the publisher's key, expectations_evaluated, and the short one
        {"suite": "marts", "target": "marts", "blocking": True, "success": True, "expectations_evaluated": 12},
        {"suite": "inbox", "evaluated": 5, "success": False},
    ],
    "warnings": ["no trade report has arrived for 2025-Q2", "region 05 has not reported 2025-Q4"],
}


def quarters(year: int) -> dict[str, list]:
    return {"period": [f"{year}-Q{q}" for q in range(1, 5)], "year": [year] * 4, "quarter": [1, 2, 3, 4]}


def money(values: list) -> pl.Series:
    return pl.Series([None if v is None else Decimal(str(v)) for v in values], dtype=pl.Decimal(18, 3))


def extracts() -> dict[str, pl.DataFrame]:
    """A release of three areas: MPA published, TRM with suppressed cells, BIO missing a pillar."""
    index = pl.DataFrame({
        "project_code": ["ALL", "ALL", "MPA", "MPA", "TRM", "BIO"],
        "year": [2025, 2026, 2025, 2026, 2026, 2025],
        "missing_pillars": [None, None, None, None, None, "independence"],
        "sovereignty_index": [60.5, None, 55.0, 58.25, None, None],
        "sovereignty_index_flag": [None, C, None, None, C, None],
    })
    uncertainty = pl.DataFrame({
        "project_code": ["MPA", "MPA", "TRM", "BIO"],
        "year": [2025, 2026, 2026, 2025],
        "index_p05": [45.0, 50.0, None, None],
        "index_p05_flag": [None, None, C, None],
        "index_p50": [55.5, 58.0, None, None],
        "index_p95": [63.0, 66.5, None, None],
        "index_p95_flag": [None, None, C, None],
        "median_rank": [1.0, 1.0, None, None],
        "median_rank_flag": [None, None, C, None],
    })
    complete = {"producer_reports_complete": [True] * 4, "trade_files_complete": [True] * 4}
    area_independence = pl.concat([
        # MPA: no trade file in Q2, so no ratio (a gap, not a suppression)
        pl.DataFrame({**quarters(2025), "project_code": ["MPA"] * 4, "import_dependency": [0.62, None, 0.58, 0.55],
                      "import_dependency_flag": [None] * 4, **complete, "trade_files_complete": [True, False, True, True]},
                     schema_overrides={"import_dependency_flag": pl.String}),
        pl.DataFrame({**quarters(2025), "project_code": ["TRM"] * 4, "import_dependency": [0.40, 0.45, None, 0.43],
                      "import_dependency_flag": [None, None, C, None], **complete}),
        # BIO: no trade file in 2025-Q3, which is why its 2025 index lacks the independence pillar
        pl.DataFrame({**quarters(2025), "project_code": ["BIO"] * 4, "import_dependency": [0.30, 0.35, None, 0.32],
                      "import_dependency_flag": [None] * 4, **complete, "trade_files_complete": [True, True, False, True]},
                     schema_overrides={"import_dependency_flag": pl.String}),
    ])
    products = pl.DataFrame({
        "period": ["2025-Q4"] * 3, "year": [2025] * 3, "quarter": [4] * 3, "okpd2": ["28.41.22", "29.10.22", "29.32.30"],
        "project_code": ["MPA", "TRM", "TRM"], "strategic_dependency": [True, False, None],
        "strategic_dependency_flag": [None, None, C],
    })
    leadership = pl.DataFrame({
        "project_code": ["MPA", "TRM"], "year": [2025, 2025],
        "products_leader": [2, 0], "products_comparable": [1, 0], "products_lagging": [0, 1], "products_not_assessed": [0, 1],
        "leadership_share": [0.9, None], "leadership_share_flag": [None, C],
    })
    progress = pl.DataFrame({
        "project_code": ["MPA", "MPA", "TRM", "BIO"],
        "indicator_code": ["investment", "domestic_share", "domestic_share", "jobs_created"],
        "year": [2025] * 4, "quarters_reported": [3, 4, 4, None],
        "target_value": money([4000.0, 0.6, 0.5, 100.0]), "compared_target": [3000.0, 0.6, 0.5, 100.0],
        "actual_value": [3100.0, 0.55, None, None], "actual_value_flag": [None, None, C, None],
        "achievement": [3100 / 3000, 0.55 / 0.6, None, None], "achievement_flag": [None, None, C, None],
        "status": ["on_track", "at_risk", None, "no_data"], "status_flag": [None, None, C, None],
    })
    regional = pl.DataFrame({
        "period": ["2025-Q1", "2025-Q1", "2025-Q1"], "year": [2025] * 3, "quarter": [1] * 3,
        "region_code": ["66", "77", "05"], "project_code": ["MPA", "MPA", "MPA"], "has_regional_report": [True, True, False],
        "facilities_launched": [2, 1, None], "investment": money([1500.5, 2500.0, None]), "jobs_created": [30, 10, None],
        "specialists_trained": [5, 7, None], "output_value": money([None, 800.0, None]), "output_value_flag": [C, None, None],
    })
    exposure = pl.DataFrame({
        "period": ["2025-Q3", "2025-Q4", "2025-Q4", "2025-Q4", "2025-Q4", "2025-Q4", "2025-Q4"],
        "level": ["area", "area", "area", "area", "area", "area", "product"],
        "code": ["MPA", "MPA", "MPA", "MPA", "TRM", "TRM", "29.10.22"],
        "project_code": ["MPA", "MPA", "MPA", "MPA", "TRM", "TRM", "TRM"],
        "partner_type": ["country"] * 7,
        "partner_code": ["CN", "CN", "DE", "TR", "CN", "BY", "CN"],
        "partner_imports": money([50.0, 600.0, 300.0, 100.0, 200.0, 200.0, 200.0]),
        "import_share": [0.5, 0.6, 0.3, 0.1, 0.5, 0.5, 1.0],
        "consumption_share": [0.2, 0.3, 0.15, 0.05, None, None, None],
        "consumption_share_flag": [None, None, None, None, C, C, C],
    })
    signal = {"period_before": None, "project_code": "MPA", "subject": None, "value_before": None, "value_after": None}
    signals = pl.DataFrame([
        {**signal, "period": "2025-Q4", "level": "region", "code": "77", "signal_type": "report_late", "severity": "medium",
         "message": "2025-Q4: region 77 has not reported yet (it did the quarter before)."},
        {**signal, "period": "2025-Q4", "level": "area", "code": "MPA", "signal_type": "partner_share_rise", "severity": "high",
         "subject": "CN", "message": "China's share of the imports of Means of production and automation (MPA) rose from 30% in 2025-Q3 to 60% in 2025-Q4."},
        {**signal, "period": "2025", "level": "project", "code": "MPA", "signal_type": "project_status_worse", "severity": "high",
         "message": "National project Means of production and automation: investment went from achieved in 2024 to off track in 2025."},
        {**signal, "period": "2025-Q3", "level": "area", "code": "MPA", "signal_type": "localisation_fall", "severity": "medium",
         "message": "Localisation of Means of production and automation (MPA) fell from 70% in 2025-Q2 to 55% in 2025-Q3."},
    ])
    return {
        "partner_exposure": exposure,
        "risk_signals": signals,
        "product_independence": products,
        "area_independence": area_independence,
        "area_leadership": leadership,
        "regional_development": regional,
        "project_progress": progress,
        "sovereignty_index": index,
        "sovereignty_index_uncertainty": uncertainty,
    }


class Charts(HTMLParser):
    """Per data-chart: the attributes of its <svg> and the number of marks in it."""

    def __init__(self, page: str):
        super().__init__()
        self.current: str | None = None
        self.marks: dict[str, int] = {}
        self.svgs: dict[str, dict] = {}
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "svg" and "data-chart" in attributes:
            self.current = attributes["data-chart"]
            self.svgs[self.current] = attributes
            self.marks[self.current] = 0
        elif self.current and "mark" in (attributes.get("class") or "").split():
            self.marks[self.current] += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.current = None


@pytest.fixture(scope="module")
def page() -> str:
    return render_report(extracts(), MANIFEST)


def test_same_inputs_give_the_same_report_whatever_the_order(page):
    shuffled = {name: frame.sample(fraction=1.0, shuffle=True, seed=7) for name, frame in extracts().items()}
    assert render_report(extracts(), MANIFEST) == page
    assert render_report(shuffled, MANIFEST) == page
    # the release's manifest.json (sorted keys) gives back the published report
    assert render_report(extracts(), json.loads(json.dumps(MANIFEST, sort_keys=True))) == page


def test_report_needs_no_network(page):
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"""url\(\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"@import|<link\b|<script\b|<img\b|<iframe\b", page, re.IGNORECASE)


def test_every_chart_draws_its_marks_with_a_title_and_a_label(page):
    charts = Charts(page)
    assert charts.marks == EXPECTED_MARKS
    for chart_id, attributes in charts.svgs.items():
        assert attributes["role"] == "img" and attributes["aria-label"], chart_id
    assert not re.search(r'class="mark"[^>]*>(?!<title>)', page), "every mark has a hover <title>"
    assert page.count("<b>How to read:</b>") == len(EXPECTED_MARKS)


def test_suppressed_figures_are_shown_as_c_and_never_estimated(page):
    assert "c (suppressed)" in page  # the country's 2026 index and TRM's
    assert "Suppressed to protect enterprise confidentiality" in page
    assert "fewer than 3 producers" in page  # the disclosure settings from the manifest
    assert "within ±10%" in page
    assert "not computed: no independence data" in page  # BIO's index is NULL for a missing pillar
    assert page.count(">c</text>") == 3  # TRM's import dependency in Q3, leadership share, progress cell
    assert "Russia: all areas, 2025: index 60.5" in page
    assert "Russia: all areas, 2026: index" not in page


def test_headline_and_data_quality_come_from_the_manifest(page):
    assert "20261128T120000Z-0123abcd" in page and "2026-11-28T12:00:00+00:00" in page
    for warning in MANIFEST["warnings"]:
        assert warning in page
    assert "<td>marts</td><td>12</td><td>passed</td>" in page and "<td>inbox</td><td>5</td><td>FAILED</td>" in page


def test_headline_figures(page):
    assert "Strategic dependencies, 2025 Q4</div><div class=\"card-value\">1</div>" in page
    assert "Means of production and automation (Средства производства и автоматизации)" in page


def card(page: str, title: str) -> str:
    return page.split(f'<div class="card-title">{title}')[1].split('<div class="card ')[0].split("</section>")[0]


def test_the_national_card_shows_the_latest_published_year_and_says_why_not_a_later_one(page):
    """2026's national index is confidential (TRM's is): the card shows 2025's, named as such."""
    national = card(page, "Sovereignty index, Russia")
    assert national.startswith(", 2025</div><div class=\"card-value\">60.5</div>")
    assert ("Later years not shown: 2026 is confidential (c): it would give away the confidential index of "
            "Industrial support for transport mobility.") in national
    assert "c (suppressed)" not in national


def test_the_national_card_without_a_published_year_says_why_for_each(page):
    frames = extracts()
    frames["sovereignty_index"] = frames["sovereignty_index"].with_columns(
        sovereignty_index=pl.when(pl.col("project_code") == "ALL").then(None).otherwise(pl.col("sovereignty_index")),
        areas_in_index=pl.when(pl.col("project_code") == "ALL").then(pl.col("year") - 2025),  # 2025: 0 areas, 2026: 1
    )
    national = card(render_report(frames, MANIFEST), "Sovereignty index, Russia")
    assert national.startswith("</div><div class=\"card-value\">not published</div>")
    assert ("Not shown: 2026 is confidential (c): it would give away the confidential index of Industrial support "
            "for transport mobility; 2025 is not computed: no area has an index (2025-Q2 has no customs (trade) file; "
            "2025-Q3 has no customs (trade) file).") in national
    assert ">c<" not in national and "c (suppressed)" not in national


def test_a_year_not_computed_says_why_next_to_it(page):
    """BIO's 2025 index lacks the independence pillar because 2025-Q3 has no customs file: the chart
    says so beside the year, not only in the warnings at the bottom."""
    chart = page.split('data-chart="sovereignty-index"')[1].split("</svg>")[0]
    assert "2025: not computed: no independence data (2025-Q3 has no customs (trade) file)" in chart


def test_confidential_products_are_not_counted_as_more_dependencies(page):
    dependencies = card(page, "Strategic dependencies")
    assert "of the 2 products with published figures import more than half" in dependencies
    assert ("for 1 more product the figures are confidential (c), so whether it is a strategic dependency is not "
            "published") in dependencies
    assert "more suppressed" not in page


def test_regions_are_ranked_by_investment_with_their_district(page):
    ranking = page.split('data-chart="regional-ranking"')[1]
    assert ranking.index("Moscow (Central)") < ranking.index("Sverdlovsk Oblast (Ural)")
    assert "reported 1 of 4 quarters" in ranking
    assert "Republic of Adygea" not in ranking  # region 05 reported no investment


def test_what_changed_opens_the_page_with_the_latest_signals_high_first(page):
    changed = page.split('<section id="what-changed">')[1].split("</section>")[0]
    assert page.index('id="what-changed"') < page.index('id="headline"') < page.index('id="charts"')
    assert "3 signal(s) in 2025-Q4, 2 of high severity." in changed
    latest, earlier = changed.split("<details>")
    # high first (by type: partner share, then project status), then medium; the 2025-Q3 signal is folded away
    assert latest.index("rose from 30%") < latest.index("went from achieved") < latest.index("region 77")
    assert "fell from 70%" in earlier and "fell from 70%" not in latest


def test_the_exposure_chart_shows_the_latest_quarter_and_hides_suppressed_consumption(page):
    chart = page.split('data-chart="partner-exposure"')[1].split("</svg>")[0]
    assert "Imports by partner country, 2025-Q4" in page
    assert "China 60.0% of imports" in chart and "Türkiye 10.0% of imports" in chart
    assert ">CN 30.0%</text>" in chart  # MPA's largest partner supplies 30% of its consumption
    assert ">BY c</text>" in chart  # TRM: a tie of 200 goes to the first code; its consumption is confidential: c
    assert "50.0% of imports" in chart and "2025-Q3" not in chart


def test_the_browser_shows_what_changed_above_the_headline(page, chromium, tmp_path):
    probe = """<script>
for (const s of document.querySelectorAll("section")) {
  const box = s.getBoundingClientRect();
  s.setAttribute("data-top", Math.round(box.top)); s.setAttribute("data-height", Math.round(box.height));
}
</script>"""
    probed = tmp_path / "sections.html"
    probed.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom", probed.as_uri())
    boxes = {m[0]: (int(m[1]), int(m[2])) for m in re.findall(r'<section id="([\w-]+)" data-top="(-?\d+)" data-height="(\d+)"', dom)}
    assert boxes["what-changed"][0] < boxes["headline"][0] and boxes["what-changed"][1] > 50
    assert "3 signal(s) in 2025-Q4, 2 of high severity." in dom


@pytest.mark.parametrize("frames", [{}, {name: frame.clear() for name, frame in extracts().items()}], ids=["missing", "empty"])
def test_a_release_without_rows_still_renders(frames):
    page = render_report(frames, {"release_id": "r", "created_at": "t"})
    charts = Charts(page)
    assert set(charts.marks) == set(EXPECTED_MARKS) and not any(charts.marks.values())
    assert page.count("No data in this release") == len(EXPECTED_MARKS)


# --- in a browser ---------------------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)

# Counts the marks the browser laid out with a non-empty box, into attributes --dump-dom shows.
PROBE = """<script>
for (const svg of document.querySelectorAll("svg[data-chart]")) {
  const drawn = [...svg.querySelectorAll(".mark")].filter(m => { const b = m.getBBox(); return b.width + b.height > 0; });
  svg.setAttribute("data-drawn", drawn.length);
  svg.setAttribute("data-rendered-width", Math.round(svg.getBoundingClientRect().width));
}
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        message = "chromium is not installed: apt-get install -y chromium (`make test` does it when run as root)"
        if os.environ.get("CI"):
            pytest.fail(message + "; in CI the report must be checked in a browser")
        pytest.skip(message)
    return binary


def run_chromium(binary: str, profile: Path, *args: str) -> str:
    command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return result.stdout


def test_the_browser_lays_out_every_mark(page, chromium, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom", probed.as_uri())
    charts = Charts(dom)
    assert {chart: int(svg["data-drawn"]) for chart, svg in charts.svgs.items()} == EXPECTED_MARKS
    assert all(int(svg["data-rendered-width"]) > 0 for svg in charts.svgs.values())


def test_the_screenshot_shows_the_charts(page, chromium, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    report, screenshot = ARTIFACTS / "report.html", ARTIFACTS / "report.png"
    report.write_text(page, encoding="utf-8")
    screenshot.unlink(missing_ok=True)
    run_chromium(chromium, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,4000", report.as_uri())
    width, height, colours = png_colours(screenshot.read_bytes())
    assert (width, height) == (1280, 4000)
    assert width * height - colours[(255, 255, 255)] > 0.02 * width * height, "the page is (nearly) blank"
    blue = tuple(int(BLUE[i : i + 2], 16) for i in (1, 3, 5))
    # the marks paint about 4,000 pixels of it; the legend swatches alone a few hundred
    assert colours[blue] > 2000, "the charts' main colour is missing: the SVG marks were not painted"


def png_colours(data: bytes) -> tuple[int, int, Counter]:
    """8-bit RGB or RGBA PNG -> width, height, pixel count per RGB colour (no imaging library needed)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, compressed = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour_type in (2, 6) and interlace == 0, "unexpected PNG format"
        elif kind == b"IDAT":
            compressed += body
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = zlib.decompress(compressed)
    previous, colours = bytearray(stride), Counter()
    for y in range(height):
        start = y * (stride + 1)
        line = unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        colours.update(zip(line[0::channels], line[1::channels], line[2::channels]))
        previous = line
    return width, height, colours


def unfilter(kind: int, line: bytearray, previous: bytearray, channels: int) -> bytearray:
    """Undo one scanline's PNG filter (0 none, 1 sub, 2 up, 3 average, 4 Paeth)."""
    if kind == 0:
        return line
    for i in range(len(line)):
        left = line[i - channels] if i >= channels else 0
        up, up_left = previous[i], previous[i - channels] if i >= channels else 0
        if kind == 1:
            predictor = left
        elif kind == 3:
            predictor = (left + up) // 2
        else:
            estimate = left + up - up_left
            distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
            predictor = (left, up, up_left)[distances.index(min(distances))]
        line[i] = (line[i] + predictor) & 0xFF
    return line


# --- printed ----------------------------------------------------------------------------------

A4_POINTS = (595, 842)  # 210 x 297 mm


def pdf_pages(data: bytes) -> list[tuple[tuple[float, float], str]]:
    """Per page of a PDF written by Chromium: its size in points and its text, decoded through the
    fonts' ToUnicode maps (Chromium writes plain objects and Flate streams; no PDF library needed)."""
    objects = {int(n): body for n, body in re.findall(rb"(\d+) 0 obj\s*(.*?)endobj", data, re.S)}

    def stream(number: int) -> bytes:
        return zlib.decompress(objects[number].split(b"stream", 1)[1].lstrip(b"\r\n"))

    def unicode_map(font: int) -> dict[bytes, str]:
        mapping = {}
        cmap = stream(int(re.search(rb"/ToUnicode (\d+) 0 R", objects[font])[1])).decode("latin-1")
        for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
            for code, text in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                mapping[bytes.fromhex(code)] = bytes.fromhex(text).decode("utf-16-be")
        for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
            for low, high, text in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                start, width = int(text, 16), len(low) // 2
                for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                    mapping[code.to_bytes(width, "big")] = chr(start + offset)
        return mapping

    pages = []
    for body in objects.values():
        if not re.search(rb"/Type /Page\b(?!s)", body):
            continue
        box = [float(v) for v in re.search(rb"/MediaBox \[([^\]]*)\]", body)[1].split()]
        fonts = {name: unicode_map(int(number)) for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", body)}
        font, text = {}, []
        for token in re.finditer(rb"/(F\d+) [\d.]+ Tf|<([0-9A-Fa-f]*)>", stream(int(re.search(rb"/Contents (\d+) 0 R", body)[1]))):
            if token[1]:
                font = fonts[token[1]]
            else:
                glyphs = bytes.fromhex(token[2].decode())
                text += [font.get(glyphs[i : i + 2], "") for i in range(0, len(glyphs), 2)]
        pages.append(((box[2] - box[0], box[3] - box[1]), unicodedata.normalize("NFKC", "".join(text))))  # no ligatures
    return pages


def test_the_report_prints_on_a4_with_nothing_cut(page, chromium, tmp_path):
    """Printed by Chromium: A4 pages, each section on a page of its own, and every heading, table
    cell and the last line of the page in the PDF's text (a cut page would lose them)."""
    report, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    report.write_text(page, encoding="utf-8")
    run_chromium(chromium, tmp_path / "profile", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    pages = pdf_pages(pdf.read_bytes())
    assert all((round(width), round(height)) == A4_POINTS for (width, height), _ in pages)
    sections = re.findall(r"<section id=\"[\w-]+\"><h2>([^<]+)</h2>", page)
    assert len(sections) <= len(pages) <= 3 * len(sections)
    text = [re.sub(r"\s+", "", words) for _, words in pages]
    for heading in sections[1:]:  # each section after the first starts a page
        assert sum(page_text.startswith(re.sub(r"\s+", "", heading)) for page_text in text) == 1, heading
    everything = "".join(text)
    cells = re.findall(r"<t[dh]>([^<]+)</t[dh]>", page)
    assert cells and [cell for cell in cells if re.sub(r"\s+", "", html.unescape(cell)) not in everything] == []
    assert "Sovereigntyindex,Russia,2025" in everything and "60.5" in everything
    assert "Codeversion:0123456789abcdef" in everything


def test_the_print_stylesheet_prints_black_text_and_keeps_blocks_whole(page):
    css = page.split("<style>")[1].split("</style>")[0]
    assert "@page{size:A4;" in css and "@media print{" in css
    printed = css.split("@media print{")[1]
    assert "section+section{break-before:page}" in printed
    assert "break-inside:avoid" in printed and "color:#000" in printed
