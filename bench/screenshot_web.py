"""Screenshot every page of the dashboard on a demo shop, in Korean and English, at laptop
(1366 × 900) and phone (390 × 844) sizes.

    python bench/screenshot_web.py              # docs/screenshots/web-*.png
    python bench/screenshot_web.py --customers 20000
    python bench/screenshot_web.py --only builder-matches --only customer

Builds a demo workspace (``generate_shop``) with one saved segment, refreshes it at two
month-ends (so sizes have a trend), serves it with ``danggol.web.create_app`` on 127.0.0.1 and
takes a full-page screenshot of each page with Playwright for Python driving Debian's Chromium
(``/usr/bin/chromium``; needs ``apt-get install chromium fonts-nanum``). Every request to
another host is blocked, so the screenshots also show that the pages load nothing from the
internet. The PNGs are reduced to 256 colours (as ``screenshot_report.py`` does).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Route, sync_playwright

from danggol.activation import campaigns
from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.pipeline import refresh
from danggol.segments.definition import Segment
from danggol.segments.registry import Registry
from danggol.store.workspace import Workspace
from screenshot_report import shrink

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from web_server import CHROMIUM_ARGS, running_app  # noqa: E402

SEGMENT = Segment(
    name="vip_at_risk",
    title={"ko": "이탈 위험 VIP", "en": "VIPs at risk"},
    description={
        "ko": "많이 샀지만 석 달 넘게 구매가 없는 고객",
        "en": "Big spenders without a purchase for three months",
    },
    goal="recovery",
    where={
        "all": [
            "amount_spent_percentile >= 80",
            {
                "any": [
                    "last_order_date < -90d",
                    {"not": "email_subscription_status = 'subscribed'"},
                ]
            },
        ]
    },
)

#: (name, hash route): every page of the dashboard
ROUTES = [
    ("overview", "#/"),
    ("segments", "#/segments"),
    ("segment", "#/segment/vip_at_risk"),
    ("segment-params", "#/segment/cross_sell"),
    ("builder", "#/builder/vip_at_risk"),
    ("builder-copy", "#/builder?from=top_spenders"),
    # the MATCHES form, the newer fields and a value the shop lacks (its warning)
    (
        "builder-matches",
        "#/builder?q="
        + quote(
            "products_purchased MATCHES (id IN ('P0001', 'P9999'), date >= -3m) AND "
            "orders_placed NOT MATCHES (channel = 'app', count >= 2) AND "
            "(anniversary(date: 'birth_date') BETWEEN today AND +30d OR "
            "rfm_group IN ('champions', 'loyal'))"
        ),
    ),
    ("grid-members", "#/grid/5/5/champions"),
    ("customer", "#/customer/{customer}"),
    ("predictions", "#/predictions"),
    ("campaigns", "#/campaigns"),
]
#: viewport sizes: a laptop and a phone (390 × 844, an iPhone 12–15)
SIZES = {"laptop": (1366, 900), "phone": (390, 844)}
#: (file name, hash route, language, viewport): each page in both languages at both sizes,
#: and the API reference once
PAGES = [
    (f"web-{name}-{size}-{lang}", route, lang, SIZES[size])
    for name, route in ROUTES
    for size in SIZES
    for lang in ("ko", "en")
] + [("web-api-docs", "docs", "en", SIZES["laptop"])]


def build_shop(folder: Path, customers: int, seed: int, as_of: dt.date) -> str:
    """The demo workspace with the saved segment, refreshed twice; returns a customer to show."""
    ws = Workspace.init(folder, shop_name="단골 데모 상점")
    ingest_tables(ws, generate_shop(customers, seed=seed, end=as_of))
    Registry(folder / "segments").save(SEGMENT)
    refresh(ws, dt.date(as_of.year, as_of.month, 1) - dt.timedelta(days=1))
    refresh(ws, as_of)
    campaigns.create_campaign(ws, "spring", "top_spenders", as_of=as_of - dt.timedelta(days=30))
    customer = ws.duck.execute(
        "SELECT customer_id FROM segment_members WHERE segment = 'vip_at_risk' ORDER BY 1 LIMIT 1"
    ).fetchall()[0][0]
    ws.close()
    return str(customer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2025, 6, 30))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--executable", default="/usr/bin/chromium")
    parser.add_argument(
        "--only", action="append", default=[], help="only the pages of this name (repeatable)"
    )
    args = parser.parse_args()
    pages = [
        p for p in PAGES if not args.only or any(p[0].startswith(f"web-{o}-") for o in args.only)
    ]
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="danggol-web-") as tmp:
        folder = Path(tmp) / "shop"
        start = time.perf_counter()
        customer = build_shop(folder, args.customers, args.seed, args.as_of)
        print(f"demo shop ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        with running_app(folder, prewarm=True) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.executable, args=CHROMIUM_ARGS)
            ready = browser.new_page()  # the lifecycle chart is computed in the background
            while ready.request.get(url + "api/analytics/lifecycle?months=6").status == 202:
                time.sleep(0.5)
            ready.close()
            blocked: list[str] = []
            for name, route, lang, (width, height) in pages:
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    device_scale_factor=2 if width < 500 else 1,
                )
                context.add_init_script(f"localStorage.setItem('danggol.lang', '{lang}')")

                def block(r: Route, seen: list[str] = blocked) -> None:
                    if r.request.url.startswith(url):
                        r.continue_()
                    else:
                        seen.append(r.request.url)
                        r.abort()

                context.route("**/*", block)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e, errs=errors: errs.append(str(e)))
                page.goto(url + route.format(customer=customer))
                page.wait_for_selector("body[data-ready]", timeout=120_000)  # a busy machine
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(400)  # the live count's debounce, the lazy charts
                if errors:
                    raise SystemExit(f"{name}: the page raised {errors}")
                png = args.out / f"{name}.png"
                page.screenshot(path=str(png), full_page=True)
                shrink(png)
                shown = png.relative_to(ROOT) if png.is_relative_to(ROOT) else png
                print(f"{shown} ({png.stat().st_size // 1024} KiB)")
                context.close()
            browser.close()
        if blocked:
            raise SystemExit(f"the pages asked for other hosts: {sorted(set(blocked))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
