"""The builder's live count on purchase conditions (issue 19: under 1 s at 1M customers after
a refresh), next to the same counts written by hand in DuckDB SQL, in one run.

    python bench/bench_live_count.py --workspace /tmp/ws1m-copy [--repeat 5]

The workspace must be refreshed for ``--as-of`` (the live count reads the stored profile);
it is only read. Two phases on the same machine, one after the other:

1. the baseline: each count as one hand-written DuckDB SQL query over the raw tables
   (orders, order_items) and the stored profile's ``known_customer`` (the segments'
   universe), on the workspace's own connection — wall and CPU seconds;
2. the dashboard: the app served by uvicorn in this process (as ``danggol serve``), the
   builder's request ``POST /api/query/count`` over HTTP (httpx), every query new (the app
   caches answers until the store changes, so each repeat moves the window by a day) —
   wall seconds as the browser waits, and this process's CPU seconds (server and client
   threads together: an upper bound on the server's).

Both counts must agree, or the benchmark stops. CPU seconds are the fairer figure on a shared
machine (two cores, other work running): the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from common import machine, md_table  # noqa: E402
from danggol.profile import snapshot_is_current  # noqa: E402
from danggol.store.workspace import Workspace  # noqa: E402
from web_server import running_app  # noqa: E402

PURCHASE = "status IN ('paid', 'partially_refunded')"
KNOWN = "SELECT customer_id FROM profile_snapshot WHERE known_customer"


def cases(day: dt.date, product: str, other: str, category: str) -> list[tuple[str, Callable]]:
    """(name, k → (danggol query, hand-written SQL)) — k moves the window so that every
    repeat is a new query the app has not cached."""
    d = f"DATE '{day}'"

    def since(k: int) -> str:
        return f"{d} - INTERVAL {k} DAY"

    lines = (
        "FROM orders o JOIN order_items i USING (order_id) "
        f"WHERE o.{PURCHASE} AND o.order_date <= {d}"
    )
    return [
        (
            "bought a product in a window (MATCHES)",
            lambda k: (
                f"products_purchased MATCHES (id = '{product}', date >= -{90 + k}d)",
                f"SELECT count(DISTINCT o.customer_id) {lines} AND i.product_id = '{product}' "
                f"AND o.order_date >= {since(90 + k)} AND o.customer_id IN ({KNOWN})",
            ),
        ),
        (
            "a category in 2+ orders in a window (MATCHES, count)",
            lambda k: (
                f"products_purchased MATCHES (category = '{category}', date >= -{180 + k}d, "
                "count >= 2)",
                "SELECT count(*) FROM (SELECT o.customer_id "
                f"{lines} AND i.category = '{category}' AND o.order_date >= {since(180 + k)} "
                f"AND o.customer_id IN ({KNOWN}) GROUP BY 1 "
                "HAVING count(DISTINCT o.order_id) >= 2)",
            ),
        ),
        (
            "cross-sell: bought A, not B in a window",
            lambda k: (
                f"products_purchased MATCHES (id = '{product}') AND products_purchased NOT "
                f"MATCHES (id = '{other}', date >= -{90 + k}d)",
                f"SELECT count(*) FROM ({KNOWN}) u WHERE u.customer_id IN (SELECT o.customer_id "
                f"{lines} AND i.product_id = '{product}') AND u.customer_id NOT IN ("
                f"SELECT o.customer_id {lines} AND i.product_id = '{other}' "
                f"AND o.order_date >= {since(90 + k)})",
            ),
        ),
        (
            "orders in a window (older form) and lifetime orders",
            lambda k: (
                f"number_of_orders(date: -{30 + k}d) >= 1 AND number_of_orders >= 3",
                "SELECT count(*) FROM profile_snapshot p WHERE p.known_customer "
                "AND p.number_of_orders >= 3 AND p.customer_id IN (SELECT customer_id FROM orders "
                f"WHERE {PURCHASE} AND order_date <= {d} AND order_date >= {since(30 + k)})",
            ),
        ),
        (
            "spent 200,000+ in a window (MATCHES, sum_amount)",
            lambda k: (
                f"orders_placed MATCHES (date >= -{365 + k}d, sum_amount >= 200000)",
                "SELECT count(*) FROM (SELECT customer_id FROM orders "
                f"WHERE {PURCHASE} AND order_date <= {d} AND order_date >= {since(365 + k)} "
                f"AND customer_id IN ({KNOWN}) GROUP BY 1 "
                "HAVING sum(total - coalesce(refunded_amount, 0)) >= 200000)",
            ),
        ),
    ]


def cpu() -> float:
    return time.process_time()  # user + system of every thread of this process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2025, 6, 30))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the markdown result here too")
    args = parser.parse_args()
    day = args.as_of

    with Workspace.open(args.workspace) as ws:
        if not snapshot_is_current(ws.ibis, day):
            raise SystemExit(f"{args.workspace} is not refreshed for {day}: run danggol refresh")
        customers = ws.count("customers")
        con = ws.duck
        product, other = (
            r[0]
            for r in con.execute(
                "SELECT product_id FROM order_items GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2"
            ).fetchall()
        )
        category = con.execute(
            "SELECT category FROM order_items WHERE category IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchall()[0][0]
        todo = cases(day, product, other, category)
        baseline: dict[str, list[tuple[float, float, int]]] = {}
        for name, make in todo:
            for k in range(args.repeat):
                _, sql = make(k)
                c0, w0 = cpu(), time.perf_counter()
                n = int(con.execute(sql).fetchall()[0][0])
                baseline.setdefault(name, []).append((time.perf_counter() - w0, cpu() - c0, n))

    served: dict[str, list[tuple[float, float, int]]] = {}
    with running_app(args.workspace) as url, httpx.Client(base_url=url, timeout=600) as client:
        client.get("/api/status").raise_for_status()
        client.post("/api/query/count", json={"query": "number_of_orders >= 1"}).raise_for_status()
        for name, make in todo:
            for k in range(args.repeat):
                query, _ = make(k)
                c0, w0 = cpu(), time.perf_counter()
                r = client.post("/api/query/count", json={"query": query})
                wall, spent = time.perf_counter() - w0, cpu() - c0
                if r.status_code != 200:
                    raise SystemExit(f"{query}: {r.status_code} {r.text[:300]}")
                served.setdefault(name, []).append((wall, spent, int(r.json()["count"])))

    rows = []
    for name, _ in todo:
        ours, base = served[name], baseline[name]
        for (_, _, a), (_, _, b) in zip(ours, base, strict=True):
            if a != b:
                raise SystemExit(f"{name}: the dashboard counts {a:,}, the SQL {b:,}")
        w, c = statistics.median(x[0] for x in ours), statistics.median(x[1] for x in ours)
        bw, bc = statistics.median(x[0] for x in base), statistics.median(x[1] for x in base)
        rows.append(
            [
                name,
                f"{ours[0][2]:,}",
                f"{w * 1000:,.0f} / {c * 1000:,.0f}",
                f"{max(x[0] for x in ours) * 1000:,.0f}",
                f"{bw * 1000:,.0f} / {bc * 1000:,.0f}",
                f"{w / bw:.2f}× / {c / bc:.2f}×",
            ]
        )
    m = machine()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = "\n".join(
        [
            f"### Builder live count, purchase conditions: {customers:,} customers "
            "(bench/bench_live_count.py)",
            "",
            f"{m['date']} · {m['cpu']} · {m['cores']} cores (shared with other work; load "
            f"average at the end {load}) · {m['memory']} · Python {m['python']} · "
            f"{m['libraries']}",
            "",
            f"`python bench/bench_live_count.py --workspace WS --repeat {args.repeat}` "
            f"(as of {day}; product {product}, not-bought product {other}, category "
            f"{category}); medians of {args.repeat} new queries each, ms:",
            "",
            md_table(
                [
                    "condition",
                    "count",
                    "dashboard wall / CPU",
                    "dashboard max wall",
                    "hand-written SQL wall / CPU",
                    "× SQL (wall / CPU)",
                ],
                rows,
            ),
        ]
    )
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
