"""The dashboard in a real headless Chromium: overview, builder with live count, save, members,
CSV export, language switch. Expected values come from plain SQL on the same store."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from danggol.activation import campaigns
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
#: what the test builds in the builder, written as SQL on the stored profile
EXPECTED_SQL = (
    "SELECT count(*) FROM profile_snapshot WHERE number_of_orders >= 3 AND ("
    "refunds > 0 OR NOT (amount_spent < 50000) OR last_order_date >= DATE '2025-06-30' - INTERVAL 180 DAY)"
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("browser") / "shop"
    ws = Workspace.init(path)
    ingest_tables(ws, generate_shop(1500, seed=5, end=AS_OF))
    refresh(ws, AS_OF)
    campaigns.create_campaign(ws, "spring", "top_spenders", as_of=dt.date(2025, 5, 31))
    con = ws.duck
    expected = {
        "treated": con.execute(
            "SELECT count(*) FROM campaign_members WHERE campaign = 'spring' AND NOT holdout"
        ).fetchall()[0][0],
        "holdout": con.execute(
            "SELECT count(*) FROM campaign_members WHERE campaign = 'spring' AND holdout"
        ).fetchall()[0][0],
        "built": con.execute(EXPECTED_SQL).fetchall()[0][0],
        "customers": con.execute("SELECT count(*) FROM customers").fetchall()[0][0],
        "cell": con.execute(
            "SELECT count(*) FROM profile_snapshot WHERE r_score = 5 AND fm_score = 5"
        ).fetchall()[0][0],
    }
    ws.close()
    return path, expected


@pytest.fixture(scope="module")
def page(shop):
    from playwright.sync_api import sync_playwright

    path, _ = shop
    with running_app(path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1366, "height": 900}, accept_downloads=True
        )
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.base = url  # type: ignore[attr-defined]
        pg.errors = errors  # type: ignore[attr-defined]
        yield pg
        browser.close()
    assert not errors, errors


def go(page, hash_: str) -> None:
    page.goto(page.base + hash_)
    page.wait_for_selector("body[data-ready]")


def api_count(page, query: str) -> int:
    r = page.request.post(page.base + "api/query/count", data={"query": query})
    assert r.ok, r.text()
    return int(r.json()["count"])


def test_overview_shows_the_shop_and_the_grid_opens_members(page, shop):
    _, expected = shop
    go(page, "#/")
    kpi = page.locator('[data-kpi="customers"] .kpi-value')
    assert int(re.sub(r"\D", "", kpi.inner_text())) == expected["customers"]
    assert page.locator(".rfm-cell").count() == 25
    page.locator('.rfm-cell[data-r="5"][data-fm="5"]').click()
    page.wait_for_selector("table.data[data-total]")
    assert int(page.locator("table.data").get_attribute("data-total")) == expected["cell"]


def cond(page, i: int):
    return page.locator(".cond").nth(i)


def wait_count(page, value: int) -> None:
    page.wait_for_function(
        "v => document.getElementById('live-count').dataset.count === String(v)", arg=value
    )


def test_build_a_nested_segment_with_a_live_count_and_save_it(page, shop):
    _, expected = shop
    go(page, "#/builder")
    page.wait_for_selector("#live-count[data-count]:not([data-count=''])")
    cond(page, 0).locator("input.value").fill("3")  # number_of_orders >= 3
    page.wait_for_function("document.getElementById('query-text').value.includes('>= 3')")
    page.locator(".group-head .add-group").first.click()  # an OR group with one condition
    sub = page.locator(".group .group").first
    assert sub.locator(".group-op").input_value() == "any"
    sub.locator(".cond .field-pick").first.select_option("refunds")
    sub.locator(".cond .op").first.select_option(">")
    sub.locator(".cond input.value").first.fill("0")
    page.wait_for_function("document.getElementById('query-text').value.includes('refunds > 0')")
    page.locator(".group .group .add-cond").first.click()
    sub.locator(".cond .field-pick").nth(1).select_option("amount_spent")
    sub.locator(".cond .op").nth(1).select_option("<")
    sub.locator(".cond input.value").nth(1).fill("50000")
    page.wait_for_function("document.getElementById('query-text').value.includes('50000')")
    sub.locator(".cond .neg input").nth(1).check()  # NOT
    page.locator(".group .group .add-cond").first.click()
    sub.locator(".cond .field-pick").nth(2).select_option("last_order_date")
    sub.locator(".cond .date-input .amount").first.fill("180")
    sub.locator(".cond .date-input .amount").first.dispatch_event("change")
    page.wait_for_function("document.getElementById('query-text').value.includes('-180d')")
    query = page.locator("#query-text").input_value()
    assert query == (
        "number_of_orders >= 3 AND (refunds > 0 OR NOT (amount_spent < 50000) OR "
        "last_order_date >= -180d)"
    )
    wait_count(page, expected["built"])
    assert api_count(page, query) == expected["built"]

    # the other way: typed text rebuilds the tree, and the count follows
    page.locator("#query-text").fill("number_of_orders >= 3 AND refunds > 0")
    page.wait_for_function("document.querySelectorAll('.cond').length === 2")
    wait_count(page, api_count(page, "number_of_orders >= 3 AND refunds > 0"))
    page.locator("#query-text").fill(query)
    page.wait_for_function("document.querySelectorAll('.cond').length === 4")
    wait_count(page, expected["built"])

    # a typo shows the parse error with its caret, and no count
    page.locator("#query-text").fill("number_of_orders >= 3 AND refundz > 0")
    page.wait_for_selector(".qerr pre.caret")
    assert "refunds" in page.locator(".qerr").inner_text()
    page.locator("#query-text").fill(query)
    wait_count(page, expected["built"])

    page.locator("#seg-name").fill("browser_regulars")
    page.locator("#seg-goal").select_option("loyalty")
    page.locator("#seg-title-ko").fill("브라우저 단골")
    page.locator("#seg-title-en").fill("Browser regulars")
    page.locator("#save").click()
    page.wait_for_url(re.compile(r"#/segment/browser_regulars$"))
    saved = page.request.get(page.base + "api/segments/browser_regulars").json()
    assert saved["query"] == query and saved["size"] == expected["built"]


def test_members_search_and_csv_export(page, shop):
    # the flow goes on: the segment the builder test saved
    _, expected = shop
    go(page, "#/segment/browser_regulars")
    page.wait_for_selector("table.data[data-total]")
    assert int(page.locator("table.data").get_attribute("data-total")) == expected["built"]
    assert "브라우저 단골" in page.locator("h1").inner_text()
    first = page.locator("table.data tbody tr td a").first.inner_text()
    page.locator("input.search").fill(first)
    page.wait_for_function(
        "id => { const t = document.querySelector('table.data'); return t && t.dataset.total === '1'"
        " && t.querySelector('tbody a').textContent === id }",
        arg=first,
    )
    with page.expect_download() as download:
        page.locator("#export").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "고객 ID" and len(rows) - 1 == expected["built"]  # headings in words
    ids = {r[0] for r in rows[1:]}
    page.locator("table.data tbody a").first.click()  # opens the customer
    page.wait_for_selector("dl.profile")
    assert first in ids and first in page.locator("h1").inner_text()
    page.wait_for_selector(".explain-pick option[value='browser_regulars']", state="attached")
    page.locator(".explain-pick").select_option("browser_regulars")  # why is this member in?
    page.wait_for_selector(".verdict")
    assert "in" in page.locator(".verdict").get_attribute("class").split()
    assert page.locator(".explain .xcond").count() == 4


def test_switch_language(page):
    go(page, "#/")
    page.wait_for_selector("[data-kpi='revenue']")
    assert page.locator("nav a").first.inner_text() == "개요"
    assert page.evaluate("document.documentElement.lang") == "ko"
    korean_money = page.locator("[data-kpi='revenue'] .kpi-value").inner_text()
    assert "억원" in korean_money or "만원" in korean_money
    page.locator("#lang").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_selector("[data-kpi='revenue']")
    assert page.locator("nav a").first.inner_text() == "Overview"
    assert page.locator("[data-kpi='revenue'] .kpi-label").inner_text() == "Revenue"
    english_money = page.locator("[data-kpi='revenue'] .kpi-value").inner_text()
    assert english_money.startswith("₩") and "억" not in english_money
    page.locator("#lang").click()  # back to Korean, remembered by the browser
    page.wait_for_function("document.documentElement.lang === 'ko'")


def test_api_reference_at_docs_lists_every_route(page):
    page.goto(page.base + "docs")
    page.wait_for_selector("body[data-ready]")
    schema = page.request.get(page.base + "openapi.json").json()
    operations = sum(len(methods) for methods in schema["paths"].values())
    assert page.locator("section[data-path]").count() == operations
    assert page.locator('section[data-path="/api/query/count"]').count() == 1


def test_campaign_page_shows_treated_against_holdout(page, shop):
    _, expected = shop
    go(page, "#/campaigns")
    box = page.locator('[data-campaign="spring"]')
    box.wait_for()
    treated = box.locator('[data-kpi="treated"] .kpi-value').inner_text()
    holdout = box.locator('[data-kpi="holdout"] .kpi-value').inner_text()
    assert f"({expected['treated']:,})" in treated and f"({expected['holdout']:,})" in holdout
    assert expected["holdout"] > 0
    assert box.locator('[data-kpi="p_value"] .kpi-value').inner_text() != ""
