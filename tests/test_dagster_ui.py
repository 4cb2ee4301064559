"""The Dagster UI and the Data Docs pages, in a real browser: Playwright driving the system Chromium.

`dagster-webserver` is started on 127.0.0.1 on a free port, on a copy of a home that had a real
small-demo run, with that home's instance ($SOVEREIGNTY_HOME/dagster) as `make ui` uses it.
Playwright's own browser download is not used: it launches Debian's chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import TODAY
from tests.runs import home_instance

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Loading the definitions (dbt manifest, GX suites) takes a while on a busy 2-core machine.
SERVER_START_SECONDS = 300
UI_WAIT_MS = 120_000
ARTIFACTS = Path(__file__).parent / "artifacts"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def chromium_path() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        message = "chromium is not installed: apt-get install -y chromium (`make test` does it when run as root)"
        if os.environ.get("CI"):
            pytest.fail(message + "; in CI the UI must be checked in a browser")
        pytest.skip(message)
    return binary


@pytest.fixture(scope="module")
def browser(chromium_path):
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(UI_WAIT_MS)
    yield opened
    context.close()


@pytest.fixture(scope="module")
def ui_home(uninterrupted, tmp_path_factory) -> Path:
    """A copy of the demo home: launching a run from the UI writes to its instance."""
    home = tmp_path_factory.mktemp("ui") / "home"
    shutil.copytree(uninterrupted, home, symlinks=True)
    return home


@pytest.fixture(scope="module")
def dagster_ui(ui_home) -> str:
    port = free_port()
    env = {**os.environ, "SOVEREIGNTY_HOME": str(ui_home), "SOVEREIGNTY_TODAY": TODAY.isoformat(),
           "DAGSTER_HOME": str(ui_home / "dagster")}
    webserver = Path(sys.executable).with_name("dagster-webserver")
    log = open(ui_home / "webserver.log", "w")
    server = subprocess.Popen([str(webserver), "-m", "pipelines.defs.definitions", "-h", "127.0.0.1", "-p", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            assert server.poll() is None, (ui_home / "webserver.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(url + "/server_info", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "dagster-webserver did not start"
                time.sleep(1)
        # Dagster greets a new instance with a community dialog that can open over any other;
        # the UI's own mutation records it as seen, so the tests meet the pages a user works in.
        seen = urllib.request.Request(url + "/graphql", data=b'{"query": "mutation { setNuxSeen }"}',
                                      headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(seen, timeout=30) as answer:
            assert b'"setNuxSeen":true' in answer.read().replace(b" ", b"")
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the webserver and its code server
        server.wait(timeout=60)
        log.close()


def shown_name(name: str) -> re.Pattern:
    """An asset's name as the graph shows it: zoomed out, long names lose their middle to '…'."""
    head, tail = name[:3], name[-10:]
    return re.compile(rf"{re.escape(name)}|{re.escape(head)}[^ ]*…[^ ]*{re.escape(tail)}")


def test_the_asset_graph_loads(dagster_ui, page):
    page.goto(dagster_ui + "/assets/marts/product_independence?view=lineage")
    graph = page.locator("svg").filter(has_text=shown_name("product_independence")).first
    graph.wait_for()
    # the mart with what it is built from and what is built from it
    for neighbour in ("int_independence", "area_independence"):
        page.get_by_text(shown_name(neighbour)).first.wait_for()


def test_a_check_shows_its_result_and_its_data_docs_link(dagster_ui, page):
    page.goto(dagster_ui + "/assets/marts/product_independence?view=checks&checkDetail=gx_product_independence")
    page.get_by_text("Evaluation result").wait_for()
    assert page.get_by_text("Passed", exact=True).first.is_visible()
    assert page.get_by_text("Published product independence", exact=False).first.is_visible()  # its description
    link = page.locator('a[href^="file://"][href*="/quality/docs/validations/"]').first
    link.wait_for()
    assert link.is_visible() and link.get_attribute("href").endswith("warehouse-marts.product_independence.html")

    # the model's dbt tests are one check, its description saying what each test checks
    page.goto(dagster_ui + "/assets/marts/product_independence?view=checks&checkDetail=dbt_tests")
    page.get_by_text("Evaluation result").wait_for()
    page.get_by_text("dbt data tests of marts.product_independence", exact=False).first.wait_for()


def test_a_partition_can_be_launched(dagster_ui, ui_home, page):
    page.goto(dagster_ui + "/assets/raw/trade")
    page.get_by_role("button", name="Materialize…").click()
    # the launch dialog, not Dagster's community greeting, which may open over it at any time
    dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
    dialog.get_by_text("Select a partition or create one").click()
    # the partitions start at the first partition setting, not at 2000-Q1
    page.locator('[data-tooltip="2024-Q1"]').first.wait_for()
    assert page.locator('[data-tooltip="2023-Q4"]').count() == 0
    page.locator('[data-tooltip="2025-Q4"]').first.click()
    dialog.get_by_text("Partition selection").click()  # closes the list
    dialog.get_by_role("button", name="Launch 1 run").click()
    dialog.wait_for(state="detached")

    page.goto(dagster_ui + "/runs")
    page.get_by_text("partition: 2025-Q4").first.wait_for()
    # queued: the instance runs one run at a time, started by the daemon `make ui` runs
    with home_instance(ui_home) as instance:
        launched = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": "2025-Q4"}))
    assert len(launched) == 1 and launched[0].status == dg.DagsterRunStatus.QUEUED


def test_a_data_docs_page_renders_its_content_with_no_network(uninterrupted, browser):
    site = uninterrupted / "quality" / "docs"
    (page_path,) = sorted(site.glob("validations/product_independence/*/*/*.html"))[-1:]
    html = page_path.read_text(encoding="utf-8")
    assert not re.search(r'<(script|link)\b[^>]*(src|href)="https?://', html), "a page still loads from the network"

    context = browser.new_context(viewport={"width": 1200, "height": 1400})
    remote = []
    context.route(re.compile(r"^https?://"), lambda route: (remote.append(route.request.url), route.abort()))
    page = context.new_page()
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "data_docs_offline.png"), full_page=False)

    assert remote == []
    assert page.get_by_text("Expectation Validation Result").first.is_visible()
    assert page.get_by_text("Succeeded").first.is_visible()
    # Bootstrap styles it (its body: no margin, text #212529; unstyled: 8px, black) and its scripts run
    assert page.evaluate("[getComputedStyle(document.body).margin, getComputedStyle(document.body).color]") == [
        "0px", "rgb(33, 37, 41)"]
    assert page.evaluate("typeof window.jQuery === 'function' && typeof jQuery.fn.collapse === 'function'")
    # Font Awesome's font, loaded from disk, draws the pass/fail icons
    assert "Font Awesome" in page.evaluate("getComputedStyle(document.querySelector('i.fas, i.fa')).fontFamily")
    assert page.evaluate("async () => (await document.fonts.load('900 16px \"Font Awesome 6 Free\"')).length") > 0
    context.close()


def test_make_ui_on_a_missing_home_says_so(tmp_path):
    env = {**os.environ, "SOVEREIGNTY_HOME": str(tmp_path / "nowhere")}
    result = subprocess.run([sys.executable, "-m", "pipelines.command_line.ui", "--port", str(free_port())], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "There is no home at" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "nowhere").exists()
