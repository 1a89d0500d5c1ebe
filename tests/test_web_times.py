"""Times on the dashboard are the shop's local times, whatever zone the browser is in.

A Cafe24 order export (CP949, one row per item, header as tests/test_ingest_platforms.py
cites it) with orders at 14:15 and 23:30 Seoul time is loaded; the customer page's timeline
must show those clock times (the store keeps UTC: an API time without its offset is read by
the browser as its own local time — 9 hours early in Seoul), and a profile date must stay its
calendar day in a browser east of Seoul.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

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
        "20250601-0000011": "2025-06-01 14:15",
        "20250630-0000012": "2025-06-30 23:30",
    }


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}")
@pytest.mark.parametrize("zone", ["Asia/Seoul", "UTC", "Pacific/Auckland"])
def test_the_timeline_shows_seoul_times_in_any_browser_zone(shop: Path, zone: str) -> None:
    from playwright.sync_api import sync_playwright

    with running_app(shop) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="ko-KR", timezone_id=zone)
        context.add_init_script("localStorage.setItem('danggol.lang', 'ko')")
        page = context.new_page()
        page.goto(url + "#/customer/hong01")
        page.wait_for_selector("ol.timeline li")
        timeline = page.locator("ol.timeline").inner_text()
        profile = page.locator("#main").inner_text()
        browser.close()
    for _, _, shown, _ in ORDERS:
        assert shown in re.sub(r"\s+", " ", timeline), (zone, timeline)
    # first and last order dates are days, not instants: the same calendar day everywhere
    assert "2025. 6. 1." in profile and "2025. 6. 30." in profile, (zone, profile)
    assert "2025. 5. 31." not in profile and "2025. 6. 29." not in profile, (zone, profile)
