"""Web benchmark: how fast the dashboard's pages and API answer on a refreshed workspace.

    python bench/bench_web.py --workspace bench/out/ws-1m        # a copy of the 1M demo workspace
    python bench/bench_web.py --workspace bench/out/ws-1m --no-refresh

Saves one segment in the workspace, runs ``danggol refresh`` (the pages read the stored
profile), serves the workspace with uvicorn on 127.0.0.1 (``danggol.web.create_app``, as
``danggol serve`` does) and times real HTTP requests with httpx, one at a time:

* the app starts as ``danggol serve`` starts it (computing the first pages' slow answers in the
  background): the first request of each route right after the start ("cold"; a request whose
  answer is being computed waits for it), and how long the background work takes;
* then ``--repeat`` requests of each route, p50 / p95 / max ("warm": the app caches answers
  until the store changes; the members pages and the builder's live count on a new query
  are not cached, so every one of those runs its query);
* a page = the requests its JavaScript makes when it opens, timed together.

The workspace is written to (one saved segment, one refresh): use a copy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import httpx

from common import machine, md_table
from danggol.pipeline import refresh
from danggol.segments.definition import Segment
from danggol.segments.registry import Registry
from danggol.store.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from web_server import running_app  # noqa: E402

SEGMENT = Segment(
    name="bench_vip_at_risk",
    title={"ko": "이탈 위험 VIP", "en": "VIPs at risk"},
    goal="recovery",
    query="amount_spent_percentile >= 80 AND (last_order_date < -90d OR refunds > 0)",
)
SEG = f"/api/segments/{SEGMENT.name}"
MEMBERS = f"{SEG}/members?fields=customer_id,amount_spent,number_of_orders,last_order_date,rfm_group,lifecycle_stage&page_size=25"

#: page → the requests its JavaScript makes when it opens (app.js)
PAGES = {
    "overview": ["/", "/api/status", "/api/vocabulary", "/api/words", "/api/overview"],
    "segments": ["/", "/api/status", "/api/vocabulary", "/api/words", "/api/segments"],
    "segment detail": ["/", "/api/status", "/api/vocabulary", "/api/words", SEG, MEMBERS],
}
#: single routes timed on their own
ROUTES = {
    "GET /api/overview": "/api/overview",
    "GET /api/segments": "/api/segments",
    f"GET {SEG}": SEG,
    "GET …/members (page 1)": MEMBERS,
    "GET …/members (page 200, by amount_spent desc)": MEMBERS
    + "&page=200&sort=amount_spent&order=desc",
    "GET …/members (search)": MEMBERS + "&search=C00012",
    "GET /api/analytics/lifecycle (6 months)": "/api/analytics/lifecycle?months=6",
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def timed(client: httpx.Client, method: str, url: str, **kw: object) -> float:
    start = time.perf_counter()
    r = client.request(method, url, **kw)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    if r.status_code >= 400:
        raise SystemExit(f"{method} {url}: {r.status_code} {r.text[:300]}")
    return elapsed


def ms(x: float) -> str:
    return f"{x * 1000:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2025, 6, 30))
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--no-refresh", action="store_true")
    parser.add_argument("--out", type=Path, help="write the markdown result here too")
    args = parser.parse_args()

    Registry(args.workspace / "segments").save(SEGMENT, overwrite=True)
    ws = Workspace.open(args.workspace)
    customers = ws.count("customers")
    refresh_s = None
    if not args.no_refresh:
        start = time.perf_counter()
        refresh(ws, args.as_of)
        refresh_s = time.perf_counter() - start
    ws.close()

    cold: list[list[object]] = []
    warm: list[list[object]] = []
    pages: list[list[object]] = []
    started = time.perf_counter()
    with (
        running_app(args.workspace, prewarm=True) as url,
        httpx.Client(base_url=url, timeout=600) as client,
    ):
        for name, path in ROUTES.items():
            cold.append([name, ms(timed(client, "GET", path))])
        while client.get("/api/analytics/lifecycle?months=6").status_code == 202:
            time.sleep(1)
        warmed_s = time.perf_counter() - started
        counts = []
        for k in range(args.repeat):  # the builder's live count: a new query each time
            query = f"number_of_orders >= {k + 1} AND amount_spent_percentile >= {k % 50}"
            counts.append(timed(client, "POST", "/api/query/count", json={"query": query}))
        cold.append(
            ["POST /api/query/count (a new query each time, median)", ms(statistics.median(counts))]
        )
        for name, path in ROUTES.items():
            times = [timed(client, "GET", path) for _ in range(args.repeat)]
            warm.append([name, ms(pct(times, 0.5)), ms(pct(times, 0.95)), ms(max(times))])
        warm.append(
            [
                "POST /api/query/count (new query each time)",
                ms(pct(counts, 0.5)),
                ms(pct(counts, 0.95)),
                ms(max(counts)),
            ]
        )
        # purchase conditions (issue 19: under 1 s at 1M after a refresh): a product or a
        # category bought in a window, each query new, next to the profile conditions above
        products = [
            r["product_id"]
            for r in client.get("/api/catalog/products", params={"limit": args.repeat}).json()
        ]
        categories = [
            r["category"]
            for r in client.get("/api/catalog/categories", params={"limit": 10}).json()
        ]
        bought = []
        for k in range(args.repeat):
            if k % 2 == 0 and products:
                cond = f"products_purchased(id: '{products[k % len(products)]}', date: -{30 + k}d) = true"
            else:
                cond = f"products_purchased(category: '{categories[k % len(categories)]}', date: -{k + 1}m) = true"
            query = f"{cond} AND number_of_orders >= {k % 3 + 1}"
            bought.append(timed(client, "POST", "/api/query/count", json={"query": query}))
        warm.append(
            [
                "POST /api/query/count, purchase conditions (new query each time)",
                ms(pct(bought, 0.5)),
                ms(pct(bought, 0.95)),
                ms(max(bought)),
            ]
        )
        for name, paths in PAGES.items():
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                for path in paths:
                    timed(client, "GET", path)
                times.append(time.perf_counter() - start)
            pages.append(
                [name, len(paths), ms(pct(times, 0.5)), ms(pct(times, 0.95)), ms(max(times))]
            )

    m = machine()
    lines = [
        f"### Web: {customers:,} customers (bench/bench_web.py)",
        "",
        f"{m['date']} · {m['cpu']} · {m['cores']} cores · {m['memory']} · Python {m['python']} · {m['libraries']}",
        "",
        f"`python bench/bench_web.py --workspace {args.workspace} --repeat {args.repeat}`"
        + (f" — refresh before: {refresh_s:.1f} s" if refresh_s is not None else " (no refresh)"),
        "",
        "Pages (every request the page makes when it opens, one after the other), ms:",
        "",
        md_table(["page", "requests", "p50", "p95", "max"], pages),
        "",
        "Routes after the cache is warm, ms:",
        "",
        md_table(["route", "p50", "p95", "max"], warm),
        "",
        f"First request of each route right after the start, ms (the background work the app starts "
        f"with — overview, segment list, lifecycle over 6 months — was done {warmed_s:.0f} s after "
        "the start; the lifecycle route answers 202 at once until then):",
        "",
        md_table(["route", "ms"], cold),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
