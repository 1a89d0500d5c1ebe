"""Segments benchmark: ad-hoc counts (the live count of a builder) and a full refresh of the
built-in library, each next to the same work as hand-written DuckDB SQL in the same run.

    python bench/bench_segments.py --workspace bench/out/ws-1m      # a workspace with the demo shop
    python bench/bench_segments.py --customers 100000               # or generate one

The hand-written refresh materialises the same profile (bench/baselines.py) and every
segment's member table; danggol's refresh does that plus the membership history
(entered/left). Member counts of both must agree before any time is reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import machine, md_table, peak_rss_gib
from danggol import pipeline
from danggol.segments import history, service
from danggol.segments.compile import shift_date
from danggol.segments.nodes import DateOffset
from danggol.segments.registry import builtin_segments
from danggol.store.workspace import Workspace

AS_OF = dt.date(2025, 6, 30)
PURCHASE = "o.status IN ('paid', 'partially_refunded')"


def ago(amount: int, unit: str) -> str:
    return f"DATE '{shift_date(AS_OF, DateOffset(-amount, unit))}'"  # type: ignore[arg-type]


def q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def bought(where: str, since: str, min_orders: int = 1) -> str:
    return (
        "SELECT o.customer_id FROM orders o JOIN order_items i USING (order_id) "
        f"WHERE {PURCHASE} AND o.order_date BETWEEN {since} AND DATE '{AS_OF}' AND {where} "
        f"GROUP BY o.customer_id HAVING count(DISTINCT o.order_id) >= {min_orders}"
    )


def evented(name: str, since: str, extra: str = "TRUE") -> str:
    return (
        f"SELECT customer_id FROM events WHERE event = {q(name)} AND event_date BETWEEN {since} "
        f"AND DATE '{AS_OF}' AND {extra}"
    )


def hand_segments(params: dict[str, dict[str, object]]) -> dict[str, str]:
    """Each built-in segment as hand-written SQL over the materialised profile ``p``, drawn
    from the known customers as danggol's are (issue 17: a customer record or an order; no
    one that names ``known_customer`` — visitors_never_bought — is every id, as in danggol)."""
    return {
        name: where if name in EVERY_ID else f"known_customer AND ({where})"
        for name, where in _hand_wheres(params).items()
    }


#: built-in segments whose query names ``known_customer`` (``known_customer IN (true, false)``)
EVERY_ID = {"visitors_never_bought"}


def _hand_wheres(params: dict[str, dict[str, object]]) -> dict[str, str]:
    a, b = q(str(params["cross_sell"]["product_a"])), q(str(params["cross_sell"]["product_b"]))
    c = q(str(params["upgrade_candidates"]["product"]))
    x = q(str(params["product_interest"]["product"]))
    cat = q(str(params["category_lovers"]["category"]))
    region = q(str(params["local_festival"]["region"]))
    d = f"DATE '{AS_OF}'"
    return {
        "conversion_cycle_due": f"number_of_orders >= 1 AND last_order_date < {ago(5, 'm')}",
        "repeat_cycle_due": "number_of_orders >= 2 AND days_since_last_order > 1.0 * avg_days_between_orders "
        "AND days_since_last_order <= 3.0 * avg_days_between_orders",
        "cross_sell": f"customer_id IN ({bought(f'i.product_id = {a}', ago(3, 'm'))}) "
        f"AND customer_id NOT IN ({bought(f'i.product_id = {b}', ago(3, 'm'))})",
        "upgrade_candidates": f"customer_id IN ({bought(f'i.product_id = {c}', ago(6, 'm'))})",
        "product_interest": f"(customer_id IN ({evented('product_view', ago(30, 'd'), f'product_id = {x}')}) "
        f"OR customer_id IN ({evented('cart_add', ago(30, 'd'), f'product_id = {x}')})) "
        f"AND customer_id NOT IN ({bought(f'i.product_id = {x}', ago(30, 'd'))})",
        "cart_abandoners": f"customer_id IN ({evented('cart_add', ago(7, 'd'))}) AND customer_id NOT IN "
        f"(SELECT customer_id FROM orders o WHERE {PURCHASE} AND order_date BETWEEN {ago(7, 'd')} AND {d})",
        "visitors_never_bought": f"customer_id IN ({evented('visit', ago(90, 'd'))}) AND number_of_orders = 0",
        "free_shipping_regulars": "number_of_orders >= 2 AND aov >= 50000",
        "low_basket_buyers": "number_of_orders >= 1 AND aov < 50000",
        "category_lovers": f"customer_id IN ({bought(f'i.category = {cat}', ago(12, 'm'), 2)})",
        "welcome_week": f"first_order_date >= {ago(7, 'd')}",
        "welcome_month": f"first_order_date >= {ago(30, 'd')}",
        "feedback_new": f"first_order_date >= {ago(90, 'd')} AND first_order_date <= {ago(30, 'd')}",
        "refunded_customers": "refunds >= 1",
        "failed_subscriptions": f"customer_id IN ({evented('subscription_fail', ago(30, 'd'))})",
        "local_festival": f"lower(region) = lower({region})",
        "premium_buyers": f"customer_id IN ({bought('i.unit_price >= 100000', ago(12, 'm'))})",
        "top_spenders": "amount_spent_percentile >= 80",
        "next_band_spenders": "amount_spent_percentile >= 60 AND amount_spent_percentile < 80",
        # the prediction built-ins test the stored prediction columns
        "future_vips": "future_vip",
        "likely_returners": "number_of_orders = 1 AND repurchase_probability >= 0.3",
        "repurchase_moment": f"expected_next_order_date BETWEEN {d} - 14 AND {d} + 14",
        "fading_vips": "grade = 'vip' AND p_alive < 0.5",
    }


ADHOC = [
    "number_of_orders >= 1 AND last_order_date < -5m",
    "products_purchased(id: {a}, date: -3m) = true AND products_purchased(id: {b}, date: -3m) = false",
    "events(name: 'cart_add', date: -7d) >= 1 AND number_of_orders(date: -7d) = 0",
    "amount_spent_percentile >= 60 AND amount_spent_percentile < 80",
    "NOT (customer_tags CONTAINS 'wholesale')",
    "days_since_last_order > 1.5 * avg_days_between_orders AND customer_regions IN ('서울특별시', '경기도')",
]


def choose_params(ws: Workspace) -> dict[str, dict[str, object]]:
    duck = ws.duck
    top = [
        r[0]
        for r in duck.execute(
            "SELECT product_id FROM order_items GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 3"
        ).fetchall()
    ]
    cat = duck.execute(
        "SELECT category FROM order_items GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchall()[0][0]
    region = duck.execute(
        "SELECT region FROM customers WHERE region IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 OFFSET 2"
    ).fetchall()[0][0]
    return {
        "cross_sell": {"product_a": top[0], "product_b": top[1]},
        "upgrade_candidates": {"product": top[2]},
        "product_interest": {"product": top[0]},
        "category_lovers": {"category": cat},
        "local_festival": {"region": region},
    }


def timed(fn, repeat: int = 5) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    info = machine()
    if args.workspace:
        ws = Workspace.open(args.workspace)
    else:
        from danggol.demo import generate_shop
        from danggol.ingest.load import ingest_tables

        ws = Workspace.init(Path(tempfile.mkdtemp(prefix="danggol-seg-")) / "ws")
        ingest_tables(ws, generate_shop(args.customers, seed=7, end=AS_OF))
    duck = ws.duck
    n_customers = duck.execute("SELECT count(DISTINCT customer_id) FROM customers").fetchall()[0][0]
    n_orders = ws.count("orders")
    params = choose_params(ws)
    segments = {
        name: seg.with_params(**params.get(name, {})) for name, seg in builtin_segments().items()
    }
    hand = hand_segments(params)
    assert set(hand) == set(segments), set(segments) ^ set(hand)

    # --- a full refresh (profile + scores + segments + history), for the record -------------
    t0 = time.perf_counter()
    first = pipeline.refresh(ws, AS_OF, segments=segments)
    t_full = time.perf_counter() - t0

    # --- the segment step: danggol's compiled SQL vs hand-written SQL --------------------------
    # Both run on the same stored profile and go through the same bookkeeping (members,
    # entered/left, sizes); each run is rolled back, so every run starts from the same state.
    hand_queries = {
        name: (f"SELECT customer_id FROM profile_snapshot WHERE {where}", name)
        for name, where in hand.items()
    }

    class Abandon(Exception):
        pass

    def step(queries: dict | None) -> tuple[float, dict[str, int]]:
        # inside the store's writer (a private copy), abandoned: nothing is published
        try:
            with ws.writer():
                ws.duck.execute("BEGIN TRANSACTION")
                t0 = time.perf_counter()
                result = history.snapshot_segments(ws, AS_OF, segments, queries=queries)
                took = time.perf_counter() - t0
                ws.duck.execute("ROLLBACK")
                raise Abandon
        except Abandon:
            pass
        return took, {s.segment: s.size for s in result.segments}

    dg_times, hand_times = [], []
    for _ in range(3):
        took, dg_sizes = step(None)
        dg_times.append(took)
        took, hand_sizes = step(hand_queries)
        hand_times.append(took)
    if dg_sizes != hand_sizes or dg_sizes != {s.segment: s.size for s in first.segments}:
        diff = {k: (dg_sizes.get(k), hand_sizes.get(k)) for k in hand_sizes}
        raise SystemExit(f"danggol and hand-written segment sizes differ: {diff}")
    t_dg, t_hand = min(dg_times), min(hand_times)

    # --- ad-hoc counts after the refresh (the builder's live count) ---------------------------
    rows = []
    a, b = params["cross_sell"]["product_a"], params["cross_sell"]["product_b"]
    for text in ADHOC:
        query = text.replace("{a}", f"'{a}'").replace("{b}", f"'{b}'")
        tgt = service.target(ws, query)
        med, worst, n = timed(lambda tgt=tgt: service.count(ws, tgt, AS_OF))
        rows.append([f"`{query}`", f"{n:,}", f"{med * 1000:.0f} ms", f"{worst * 1000:.0f} ms"])

    text = "\n\n".join(
        [
            f"### Segments: {n_customers:,} demo customers, {n_orders:,} orders",
            f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python {info['python']}; "
            f"{info['libraries']}. Run {info['date']}: `python bench/bench_segments.py "
            + (
                f"--workspace {args.workspace}`."
                if args.workspace
                else f"--customers {args.customers}`."
            ),
            md_table(
                [
                    "refresh step: all built-in segments on the stored profile",
                    "time (best of 3)",
                    "ratio",
                ],
                [
                    [
                        f"danggol ({len(segments)} built-in segments, compiled)",
                        f"{t_dg:.2f} s",
                        f"{t_dg / t_hand:.2f}× hand SQL",
                    ],
                    ["the same segments as hand-written DuckDB SQL", f"{t_hand:.2f} s", "1.00×"],
                ],
            ),
            "Both sides include the same bookkeeping (members, entered/left, sizes). The whole "
            f"`refresh` (profile, RFM, lifecycle, grades, tiers, segments, history) took {t_full:.1f} s.",
            "Ad-hoc segment count after the refresh (materialised profile), 5 runs each:",
            md_table(["query", "count", "median", "slowest"], rows),
            f"Peak memory of the benchmark process: {peak_rss_gib():.1f} GiB.",
        ]
    )
    print(text)
    ws.close()


if __name__ == "__main__":
    main()
