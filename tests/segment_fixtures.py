"""Data and reference SQL for ``test_segment_compile.py``.

The reference side never touches danggol's profile: every expected member set is computed
by hand-written DuckDB SQL over the raw tables (``customers``, ``orders``, ``order_items``,
``events``), straight from the written semantics. Date offsets are DuckDB interval
arithmetic (``DATE - INTERVAL 3 MONTH`` clamps to the month's end), so the reference does
not share danggol's ``shift_date`` either.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from danggol.ingest.load import ingest_files
from danggol.store.workspace import Workspace

# --------------------------------------------------------------------------------------
# reference SQL
# --------------------------------------------------------------------------------------

#: the statuses that count as a purchase / as a refund, written out again on purpose
_PURCHASE = "('paid', 'partially_refunded')"
_REFUND = "('refunded', 'partially_refunded')"

#: CTEs every reference query starts from; ``$d`` is the as-of date (a DATE parameter).
#: ``c`` has one row per customer of the universe with the derived values the spec names.
PRELUDE = f"""
WITH
universe AS (
    SELECT customer_id FROM customers WHERE signup_date IS NULL OR signup_date <= $d
    UNION
    SELECT customer_id FROM orders WHERE order_date <= $d
    UNION
    SELECT customer_id FROM events WHERE event_date <= $d
),
known_ids AS (
    -- who a segment holds unless it names known_customer: a customer record (signed up
    -- by D) or an order of any status by D; ids seen only in events are visitors
    SELECT customer_id FROM customers WHERE signup_date IS NULL OR signup_date <= $d
    UNION
    SELECT customer_id FROM orders WHERE order_date <= $d
),
purchase AS (
    SELECT * FROM orders WHERE status IN {_PURCHASE} AND order_date <= $d
),
buyer AS (
    SELECT customer_id,
           count(*) AS n_orders,
           sum(total - coalesce(refunded_amount, 0)) AS spent,
           min(order_date) AS first_date,
           max(order_date) AS last_date
    FROM purchase
    GROUP BY customer_id
),
ranked AS (
    SELECT customer_id, 100 * percent_rank() OVER (ORDER BY spent) AS pct FROM buyer
),
refund AS (
    SELECT customer_id, count(*) AS refunds
    FROM orders
    WHERE status IN {_REFUND} AND order_date <= $d
    GROUP BY customer_id
),
known AS (
    SELECT * FROM customers WHERE signup_date IS NULL OR signup_date <= $d
),
c AS (
    SELECT u.customer_id,
           coalesce(b.n_orders, 0) AS n_orders,
           coalesce(b.spent, 0) AS spent,
           b.spent / b.n_orders AS aov,
           b.first_date,
           b.last_date,
           $d - b.last_date AS days_since,
           CASE WHEN b.n_orders >= 2
                THEN CAST(b.last_date - b.first_date AS DOUBLE) / (b.n_orders - 1)
           END AS avg_gap,
           coalesce(r.refunds, 0) AS refunds,
           k.pct,
           cu.region,
           cu.city,
           cu.gender,
           cu.tags,
           cu.signup_date
    FROM universe AS u
    LEFT JOIN buyer AS b USING (customer_id)
    LEFT JOIN ranked AS k USING (customer_id)
    LEFT JOIN refund AS r USING (customer_id)
    LEFT JOIN known AS cu USING (customer_id)
)
"""


def ago(amount: int, unit: str) -> str:
    """SQL for the as-of date minus an offset: ago(3, 'MONTH') → D − 3 months (clamped)."""
    return f"CAST($d - INTERVAL {int(amount)} {unit} AS DATE)"


def bought(since: str | None = None, where: str = "TRUE") -> str:
    """SQL: ids of customers with ≥1 purchase order since ``since`` having a line ``where``."""
    window = f"AND p.order_date >= {since}" if since else ""
    return f"""(
        SELECT p.customer_id
        FROM purchase AS p JOIN order_items AS i ON i.order_id = p.order_id
        WHERE {where} {window}
    )"""


def event_ids(name: str, since: str | None = None, where: str = "TRUE", at_least: int = 1) -> str:
    """SQL: ids with at least ``at_least`` events ``name`` in [since, D] matching ``where``."""
    window = f"AND event_date >= {since}" if since else ""
    return f"""(
        SELECT customer_id FROM events
        WHERE event = '{name}' AND event_date <= $d {window} AND {where}
        GROUP BY customer_id HAVING count(*) >= {int(at_least)}
    )"""


def reference(
    ws: Workspace, sql: str, as_of: dt.date, *, everyone: bool = False, **params: object
) -> set[str]:
    """The ids a reference query selects (``PRELUDE`` + ``sql``; one column of ids), kept to
    the known customers (``known_ids``) unless ``everyone`` (a query naming known_customer)."""
    if not everyone:
        sql = (
            f"SELECT customer_id FROM ({sql}) AS q "
            "WHERE customer_id IN (SELECT customer_id FROM known_ids)"
        )
    rows = ws.duck.execute(PRELUDE + sql, {"d": as_of, **params}).fetchall()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "a reference query returned an id twice"
    return set(ids)


def universe(ws: Workspace, as_of: dt.date) -> set[str]:
    """The known customers as of the date: every segment's universe."""
    return reference(ws, "SELECT customer_id FROM c", as_of)


def every_id(ws: Workspace, as_of: dt.date) -> set[str]:
    """Every id of the profile, anonymous visitors included."""
    return reference(ws, "SELECT customer_id FROM c", as_of, everyone=True)


# --------------------------------------------------------------------------------------
# the tiny hand-made shop (as of 2025-03-31, Asia/Seoul = UTC+9)
# --------------------------------------------------------------------------------------

TINY_AS_OF = dt.date(2025, 3, 31)

TINY_CUSTOMERS = (
    ("customer_id", "gender", "region", "city", "signup_at", "signup_channel", "tags"),
    [
        ("C1", "female", "서울특별시", "Gangnam-Gu", "2024-01-01", "Instagram", "VIP;Newsletter"),
        ("C2", "male", "경기도", "Suwon", "2024-06-01", "NAVER", ""),
        ("C3", "", "", "", "2024-02-01", "", "wholesale"),
        # signs up after the as-of date and has nothing before it: not a customer yet
        ("C4", "other", "부산광역시", "Busan", "2025-04-05", "", ""),
        ("C5", "female", "서울특별시", "", "2025-01-10", "", "newsletter"),
        # no sign-up date: always known; a city with LIKE wildcards in it
        ("C6", "male", "부산광역시", "a_b%", "", "", ""),
        ("C7", "", "경기도", "axbx", "2023-01-01", "", ""),
    ],
)
TINY_ORDERS = (
    ("order_id", "customer_id", "ordered_at", "total", "status", "refunded_amount"),
    [
        ("O1", "C1", "2025-02-28T10:00:00+09:00", "10000", "paid", ""),
        # 23:30 KST on the as-of day (14:30 UTC): in
        ("O2", "C1", "2025-03-31T23:30:00+09:00", "20000", "partially_refunded", "5000"),
        # 00:30 KST the day after (still 2025-03-31 in UTC): out
        ("O3", "C1", "2025-04-01T00:30:00+09:00", "99999", "paid", ""),
        ("O4", "C2", "2025-02-27T12:00:00+09:00", "30000", "paid", ""),
        ("O5", "C2", "2025-03-10T12:00:00+09:00", "40000", "refunded", "40000"),
        ("O6", "C2", "2025-03-15T12:00:00+09:00", "50000", "cancelled", ""),
        ("O7", "C3", "2025-03-01T00:10:00+09:00", "70000", "failed", ""),
        ("O8", "C3", "2024-10-31T12:00:00+09:00", "5000", "paid", ""),
        ("O9", "C7", "2023-02-28T12:00:00+09:00", "8000", "paid", ""),
        ("O10", "C7", "2024-02-29T12:00:00+09:00", "12000", "paid", ""),
    ],
)
TINY_ITEMS = (
    ("order_id", "product_id", "category", "quantity", "unit_price"),
    [
        ("O1", "P1", "의류", "1", "10000"),
        ("O2", "P2", "신발", "1", "12000"),
        ("O2", "P5", "신발", "1", "8000"),
        ("O3", "P3", "가방", "1", "99999"),
        ("O4", "P1", "의류", "1", "30000"),
        ("O5", "P3", "가방", "1", "40000"),
        ("O6", "P3", "가방", "1", "50000"),
        ("O7", "P3", "가방", "1", "70000"),
        ("O8", "P2", "신발", "1", "5000"),
        ("O9", "P4", "식품", "1", "8000"),
        ("O10", "P4", "식품", "1", "12000"),
    ],
)
TINY_EVENTS = (
    ("customer_id", "event", "occurred_at", "product_id", "category"),
    [
        ("C5", "cart_add", "2025-03-24T09:00:00+09:00", "P1", "의류"),  # D − 7d: in
        ("C5", "cart_add", "2025-03-23T23:59:00+09:00", "P1", "의류"),  # D − 8d: out
        ("V1", "cart_add", "2025-03-31T23:59:00+09:00", "P2", "신발"),
        ("V1", "visit", "2025-03-31T10:00:00+09:00", "", ""),
        ("C1", "cart_add", "2025-03-30T12:00:00+09:00", "P2", "신발"),
        ("C1", "cart_add", "2025-04-01T00:10:00+09:00", "P2", "신발"),  # after D (local)
        ("C2", "product_view", "2025-03-20T10:00:00+09:00", "P3", "가방"),
        ("V2", "visit", "2025-04-02T10:00:00+09:00", "", ""),  # after D: not a customer
    ],
)
#: every id as of 2025-03-31; V1 is an anonymous visitor (events only)
TINY_EVERY_ID = frozenset({"C1", "C2", "C3", "C5", "C6", "C7", "V1"})
#: the known customers as of 2025-03-31: a segment's universe
TINY_UNIVERSE = TINY_EVERY_ID - {"V1"}


def write_rows(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def load_rows(ws: Workspace, folder: Path, tables: dict[str, tuple]) -> None:
    """Write each table as a CSV in ``folder`` and ingest it; nothing may be quarantined."""
    for table, (header, rows) in tables.items():
        path = write_rows(folder / f"{table}.csv", header, rows)
        result = ingest_files(ws, table, [path])
        assert result.quarantined == 0, result.to_dict()
        assert result.loaded + result.updated == len(rows), result.to_dict()


def load_tiny(ws: Workspace, folder: Path) -> None:
    load_rows(
        ws,
        folder,
        {
            "customers": TINY_CUSTOMERS,
            "orders": TINY_ORDERS,
            "order_items": TINY_ITEMS,
            "events": TINY_EVENTS,
        },
    )


# --------------------------------------------------------------------------------------
# SQL text: string literals per dialect (for the injection tests)
# --------------------------------------------------------------------------------------

#: per dialect: string quote characters, identifier quote characters, whether a doubled
#: quote escapes a quote inside a string, whether a backslash escapes inside a string
_LEXICAL = {
    "duckdb": ("'", '"', True, False),
    "postgres": ("'", '"', True, False),
    "trino": ("'", '"', True, False),
    "snowflake": ("'", '"', True, True),
    "bigquery": ("'\"", "`", False, True),
    "spark": ("'\"", "`", False, True),
    "mysql": ("'", "`", True, True),
}
_BACKSLASH = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b"}


def split_sql(sql: str, dialect: str) -> tuple[list[str], str]:
    """(decoded string literals, the SQL text outside string literals and quoted names).

    A small lexer written from each dialect's documented literal rules (standard SQL ``''``;
    BigQuery, Spark, Snowflake and MySQL backslash escapes; PostgreSQL ``E'…'``).
    """
    quotes, ident_quotes, doubling, backslash = _LEXICAL[dialect]
    literals: list[str] = []
    outside: list[str] = []
    i = 0
    while i < len(sql):
        ch = sql[i]
        if ch in quotes:
            escape_mode = backslash or (
                dialect == "postgres"
                and i > 0
                and sql[i - 1] in "eE"
                and (i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] == "_"))
            )
            out: list[str] = []
            i += 1
            while True:
                if i >= len(sql):
                    raise AssertionError(f"unterminated string literal in {dialect} SQL")
                c = sql[i]
                if escape_mode and c == "\\":
                    nxt = sql[i + 1]
                    out.append(_BACKSLASH.get(nxt, nxt))
                    i += 2
                elif c == ch:
                    if doubling and i + 1 < len(sql) and sql[i + 1] == ch:
                        out.append(ch)
                        i += 2
                    else:
                        i += 1
                        break
                else:
                    out.append(c)
                    i += 1
            literals.append("".join(out))
            outside.append(" ")
        elif ch in ident_quotes:
            end = i + 1
            while True:
                end = sql.index(ch, end)
                if end + 1 < len(sql) and sql[end + 1] == ch:
                    end += 2
                    continue
                break
            outside.append(" ")
            i = end + 1
        else:
            outside.append(ch)
            i += 1
    return literals, "".join(outside)


# --------------------------------------------------------------------------------------
# running many segments in one round trip
# --------------------------------------------------------------------------------------

#: a case: (query or segment name, params or None, as-of date)
Case = tuple[str, "dict[str, object] | None", dt.date]


def run_segments(ws: Workspace, cases: dict[object, Case]) -> dict[object, list[str] | Exception]:
    """Each case's member ids (as a list, duplicates kept) or the error it raised.

    ``service.members(ws, target, as_of)`` is ``service.compiler(ws, as_of).members(tree)``;
    to keep the test file fast, the cases of one as-of date share that compiler (so their
    member tables share one profile) and all cases run as one ``UNION ALL``, each segment
    still its own subquery. (``test_segment_compile`` also calls ``service.members`` and
    ``service.count`` one by one.) If the union fails, every case runs alone, so only a bad
    case fails.
    """
    import ibis

    from danggol.segments import service

    keys = list(cases)
    out: dict[object, list[str] | Exception] = {}
    parts: dict[int, object] = {}
    compilers: dict[dt.date, object] = {}
    for i, key in enumerate(keys):
        query, params, as_of = cases[key]
        try:
            tgt = service.target(ws, query, params)
            if as_of not in compilers:
                compilers[as_of] = service.compiler(ws, as_of)
            table = compilers[as_of].members(tgt.tree)  # type: ignore[attr-defined]
        except Exception as exc:  # the test of this case re-raises it
            out[key] = exc
            continue
        out[key] = []
        parts[i] = table.select(_case=ibis.literal(i), customer_id=table.customer_id)
    if not parts:
        return out
    try:
        union = ibis.union(*parts.values(), distinct=False)
        rows = union.to_pyarrow().to_pylist()
    except Exception:
        for i, part in parts.items():
            try:
                ids = part.to_pyarrow()["customer_id"].to_pylist()  # type: ignore[attr-defined]
            except Exception as exc:
                out[keys[i]] = exc
            else:
                out[keys[i]] = ids
        return out
    for row in rows:
        out[keys[row["_case"]]].append(row["customer_id"])  # type: ignore[union-attr]
    return out


def result(results: dict[object, list[str] | Exception], key: object) -> set[str]:
    """One case's member set; re-raises the error the case raised; no id twice."""
    value = results[key]
    if isinstance(value, Exception):
        raise value
    assert len(value) == len(set(value)), f"{key}: a customer is listed twice"
    return set(value)
