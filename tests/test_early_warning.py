"""Early warning end to end (docs/early_warning.md): hand-built reports where each signal type is
expected with hand-computed values, a quiet case where none fires, and the alert webhook.

Five quarters (2025-Q1 to 2026-Q1) of radar apparatus 26.51.20, the only product of area UAS with
output or imports, made by three producers of 100 each (no cell is confidential). Through 2025
nothing changes; in 2026-Q1 (the "changes" case) China's imports jump, components are imported,
one producer turns to foreign technology, the technical level falls and region 77 does not
report. The "quiet" case repeats 2025-Q4 in 2026-Q1. The whole pipeline runs through
`sovereignty run`, with a webhook served on 127.0.0.1 by the test.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import polars as pl
import pytest

from pipelines.command_line.cli import main
from pipelines.publication.alerts import new_high_signals, post_signals
from tests.conftest import TODAY
from tests.reports import csv_bytes, deliver, row

A, B, C = "7707083893", "500100732259", "7710000015"
RADAR = "26.51.20"
QUARTERS_2025 = ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")
LATEST = "2026-Q1"


def producers(period: str, imported: str, b_origin: str) -> list[dict]:
    return [
        row("producer", period=period, inn=inn, region_code=region, okpd2=RADAR, output_value="100", export_value="0",
            components_cost="100", imported_components_cost=imported, technology_origin=origin, rnd_expenses="0")
        for inn, region, origin in ((A, "77", "domestic"), (B, "77", b_origin), (C, "50", "foreign"))
    ]


def trade(period: str, china: str) -> list[dict]:
    return [
        row("trade", period=period, okpd2=RADAR, partner_country="CN", flow="import", value=china),
        row("trade", period=period, okpd2=RADAR, partner_country="DE", flow="import", value="100"),
    ]


def regional(period: str, regions: tuple[str, ...]) -> list[dict]:
    return [row("regional", period=period, region_code=region, project_code="UAS") for region in regions]


def characteristics(year: str, values: tuple[str, str, str]) -> list[dict]:
    return [
        row("characteristics", year=year, inn=inn, okpd2=RADAR, parameter_code="P01", value=value)
        for inn, value in zip((A, B, C), values)
    ]


def deliver_reports(home: Path, changed: bool) -> None:
    """2025: Q 300, M 200 (CN 100, DE 100), C 500, components 300 of which 60 imported, two of
    three producers domestic; technical levels 1.1, 1.0, 0.9. 2026-Q1 changed: CN 500, imported
    180, producer B foreign, levels 0.7, 0.6, 0.5, region 77 missing; quiet: as 2025-Q4."""
    latest = (
        (producers(LATEST, "60", "foreign"), trade(LATEST, "500"), regional(LATEST, ("16",)), ("70", "60", "50"))
        if changed else
        (producers(LATEST, "20", "domestic"), trade(LATEST, "100"), regional(LATEST, ("16", "77")), ("110", "100", "90"))
    )
    reports = {
        "benchmarks": [row("benchmarks", okpd2=RADAR, parameter_code="P01", direction="higher", best_value="100",
                           valid_from="2024-01-01")],
        "targets": [row("targets", project_code="UAS", indicator_code="domestic_share", year=year, target_value="0.5")
                    for year in ("2025", "2026")],
        "producer": [r for q in QUARTERS_2025 for r in producers(q, "20", "domestic")] + latest[0],
        "trade": [r for q in QUARTERS_2025 for r in trade(q, "100")] + latest[1],
        "regional": [r for q in QUARTERS_2025 for r in regional(q, ("16", "77"))] + latest[2],
        "characteristics": characteristics("2025", ("110", "100", "90")) + characteristics("2026", latest[3]),
    }
    for order, (kind, rows) in enumerate(reports.items()):
        deliver(home, kind, f"{kind}.csv", csv_bytes(rows), order=order)


class Webhook:
    """An HTTP server on 127.0.0.1 that keeps the JSON bodies POSTed to it and answers `status`."""

    def __init__(self, status: int = 200):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):  # keep the test output clean
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def run_case(home: Path, changed: bool) -> tuple[Path, str, list]:
    """Deliver the case's reports, run with the webhook set; the release, the summary, the POSTs."""
    deliver_reports(home, changed)
    output = io.StringIO()
    with Webhook() as webhook, pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(output):
        env.setenv("SOVEREIGNTY_HOME", str(home))
        env.setenv("SOVEREIGNTY_TODAY", TODAY.isoformat())
        env.setenv("SOVEREIGNTY_ALERT_WEBHOOK", webhook.url)
        assert main(["run"]) == 0
    release = home / "published" / (home / "published" / "latest").read_text().strip()
    return release, output.getvalue(), webhook.received


@pytest.fixture(scope="module")
def changes(tmp_path_factory):
    return run_case(tmp_path_factory.mktemp("early_warning_changes"), changed=True)


@pytest.fixture(scope="module")
def quiet(tmp_path_factory):
    return run_case(tmp_path_factory.mktemp("early_warning_quiet"), changed=False)


# Hand arithmetic: 2025 quarters dependency 200/500 = 0.4, China 100/200 = 0.5 of imports,
# localisation 1 - 60/300 = 0.8, domestic technology 200/300; 2026-Q1 dependency 600/900, China
# 500/600, localisation 1 - 180/300 = 0.4, domestic technology 100/300. The area is the product.
DEPENDENCY = (0.4, 600 / 900)
CHANGES = {  # (level, code, signal type, subject) -> (period, period before, severity, before, after)
    ("product", RADAR, "strategic_dependency_new", None): (LATEST, "2025-Q4", "high", *DEPENDENCY),
    ("product", RADAR, "import_dependency_rise_quarter", None): (LATEST, "2025-Q4", "high", *DEPENDENCY),
    ("product", RADAR, "import_dependency_rise_year", None): (LATEST, "2025-Q1", "high", *DEPENDENCY),
    ("product", RADAR, "partner_share_rise", "CN"): (LATEST, "2025-Q4", "high", 0.5, 500 / 600),
    ("product", RADAR, "localisation_fall", None): (LATEST, "2025-Q4", "high", 0.8, 0.4),
    ("product", RADAR, "domestic_technology_fall", None): (LATEST, "2025-Q4", "high", 200 / 300, 100 / 300),
    ("area", "UAS", "import_dependency_rise_quarter", None): (LATEST, "2025-Q4", "high", *DEPENDENCY),
    ("area", "UAS", "import_dependency_rise_year", None): (LATEST, "2025-Q1", "high", *DEPENDENCY),
    ("area", "UAS", "partner_share_rise", "CN"): (LATEST, "2025-Q4", "high", 0.5, 500 / 600),
    ("area", "UAS", "localisation_fall", None): (LATEST, "2025-Q4", "high", 0.8, 0.4),
    ("area", "UAS", "domestic_technology_fall", None): (LATEST, "2025-Q4", "high", 200 / 300, 100 / 300),
    # yearly domestic share 1 - 800/2000 = 0.6 >= 0.5 over 4 quarters (achieved), then 1 - 600/900
    # below 0.9 x 0.5 (off track)
    ("project", "UAS", "project_status_worse", "domestic_share"): ("2026", "2025", "high", 0.6, 300 / 900),
    # the best producer's level 110/100 (leader), then 70/100 (lagging): two bands
    ("product", RADAR, "leadership_band_fall", None): ("2026", "2025", "high", 1.1, 0.7),
    ("region", "77", "report_late", None): (LATEST, None, "medium", None, None),
}


def signals_of(release: Path) -> pl.DataFrame:
    return pl.read_parquet(release / "risk_signals.parquet")


def test_each_signal_type_fires_with_its_values(changes):
    release, _, _ = changes
    signals = signals_of(release)
    actual = {
        (r["level"], r["code"], r["signal_type"], r["subject"]): (r["period"], r["period_before"], r["severity"], r["value_before"], r["value_after"])
        for r in signals.iter_rows(named=True)
    }
    assert set(actual) == set(CHANGES)
    for key, (period, before_period, severity, before, after) in CHANGES.items():
        got = actual[key]
        assert got[:3] == (period, before_period, severity), key
        assert got[3:] == (pytest.approx(before), pytest.approx(after)) if before is not None else got[3:] == (None, None), key
    assert signals.height == len(CHANGES)
    assert signals.filter(pl.col("message").str.len_chars() < 20).is_empty()


def test_the_exposure_and_stress_extracts_are_published(changes):
    release, _, _ = changes
    exposure = pl.read_parquet(release / "partner_exposure.parquet").filter(period=LATEST, level="product", code=RADAR)
    china = exposure.filter(partner_type="country", partner_code="CN").row(0, named=True)
    assert china["consumption_share"] == pytest.approx(500 / 900) and china["import_share"] == pytest.approx(500 / 600)
    # China is in BRICS and SCO; Germany in no shipped group; EAEU and CIS FTA supplied nothing
    groups = {r["partner_code"]: r for r in exposure.filter(partner_type="group").iter_rows(named=True)}
    assert groups["BRICS"]["partner_imports"] == 500 and groups["BRICS"]["within_group_hhi"] == pytest.approx(1.0)
    assert groups["EAEU"]["partner_imports"] == 0 and groups["EAEU"]["consumption_share"] == 0
    stress = pl.read_parquet(release / "supply_stress.parquet").filter(
        period=LATEST, level="product", code=RADAR, partner_type="country", partner_code="CN"
    ).row(0, named=True)
    # without China's 500: M 100, C 400, all from Germany
    assert stress["unmet_share"] == pytest.approx(500 / 900)
    assert stress["import_dependency_after"] == pytest.approx(100 / 400) and stress["import_hhi_after"] == pytest.approx(1.0)
    assert stress["strategic_dependency_before"] is True and stress["becomes_strategic_dependency"] is False


def test_the_webhook_receives_the_high_severity_signals_of_the_run(changes):
    release, _, received = changes
    high = signals_of(release).filter(severity="high")
    assert len(received) == 1 and received[0]["release_id"] == release.name
    sent = {(s["level"], s["code"], s["signal_type"], s["subject"]) for s in received[0]["signals"]}
    assert sent == {(r["level"], r["code"], r["signal_type"], r["subject"]) for r in high.iter_rows(named=True)}
    assert len(sent) == 13 and all(s["message"] for s in received[0]["signals"])


def test_the_run_summary_lists_the_new_high_severity_signals(changes):
    _, summary, _ = changes
    assert "New high-severity risk signals: 13" in summary
    assert "2026-Q1 partner_share_rise: China's share of the imports" in summary


def test_the_report_opens_with_what_changed(changes):
    release, _, _ = changes
    page = (release / "report.html").read_text()
    assert page.index('id="what-changed"') < page.index('id="headline"')
    assert "14 signal(s) in 2026-Q1, 13 of high severity." in page
    assert 'data-chart="partner-exposure"' in page


def test_a_quiet_quarter_gives_no_signal_and_no_alert(quiet):
    release, summary, received = quiet
    assert signals_of(release).is_empty()
    assert received == []
    assert "New high-severity risk signals: none" in summary
    assert "No signal in 2026-Q1" in (release / "report.html").read_text()


def test_a_signal_already_high_in_the_previous_release_is_not_new(changes):
    release, _, _ = changes
    assert new_high_signals(release.parent, release.name, previous_id=release.name) == []
    assert len(new_high_signals(release.parent, release.name, previous_id=None)) == 13


def test_a_failing_or_unreachable_webhook_is_reported_not_raised():
    with Webhook(status=500) as failing:
        delivery = post_signals(failing.url, "r1", [{"message": "x"}])
    assert not delivery.delivered and "HTTP 500" in delivery.detail and failing.received == [{"release_id": "r1", "signals": [{"message": "x"}]}]
    with Webhook() as closed:
        url = closed.url
    unreachable = post_signals(url, "r1", [], timeout=2)  # the server is gone: connection refused
    assert not unreachable.delivered and "could not be reached" in unreachable.detail
    assert not post_signals("not a url", "r1", []).delivered
