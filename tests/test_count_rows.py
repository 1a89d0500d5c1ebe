"""A segment count takes its rows from where its query can match (the buyers' aggregate for
``number_of_orders >= 1 …``, the customers with an order for ``refunds >= 1``, a behaviour's
rows), and builds only the columns it tests. On a hand-made shop with every kind of customer
the pruned count must equal the count worked out in plain Python from the spec
(``profile.py``'s docstring, ``segments/universe.py``), before and after a refresh.

The shop, as of 2025-06-30 (Asia/Seoul):

* A: a customer record, two purchases (the last one 5 days ago) and a cart 4 days ago;
* B: a customer record, no order, a cart 2 days ago;
* C: signed up after the as-of date, ordered after it too, a cart the day before: an
  anonymous visitor as of the date (neither a record nor an order by then);
* D1: a customer record whose orders are a cancelled one and a refunded one: known, no purchase;
* E: no customer record, two purchases (one partly refunded): a known customer by its orders;
* a guest checkout (an order with no member id: a ``guest:`` id), one purchase;
* F: no record, only a refunded order: known, no purchase, one refund;
* H: a record, one large purchase a year ago;
* I: signed up after the as-of date but ordered before it: known by its order, its record
  (country) not yet there;
* V: only a cart event: an anonymous visitor.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from danggol.ingest.load import ingest_files
from danggol.pipeline import refresh
from danggol.profile import snapshot_is_current
from danggol.segments import service
from danggol.store.workspace import Workspace

D = dt.date(2025, 6, 30)
PURCHASE = ("paid", "partially_refunded")
REFUND = ("refunded", "partially_refunded")

#: (customer_id, signup date, country)
CUSTOMERS = [
    ("A", "2024-01-01", "KR"),
    ("B", "2024-05-01", "KR"),
    ("C", "2025-07-05", "KR"),
    ("D1", "2025-01-01", "JP"),
    ("H", "2023-06-01", "KR"),
    ("I", "2025-08-01", "KR"),
]
#: (order_id, customer_id ('' = a guest checkout), local date, total, status, refunded)
ORDERS = [
    ("A1", "A", "2025-06-25", 10000, "paid", 0),
    ("A2", "A", "2024-12-01", 20000, "paid", 0),
    ("C1", "C", "2025-07-06", 7000, "paid", 0),
    ("D11", "D1", "2025-03-01", 9000, "cancelled", 0),
    ("D12", "D1", "2025-04-01", 6000, "refunded", 6000),
    ("E1", "E", "2025-01-15", 50000, "paid", 0),
    ("E2", "E", "2025-06-20", 40000, "partially_refunded", 10000),
    ("G1", "", "2025-02-10", 5000, "paid", 0),
    ("F1", "F", "2025-05-01", 8000, "refunded", 8000),
    ("H1", "H", "2024-06-01", 100000, "paid", 0),
    ("I1", "I", "2025-06-01", 3000, "paid", 0),
]
#: (customer_id, event, local date)
EVENTS = [
    ("A", "cart_add", "2025-06-26"),
    ("B", "cart_add", "2025-06-28"),
    ("C", "cart_add", "2025-06-29"),
    ("V", "cart_add", "2025-06-27"),
    ("B", "visit", "2025-06-01"),
]


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def model() -> list[dict[str, Any]]:
    """The profile rows, in plain Python from the spec (not from danggol)."""
    ids: set[str] = set()
    records = {c: (day(s), country) for c, s, country in CUSTOMERS if day(s) <= D}
    ids |= set(records)
    orders = [
        (o, c or f"guest:{o}", day(d), t, st, r) for o, c, d, t, st, r in ORDERS if day(d) <= D
    ]
    ids |= {o[1] for o in orders}
    events = [(c, e, day(d)) for c, e, d in EVENTS if day(d) <= D]
    ids |= {e[0] for e in events}
    rows = []
    for cid in sorted(ids):
        mine = [o for o in orders if o[1] == cid]
        bought = [o for o in mine if o[4] in PURCHASE]
        n = len(bought)
        spent = sum(o[3] - o[5] for o in bought)
        first = min((o[2] for o in bought), default=None)
        last = max((o[2] for o in bought), default=None)
        week = D - dt.timedelta(days=7)
        rows.append(
            {
                "id": cid,
                "known": cid in records or bool(mine),
                "guest": cid.startswith("guest:"),
                "n": n,
                "spent": spent,
                "aov": spent / n if n else None,
                "first": first,
                "last": last,
                "days_since": (D - last).days if last else None,
                "refunds": sum(1 for o in mine if o[4] in REFUND),
                "country": records[cid][1] if cid in records else None,
                "added": records[cid][0]
                if cid in records
                else min((o[2] for o in mine), default=None),
                "cart_week": sum(
                    1 for c, e, d in events if c == cid and e == "cart_add" and d >= week
                ),
                "orders_week": sum(1 for o in bought if o[2] >= week),
            }
        )
    buyers = [r for r in rows if r["n"] > 0]
    for r in rows:  # PERCENT_RANK: (rank - 1) / (buyers - 1), rank by amount spent
        below = sum(1 for b in buyers if b["spent"] < r["spent"])
        r["pct"] = 100 * below / (len(buyers) - 1) if r["n"] > 0 else None
    return rows


def ge(a: Any, b: Any) -> bool:  # a positive comparison: an unknown value fails it
    return a is not None and a >= b


def lt(a: Any, b: Any) -> bool:
    return a is not None and a < b


FIVE_MONTHS_AGO = day("2025-01-30")  # 2025-06-30 − 5 months
#: (query, whether a row is in: a plain-Python reading of the query, known customers only
#: unless the query names known_customer)
CASES: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    (
        "number_of_orders >= 1 AND last_order_date < -5m",
        lambda r: r["n"] >= 1 and lt(r["last"], FIVE_MONTHS_AGO),
    ),
    ("amount_spent_percentile >= 80", lambda r: ge(r["pct"], 80)),
    ("amount_spent_percentile >= 50", lambda r: ge(r["pct"], 50)),
    (
        "number_of_orders >= 1 AND amount_spent_percentile < 30",
        lambda r: r["n"] >= 1 and lt(r["pct"], 30),
    ),
    (
        "amount_spent_percentile >= 50 AND refunds = 0",
        lambda r: ge(r["pct"], 50) and r["refunds"] == 0,
    ),
    ("NOT (amount_spent_percentile >= 50)", lambda r: not ge(r["pct"], 50)),
    ("number_of_orders = 0", lambda r: r["n"] == 0),
    (
        "number_of_orders = 0 OR last_order_date < -5m",
        lambda r: r["n"] == 0 or lt(r["last"], FIVE_MONTHS_AGO),
    ),
    ("NOT (number_of_orders >= 1)", lambda r: r["n"] < 1),
    ("refunds >= 1", lambda r: r["refunds"] >= 1),
    ("refunds >= 1 AND number_of_orders = 0", lambda r: r["refunds"] >= 1 and r["n"] == 0),
    # != holds for an unknown value (no order: no last order date), as NOT (=) does
    ("last_order_date != 2025-06-25", lambda r: r["last"] != day("2025-06-25")),
    (
        "amount_spent > 0 AND customer_countries = 'KR'",
        lambda r: r["spent"] > 0 and r["country"] == "KR",
    ),
    ("aov >= 10000", lambda r: ge(r["aov"], 10000)),
    (
        "first_order_date BETWEEN 2024-01-01 AND 2025-01-31",
        lambda r: r["first"] is not None and day("2024-01-01") <= r["first"] <= day("2025-01-31"),
    ),
    (
        "days_since_last_order <= 10",
        lambda r: r["days_since"] is not None and r["days_since"] <= 10,
    ),
    ("guest = true AND number_of_orders >= 1", lambda r: r["guest"] and r["n"] >= 1),
    (
        "events(name: 'cart_add', date: -7d) >= 1 AND number_of_orders(date: -7d) = 0",
        lambda r: r["cart_week"] >= 1 and r["orders_week"] == 0,
    ),
    # a field derived when named, from the sign-up date else the first order of any status
    ("customer_added_date < 2025-01-01", lambda r: lt(r["added"], day("2025-01-01"))),
    ("known_customer = false", lambda r: not r["known"]),
    ("known_customer = true AND number_of_orders >= 1", lambda r: r["known"] and r["n"] >= 1),
]


def expected(query: str, rule: Callable[[dict[str, Any]], bool]) -> int:
    everyone = "known_customer" in query
    return sum(1 for r in model() if (everyone or r["known"]) and rule(r))


def test_the_model_is_the_shop_described():
    """The plain-Python reading matches the shop described above (a check of the model)."""
    rows = {r["id"]: r for r in model()}
    known = sorted(k for k, r in rows.items() if r["known"])
    guest = next(k for k in rows if k.startswith("guest:"))
    assert known == sorted(["A", "B", "D1", "E", "F", "H", "I", guest])
    assert not rows["C"]["known"] and not rows["V"]["known"]
    assert [rows[k]["pct"] for k in ("I", guest, "A", "E", "H")] == [0, 25, 50, 75, 100]
    assert (
        rows["E"]["spent"] == 80000 and rows["D1"]["refunds"] == 1 and rows["I"]["country"] is None
    )


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _shop(root: Path) -> Workspace:
    ws = Workspace.init(root / "shop", timezone="Asia/Seoul", currency="KRW")
    files = {
        "customers": _write(
            root / "customers.csv",
            ["customer_id", "signup_at", "country"],
            [[c, f"{s}T10:00:00+09:00", country] for c, s, country in CUSTOMERS],
        ),
        "orders": _write(
            root / "orders.csv",
            ["order_id", "customer_id", "ordered_at", "total", "status", "refunded_amount"],
            [[o, c, f"{d}T10:00:00+09:00", t, st, r] for o, c, d, t, st, r in ORDERS],
        ),
        "events": _write(
            root / "events.csv",
            ["customer_id", "event", "occurred_at"],
            [[c, e, f"{d}T10:00:00+09:00"] for c, e, d in EVENTS],
        ),
    }
    for table, path in files.items():
        result = ingest_files(ws, table, [path])
        assert result.quarantined == 0, result.to_dict()
    return ws


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    ws = _shop(tmp_path_factory.mktemp("rows"))
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    ws = _shop(tmp_path_factory.mktemp("rows_refreshed"))
    refresh(ws, D)
    yield ws
    ws.close()


@pytest.mark.parametrize(("query", "rule"), CASES, ids=[q for q, _ in CASES])
def test_count_equals_the_plain_python_count(fresh, refreshed, query, rule):
    want = expected(query, rule)
    assert not snapshot_is_current(fresh.ibis, D)  # computed on the spot, pruned
    assert service.count(fresh, service.target(fresh, query), D) == want
    assert snapshot_is_current(refreshed.ibis, D)  # the stored profile
    assert service.count(refreshed, service.target(refreshed, query), D) == want


def test_the_rows_a_count_starts_from():
    """Which queries start from the buyers or the customers with an order (the shortcuts the
    counts above exercise): never under OR or NOT, nor for a test an order-less customer passes."""
    from danggol.segments.parse import parse_query

    def rows(query: str) -> str:
        tree = parse_query(query)
        if service.needs_a_purchase(tree):
            return "bought"
        return "ordered" if service.needs_an_order(tree) else "every_id"

    assert rows("number_of_orders >= 1 AND last_order_date < -5m") == "bought"
    assert rows("amount_spent_percentile >= 80") == "bought"
    assert rows("refunds >= 1") == "ordered"  # a refunded order is not a purchase
    assert rows("number_of_orders = 0 OR last_order_date < -5m") == "every_id"
    assert rows("NOT (number_of_orders >= 1)") == "every_id"
    assert rows("last_order_date != 2025-06-25") == "every_id"  # != holds for no date
    assert rows("amount_spent_percentile NOT BETWEEN 10 AND 20") == "every_id"


def test_each_connection_looks_up_its_own_tables(fresh, tmp_path):
    """The canonical tables are looked up once per connection (``fixed_table``), and Ibis
    connections compare equal by what they opened: a table of one workspace must never be
    handed to another's queries."""
    from danggol.store.backends import fixed_table

    assert fixed_table(fresh.ibis, "orders").count().to_pyarrow().as_py() == len(ORDERS)
    empty = Workspace.init(tmp_path / "empty", timezone="Asia/Seoul", currency="KRW")
    try:
        orders = fixed_table(empty.ibis, "orders")
        assert orders.count().to_pyarrow().as_py() == 0
        assert fixed_table(empty.ibis, "orders") is orders  # looked up once
    finally:
        empty.close()


@pytest.mark.parametrize(
    "query",
    [
        "predicted_spend_tier = 'high' AND number_of_orders >= 1",
        "events(name: 'cart_add', date: -7d) >= 1 AND rfm_group != 'champions'",
        "p_alive > 0.5 OR customer_countries = 'KR'",
    ],
)
def test_a_stored_count_reading_few_columns_equals_the_whole_stored_profile(refreshed, query):
    """Over the stored profile a count reads only the columns its query needs (all of them
    when it names a field derived from stored columns, such as predicted_spend_tier): the
    members over every stored column give the same number."""
    tgt = service.target(refreshed, query)
    everyone = service.members(refreshed, tgt, D).count().to_pyarrow().as_py()
    assert service.count(refreshed, tgt, D) == everyone
