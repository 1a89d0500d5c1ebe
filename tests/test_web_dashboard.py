"""The dashboard as a marketer uses it, in a real headless Chromium (issue 19): a cross-sell
segment made from the built-in with two products picked, a customer page with every segment
the customer is in, a member export with name and phone, both languages scanned for raw codes
and words of the other language, and the phone layout.

Expected values come from the CLI (run before the server holds the store: DuckDB lets one
process write a file) and from plain SQL on the same store.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from danggol.activation import campaigns
from danggol.cli.main import app as cli
from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.pipeline import refresh
from danggol.segments.definition import Segment
from danggol.segments.registry import Registry, builtin_segments
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
SRC = Path(__file__).resolve().parent.parent / "src"
SAVED = Segment(
    name="seoul_regulars",
    title={"ko": "서울 단골", "en": "Seoul regulars"},
    goal="loyalty",
    query="number_of_orders >= 2 AND customer_regions = '서울특별시'",
)


def cli_subprocess(ws: Path, *args: str) -> dict:
    """The CLI in a process of its own, as a marketer's shell would run it."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", "from danggol.cli.main import run; run()", "-w", str(ws), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def cli_members(ws: Path, name: str) -> set[str]:
    """`danggol segment members NAME` (the command's own code, in this process)."""
    result = CliRunner().invoke(
        cli,
        [
            "-w",
            str(ws),
            "segment",
            "members",
            name,
            "--as-of",
            AS_OF.isoformat(),
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    return {r[0] for r in rows[1:]}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("dash") / "shop"
    ws = Workspace.init(path)
    ingest_tables(ws, generate_shop(1500, seed=5, end=AS_OF))
    Registry(path / "segments").save(SAVED)
    # refreshes out of date order (a re-run for an earlier month): charts must follow dates
    for day in (AS_OF, dt.date(2025, 4, 30), dt.date(2025, 5, 31)):
        refresh(ws, day)
    campaigns.create_campaign(ws, "spring", "top_spenders", as_of=dt.date(2025, 5, 31))
    con = ws.duck
    # the two products bought most in the cross-sell's window (3 months up to the as-of date)
    a, b = (
        r[0]
        for r in con.execute(
            "SELECT i.product_id FROM orders o JOIN order_items i USING (order_id) "
            "WHERE o.order_date > DATE '2025-03-30' AND o.order_date <= DATE '2025-06-30' "
            "GROUP BY 1 ORDER BY count(DISTINCT o.customer_id) DESC, 1 LIMIT 2"
        ).fetchall()
    )
    customer = con.execute(
        # a top spender in the saved segment too, so that the page must list both kinds
        "SELECT customer_id FROM profile_snapshot WHERE amount_spent_percentile >= 80 "
        "AND number_of_orders >= 2 AND region = '서울특별시' ORDER BY customer_id LIMIT 1"
    ).fetchall()[0][0]
    contact = con.execute(
        "SELECT name, email, phone FROM customers WHERE customer_id = ?", [customer]
    ).fetchall()[0]
    expected = builder_expectations(con, a, b)
    ws.close()
    cross = cli_subprocess(
        path,
        "segment",
        "count",
        "cross_sell",
        "--param",
        f"product_a={a}",
        "--param",
        f"product_b={b}",
        "--as-of",
        AS_OF.isoformat(),
        "--json",
    )
    runnable = [s.name for s in builtin_segments().values() if not s.missing_params()]
    member_of = {n for n in [*runnable, SAVED.name] if customer in cli_members(path, n)}
    return {
        "path": path,
        "products": (a, b),
        "cross_count": cross["count"],
        "customer": customer,
        "contact": contact,
        "member_of": member_of,
        **expected,
    }


def builder_expectations(con, a: str, b: str) -> dict[str, int]:
    """What the builder's MATCHES and newer-field conditions must count, in plain SQL (and
    Python for the birthdays) on the stored tables: known customers only, purchases are paid
    or partly refunded orders up to the as-of date."""
    known = "SELECT customer_id FROM profile_snapshot WHERE known_customer"
    day = f"DATE '{AS_OF}'"
    bought = (
        "SELECT o.customer_id, count(DISTINCT o.order_id) AS n FROM orders o "
        "JOIN order_items i USING (order_id) "
        "WHERE o.status IN ('paid', 'partially_refunded') "
        f"AND o.order_date >= {day} - INTERVAL 90 DAY AND o.order_date <= {day} "
        "AND i.product_id IN (?, ?) GROUP BY 1"
    )

    def one(sql: str, params: list | None = None) -> int:
        return int(con.execute(sql, params or []).fetchall()[0][0])

    birthdays = [
        r[0]
        for r in con.execute(
            f"SELECT birth_date FROM customers WHERE customer_id IN ({known}) "
            "AND birth_date IS NOT NULL"
        ).fetchall()
    ]
    soon = 0
    for born in birthdays:  # the next birthday on or after the as-of date, 30 days ahead
        try:
            next_ = born.replace(year=AS_OF.year)
        except ValueError:  # 29 February: the 28th in a common year
            next_ = dt.date(AS_OF.year, 2, 28)
        if next_ < AS_OF:
            next_ = next_.replace(year=AS_OF.year + 1)
        soon += next_ <= AS_OF + dt.timedelta(days=30)
    top_domain = con.execute(
        "SELECT lower(split_part(email, '@', 2)) d FROM customers WHERE email LIKE '%@%' "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchall()[0][0]
    return {
        "universe": one(f"SELECT count(*) FROM ({known})"),
        "bought_any": one(
            f"SELECT count(*) FROM ({bought}) b WHERE customer_id IN ({known})", [a, b]
        ),
        "bought_two": one(
            f"SELECT count(*) FROM ({bought}) b WHERE n >= 2 AND customer_id IN ({known})",
            [a, b],
        ),
        "cart_30": one(
            "SELECT count(DISTINCT customer_id) FROM events WHERE event = 'cart_add' "
            f"AND event_date >= {day} - INTERVAL 30 DAY AND event_date <= {day} "
            f"AND customer_id IN ({known})"
        ),
        "birthdays_30": soon,
        "top_domain": top_domain,
        "domain_count": one(
            f"SELECT count(*) FROM customers WHERE lower(split_part(email, '@', 2)) = ? "
            f"AND customer_id IN ({known})",
            [top_domain],
        ),
        "champions_loyal": one(
            "SELECT count(*) FROM profile_snapshot WHERE known_customer "
            "AND rfm_group IN ('champions', 'loyal')"
        ),
        "abandoned_90": one(
            "SELECT count(DISTINCT e.customer_id) FROM events e LEFT JOIN ("
            "SELECT customer_id, max(order_date) AS lp FROM orders "
            f"WHERE status IN ('paid', 'partially_refunded') AND order_date <= {day} GROUP BY 1"
            ") l USING (customer_id) WHERE e.event = 'checkout_start' "
            f"AND e.event_date <= {day} AND e.event_date >= {day} - INTERVAL 90 DAY "
            f"AND (l.lp IS NULL OR l.lp < e.event_date) AND e.customer_id IN ({known})"
        ),
    }


@pytest.fixture(scope="module")
def browser(shop):
    from playwright.sync_api import sync_playwright

    with running_app(shop["path"]) as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        b.base = url  # type: ignore[attr-defined]
        yield b
        b.close()


def open_page(browser, lang: str = "ko", width: int = 1366, height: int = 900):
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    context.add_init_script(f"localStorage.setItem('danggol.lang', '{lang}')")
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.base = browser.base  # type: ignore[attr-defined]
    return page


def show(page, hash_: str) -> None:
    """Open a page of the dashboard and wait until it is drawn."""
    if page.url.startswith(page.base):
        page.evaluate("document.getElementById('main').replaceChildren()")
    page.goto(page.base + hash_)
    page.wait_for_selector("body[data-ready]")
    try:
        page.wait_for_selector("#main > .page, #main > .error", timeout=60_000)
    except Exception as exc:  # say which page, and what the page raised
        raise AssertionError(f"{hash_} was not drawn: {page.errors}") from exc
    page.wait_for_load_state("networkidle")


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


# --------------------------------------------------------------------------------------
# 1. a built-in's parameters make a new segment; the built-in never changes
# --------------------------------------------------------------------------------------


def test_cross_sell_from_the_built_in_with_two_products_counts_like_the_cli(browser, shop):
    page = open_page(browser)
    a, b = shop["products"]
    show(page, "#/segment/cross_sell")
    picker = page.locator("#param-product_a")
    picker.focus()  # the picker offers the shop's products
    page.wait_for_function("Number(document.getElementById('param-product_a').dataset.loaded) > 0")
    offered = page.locator(f"datalist option[value='{a}']").count()
    assert offered == 1
    picker.fill(a)
    page.locator("#param-product_b").fill(b)
    page.locator("#copy-name").fill("xs_pair")
    page.locator("#copy-title-ko").fill("교차 판매: 두 상품")
    page.locator("#copy-save").click()
    page.wait_for_url(re.compile(r"#/segment/xs_pair$"))
    page.wait_for_selector("[data-kpi='size'] .kpi-value")
    assert digits(page.locator("[data-kpi='size'] .kpi-value").inner_text()) == shop["cross_count"]
    assert shop["cross_count"] > 0
    # the built-in is as it was: no shop copy, still waiting for its products
    builtin = page.request.get(page.base + "api/segments/cross_sell").json()
    assert builtin["builtin"] and builtin["needs"] == ["product_a", "product_b"]
    assert not (shop["path"] / "segments" / "cross_sell.yaml").exists()

    # "copy and edit" of a built-in: saving it under the built-in's name is refused, in Korean
    show(page, "#/segment/top_spenders")
    page.locator("#copy-edit").click()
    page.wait_for_selector("#copy-note")
    page.wait_for_function("document.getElementById('live-count').dataset.count !== ''")
    page.locator("#seg-name").fill("top_spenders")
    page.locator("#save").click()
    error = page.locator(".error[data-code='builtin_segment']")
    error.wait_for()
    assert "기본 세그먼트는 덮어쓸 수 없습니다" in error.inner_text()
    assert "--replace" not in error.inner_text()
    top = page.request.get(page.base + "api/segments/top_spenders").json()
    assert top["builtin"] and top["query"] == "amount_spent_percentile >= 80"
    assert not (shop["path"] / "segments" / "top_spenders.yaml").exists()
    assert not page.errors, page.errors


# --------------------------------------------------------------------------------------
# 2. the customer page: contact, segments now (built-in and saved), words, explanation
# --------------------------------------------------------------------------------------


def test_customer_page_lists_the_segments_the_cli_has_them_in(browser, shop):
    page = open_page(browser)
    show(page, f"#/customer/{shop['customer']}")
    listed = set(
        page.locator("#customer-segments li").evaluate_all("els => els.map(e => e.dataset.segment)")
    )
    assert listed == shop["member_of"]
    assert {"top_spenders", SAVED.name} <= listed  # a built-in and a saved one
    name, email, phone = shop["contact"]
    contact = page.locator("#contact").inner_text()
    assert name in contact and (email or "–") in contact and (phone or "–") in contact
    assert page.locator("h1").inner_text().startswith(name)
    timeline = page.locator("ol.timeline").inner_text()
    assert "주문" in timeline and not re.search(
        r"\b(paid|refunded|cart_add|product_view)\b", timeline
    )
    # why the customer is in a segment, condition by condition, in words
    page.locator(".explain-pick").select_option("top_spenders")
    page.wait_for_selector(".verdict")
    assert "in" in page.locator(".verdict").get_attribute("class").split()
    assert not page.errors, page.errors


# --------------------------------------------------------------------------------------
# 3. member lists that reach customers
# --------------------------------------------------------------------------------------


def test_member_export_with_name_and_phone_has_the_chosen_columns(browser, shop):
    page = open_page(browser)
    show(page, "#/segment/top_spenders")
    page.wait_for_selector("table.data[data-total]")
    page.locator("details.columns summary").click()
    for field in ("name", "phone"):
        page.locator(f".column-picks label[data-field='{field}'] input").check()
    page.wait_for_function(
        "() => { const t = document.querySelector('table.data[data-fields]');"
        " return t && t.dataset.fields.endsWith(',name,phone'); }"
    )
    headings = page.locator("table.data thead th").all_inner_texts()
    assert headings[-2:] == ["이름", "휴대전화"]
    with page.expect_download() as download:
        page.locator("#export").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "고객 ID",
        "누적 구매금액",
        "주문 수",
        "최근 구매일",
        "RFM 그룹",
        "라이프사이클 단계",
        "이름",
        "휴대전화",
    ]
    people = page.request.get(
        page.base + "api/segments/top_spenders/members",
        params={"fields": "name,phone", "page_size": 500},
    ).json()
    assert len(rows) - 1 == people["total"]
    by_id = {r["customer_id"]: r for r in people["rows"]}
    for row in rows[1:]:
        if row[0] in by_id:
            assert row[6] == (by_id[row[0]]["name"] or "") and row[7] == (
                by_id[row[0]]["phone"] or ""
            )
    assert not {"male", "female", "champions", "loyal"} & {c for r in rows[1:] for c in r}

    # search by a name
    page.locator("input.search").fill("김")
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.data tbody tr')].every(r => r.textContent.includes('김'))"
    )
    found = digits(page.locator(".pager .muted").inner_text().split("·")[1])
    assert found == sum(1 for r in rows[1:] if "김" in r[6])

    # the SMS list: a clear button, and who was left out and why on the page
    page.locator("button.dest[data-format='sms']").click()
    summary = page.locator("#dest-summary .export-summary")
    summary.wait_for()
    written = int(summary.get_attribute("data-written"))
    left = int(summary.get_attribute("data-left-out"))
    assert written + left == people["total"]
    assert left > 0 and "수신 미동의" in summary.inner_text()
    assert not page.errors, page.errors


# --------------------------------------------------------------------------------------
# 4. every page in both languages: no raw code, no word of the other language
# --------------------------------------------------------------------------------------

SCAN = """
() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('[translate="no"], textarea, script, style, code, pre.sql').forEach(e => e.remove());
  return body.textContent;
}
"""
#: abbreviations a Korean marketer reads as they are
LATIN_OK = {"Parquet", "Brier", "Pareto", "p"}


def problems(text: str, lang: str) -> list[str]:
    found = re.findall(r"\b[a-z]+_[a-z0-9_]+\b", text)  # a code like cart_add, top_spenders
    if lang == "ko":
        words = re.findall(r"[A-Za-z][A-Za-z'’]*", text)
        found += [w for w in words if not w.isupper() and w not in LATIN_OK]
    else:
        found += re.findall(r"[\u3131-\ud79d]+", text)
    return found


def test_every_page_in_both_languages_has_no_raw_code_or_other_language(browser, shop):
    pages = [
        "#/",
        "#/segments",
        "#/segment/top_spenders",
        "#/segment/cross_sell",
        f"#/segment/{SAVED.name}",
        "#/builder",
        "#/builder?from=cart_abandoners",
        "#/builder?q="
        + quote(
            "products_purchased MATCHES (id IN ('P9999'), date >= -3m, count >= 2) AND "
            "orders_placed NOT MATCHES (channel = 'app') AND email_opened MATCHES () AND "
            "anniversary(date: 'birth_date') BETWEEN today AND +30d AND "
            "rfm_group IN ('champions', 'loyal') AND abandoned_checkout_date >= -7d"
        ),
        f"#/customer/{shop['customer']}",
        "#/grid/5/5/champions",
        "#/predictions",
        "#/campaigns",
    ]
    bad = {}
    for lang in ("ko", "en"):
        page = open_page(browser, lang)
        for hash_ in pages:
            show(page, hash_)
            if hash_.startswith("#/customer/"):
                page.locator(".explain-pick").select_option("top_spenders")
                page.wait_for_selector(".explain .xcond")
            found = problems(page.evaluate(SCAN), lang)
            if found:
                bad[(lang, hash_)] = sorted(set(found))[:12]
                print(lang, hash_, sorted(set(found)))
        assert not page.errors, page.errors
        page.context.close()
    assert not bad, bad


# --------------------------------------------------------------------------------------
# 8. the phone
# --------------------------------------------------------------------------------------


def test_phone_layout(browser, shop):
    page = open_page(browser, "ko", 390, 844)
    show(page, "#/")
    header = page.locator("header.top").bounding_box()
    assert header["height"] <= 90, header
    # every page's link is on the screen, none cut off, in both languages
    for lang in ("ko", "en"):
        other = page if lang == "ko" else open_page(browser, "en", 390, 844)
        if lang == "en":
            show(other, "#/")
        links = other.locator("header.top nav a").evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return [e.textContent, r.left, r.right]; })"
        )
        assert len(links) == 5 and all(a >= 0 and b <= 390 for _, a, b in links), (lang, links)
        if lang == "en":
            other.context.close()
    # chart text is at least 11 px on the screen, and the RFM grid is whole inside its card
    page.wait_for_selector("svg.chart.funnel text")
    sizes = page.evaluate(
        "() => [...document.querySelectorAll('svg.chart text')]"
        ".filter(e => e.getBoundingClientRect().width > 0)"
        ".map(e => { const m = e.getScreenCTM(); return parseFloat(getComputedStyle(e).fontSize) * Math.hypot(m.a, m.b); })"
    )
    assert len(sizes) > 50 and min(sizes) >= 10.9, sorted(sizes)[:5]
    grid = page.locator("svg.rfm").bounding_box()
    assert grid["x"] >= 0 and grid["x"] + grid["width"] <= 390
    assert page.locator(".rfm-cell").count() == 25
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # a wide table scrolls inside its card, not the page
    show(page, "#/segment/top_spenders")
    page.wait_for_selector("table.data[data-total]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # the live count stays in view while conditions are added
    show(page, "#/builder")
    for _ in range(4):
        page.locator(".group-head .add-cond").first.click()
    page.locator(".cond").last.scroll_into_view_if_needed()
    page.wait_for_function("document.getElementById('live-count').dataset.count !== ''")
    box = page.locator("#live-count").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844
    assert not page.errors, page.errors


# --------------------------------------------------------------------------------------
# 6. campaigns made in the page, with a verdict; 7. the builder's pickers, share, preview
# --------------------------------------------------------------------------------------


def test_campaign_created_in_the_page_with_its_verdict(browser, shop):
    page = open_page(browser)
    show(page, "#/campaigns")
    verdict = page.locator(".card .verdict").first
    assert verdict.get_attribute("data-significant") in ("true", "false")
    assert "신뢰수준 95%" in verdict.inner_text() or "판단할 수 없습니다" in verdict.inner_text()
    page.locator("#cmp-name").fill("summer_test")
    page.locator("#cmp-segment").select_option(SAVED.name)
    page.locator("#cmp-kpi").select_option("revenue_per_customer")
    page.locator("#cmp-holdout").fill("20")
    page.locator("#cmp-window").fill("14")
    page.locator("#cmp-save").click()
    box = page.locator('[data-campaign="summer_test"]')
    box.wait_for()
    made = {c["name"]: c for c in page.request.get(page.base + "api/campaigns").json()}
    c = made["summer_test"]
    assert c["segment"] == SAVED.name and c["kpi"] == "revenue_per_customer"
    assert c["holdout_share"] == pytest.approx(0.2)
    window = dt.date.fromisoformat(c["window_end"]) - dt.date.fromisoformat(c["window_start"])
    assert window.days in (13, 14)
    members = page.request.get(
        page.base + f"api/segments/{SAVED.name}/members", params={"page_size": 1}
    ).json()["total"]
    assert c["treated"] + c["holdout"] == members
    assert not page.errors, page.errors


def test_builder_picks_a_region_and_shows_share_and_members(browser, shop):
    page = open_page(browser)
    show(page, "#/builder")
    page.wait_for_function("document.getElementById('live-count').dataset.count !== ''")
    page.locator(".cond .field-pick").first.select_option("customer_regions")
    picker = page.locator(".cond input.picker.customer_regions")
    picker.focus()
    page.wait_for_function(
        "Number(document.querySelector('input.picker.customer_regions').dataset.loaded) > 0"
    )
    assert page.locator("datalist option[value='서울특별시']").count() == 1
    picker.fill("서울특별시")
    picker.dispatch_event("change")
    page.wait_for_function(
        "document.getElementById('query-text').value === \"customer_regions = '서울특별시'\""
    )
    page.wait_for_function("document.querySelectorAll('#preview tbody tr').length > 0")
    count = int(page.locator("#live-count").get_attribute("data-count"))
    status = page.request.get(page.base + "api/status").json()
    share = page.locator("#live-share").inner_text()
    assert f"{count / status['customers'] * 100:.1f}%" in share
    first = page.locator("#preview tbody tr td a").first.inner_text()
    region = page.request.get(page.base + f"api/customers/{first}").json()["profile"]["region"]
    assert region == "서울특별시"
    # the date wording follows the operator: "최근 90일 이내", "90일 전보다 이전"
    page.locator(".cond .field-pick").first.select_option("last_order_date")
    words = page.locator(".cond .date-input").first.inner_text()
    assert "최근" in words and "이내" in words
    page.locator(".cond .op").first.select_option("<")
    assert "전보다 이전" in page.locator(".cond .date-input").first.inner_text()
    assert not page.errors, page.errors


def test_size_over_time_follows_dates_and_sparklines_start_at_zero(browser, shop):
    page = open_page(browser)
    show(page, f"#/segment/{SAVED.name}")
    xs = page.locator("svg.chart.line circle").evaluate_all("els => els.map(e => e.dataset.x)")
    assert len(xs) == 3 and xs == sorted(xs) and xs[0] == "2025-04-30"
    show(page, "#/segments")
    spark = page.locator(f"tr[data-segment='{SAVED.name}'] svg.spark")
    baseline = float(spark.locator("line.baseline").get_attribute("y1"))
    height = float(spark.get_attribute("height"))
    points = spark.locator("polyline").get_attribute("points").split()
    ys = [float(p.split(",")[1]) for p in points]
    # every point above the zero line, and the drawn heights proportional to the sizes
    assert baseline == height - 3 and all(y <= baseline for y in ys)
    sizes = page.request.get(page.base + f"api/segments/{SAVED.name}").json()["trend"]
    by_date = [t["size"] for t in sorted(sizes, key=lambda t: (t["as_of"], t["refresh_id"]))]
    top = max(by_date)
    for y, n in zip(ys, by_date, strict=True):
        assert baseline - y == pytest.approx(n / top * (height - 6), abs=0.01)
    assert not page.errors, page.errors


# --------------------------------------------------------------------------------------
# the builder's MATCHES form and newer fields (issue 17 item 3, items 5-6 in the builder)
# --------------------------------------------------------------------------------------


def wait_count(page, value: int) -> None:
    page.wait_for_function(
        "v => { const c = document.getElementById('live-count');"
        " return !!c && c.dataset.count === String(v); }",
        arg=value,
        timeout=60_000,
    )


def wait_query(page, text: str) -> None:
    page.wait_for_function(
        # the page may still be drawing: no text box yet is "not yet", not an error
        "q => (document.getElementById('query-text') || {}).value === q",
        arg=text,
        timeout=60_000,
    )


def test_builder_makes_edits_and_shows_a_matches_condition(browser, shop):
    a, b = shop["products"]
    page = open_page(browser)
    show(page, "#/builder")
    page.wait_for_function("document.getElementById('live-count').dataset.count !== ''")
    page.locator(".cond .field-pick").first.select_option("match:products_purchased")
    ids = page.locator(".match-test[data-arg='id']")
    ids.wait_for()
    ids.locator(".op").select_option("IN")
    for product in (a, b):  # two products picked, one chip each
        picker = page.locator(".match-test[data-arg='id'] input.picker.products")
        picker.fill(product)
        picker.dispatch_event("change")
        page.wait_for_selector(f".match-test[data-arg='id'] .chip[data-value='{product}']")
    query = f"products_purchased MATCHES (id IN ('{a}', '{b}'), date >= -90d)"
    wait_query(page, query)
    wait_count(page, shop["bought_any"])
    assert 0 < shop["bought_any"] < shop["universe"]
    assert "최근" in page.locator(".match-test[data-arg='date']").inner_text()

    # "has no matching record": NOT MATCHES, the complement over the known customers
    page.locator(".cond.match .match-not").select_option("not")
    wait_query(page, query.replace(" MATCHES ", " NOT MATCHES "))
    wait_count(page, shop["universe"] - shop["bought_any"])
    page.locator(".cond.match .match-not").select_option("")

    # an aggregate test: at least two such orders
    page.locator(".cond.match .add-detail").click()
    last = page.locator(".match-test").last
    last.locator(".arg-pick").select_option("count")
    page.locator(".match-test[data-arg='count'] .op").select_option(">=")
    page.locator(".match-test[data-arg='count'] input.value").fill("2")
    two = query[:-1] + ", count >= 2)"
    wait_query(page, two)
    wait_count(page, shop["bought_two"])

    page.locator("#seg-name").fill("xs_matches")
    page.locator("#seg-title-ko").fill("두 상품 2회 이상")
    page.locator("#save").click()
    page.wait_for_url(re.compile(r"#/segment/xs_matches$"))
    saved = page.request.get(page.base + "api/segments/xs_matches").json()
    assert saved["query"] == two and saved["size"] == shop["bought_two"]

    # edited again: the saved MATCHES comes back as the same form, not as text
    show(page, "#/builder/xs_matches")
    wait_query(page, two)
    assert page.locator(".cond[data-kind='raw']").count() == 0
    tests = page.locator(".cond.match .match-test").evaluate_all(
        "els => els.map(e => e.dataset.arg)"
    )
    assert tests == ["id", "date", "count"]
    chips = page.locator(".chip").evaluate_all("els => els.map(e => e.dataset.value)")
    assert chips == [a, b]
    wait_count(page, shop["bought_two"])
    assert not page.errors, page.errors


def test_builder_reads_the_older_form_and_warns_of_values_the_shop_lacks(browser, shop):
    older = "products_purchased(id: 'P9999') = true OR events(name: 'cart_add', date: -30d) >= 1"
    canonical = (
        "products_purchased MATCHES (id = 'P9999') OR "
        "events MATCHES (name = 'cart_add', date >= -30d)"
    )
    for lang, warning in (
        ("ko", "⚠ 이 쇼핑몰에 상품 'P9999' 없음"),
        ("en", "⚠ no product 'P9999' in this shop"),
    ):
        page = open_page(browser, lang)
        show(page, "#/builder?q=" + quote(older))
        wait_query(page, canonical)
        kinds = page.locator(".cond").evaluate_all("els => els.map(e => e.dataset.kind)")
        assert kinds == ["match", "match"]
        # the count still runs: nobody bought P9999, so it is the cart count
        wait_count(page, shop["cart_30"])
        page.wait_for_selector("#value-warnings li")
        assert page.locator("#value-warnings li").all_inner_texts() == [warning]
        event = page.locator(".cond.match").nth(1).locator("select.coded.event")
        chosen = event.evaluate("s => [s.value, s.options[s.selectedIndex].text]")
        assert chosen == ["cart_add", "장바구니 담기" if lang == "ko" else "Added to cart"]
        assert not page.errors, page.errors
        page.context.close()


def test_builder_newer_fields_pick_the_shops_values(browser, shop):
    page = open_page(browser)
    show(page, "#/builder")
    page.wait_for_function("document.getElementById('live-count').dataset.count !== ''")
    first = page.locator(".cond").first
    # the e-mail domain: the picker offers the shop's own domains
    first.locator(".field-pick").select_option("customer_email_domain")
    picker = page.locator("input.picker.customer_email_domain")
    picker.focus()
    page.wait_for_function(
        "Number(document.querySelector('input.picker.customer_email_domain').dataset.loaded) > 0"
    )
    assert page.locator(f"datalist option[value='{shop['top_domain']}']").count() == 1
    picker.fill(shop["top_domain"])
    picker.dispatch_event("change")
    wait_query(page, f"customer_email_domain = '{shop['top_domain']}'")
    wait_count(page, shop["domain_count"])

    # RFM groups, chosen in words, one chip each
    first.locator(".field-pick").select_option("rfm_group")
    first.locator(".op").select_option("IN")
    for group in ("champions", "loyal"):
        page.locator(".cond .multi select.value").select_option(group)
        page.wait_for_selector(f".chip[data-value='{group}']")
    chips = page.locator(".chip").all_inner_texts()
    assert not any("champions" in c or "loyal" in c for c in chips), chips
    wait_query(page, "rfm_group IN ('champions', 'loyal')")
    wait_count(page, shop["champions_loyal"])

    # a birthday in the next 30 days
    first.locator(".field-pick").select_option("fn:anniversary")
    wait_query(page, "anniversary(date: 'birth_date') BETWEEN today AND +30d")
    wait_count(page, shop["birthdays_30"])
    assert "생일" in first.inner_text()

    # a checkout abandoned in the last 90 days
    first.locator(".field-pick").select_option("abandoned_checkout_date")
    wait_query(page, "abandoned_checkout_date >= -90d")
    wait_count(page, shop["abandoned_90"])
    assert not page.errors, page.errors
