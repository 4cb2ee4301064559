"""report.html: what changed, the release's headline figures and six charts on one self-contained page.

The page is built from the published extracts only (outputs.md, "Publication"), so it shows
exactly what stakeholders can read in the Parquet files: a suppressed figure (flag 'c') is shown
as "c" and never recomputed from other cells. It needs no network: inline CSS, charts as inline
SVG drawn here, no script. The same extracts and manifest give the same string: rows are sorted
before drawing, numbers are formatted with fixed precision and the only date is the manifest's.

Each chart is an <svg data-chart="<id>" role="img"> whose data marks (rect, circle, path) carry
class="mark" and a <title> shown on hover.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from functools import cache

import polars as pl

from pipelines.publication.extracts import FLAG
from pipelines.settings import DBT_PROJECT_DIR

SEEDS = DBT_PROJECT_DIR / "seeds"

# Okabe-Ito: distinguishable with the common forms of colour blindness.
BLUE, SKY, GREEN, ORANGE, VERMILLION, PURPLE, YELLOW, BLACK = (
    "#0072B2", "#56B4E9", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#F0E442", "#000000",
)
WHITE, GREY, LIGHT_GREY = "#FFFFFF", "#999999", "#DDDDDD"
YEAR_COLOURS = (BLUE, ORANGE, GREEN, PURPLE, VERMILLION, SKY)
DISTRICT_COLOURS = (BLUE, ORANGE, GREEN, PURPLE, VERMILLION, SKY, YELLOW, BLACK)
DARK_FILLS = {BLUE, GREEN, VERMILLION, PURPLE, BLACK}  # white text reads better on these

BANDS = {  # band -> (legend, colour); metrics.md section 2
    "leader": ("Leader: at least 1.0 × the best foreign analogue", BLUE),
    "comparable": ("Comparable: 0.8 to 1.0 ×", SKY),
    "lagging": ("Lagging: below 0.8 ×", ORANGE),
    "not_assessed": ("Not assessed: no complete technical data", LIGHT_GREY),
}
# From good to bad: dark blue, light blue, yellow, vermillion, told apart by lightness as well as hue.
STATUSES = {  # status -> (legend, colour); metrics.md section 4
    "achieved": ("Achieved: full year at or above target", BLUE),
    "on_track": ("On track: at or above the target pro-rated to the quarters reported", SKY),
    "at_risk": ("At risk: within 10% below target", YELLOW),
    "off_track": ("Off track: more than 10% below target", VERMILLION),
    "no_data": ("No data yet", LIGHT_GREY),
    "suppressed": ("c: suppressed (confidential)", WHITE),
}
INDICATOR_SHORT = {  # column headers of the progress grid, two words at most
    "domestic_share": "Domestic share",
    "localisation": "Localisation",
    "domestic_technology_share": "Domestic technology",
    "leadership_share": "Leadership share",
    "facilities_launched": "Facilities launched",
    "investment": "Investment",
    "jobs_created": "Jobs created",
    "specialists_trained": "Specialists trained",
    "sovereignty_index": "Sovereignty index",
}
TOP_REGIONS = 15

# Layout, in SVG user units: every chart is W wide and scales down with the page.
W = 960
LABEL_WIDTH = 320  # room for the longest area or region name at 12px
FONT = 12


# --- reference names ------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    areas: dict[str, tuple[str, str]]  # project_code -> (name_en, name_ru), in seed order
    regions: dict[str, tuple[str, str]]  # region_code -> (name_en, federal_district)
    indicators: dict[str, tuple[str, str]]  # indicator_code -> (name_en, unit), in seed order
    districts: tuple[str, ...]  # sorted, so a district keeps its colour from release to release
    countries: dict[str, str]  # country_code -> name_en

    def area(self, code: str) -> str:
        return "Russia: all areas" if code == "ALL" else self.areas.get(code, (code,))[0]

    def area_order(self, codes) -> list[str]:
        """Russia as a whole first, then the areas in seed order, then unknown codes."""
        known = [code for code in ("ALL", *self.areas) if code in codes]
        return known + sorted(set(codes) - set(known))


@cache
def names() -> Names:
    def seed(name: str) -> list[dict]:
        return pl.read_csv(SEEDS / f"{name}.csv", infer_schema=False).to_dicts()

    regions = {r["region_code"]: (r["name_en"], r["federal_district"]) for r in seed("regions")}
    return Names(
        areas={r["project_code"]: (r["name_en"], r["name_ru"]) for r in seed("priority_areas")},
        regions=regions,
        indicators={r["indicator_code"]: (r["name_en"], r["unit"]) for r in seed("indicators")},
        districts=tuple(sorted({district for _, district in regions.values()})),
        countries={c["country_code"]: c["name_en"] for c in seed("countries")},
    )


# --- values ---------------------------------------------------------------------------------


def _rows(extracts: dict[str, pl.DataFrame], name: str, order: list[str]) -> list[dict]:
    """An extract's rows in a fixed order; a missing or empty extract has none."""
    frame = extracts.get(name)
    if frame is None or frame.height == 0:
        return []
    return frame.sort(order, nulls_last=True).to_dicts()


def _num(row: dict, column: str) -> float | None:
    value = row.get(column)
    return None if value is None else float(value)  # Decimal money columns become floats


def _suppressed(row: dict, column: str) -> bool:
    return row.get(f"{column}_flag") == FLAG


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit.startswith("index"):
        return f"{value:.1f}"
    if unit == "thousand RUB":
        return f"{value:,.0f} thousand roubles"
    return f"{value:,.0f}"  # counts


def _show(row: dict, column: str, unit: str) -> str:
    return "c" if _suppressed(row, column) else _fmt(_num(row, column), unit)


def _latest_year(rows: list[dict], has_data=lambda row: True) -> int | None:
    years = [row["year"] for row in rows if has_data(row)]
    return max(years) if years else None


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


# --- SVG building blocks --------------------------------------------------------------------


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


@dataclass(frozen=True)
class Scale:
    """Linear map from data (d0..d1) to SVG coordinates (r0..r1)."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, value: float) -> float:
        span = self.d1 - self.d0 or 1.0
        return self.r0 + (value - self.d0) / span * (self.r1 - self.r0)


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float


def _mark(tag: str, tip: str, **attrs) -> str:
    attributes = " ".join(f'{key.replace("_", "-")}="{_esc(value)}"' for key, value in attrs.items())
    return f'<{tag} class="mark" {attributes}><title>{_esc(tip)}</title></{tag}>'


def _text(x: float, y: float, content: str, anchor: str = "start", css: str = "", tip: str = "") -> str:
    title = f"<title>{_esc(tip)}</title>" if tip else ""
    klass = f' class="{css}"' if css else ""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{klass}>{title}{_esc(content)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, css: str) -> str:
    return f'<line class="{css}" x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}"/>'


def _nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top` (steps of 1, 2, 2.5 or 5 × 10^k)."""
    top = max(top, 1.0)
    magnitude = 10 ** math.floor(math.log10(top / count))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= top / count)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _axis(orient: str, scale: Scale, ticks: list[tuple[float, str]], box: Box, title: str = "") -> str:
    """An axis with gridlines across the plot box: 'x' along the bottom, 'y' along the left."""
    parts = []
    for value, label in ticks:
        at = scale(value)
        if orient == "x":
            parts += [_line(at, box.top, at, box.bottom, "grid"), _text(at, box.bottom + 15, label, "middle", "tick")]
        else:
            parts += [_line(box.left, at, box.right, at, "grid"), _text(box.left - 5, at + 4, label, "end", "tick")]
    if orient == "x":
        parts.append(_line(box.left, box.bottom, box.right, box.bottom, "axis"))
        if title:
            parts.append(_text((box.left + box.right) / 2, box.bottom + 34, title, "middle", "axis-title"))
    else:
        parts.append(_line(box.left, box.top, box.left, box.bottom, "axis"))
        if title:
            rotation = f"translate({_n(box.left - 42)},{_n((box.top + box.bottom) / 2)}) rotate(-90)"
            parts.append(f'<text class="axis-title" text-anchor="middle" transform="{rotation}">{_esc(title)}</text>')
    return "".join(parts)


def _legend(items: list[tuple[str, str]], top: float) -> tuple[str, float]:
    """Colour swatches with their labels, wrapped to the chart width; returns the SVG and its height."""
    parts, x, y = [], 10.0, top
    for label, colour in items:
        width = 22 + len(label) * FONT * 0.55
        if x > 10 and x + width > W - 10:
            x, y = 10.0, y + 20
        parts.append(f'<rect class="swatch" x="{_n(x)}" y="{_n(y)}" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(x + 17, y + 10, label))
        x += width + 16
    return "".join(parts), y + 20 - top


def _figure(chart_id: str, title: str, how_to_read: str, height: float, body: str) -> str:
    svg = (
        f'<svg data-chart="{chart_id}" role="img" aria-label="{_esc(title + ". " + how_to_read)}" '
        f'viewBox="0 0 {W} {_n(height)}" width="{W}" height="{_n(height)}">'
        f"<title>{_esc(title)}</title>{body}</svg>"
    )
    caption = f"<figcaption><b>How to read:</b> {_esc(how_to_read)}</figcaption>"
    return f'<figure id="{chart_id}"><h3>{_esc(title)}</h3>{svg}{caption}</figure>'


def _no_data(chart_id: str, title: str, how_to_read: str) -> str:
    return _figure(chart_id, title, how_to_read, 60, _text(W / 2, 35, "No data in this release", "middle"))


def _titled(title: str, year: int | None) -> str:
    return f"{title}, {year}" if year else title


def _on(fill: str) -> str:
    """The class of text drawn on a fill."""
    return "in-dark" if fill in DARK_FILLS else "in-light"


# --- chart 1: the sovereignty index with its uncertainty ---------------------------------------


def _index_chart(index_rows: list[dict], uncertainty_rows: list[dict], ref: Names) -> str:
    chart_id, title = "sovereignty-index", "Technological sovereignty index by area and year"
    how = (
        "Each dot is an area's index for one year (0 = fully dependent, 100 = fully sovereign); the horizontal "
        "line around it spans the 5th to 95th percentile of the index over 1,000 random weightings of its four "
        "pillars, so a long line means the result depends on how the pillars are weighted (Russia as a whole has "
        "no such line)."
    )
    if not index_rows and not uncertainty_rows:
        return _no_data(chart_id, title, how)
    years = sorted({row["year"] for row in index_rows + uncertainty_rows})
    colours = {year: YEAR_COLOURS[i % len(YEAR_COLOURS)] for i, year in enumerate(years)}
    legend, legend_height = _legend([(str(year), colours[year]) for year in years], 10)
    index = {(row["project_code"], row["year"]): row for row in index_rows}
    spread = {(row["project_code"], row["year"]): row for row in uncertainty_rows}
    areas = ref.area_order({code for code, _ in index} | {code for code, _ in spread})
    row_height = 14 * len(years) + 12
    box = Box(LABEL_WIDTH, 20 + legend_height, W - 30, 20 + legend_height + row_height * len(areas))
    x = Scale(0, 100, box.left, box.right)
    parts = [legend, _axis("x", x, [(v, str(v)) for v in range(0, 101, 20)], box, "Sovereignty index (index points, 0-100)")]
    for i, code in enumerate(areas):
        top = box.top + i * row_height
        parts.append(_text(box.left - 8, top + row_height / 2 + 4, ref.area(code), "end", "label"))
        for j, year in enumerate(years):
            cell, band = index.get((code, year), {}), spread.get((code, year), {})
            parts.append(_index_point(ref.area(code), year, cell, band, x, top + 12 + 14 * j, colours[year]))
    return _figure(chart_id, title, how, box.bottom + 50, "".join(parts))


def _index_point(area: str, year: int, row: dict, spread: dict, x: Scale, y: float, colour: str) -> str:
    """One area-year: the whisker from p05 to p95, the dot, or why there is no dot."""
    if not row and not spread:
        return ""  # the area did not exist that year
    label = f"{area}, {year}"
    value, low, high = _num(row, "sovereignty_index"), _num(spread, "index_p05"), _num(spread, "index_p95")
    parts = []
    if low is not None and high is not None:
        path = (
            f"M{_n(x(low))} {_n(y - 4)}V{_n(y + 4)}M{_n(x(low))} {_n(y)}H{_n(x(high))}"
            f"M{_n(x(high))} {_n(y - 4)}V{_n(y + 4)}"
        )
        tip = f"{label}: 5th-95th percentile {low:.1f} to {high:.1f}"
        parts.append(_mark("path", tip, d=path, stroke=colour, fill="none", stroke_width="2"))
    if value is None:
        return "".join(parts) + _text(x(0) + 4, y + 4, f"{year}: {_index_gap(row)}", css="note")
    rank, quarters = _num(spread, "median_rank"), row.get("quarters_reported")
    tip = f"{label}: index {value:.1f}" + (f", median rank {rank:.0f}" if rank is not None else "")
    tip += f" (from {quarters} of 4 quarters)" if quarters is not None and quarters < 4 else ""
    return "".join(parts) + _mark("circle", tip, cx=_n(x(value)), cy=_n(y), r="5", fill=colour, stroke=WHITE)


def _index_gap(row: dict) -> str:
    """Why an index is not shown, with the quarters whose reports are missing when that is the cause."""
    if _suppressed(row, "sovereignty_index"):
        return "c (suppressed)"
    incomplete = row.get(INCOMPLETE_QUARTERS)
    because = f" ({'; '.join(incomplete)})" if incomplete else ""
    if row.get("missing_pillars"):
        return f"not computed: no {row['missing_pillars']} data{because}"
    if row.get("areas_in_index") == 0:
        return f"not computed: no area has an index{because}"
    return "no data"


INCOMPLETE_QUARTERS = "incomplete_quarters"  # added to the index rows by _with_incomplete_quarters


def _with_incomplete_quarters(index_rows: list[dict], area_rows: list[dict]) -> list[dict]:
    """The index rows, each with the quarters of its year whose reports are missing (the area's,
    or every area's for ALL), in words: '2025-Q2 has no customs (trade) file'. A yearly pillar is
    computed from complete quarters only, so these say why an index is not computed."""
    missing: dict[tuple[str, int], list[str]] = {}
    for row in area_rows:
        what = [text for column, text in (("producer_reports_complete", "producer reports"),
                                          ("trade_files_complete", "customs (trade) file"))
                if row.get(column) is False]
        if what:
            text = f"{row['period']} has no {' and no '.join(what)}"
            for code in (row["project_code"], "ALL"):
                if text not in missing.setdefault((code, row["year"]), []):
                    missing[(code, row["year"])].append(text)
    return [{**row, INCOMPLETE_QUARTERS: missing.get((row["project_code"], row["year"]), [])} for row in index_rows]


# --- chart 2: import dependency over quarters --------------------------------------------------


def _dependency_chart(rows: list[dict], ref: Names) -> str:
    chart_id, title = "import-dependency", "Import dependency by area and quarter"
    how = (
        "Each panel is one area; the line shows imports as a share of apparent consumption (output + imports − "
        "exports) per quarter, so lower is better. The dashed line at 50% is one of the two conditions of a "
        "strategic dependency. A gap means no data for that quarter (e.g. the customs file has not arrived); "
        "'c' marks a suppressed figure."
    )
    if not rows:
        return _no_data(chart_id, title, how)
    periods = sorted({(row["year"], row["quarter"]) for row in rows})
    values = [v for row in rows if (v := _num(row, "import_dependency")) is not None]
    y_max = math.ceil(max([1.0, *values]) * 4) / 4  # above 100% when exports exceed output
    by_area: dict[str, dict[tuple[int, int], dict]] = {}
    for row in rows:
        by_area.setdefault(row["project_code"], {})[(row["year"], row["quarter"])] = row
    areas = ref.area_order(by_area)
    legend, legend_height = _legend([("Import dependency", BLUE), ("c: suppressed", WHITE)], 10)
    panel_w, panel_h, columns = (W - 20) / 3, 190, 3
    parts = [legend]
    for k, code in enumerate(areas):
        left, top = 10 + (k % columns) * panel_w, 20 + legend_height + (k // columns) * panel_h
        parts.append(_text(left + 10, top + 12, ref.area(code), css="panel-title"))
        box = Box(left + 60, top + 22, left + panel_w - 15, top + panel_h - 45)
        parts.append(_dependency_panel(ref.area(code), by_area[code], periods, box, y_max))
    height = 20 + legend_height + math.ceil(len(areas) / columns) * panel_h
    return _figure(chart_id, title, how, height, "".join(parts))


def _dependency_panel(area: str, cells: dict, periods: list[tuple[int, int]], box: Box, y_max: float) -> str:
    x = Scale(0, max(len(periods) - 1, 1), box.left + 8, box.right - 8)
    y = Scale(0, y_max, box.bottom, box.top)
    y_ticks = [(v / 4, f"{v * 25}%") for v in range(0, int(y_max * 4) + 1, 2)]
    x_ticks = [(float(i), f"Q{quarter}") for i, (_, quarter) in enumerate(periods)]
    parts = [_axis("y", y, y_ticks, box, "% of consumption"), _axis("x", x, x_ticks, box)]
    for i, (year, _) in enumerate(periods):
        if i == 0 or periods[i - 1][0] != year:  # the year under its first quarter shown
            parts.append(_text(x(i), box.bottom + 28, str(year), "middle", "tick"))
    parts.append(_line(box.left, y(0.5), box.right, y(0.5), "threshold"))
    dots, path, pen_down = [], [], False
    for i, period in enumerate(periods):
        row = cells.get(period, {})
        value, label = _num(row, "import_dependency"), f"{area}, {period[0]} Q{period[1]}"
        if value is None:
            pen_down = False  # a missing quarter breaks the line rather than bridging it
            if _suppressed(row, "import_dependency"):
                dots.append(_text(x(i), box.bottom - 4, "c", "middle", "suppressed", f"{label}: suppressed"))
            continue
        path.append(f"{'L' if pen_down else 'M'}{_n(x(i))} {_n(y(value))}")
        pen_down = True
        tip = f"{label}: import dependency {value * 100:.1f}%"
        dots.append(_mark("circle", tip, cx=_n(x(i)), cy=_n(y(value)), r="3.5", fill=BLUE))
    if path:  # drawn under the dots
        tip = f"{area}: import dependency by quarter"
        parts.append(_mark("path", tip, d="".join(path), stroke=BLUE, fill="none", stroke_width="2"))
    return "".join(parts + dots)


# --- chart 3: leadership bands ---------------------------------------------------------------


def _leadership_chart(rows: list[dict], ref: Names) -> str:
    chart_id = "leadership-bands"
    how = (
        "Each bar counts an area's products by how the best domestic product compares with the best foreign "
        "analogue on its technical parameters (ratio of 1.0 = equal). The figure on the right is the share of the "
        "assessed output made by leader products; 'c' means it is suppressed."
    )
    year = _latest_year(rows)
    title = _titled("Technical level against the best foreign analogue", year)
    by_area = {row["project_code"]: row for row in rows if row["year"] == year}
    if not by_area:
        return _no_data(chart_id, title, how)
    areas = ref.area_order(by_area)
    counts = {code: {band: int(by_area[code].get(f"products_{band}") or 0) for band in BANDS} for code in areas}
    ticks = _nice_ticks(max(sum(c.values()) for c in counts.values()))
    legend, legend_height = _legend(list(BANDS.values()), 10)
    box = Box(LABEL_WIDTH, 40 + legend_height, W - 150, 40 + legend_height + 26 * len(areas))
    x = Scale(0, ticks[-1], box.left, box.right)
    parts = [legend, _axis("x", x, [(t, f"{t:g}") for t in ticks], box, "Number of products")]
    parts.append(_text(box.right + 10, box.top - 8, "Leader share of output", css="label"))
    for i, code in enumerate(areas):
        y = box.top + 26 * i
        parts.append(_text(box.left - 8, y + 17, ref.area(code), "end", "label"))
        parts.append(_band_bar(f"{ref.area(code)}, {year}", counts[code], x, y + 4))
        parts.append(_text(box.right + 10, y + 17, _show(by_area[code], "leadership_share", "share"), css="value"))
    return _figure(chart_id, title, how, box.bottom + 50, "".join(parts))


def _band_bar(label: str, counts: dict[str, int], x: Scale, y: float) -> str:
    parts, start = [], 0
    for band, count in counts.items():
        if not count:
            continue
        left, right = x(start), x(start + count)
        legend, colour = BANDS[band]
        tip = f"{label}: {count} product(s). {legend}"
        parts.append(_mark("rect", tip, x=_n(left), y=_n(y), width=_n(right - left), height="18", fill=colour))
        if right - left > 16:
            parts.append(_text((left + right) / 2, y + 13, str(count), "middle", _on(colour)))
        start += count
    return "".join(parts)


# --- chart 4: project progress ---------------------------------------------------------------


def _progress_chart(rows: list[dict], ref: Names) -> str:
    chart_id = "project-progress"
    how = (
        "Each cell is one indicator of one national project in the year shown. The number is the actual value "
        "as a percentage of the target (of the target pro-rated to the quarters reported for flows such as "
        "investment); the colour is the status. Hover a cell for the actual value and the target in their units."
    )
    # the latest year with an outcome: targets are published for years that have no data yet
    year = _latest_year(rows, lambda row: row.get("status") not in (None, "no_data") or _suppressed(row, "status"))
    title = _titled("National-project progress against targets", year)
    cells = {(row["project_code"], row["indicator_code"]): row for row in rows if row["year"] == year}
    if not cells:
        return _no_data(chart_id, title, how)
    areas = ref.area_order({code for code, _ in cells})
    present = {indicator for _, indicator in cells}
    indicators = [i for i in ref.indicators if i in present] + sorted(present - set(ref.indicators))
    legend, legend_height = _legend(list(STATUSES.values()), 10)
    cell_w, top = (W - 10 - LABEL_WIDTH) / len(indicators), 50 + legend_height
    parts = [legend]
    for j, indicator in enumerate(indicators):
        for k, word in enumerate(INDICATOR_SHORT.get(indicator, indicator).split(" ", 1)):  # two header lines
            parts.append(_text(LABEL_WIDTH + cell_w * (j + 0.5), top - 20 + 13 * k, word, "middle", "tick"))
    for i, code in enumerate(areas):
        y = top + 26 * i
        parts.append(_text(LABEL_WIDTH - 8, y + 17, ref.area(code), "end", "label"))
        for j, indicator in enumerate(indicators):
            if (code, indicator) in cells:
                cell = _progress_cell(ref, ref.area(code), cells[(code, indicator)], LABEL_WIDTH + cell_w * j, y, cell_w)
                parts.append(cell)
    return _figure(chart_id, title, how, top + 26 * len(areas) + 10, "".join(parts))


def _progress_cell(ref: Names, area: str, row: dict, x: float, y: float, width: float) -> str:
    status = "suppressed" if _suppressed(row, "status") else row.get("status") or "no_data"
    colour = STATUSES.get(status, ("", LIGHT_GREY))[1]
    name, unit = ref.indicators.get(row["indicator_code"], (row["indicator_code"], "count"))
    target, compared = _num(row, "target_value"), _num(row, "compared_target")
    prorated = (
        f" (pro-rated to {row.get('quarters_reported')} quarters: {_fmt(compared, unit)})"
        if compared not in (None, target) else ""
    )
    actual = _show(row, "actual_value", unit)
    tip = f"{area}: {name}, {row['year']}: actual {actual} vs target {_fmt(target, unit)}{prorated}; {status.replace('_', ' ')}"
    rect = _mark("rect", tip, x=_n(x + 1), y=_n(y + 1), width=_n(width - 2), height="24", fill=colour, stroke=GREY)
    return rect + _text(x + width / 2, y + 17, _show(row, "achievement", "share"), "middle", _on(colour))


# --- chart 5: regional ranking ---------------------------------------------------------------


def _regional_chart(extracts: dict[str, pl.DataFrame], ref: Names) -> str:
    chart_id = "regional-ranking"
    how = (
        f"The {TOP_REGIONS} regions with the most investment in the priority areas in the year shown, summed over "
        "areas and the quarters the region reported (* marks a region that reported fewer than four quarters); "
        "the colour is the federal district. Output is not ranked: many regional output figures are suppressed "
        "to protect enterprise confidentiality."
    )
    year, rows = _region_ranking(extracts.get("regional_development"))
    title = _titled("Top regions by investment", year)
    if not rows:
        return _no_data(chart_id, title, how)
    shown = {ref.regions.get(row["region_code"], ("", ""))[1] for row in rows}
    colours = {d: DISTRICT_COLOURS[i % len(DISTRICT_COLOURS)] for i, d in enumerate(ref.districts) if d in shown}
    legend, legend_height = _legend([(f"{d} federal district", colour) for d, colour in colours.items()], 10)
    ticks = _nice_ticks(rows[0]["investment"])
    box = Box(LABEL_WIDTH, 20 + legend_height, W - 110, 20 + legend_height + 24 * len(rows))
    x = Scale(0, ticks[-1], box.left, box.right)
    parts = [legend, _axis("x", x, [(t, f"{t:,.0f}") for t in ticks], box, "Investment, thousand roubles")]
    for i, row in enumerate(rows):
        name, district = ref.regions.get(row["region_code"], (row["region_code"], ""))
        label = f"{name} ({district})" if district else name
        y, end = box.top + 24 * i, x(row["investment"])
        partial = row["quarters"] < 4
        tip = (
            f"{label}, {year}: investment {_fmt(row['investment'], 'thousand RUB')}, {row['facilities']:,} "
            f"facilities launched, {row['jobs']:,} jobs created, {row['specialists']:,} specialists trained"
            + (f"; reported {row['quarters']} of 4 quarters" if partial else "")
        )
        parts.append(_text(box.left - 8, y + 16, label, "end", "label"))
        bar = dict(x=_n(box.left), y=_n(y + 4), width=_n(end - box.left), height="16", stroke="#333333", stroke_width="0.5")
        parts.append(_mark("rect", tip, fill=colours.get(district, GREY), **bar))
        parts.append(_text(end + 5, y + 16, f"{row['investment']:,.0f}" + ("*" if partial else ""), css="value"))
    return _figure(chart_id, title, how, box.bottom + 50, "".join(parts))


def _region_ranking(frame: pl.DataFrame | None) -> tuple[int | None, list[dict]]:
    """The latest year's top regions by reported investment (regional-report sums, never suppressed)."""
    if frame is None or frame.height == 0:
        return None, []
    reported = frame.filter(pl.col("investment").is_not_null())
    if not reported.height:
        return None, []
    year = reported["year"].max()
    assert isinstance(year, int)  # the regional reports' year column is an integer
    ranking = (
        reported.filter(pl.col("year") == year)
        .group_by("region_code")
        .agg(
            investment=pl.col("investment").sum().cast(pl.Float64),  # summed as exact decimals: order-free
            facilities=pl.col("facilities_launched").sum(),
            jobs=pl.col("jobs_created").sum(),
            specialists=pl.col("specialists_trained").sum(),
            quarters=pl.col("quarter").n_unique(),
        )
        .sort(["investment", "region_code"], descending=[True, False])
        .head(TOP_REGIONS)
    )
    return year, ranking.to_dicts()


# --- chart 6: exposure to partner countries ----------------------------------------------------

TOP_PARTNERS = 6  # countries with a colour of their own; the rest are "other countries"
PARTNER_COLOURS = (BLUE, ORANGE, GREEN, PURPLE, VERMILLION, SKY)


def _exposure_chart(rows: list[dict], ref: Names) -> str:
    chart_id = "partner-exposure"
    how = (
        "Each bar is one area's imports in the latest quarter with a customs file, split by the country they came "
        "from (the six largest partners overall have a colour each, the rest are grey). The figure on the right is "
        "the share of the area's consumption supplied by its largest partner: what would go unmet if that "
        "partner's imports stopped, with no substitute and no stocks; 'c' means it is suppressed."
    )
    areas_rows = [row for row in rows if row["level"] == "area" and row["partner_type"] == "country"]
    period = max((row["period"] for row in areas_rows), default=None)
    title = f"Imports by partner country, {period}" if period else "Imports by partner country"
    latest = [row for row in areas_rows if row["period"] == period and (_num(row, "import_share") or 0) > 0]
    if not latest:
        return _no_data(chart_id, title, how)
    totals: dict[str, float] = {}
    for row in latest:
        totals[row["partner_code"]] = totals.get(row["partner_code"], 0.0) + (_num(row, "partner_imports") or 0.0)
    top = sorted(totals, key=lambda code: (-totals[code], code))[:TOP_PARTNERS]
    colours = dict(zip(top, PARTNER_COLOURS))
    by_area: dict[str, list[dict]] = {}
    for row in latest:
        by_area.setdefault(row["project_code"], []).append(row)
    areas = ref.area_order(by_area)
    legend_items = [(ref.countries.get(code, code), colours[code]) for code in top] + [("Other countries", GREY)]
    legend, legend_height = _legend(legend_items, 10)
    box = Box(LABEL_WIDTH, 40 + legend_height, W - 150, 40 + legend_height + 26 * len(areas))
    x = Scale(0, 1, box.left, box.right)
    parts = [legend, _axis("x", x, [(t / 4, f"{t * 25}%") for t in range(5)], box, "Share of the area's imports")]
    parts.append(_text(box.right + 10, box.top - 8, "Top partner, % of use", css="label"))
    for i, code in enumerate(areas):
        y = box.top + 26 * i
        parts.append(_text(box.left - 8, y + 17, ref.area(code), "end", "label"))
        parts.append(_partner_bar(ref, f"{ref.area(code)}, {period}", by_area[code], colours, x, y + 4))
        largest = min(by_area[code], key=lambda row: (-(_num(row, "partner_imports") or 0), row["partner_code"]))
        value = _show(largest, "consumption_share", "share")
        parts.append(_text(box.right + 10, y + 17, f"{largest['partner_code']} {value}", css="value"))
    return _figure(chart_id, title, how, box.bottom + 50, "".join(parts))


def _partner_bar(ref: Names, label: str, rows: list[dict], colours: dict[str, str], x: Scale, y: float) -> str:
    coloured = sorted((row for row in rows if row["partner_code"] in colours), key=lambda row: list(colours).index(row["partner_code"]))
    other = sum(_num(row, "import_share") or 0 for row in rows if row["partner_code"] not in colours)
    segments = [(ref.countries.get(row["partner_code"], row["partner_code"]), _num(row, "import_share") or 0,
                 colours[row["partner_code"]]) for row in coloured] + [("Other countries", other, GREY)]
    parts, start = [], 0.0
    for name, share, colour in segments:
        if share <= 0:
            continue
        left, right = x(start), x(start + share)
        parts.append(_mark("rect", f"{label}: {name} {share * 100:.1f}% of imports", x=_n(left), y=_n(y),
                           width=_n(right - left), height="18", fill=colour))
        if right - left > 34:
            parts.append(_text((left + right) / 2, y + 13, f"{share * 100:.0f}%", "middle", _on(colour)))
        start += share
    return "".join(parts)


# --- what changed: the risk signals -----------------------------------------------------------

SEVERITY_ORDER = {"high": 0, "medium": 1}


def _what_changed(signal_rows: list[dict], latest_period: str | None) -> str:
    """The signals of the latest quarter (and of its year, for the yearly ones), high first; the
    earlier ones folded below."""
    latest_year = latest_period[:4] if latest_period else None
    latest = [row for row in signal_rows if row["period"] in (latest_period, latest_year)]
    earlier = [row for row in signal_rows if row not in latest]

    def table(rows: list[dict], caption: str) -> str:
        ordered = sorted(rows, key=lambda row: (SEVERITY_ORDER.get(row["severity"], 9), row["signal_type"], row["code"],
                                                row.get("subject") or ""))
        body = [[row["severity"], row["period"], row["message"]] for row in ordered]
        return _table(caption, ["Severity", "Period", "What changed"], body, "signals")

    high = sum(1 for row in latest if row["severity"] == "high")
    summary = (
        f"{len(latest)} signal(s) in {latest_period}, {high} of high severity."
        if latest else f"No signal in {latest_period or 'this release'}: nothing crossed a threshold."
    )
    parts = [f'<p class="signal-summary">{_esc(summary)}</p>']
    if latest:
        parts.append(table(latest, f"Signals of {latest_period}"))
    if earlier:
        parts.append(f"<details><summary>{len(earlier)} earlier signal(s)</summary>{table(earlier, 'Earlier signals')}</details>")
    how = (
        "A signal is a change past a threshold between two periods that both have the data (a missing report is a "
        "data-quality warning instead), or a report that is late. Signals about confidential figures are not "
        "published. Thresholds and rules: docs/early_warning.md."
    )
    return f'<section id="what-changed"><h2>What changed</h2>{"".join(parts)}<p class="note">{_esc(how)}</p></section>'


# --- headline, explanations and data quality --------------------------------------------------


def _headline(
    index_rows: list[dict], uncertainty_rows: list[dict], product_rows: list[dict], manifest: dict, ref: Names
) -> str:
    year = _latest_year(index_rows)
    cards = (
        _national_card(index_rows, ref)
        + _card(*_strategic_dependencies(product_rows))
        + _card("Release", manifest.get("release_id", "–"), f"created {manifest.get('created_at', '–')}", "release")
    )
    table = _area_table(index_rows, uncertainty_rows, year, ref)
    return f'<section id="headline"><h2>Headline figures</h2><div class="cards">{cards}</div>{table}</section>'


def _card(title: str, value: str, note: str, css: str = "", why: str = "") -> str:
    why_line = f'<div class="card-why">{_esc(why)}</div>' if why else ""
    return (
        f'<div class="card {css}"><div class="card-title">{_esc(title)}</div>'
        f'<div class="card-value">{_esc(value)}</div><div class="card-note">{_esc(note)}</div>{why_line}</div>'
    )


def _national_card(index_rows: list[dict], ref: Names) -> str:
    """Russia's index of the latest year in which it is published, and why the years after it are not
    shown: the card holds a figure or says why there is none, never a bare 'c'."""
    title, note = "Sovereignty index, Russia", "index points out of 100; all areas, weighted by consumption"
    national = sorted((row for row in index_rows if row["project_code"] == "ALL"), key=lambda row: row["year"])
    published = [row for row in national if _num(row, "sovereignty_index") is not None]
    shown = published[-1] if published else None
    later = [row for row in national if shown is None or row["year"] > shown["year"]]
    why = "; ".join(f"{row['year']} {_national_gap(row, index_rows, ref)}" for row in reversed(later))
    if shown is None:
        return _card(title, "not published" if national else "no data", note, why=why and f"Not shown: {why}.")
    return _card(f"{title}, {shown['year']}", f"{_num(shown, 'sovereignty_index'):.1f}", note,
                 why=why and f"Later years not shown: {why}.")


def _national_gap(row: dict, index_rows: list[dict], ref: Names) -> str:
    """Why Russia's index of a year is not published, in words."""
    if not _suppressed(row, "sovereignty_index"):
        gap = _index_gap(row)
        return "has no data" if gap == "no data" else f"is {gap}"
    hidden = [ref.area(other["project_code"]) for other in index_rows
              if other["year"] == row["year"] and other["project_code"] != "ALL" and _suppressed(other, "sovereignty_index")]
    if not hidden:
        return "is confidential (c)"
    return f"is confidential (c): it would give away the confidential index of {' and '.join(hidden)}"


def _index_value(row: dict) -> str:
    value = _num(row, "sovereignty_index")
    return f"{value:.1f}" if value is not None else _index_gap(row)


def _strategic_dependencies(rows: list[dict]) -> tuple[str, str, str]:
    """Products flagged as strategic dependencies in the latest quarter with published flags."""
    known = [row for row in rows if row.get("strategic_dependency") is not None or _suppressed(row, "strategic_dependency")]
    if not known:
        return "Strategic dependencies", "no data", ""
    year, quarter = max((row["year"], row["quarter"]) for row in known)
    cells = [row for row in known if (row["year"], row["quarter"]) == (year, quarter)]
    flagged = sum(1 for row in cells if row.get("strategic_dependency"))
    hidden = sum(1 for row in cells if _suppressed(row, "strategic_dependency"))
    note = (f"of the {len(cells) - hidden} products with published figures import more than half of what is consumed, "
            "mostly from few countries")
    note += (f"; for {hidden} more product{'s' if hidden > 1 else ''} the figures are confidential (c), so whether "
             f"{'they are strategic dependencies' if hidden > 1 else 'it is a strategic dependency'} is not published") if hidden else ""
    return f"Strategic dependencies, {year} Q{quarter}", str(flagged), note


def _area_table(index_rows: list[dict], uncertainty_rows: list[dict], year: int | None, ref: Names) -> str:
    latest = {row["project_code"]: row for row in index_rows if row["year"] == year}
    spread = {row["project_code"]: row for row in uncertainty_rows if row["year"] == year}
    codes = set(latest) | set(spread)
    if not codes:
        return ""
    rows = [
        [
            ref.area(code) + (f" ({ref.areas[code][1]})" if code in ref.areas else ""),
            _index_value(latest.get(code, {})),
            _interval(spread.get(code, {})),
            _show(spread.get(code, {}), "median_rank", "count"),
        ]
        for code in ref.area_order(codes)
    ]
    header = ["Priority area", "Index (0-100)", "5th – 95th percentile", "Median rank"]
    return _table(f"Sovereignty index by priority area, {year}", header, rows, "numbers")


def _interval(spread: dict) -> str:
    if _suppressed(spread, "index_p05"):
        return "c"
    low, high = _num(spread, "index_p05"), _num(spread, "index_p95")
    return "no data" if low is None or high is None else f"{low:.1f} – {high:.1f}"


def _explanations(manifest: dict) -> str:
    disclosure = manifest.get("disclosure") or {}
    rule = (
        f" (fewer than {disclosure['min_producers']} producers, or one producer with more than "
        f"{disclosure['dominance_share'] * 100:.0f}% of the output)"
        if {"min_producers", "dominance_share"} <= set(disclosure) else ""
    )
    interval = (
        f", enough that the published figures cannot narrow it to within ±{disclosure['protection'] * 100:.0f}% "
        "of its value" if disclosure.get("protection") else ""
    )
    items = {
        "Sovereignty index": "100 × the weighted geometric mean of four shares (pillars): the domestic share of "
        "consumption, the localisation of components, the output made with domestic technology and the share of "
        "output at the level of the best foreign analogue. In index points from 0 to 100; higher is more "
        "sovereign. An area missing a pillar has no index.",
        "Uncertainty band": "The range from the 5th to the 95th percentile of the index recomputed with 1,000 "
        "random weightings of the pillars (a flat Dirichlet distribution). The median rank is the area's median "
        "position over those weightings.",
        "Import dependency": "Imports divided by apparent consumption (output + imports − exports) in the same "
        "quarter.",
        "Strategic dependency": "A product whose import dependency is above 50% and whose imports are "
        "concentrated on few countries (Herfindahl index above 0.4).",
        "Leadership bands": "The best domestic product's technical level against the best foreign analogue: "
        "leader at least 1.0, comparable 0.8 to 1.0, lagging below 0.8; not assessed when no producer reported "
        "every parameter.",
        "c": "Suppressed to protect enterprise confidentiality: the figure comes from too few enterprises or is "
        f"dominated by one{rule}. Other figures are suppressed with it{interval}. The report "
        "never estimates them.",
        "Partner exposure": "The share of a product's or area's consumption supplied by imports from one partner "
        "country or group of countries (such as the EAEU). If those imports stopped, with no substitute and no "
        "stocks, that share would go unmet.",
        "Money": "Thousands of roubles.",
    }
    body = "".join(f"<dt>{_esc(term)}</dt><dd>{_esc(text)}</dd>" for term, text in items.items())
    return f'<section id="explanations"><h2>What the figures mean</h2><dl>{body}</dl></section>'


def _data_quality(manifest: dict) -> str:
    warnings = "".join(f"<li>{_esc(w)}</li>" for w in manifest.get("warnings") or []) or "<li>No warnings.</li>"
    return (
        '<section id="data-quality"><h2>Data quality and provenance</h2>'
        f'<h3>Warnings</h3><ul class="warnings">{warnings}</ul>'
        f"{_validation_table(manifest.get('validations') or [])}{_extract_table(manifest.get('extracts') or {})}"
        f"{_load_table(manifest.get('loads') or [])}"
        f"<p>Code version: <code>{_esc(manifest.get('code_version', '–'))}</code></p></section>"
    )


def _table(caption: str, header: list[str], rows: list[list], css: str = "") -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    # a header of its own, which print repeats on every page a long table runs onto
    return f'<table class="{css}"><caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _validation_table(validations: list[dict]) -> str:
    # the publisher names the count expectations_evaluated; the shorter name is accepted too
    rows = [
        [v.get("suite", ""), v.get("expectations_evaluated", v.get("evaluated", "")), "passed" if v.get("success") else "FAILED"]
        for v in validations
    ]
    return _table("Quality checks run before publication", ["Suite", "Expectations evaluated", "Result"], rows)


def _extract_table(extracts: dict) -> str:
    rows = [
        [name, f"{meta.get('rows', 0):,}", f"{meta.get('suppressed_cells', 0):,}", str(meta.get("sha256", ""))[:16]]
        for name, meta in sorted(extracts.items())  # manifest.json sorts its keys: so does the report
    ]
    return _table("Published extracts", ["Extract", "Rows", "Suppressed cells (c)", "sha256 (start)"], rows)


def _load_table(loads: list[dict]) -> str:
    rows = [
        [load.get("load_id", ""), load.get("kind", ""), f"{load.get('rows_loaded') or 0:,}", _periods(load.get("periods"))]
        for load in loads
    ]
    table = _table("Loads included in this release", ["Load", "Kind", "Rows", "Periods"], rows)
    return f"<details><summary>{len(loads)} loads included</summary>{table}</details>"


def _periods(periods) -> str:
    return ", ".join(map(str, periods)) if isinstance(periods, list) else str(periods or "")


# --- the page ---------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0 auto;max-width:1000px;
padding:16px;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:2em}
h3{margin-bottom:4px}.subtitle{color:#555;margin-top:4px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ccc;border-radius:6px;padding:10px 14px;flex:1 1 250px}
.card-title,.card-note{font-size:.9em;color:#555}.card-value{font-size:1.8em;font-weight:bold;overflow-wrap:anywhere}
.card.release .card-value{font-size:1.1em}
table{border-collapse:collapse;margin:12px 0;font-size:.9em}caption{text-align:left;font-weight:bold;padding:4px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}.numbers td+td{text-align:right}
figure{margin:1.5em 0}figcaption{font-size:.9em;color:#333;max-width:900px}
svg{max-width:100%;height:auto;font-size:12px;font-family:inherit}
svg .grid{stroke:#e5e5e5}svg .axis{stroke:#333}svg .tick{fill:#444;font-size:11px}
svg .axis-title,svg .panel-title{fill:#222;font-weight:bold}svg .label,svg .value{fill:#222}
svg .note{fill:#555;font-style:italic;font-size:11px}svg .threshold{stroke:#666;stroke-dasharray:4 3}
svg .suppressed{fill:#555;font-weight:bold}svg .swatch{stroke:#666;stroke-width:.5}
svg .in-dark{fill:#fff;font-weight:bold}svg .in-light{fill:#000;font-weight:bold}svg .mark:hover{opacity:.75}
.signals td:first-child{font-weight:bold}.signal-summary{font-size:1.1em}.note{font-size:.9em;color:#555}
dt{font-weight:bold;margin-top:6px}dd{margin-left:1.5em}.warnings li{color:#8a4b00}
.card-why{font-size:.85em;color:#333;margin-top:4px;font-style:italic}
@page{size:A4;margin:15mm 12mm 15mm 12mm}
@media print{
body{max-width:none;padding:0;font-size:10pt;color:#000}
section+section{break-before:page}h2,h3,caption{break-after:avoid}
figure,.card,tr,dt,dd,li{break-inside:avoid}figure{margin:0 0 1em}
.card-title,.card-note,.card-why,.note,figcaption,.subtitle,.warnings li{color:#000}
td,th,.card{border-color:#000}svg .grid{stroke:#bbb}svg .tick,svg .note{fill:#000}
svg{print-color-adjust:exact;-webkit-print-color-adjust:exact}
details::details-content{content-visibility:visible;display:contents}summary{font-weight:bold;list-style:none}
}
"""


def render_report(extracts: dict[str, pl.DataFrame], manifest: dict) -> str:
    """The release's report.html as one self-contained HTML document."""
    ref = names()
    area_rows = _rows(extracts, "area_independence", ["year", "quarter", "project_code"])
    index_rows = _with_incomplete_quarters(_rows(extracts, "sovereignty_index", ["year", "project_code"]), area_rows)
    uncertainty_rows = _rows(extracts, "sovereignty_index_uncertainty", ["year", "project_code"])
    product_rows = _rows(extracts, "product_independence", ["year", "quarter", "okpd2"])
    charts = (
        _index_chart(index_rows, uncertainty_rows, ref)
        + _dependency_chart(area_rows, ref)
        + _leadership_chart(_rows(extracts, "area_leadership", ["year", "project_code"]), ref)
        + _progress_chart(_rows(extracts, "project_progress", ["year", "project_code", "indicator_code"]), ref)
        + _regional_chart(extracts, ref)
        + _exposure_chart(_rows(extracts, "partner_exposure", ["period", "level", "code", "partner_type", "partner_code"]), ref)
    )
    latest_period = max((row["period"] for row in area_rows), default=None)
    signals = _rows(extracts, "risk_signals", ["period", "level", "code", "signal_type", "subject"])
    release, created = _esc(manifest.get("release_id", "")), _esc(manifest.get("created_at", ""))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Technological sovereignty report, release {release}</title><style>{CSS}</style></head><body>"
        "<header><h1>Russia's technological sovereignty by priority area</h1>"
        f'<p class="subtitle">Release {release}, created {created}. '
        "Figures marked c are suppressed to protect enterprise confidentiality.</p></header>"
        f"{_what_changed(signals, latest_period)}"
        f"{_headline(index_rows, uncertainty_rows, product_rows, manifest, ref)}"
        f'<section id="charts"><h2>Charts</h2>{charts}</section>'
        f"{_explanations(manifest)}{_data_quality(manifest)}</body></html>\n"
    )
