"""The predictions page in a real headless Chromium on a phone-sized screen: the purchase
model's four diagnostics are there, draw the numbers the API returns (whose holdout counts
tests/test_web_api.py checks against SQL, and tests/test_report_diagnostics.py against plain
Python), and every chart text is at least 11 px on screen."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.pipeline import refresh
from danggol.store.workspace import Workspace
from web_server import CHROMIUM, CHROMIUM_ARGS, running_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: install the Debian package 'chromium' (.ci/run does)",
    ),
]

AS_OF = dt.date(2025, 6, 30)
PHONE = {"width": 390, "height": 844}
#: set to a folder to keep the screenshots (to look at them)
SHOTS = os.environ.get("DANGGOL_SHOTS")

#: what each chart draws, read back from the page: (selector, data attributes)
MARKS = {
    "ce-bar": ("data-frequency", "data-series", "data-value"),
    "tracking-point": ("data-period", "data-series", "data-value"),
    "calibration-point": ("data-bin", "data-predicted", "data-observed", "data-customers"),
    "p-alive-cell": ("data-frequency", "data-recency", "data-p-alive"),
}


@pytest.fixture(scope="module")
def page_data(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    path = tmp_path_factory.mktemp("diagnostics") / "shop"
    ws = Workspace.init(path)
    ingest_tables(ws, generate_shop(1500, seed=5, end=AS_OF))
    refresh(ws, AS_OF)
    ws.close()
    with running_app(path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport=PHONE)
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(url + "#/predictions")
        pg.wait_for_selector("#diagnostics .p-alive-cell", timeout=180_000)
        api = json.loads(pg.evaluate("fetch('/api/predictions/diagnostics').then(r => r.text())"))
        marks = {
            cls: pg.eval_on_selector_all(
                f"#diagnostics .{cls}",
                "(els, names) => els.map(e => names.map(n => e.getAttribute(n)))",
                list(names),
            )
            for cls, names in MARKS.items()
        }
        sizes = pg.eval_on_selector_all(
            "#diagnostics svg text",
            """els => els.map(t => {
                const svg = t.ownerSVGElement;
                const k = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
                return [parseFloat(getComputedStyle(t).fontSize) * k, t.textContent];
            })""",
        )
        headings = pg.eval_on_selector_all(
            "#diagnostics h3", "els => els.map(e => e.id || e.parentElement.id)"
        )
        page_width = pg.evaluate("document.documentElement.scrollWidth")
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            pg.locator("#diagnostics").screenshot(path=str(Path(SHOTS) / "diagnostics-phone.png"))
        browser.close()
    assert not errors, errors
    return api, marks, sizes, headings, page_width


def test_the_four_diagnostics_are_on_the_predictions_page(page_data):
    _, marks, _, headings, page_width = page_data
    assert headings == ["diag-cond_exp", "diag-tracking", "diag-calibration", "diag-p_alive"]
    for cls in MARKS:
        assert marks[cls], cls
    assert page_width <= PHONE["width"]  # wide charts scroll inside their box, not the page


def test_the_charts_draw_the_apis_numbers(page_data):
    api, marks, _, _, _ = page_data
    ce = {(f, s): float(v) for f, s, v in marks["ce-bar"]}
    want = {
        (r["frequency"], s): r[f"{s}_mean"]
        for r in api["conditional_expectations"]
        for s in ("actual", "predicted")
    }
    assert ce == pytest.approx(want)
    points: dict[tuple[int, str], list[float]] = {}
    for period, series, value in marks["tracking-point"]:
        points.setdefault((int(period), series), []).append(float(value))
    for r in api["tracking"]:
        for s in ("actual", "predicted"):
            assert points[(r["period"], s)] == pytest.approx([r[s], r[f"cumulative_{s}"]])
    cal = [(int(b), float(p), float(o), int(n)) for b, p, o, n in marks["calibration-point"]]
    assert cal == [
        (r["bin"], pytest.approx(r["predicted"]), pytest.approx(r["observed"]), r["customers"])
        for r in api["calibration"]
    ]
    m = api["p_alive_matrix"]
    cells = {(int(f), float(t)): (float(p) if p else None) for f, t, p in marks["p-alive-cell"]}
    assert len(cells) == len(m["frequency"]) * len(m["recency"])
    for i, t in enumerate(m["recency"]):
        for j, f in enumerate(m["frequency"]):
            got = cells[(f, float(t))]
            want_p = m["p_alive"][i][j]
            assert got == (None if want_p is None else pytest.approx(want_p)), (f, t)


def test_chart_text_is_readable_on_a_phone(page_data):
    _, _, sizes, _, _ = page_data
    assert len(sizes) > 100
    small = [(round(px, 2), words) for px, words in sizes if px < 11 - 1e-6]
    assert not small, small[:10]
