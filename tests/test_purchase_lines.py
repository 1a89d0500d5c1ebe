"""The purchased lines a refresh stores (``purchase_lines``) give the segment compiler the same
customers as joining the order lines with their orders — and are read only while no load came
since they were built.

The shop is hand-made: multi-line orders (one with the same product on two lines), a partly
refunded order (a purchase), a refunded and a cancelled one (not purchases), a guest without a
customer record, an order after the as-of date, Korean categories and a catalogue of tags.
Every expected member set is worked out in plain Python from the rows below (``bought``), not
by danggol.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import ibis
import pytest

from danggol import pipeline
from danggol.profile import purchase_lines_current
from danggol.segments import service
from danggol.segments.compile import Compiler
from danggol.segments.parse import parse_query
from danggol.store.backends import duckdb_sql
from danggol.store.tables import PURCHASE_LINES, PURCHASE_LINES_META
from danggol.store.workspace import Workspace
from segment_fixtures import load_rows, write_rows

#: rows of a table, as written in its CSV
Rows = Sequence[tuple[str, ...]]

AS_OF = dt.date(2025, 6, 30)
OLDER = dt.date(2025, 3, 31)  # a refresh for an older date
BETWEEN = dt.date(2025, 5, 25)  # an as-of no refresh was run for

CUSTOMERS = (
    ("customer_id", "signup_at"),
    [(c, "2024-01-01") for c in ("C1", "C2", "C3", "C4", "C5")],
)
#: (order, customer, local date, total, status, refunded)
ORDER_ROWS = [
    ("O1", "C1", "2025-01-10", "30000", "paid", ""),
    ("O2", "C1", "2025-05-20", "20000", "paid", ""),
    ("O3", "C2", "2025-04-15", "40000", "partially_refunded", "10000"),
    ("O4", "C2", "2025-06-10", "10000", "refunded", "10000"),
    ("O5", "C3", "2025-06-01", "24000", "paid", ""),
    ("O6", "C3", "2025-06-20", "5000", "paid", ""),
    ("O7", "C4", "2025-02-01", "9000", "cancelled", ""),
    ("O8", "C4", "2025-03-15", "8000", "paid", ""),
    ("O9", "G9", "2025-06-25", "20000", "paid", ""),  # a guest: no customer record
    ("O10", "C5", "2025-07-05", "10000", "paid", ""),  # after the as-of date
    ("O11", "C5", "2025-03-01", "50000", "paid", ""),
]
#: (order, product, category, quantity, unit price, line number)
ITEM_ROWS = [
    ("O1", "P1", "뷰티", "1", "10000", "1"),
    ("O1", "P2", "뷰티", "2", "10000", "2"),
    ("O2", "P1", "뷰티", "1", "15000", "1"),
    ("O2", "P2", "뷰티", "1", "5000", "2"),
    ("O3", "P3", "의류", "2", "20000", "1"),
    ("O4", "P1", "뷰티", "1", "10000", "1"),
    ("O5", "P2", "뷰티", "1", "12000", "1"),
    ("O5", "P2", "뷰티", "1", "12000", "2"),  # the same product on a second line
    ("O6", "P4", "식품", "1", "5000", "1"),
    ("O7", "P1", "뷰티", "1", "9000", "1"),
    ("O8", "P2", "뷰티", "1", "8000", "1"),
    ("O9", "P1", "뷰티", "1", "20000", "1"),
    ("O10", "P1", "뷰티", "1", "10000", "1"),
    ("O11", "P3", "의류", "2", "25000", "1"),
]
#: the catalogue's tags (P3 has no row: no tags)
TAGS = {"P1": {"summer", "gift"}, "P2": {"gift"}, "P4": {"summer"}}


def csv_tables(orders: Rows, items: Rows) -> dict[str, tuple]:
    return {
        "orders": (
            ("order_id", "customer_id", "ordered_at", "total", "status", "refunded_amount"),
            [(o, c, f"{d}T12:00:00+09:00", t, s, r) for o, c, d, t, s, r in orders],
        ),
        "order_items": (
            ("order_id", "product_id", "category", "quantity", "unit_price", "line_no"),
            items,
        ),
    }


# --------------------------------------------------------------------------------------
# the expected sets, in plain Python from the rows
# --------------------------------------------------------------------------------------

Line = dict[str, object]


def lines(orders: Rows, items: Rows, as_of: dt.date) -> list[Line]:
    """Purchased lines up to ``as_of``: orders paid or partly refunded, dated by that day."""
    by_id = {o[0]: o for o in orders}
    out = []
    for order, product, category, qty, price, _ in items:
        _, customer, day, _, status, _ = by_id[order]
        date = dt.date.fromisoformat(day)
        if status in ("paid", "partially_refunded") and date <= as_of:
            out.append(
                {
                    "customer": customer,
                    "order": order,
                    "date": date,
                    "product": product,
                    "category": category,
                    "price": float(price),
                    "amount": float(price) * int(qty),
                    "tags": TAGS.get(product, set()),
                }
            )
    return out


def known(orders: Rows, as_of: dt.date) -> set[str]:
    """Customers with a record (all signed up in 2024) or an order of any status by ``as_of``."""
    ordered = {c for _, c, d, *_ in orders if dt.date.fromisoformat(d) <= as_of}
    return {c for c, _ in CUSTOMERS[1]} | ordered


def bought(
    rows: list[Line],
    test: Callable[[Line], bool],
    *,
    since: dt.date | None = None,
    orders: int = 1,
    spent: float = 0.0,
) -> set[str]:
    """Customers with lines passing ``test`` (dated ``since`` or later) in ``orders`` or more
    distinct orders, and ``spent`` or more over those lines."""
    kept = [r for r in rows if test(r) and (since is None or r["date"] >= since)]  # type: ignore[operator]
    per: dict[str, tuple[set[object], float]] = {}
    for r in kept:
        units, total = per.get(str(r["customer"]), (set(), 0.0))
        per[str(r["customer"])] = (units | {r["order"]}, total + float(r["amount"]))  # type: ignore[arg-type]
    return {c for c, (units, total) in per.items() if len(units) >= orders and total >= spent}


def days(as_of: dt.date, n: int) -> dt.date:
    return as_of - dt.timedelta(days=n)


def cases(orders: Rows, items: Rows, as_of: dt.date) -> list[tuple[str, set[str]]]:
    """Every form the compiler reads purchased lines in, with its members at ``as_of``."""
    rows = lines(orders, items, as_of)
    everyone = known(orders, as_of)

    def product(p: str) -> Callable[[Line], bool]:
        return lambda r: r["product"] == p

    def beauty(r: Line) -> bool:
        return r["category"] == "뷰티"

    return [
        ("products_purchased MATCHES (id = 'P1')", bought(rows, product("P1"))),
        ("products_purchased MATCHES (id = 'p1')", bought(rows, product("P1"))),  # any case
        (
            "products_purchased MATCHES (id IN ('P3', 'P4'))",
            bought(rows, lambda r: r["product"] in ("P3", "P4")),
        ),
        (
            "products_purchased MATCHES (id = 'P1', date >= -90d)",
            bought(rows, product("P1"), since=days(as_of, 90)),
        ),
        (
            "products_purchased MATCHES (category = '뷰티', date >= -180d, count >= 2)",
            bought(rows, beauty, since=days(as_of, 180), orders=2),
        ),
        # O5's two lines of P2 are one order: C1 (O1, O2) only
        (
            "products_purchased MATCHES (id = 'P2', count >= 2)",
            bought(rows, product("P2"), orders=2),
        ),
        (
            "products_purchased MATCHES (price <= 10000, date >= -120d)",
            bought(rows, lambda r: float(r["price"]) <= 10000, since=days(as_of, 120)),  # type: ignore[arg-type]
        ),
        (
            "products_purchased MATCHES (price >= 15000)",
            bought(rows, lambda r: float(r["price"]) >= 15000),  # type: ignore[arg-type]
        ),
        (
            "products_purchased MATCHES (tag = 'summer')",
            bought(rows, lambda r: "summer" in r["tags"]),  # type: ignore[operator]
        ),
        (
            "products_purchased MATCHES (category != '뷰티')",
            bought(rows, lambda r: r["category"] != "뷰티"),
        ),
        ("products_purchased NOT MATCHES (id = 'P1')", everyone - bought(rows, product("P1"))),
        # the cross-sell: bought A, not B in a window
        (
            "products_purchased MATCHES (id = 'P1') AND products_purchased NOT MATCHES "
            "(id = 'P2', date >= -90d)",
            bought(rows, product("P1")) - bought(rows, product("P2"), since=days(as_of, 90)),
        ),
        # the call forms
        (
            "products_purchased(id: 'P1', date: -90d) = true",
            bought(rows, product("P1"), since=days(as_of, 90)),
        ),
        (
            "products_purchased(category: '뷰티', count: 2) = true",
            bought(rows, beauty, orders=2),
        ),
        (
            "products_purchased(tag: 'gift') = true AND products_purchased(id: 'P4') = false",
            bought(rows, lambda r: "gift" in r["tags"])  # type: ignore[operator]
            - bought(rows, product("P4")),
        ),
        # orders with a product condition beside them
        (
            "orders_placed MATCHES (date >= -90d) AND products_purchased MATCHES (category = '의류')",
            {
                c
                for _, c, d, _, s, _ in orders
                if s in ("paid", "partially_refunded")
                and days(as_of, 90) <= dt.date.fromisoformat(d) <= as_of
            }
            & bought(rows, lambda r: r["category"] == "의류"),
        ),
    ]


# --------------------------------------------------------------------------------------
# the shop
# --------------------------------------------------------------------------------------


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path / "shop", timezone="Asia/Seoul")
    load_rows(ws, tmp_path, {"customers": CUSTOMERS})
    load_rows(ws, tmp_path, csv_tables(ORDER_ROWS, ITEM_ROWS))
    load_rows(
        ws,
        tmp_path,
        {
            "products": (
                ("product_id", "tags"),
                [(p, ", ".join(sorted(t))) for p, t in TAGS.items()],
            )
        },
    )
    yield ws
    ws.close()


def reads_stored_lines(ws: Workspace, query: str, as_of: dt.date) -> bool:
    """Whether the compiled count reads the stored lines (and not the order lines), over a
    base of the customer records (a computed profile reads the order lines for its own
    columns)."""
    people = ws.ibis.table("customers").select("customer_id")
    base = people.mutate(known_customer=ibis.literal(True))
    comp = Compiler(ws.ibis, as_of, base=base, resolver=service.registry(ws).tree)
    sql = duckdb_sql(comp.members(parse_query(query)).count())
    assert (PURCHASE_LINES in sql) != ("order_items" in sql), sql
    return PURCHASE_LINES in sql


def check_all(ws: Workspace, orders: Rows, items: Rows, as_of: dt.date, stored: bool) -> None:
    for query, expected in cases(orders, items, as_of):
        tgt = service.target(ws, query)
        got = set(
            service.members(ws, tgt, as_of)
            .select("customer_id")
            .to_pyarrow()["customer_id"]
            .to_pylist()
        )
        assert got == expected, (query, as_of)
        assert service.count(ws, tgt, as_of) == len(expected), (query, as_of)
        assert reads_stored_lines(ws, query, as_of) is stored, (query, as_of)


def test_the_expected_sets_are_not_trivial() -> None:
    """The hand-made cases tell the forms apart: no empty set, not everyone, some differ."""
    found = cases(ORDER_ROWS, ITEM_ROWS, AS_OF)
    assert all(expected and expected != known(ORDER_ROWS, AS_OF) for _, expected in found)
    assert len({frozenset(e) for _, e in found}) >= 8
    # worked out by hand from the rows: P1 bought by C1 (O1, O2) and G9 (O9); C2's O4 was
    # refunded, C4's O7 cancelled, C5's O10 is after the date
    assert dict(found)["products_purchased MATCHES (id = 'P1')"] == {"C1", "G9"}
    # beauty in 2+ orders over 180 days: C1 (O1 01-10, O2 05-20) and C3's O5 is one order
    assert dict(found)[
        "products_purchased MATCHES (category = '뷰티', date >= -180d, count >= 2)"
    ] == {"C1"}
    assert dict(found)["products_purchased MATCHES (id = 'P2', count >= 2)"] == {"C1"}
    # the cross-sell: C1 bought P2 on 05-20, within 90 days of 06-30; G9 never did
    assert dict(found)[
        "products_purchased MATCHES (id = 'P1') AND products_purchased NOT MATCHES "
        "(id = 'P2', date >= -90d)"
    ] == {"G9"}


def test_counts_over_the_stored_lines_equal_the_join(ws: Workspace) -> None:
    check_all(ws, ORDER_ROWS, ITEM_ROWS, AS_OF, stored=False)  # never refreshed: the join
    pipeline.refresh(ws, AS_OF, segments={})
    assert purchase_lines_current(ws.ibis)
    check_all(ws, ORDER_ROWS, ITEM_ROWS, AS_OF, stored=True)


def test_the_stored_lines_are_the_purchased_lines(ws: Workspace) -> None:
    """Row for row: every line of a paid or partly refunded order, at any date (the reader cuts
    at its as-of date), with its order's customer and date."""
    pipeline.refresh(ws, AS_OF, segments={})
    got = sorted(
        ws.duck.execute(
            f"SELECT customer_id, order_date, product_id, category, unit_price, amount "
            f"FROM {PURCHASE_LINES}"
        ).fetchall()
    )
    far = dt.date(2100, 1, 1)
    expected = sorted(
        (r["customer"], r["date"], r["product"], r["category"], r["price"], r["amount"])
        for r in lines(ORDER_ROWS, ITEM_ROWS, far)
    )
    assert got == expected and len(got) == 12  # 14 lines less O4's and O7's (O10 kept)
    # one unit number per order
    units = ws.duck.execute(
        f"SELECT count(DISTINCT unit), count(DISTINCT (customer_id, order_date, unit)) "
        f"FROM {PURCHASE_LINES}"
    ).fetchone()
    assert units == (9, 9)  # O1 O2 O3 O5 O6 O8 O9 O10 O11


def test_a_load_since_the_refresh_is_read_from_the_orders(ws: Workspace, tmp_path: Path) -> None:
    """After an ingest the stored lines are not used (the answer counts the new order) until
    the next refresh builds them again."""
    pipeline.refresh(ws, AS_OF, segments={})
    built = ws.duck.execute(f"SELECT built_at FROM {PURCHASE_LINES_META}").fetchall()
    # a refresh with no load since keeps them as they are
    pipeline.refresh(ws, AS_OF, segments={})
    assert ws.duck.execute(f"SELECT built_at FROM {PURCHASE_LINES_META}").fetchall() == built
    # C4 buys P1 twice more; C2's partly refunded order is exported again with one line, P4
    # (a file's lines of an order replace that order's lines: docs/ingest.md)
    new_orders = [
        ("O12", "C4", "2025-06-28", "30000", "paid", ""),
        ("O13", "C4", "2025-06-29", "10000", "paid", ""),
    ]
    new_items = [
        ("O12", "P1", "뷰티", "3", "10000", "1"),
        ("O13", "P1", "뷰티", "1", "10000", "1"),
        ("O3", "P4", "식품", "1", "3000", "2"),
    ]
    folder = tmp_path / "later"
    folder.mkdir()
    load_rows(ws, folder, csv_tables(new_orders, new_items))
    orders = [*ORDER_ROWS, *new_orders]
    items = [i for i in ITEM_ROWS if i[0] != "O3"] + new_items
    assert not purchase_lines_current(ws.ibis)
    check_all(ws, orders, items, AS_OF, stored=False)
    now = dict(cases(orders, items, AS_OF))
    assert "C4" in now["products_purchased MATCHES (id = 'P1')"]
    assert "C2" not in now["products_purchased MATCHES (price >= 15000)"]  # O3's P3 is gone
    pipeline.refresh(ws, AS_OF, segments={})
    assert ws.duck.execute(f"SELECT built_at FROM {PURCHASE_LINES_META}").fetchall() != built
    check_all(ws, orders, items, AS_OF, stored=True)


@pytest.mark.slow  # three dates of every case (35 s on the shared machine)
def test_older_dates_read_the_stored_lines(ws: Workspace) -> None:
    """The lines hold every purchase with its date: a refresh for an older date, and an as-of
    between it and the latest one, read them and cut at their own date."""
    pipeline.refresh(ws, AS_OF, segments={})
    pipeline.refresh(ws, OLDER, segments={})
    assert pipeline.stored_as_of(ws) == AS_OF  # the stored profile stays the latest date's
    for day in (OLDER, BETWEEN, AS_OF):
        check_all(ws, ORDER_ROWS, ITEM_ROWS, day, stored=True)
    # the dates change the answers (checked by hand: G9's O9 is 06-25, C1's O2 05-20)
    assert dict(cases(ORDER_ROWS, ITEM_ROWS, OLDER))["products_purchased MATCHES (id = 'P1')"] == {
        "C1"
    }


@pytest.mark.slow
def test_a_first_refresh_for_an_older_date_builds_them(ws: Workspace) -> None:
    pipeline.refresh(ws, OLDER, segments={})
    assert purchase_lines_current(ws.ibis)
    for day in (OLDER, AS_OF):
        check_all(ws, ORDER_ROWS, ITEM_ROWS, day, stored=True)


CLI = [sys.executable, "-c", "from danggol.cli.main import run; run()"]
SRC = str(Path(__file__).resolve().parents[1] / "src")


def cli(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DANGGOL_WORKSPACE"}
    env["PYTHONPATH"] = SRC
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr


def test_a_reader_follows_loads_and_refreshes_of_other_processes(
    ws: Workspace, tmp_path: Path
) -> None:
    """A long-lived reader (the web server's way) counts over the stored lines after a
    refresh; another process loads an order (``danggol ingest``): the reader's next store is
    not read from the lines, and counts the order; another process refreshes: the lines again."""
    pipeline.refresh(ws, AS_OF, segments={})
    shop = ws.path
    ws.close()
    reader = Workspace.open(shop)
    query = "products_purchased MATCHES (id = 'P4', date >= -90d)"
    try:
        assert service.count(reader, service.target(reader, query), AS_OF) == 1  # C3's O6
        assert reads_stored_lines(reader, query, AS_OF)
        new_orders = [("O12", "C4", "2025-06-28", "5000", "paid", "")]
        new_items = [("O12", "P4", "식품", "1", "5000", "1")]
        folder = tmp_path / "later"
        folder.mkdir()
        for table, (header, rows) in csv_tables(new_orders, new_items).items():
            path = write_rows(folder / f"{table}.csv", header, rows)
            cli("-w", str(shop), "ingest", table, str(path))
        assert reader.follow()
        expected = cases([*ORDER_ROWS, *new_orders], [*ITEM_ROWS, *new_items], AS_OF)
        assert (
            len(
                bought(
                    lines([*ORDER_ROWS, *new_orders], [*ITEM_ROWS, *new_items], AS_OF),
                    lambda r: r["product"] == "P4",
                    since=days(AS_OF, 90),
                )
            )
            == 2
        )
        assert service.count(reader, service.target(reader, query), AS_OF) == 2  # C3, C4
        assert not reads_stored_lines(reader, query, AS_OF)
        cli("-w", str(shop), "refresh", "--as-of", AS_OF.isoformat())
        assert reader.follow()
        assert service.count(reader, service.target(reader, query), AS_OF) == 2
        assert reads_stored_lines(reader, query, AS_OF)
        cross = expected[11]
        assert cross[0].startswith("products_purchased MATCHES (id = 'P1') AND")
        assert service.count(reader, service.target(reader, cross[0]), AS_OF) == len(cross[1])
    finally:
        reader.close()
