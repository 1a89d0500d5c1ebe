"""A new small shop on the dashboard and in the report, as its Korean manager sees them.

A Cafe24 order export (CP949, one row per item, header as tests/test_ingest_platforms.py
cites it) with orders at 10:00, 14:15 and 23:30 Seoul time is loaded.

* Times are the shop's local times, whatever zone the browser is in: the customer page's
  timeline must show those clock times (the store keeps UTC: an API time without its offset
  is read by the browser as its own local time — 9 hours early in Seoul), and a profile date
  must stay its calendar day in a browser east of Seoul.
* A history too short for a backtest is said in Korean, as a note — not a red "check your
  input" error with an English sentence.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from danggol.ingest.load import ingest_files
from danggol.pipeline import refresh
from danggol.store.workspace import Workspace
from test_ingest_platforms import CAFE24_HEADER
from web_client import api_client
from web_server import CHROMIUM, CHROMIUM_ARGS, running_app

AS_OF = dt.date(2025, 6, 30)
# (order, time as the export writes it, the same local time as Korean Excel words it, amount)
ORDERS = [
    ("20250315-0000010", "2025-03-15 10:00:00", "2025. 3. 15. 오전 10:00", "9,000"),
    ("20250601-0000011", "2025-06-01 14:15:00", "2025. 6. 1. 오후 2:15", "15,000"),
    ("20250630-0000012", "2025-06-30 오후 11:30", "2025. 6. 30. 오후 11:30", "28,000"),
]


def cafe24_file(path: Path) -> Path:
    with path.open("w", encoding="cp949", newline="") as f:
        w = csv.writer(f)
        w.writerow(CAFE24_HEADER)
        for order, when, _, amount in ORDERS:
            row = {
                "주문번호": order,
                "주문일시": when,
                "주문자ID": "hong01",
                "주문자명": "홍길동",
                "총 결제금액(KRW)": amount,
                "주문 상태": "배송완료",
                "상품품목코드": "P000A",
                "주문상품명": "머그컵",
                "수량": "1",
                "판매가": amount,
                "상품구매금액(KRW)": amount,
            }
            w.writerow([row.get(h, "") for h in CAFE24_HEADER])
    return path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("times")
    ws = Workspace.init(root / "shop")
    ingest_files(ws, "orders", [cafe24_file(root / "cafe24_orders.csv")], preset="cafe24")
    refresh(ws, AS_OF)
    ws.close()
    return root / "shop"


def test_the_api_gives_order_times_with_their_offset(shop: Path) -> None:
    from danggol.web import create_app

    with api_client(create_app(shop)) as client:
        body = client.get("/api/customers/hong01").json()
    seoul = dt.timezone(dt.timedelta(hours=9))
    got = {o["order_id"]: dt.datetime.fromisoformat(o["ordered_at"]) for o in body["orders"]}
    assert all(t.tzinfo is not None for t in got.values()), got
    assert {k: t.astimezone(seoul).strftime("%Y-%m-%d %H:%M") for k, t in got.items()} == {
        "20250315-0000010": "2025-03-15 10:00",
        "20250601-0000011": "2025-06-01 14:15",
        "20250630-0000012": "2025-06-30 23:30",
    }


@contextlib.contextmanager
def korean_page(shop: Path, zone: str, route: str) -> Iterator[Any]:
    """The dashboard of ``shop`` at ``route``, in Korean, in a browser set to ``zone``."""
    from playwright.sync_api import sync_playwright

    with running_app(shop) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="ko-KR", timezone_id=zone)
            context.add_init_script("localStorage.setItem('danggol.lang', 'ko')")
            page = context.new_page()
            page.goto(url + route)
            yield page
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}")
@pytest.mark.parametrize("zone", ["Asia/Seoul", "UTC", "Pacific/Auckland"])
def test_the_timeline_shows_seoul_times_in_any_browser_zone(shop: Path, zone: str) -> None:
    with korean_page(shop, zone, "#/customer/hong01") as page:
        page.wait_for_selector("ol.timeline li")
        timeline = page.locator("ol.timeline").inner_text()
        profile = page.locator("#main").inner_text()
        contact = page.locator("#contact").inner_text()
    # the export says nothing of marketing consent: not agreed (미동의), never refused (거부)
    assert "수신 미동의" in contact and "거부" not in contact, contact
    # a member (주문자ID given) is shown as one, beside whether the shop knows the customer
    assert re.search(r"비회원 주문 고객\s+아니오", profile), profile
    for _, _, shown, _ in ORDERS:
        assert shown in re.sub(r"\s+", " ", timeline), (zone, timeline)
    # first and last order dates are days, not instants: the same calendar day everywhere
    assert "2025. 3. 15." in profile and "2025. 6. 30." in profile, (zone, profile)
    assert "2025. 3. 14." not in profile and "2025. 6. 29." not in profile, (zone, profile)


def buyers_before_cutoff() -> tuple[dt.date, int]:
    """The backtest's cutoff (as of − 90 days, the default horizon) and how many customers
    bought before it, from the rows written (one customer, hong01)."""
    cutoff = AS_OF - dt.timedelta(days=90)
    before = {"hong01" for _, when, _, _ in ORDERS if dt.date.fromisoformat(when[:10]) <= cutoff}
    return cutoff, len(before)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}")
def test_a_short_history_is_a_korean_note_on_the_predictions_page(shop: Path) -> None:
    cutoff, n = buyers_before_cutoff()
    with korean_page(shop, "Asia/Seoul", "#/predictions") as page:
        page.wait_for_selector("#diagnostics [data-code]")
        notes = page.locator("[data-code=too_little_data]").all_inner_texts()
        errors = page.locator("#main .error").count()
        not_made = page.locator("#not-made").inner_text()
    assert errors == 0
    # the empty predictions table says why: every order is hong01's, so one buyer, who bought
    # len(ORDERS) >= 2 times — one repeat buyer
    buyers, repeat = 1, int(len(ORDERS) >= 2)
    assert f"구매 고객 {buyers}명, 재구매 고객 {repeat}명입니다." in not_made, not_made
    assert len(notes) == 2  # the backtest and its diagnostics
    for note in notes:
        assert f"기준일 {cutoff} 전에 구매한 고객이 {n}명입니다 (최소 200명 필요)" in note, note
        assert not re.search(r"[A-Za-z]{3,}", note), note  # no English sentence


def test_a_short_history_is_said_in_korean_in_the_report(shop: Path, tmp_path: Path) -> None:
    from danggol.outputs.report import collect_report, save_report

    cutoff, n = buyers_before_cutoff()
    ws = Workspace.open(shop)
    try:
        data = collect_report(ws, AS_OF)
    finally:
        ws.close()
    html = {}
    for lang in ("ko", "en"):
        save_report(data, tmp_path / f"report-{lang}.html", lang=lang)
        text = (tmp_path / f"report-{lang}.html").read_text(encoding="utf-8")
        found = re.search(r'id="no-diagnostics">([^<]*)<', text)
        assert found, lang
        html[lang] = found.group(1)
    assert f"기준일 {cutoff} 전에 구매한 고객이 {n}명입니다" in html["ko"], html["ko"]
    assert not re.search(r"[A-Za-z]{3,}", html["ko"]), html["ko"]
    assert f"{n} customers bought before the cutoff {cutoff}" in html["en"], html["en"]
