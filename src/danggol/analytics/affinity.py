"""Product affinity: products bought together, and products bought after another.

Both read the purchase orders up to the as-of date (optionally only the last ``months``
months, as ``date: -Nm`` does in the segment language) that have at least one order line;
orders without lines say nothing about products and are left out of every count. A product
counts once per order, whatever its quantity.

**Bought together** (baskets). With N = the number of such orders and n(X) = orders
containing X, for the rule A → B:

* support = n(A and B) / N (the same for A → B and B → A);
* confidence = n(A and B) / n(A): of the orders with A, the share that also has B;
* lift = confidence / (n(B) / N) = n(A and B)·N / (n(A)·n(B)): how much more often B is
  in a basket with A than in any basket (1 = independent).

**Bought later** (sequences, per customer). With C = customers with such an order and
c(X) = customers who bought X, a customer *has A then B* when one of their orders with A
came strictly before (``ordered_at``) one of their orders with B, i.e. first A < last B;
A ≠ B, and two orders at the same instant are not ordered. For A ⇒ B:

* support = customers with A then B / C;
* confidence = customers with A then B / c(A);
* lift = confidence / (c(B) / C).

Rules with support ≥ ``min_support`` are kept, best lift first. A rule turns into a
cross-sell segment, "bought A lately but not B", with :func:`cross_sell_query`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from danggol.analytics._common import window_purchases, window_start
from danggol.errors import ConfigError
from danggol.segments import build as segment
from danggol.serial import ToDict


def cross_sell_query(a: str, b: str, months: int = 3) -> str:
    r"""The segment query "bought ``a`` in the last ``months`` months but not ``b``".

    Ids are written as the query language writes text: in single quotes, with a quote and a
    backslash escaped as ``\'`` and ``\\``.

    >>> print(cross_sell_query("A", "B"))
    products_purchased MATCHES (id = 'A', date >= -3m) AND products_purchased NOT MATCHES (id = 'B', date >= -3m)
    >>> print(cross_sell_query("it's", "a\\b", months=6))
    products_purchased MATCHES (id = 'it\'s', date >= -6m) AND products_purchased NOT MATCHES (id = 'a\\b', date >= -6m)
    """
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise ConfigError(f"months must be a whole number ≥ 1; got {months!r}")
    since = segment.ago(months, "m")
    bought = segment.products_purchased(id=a, date=since) == True  # noqa: E712
    not_yet = segment.products_purchased(id=b, date=since) == False  # noqa: E712
    return segment.to_query(bought & not_yet)


@dataclass(frozen=True)
class Rule(ToDict):
    """``antecedent`` → ``consequent``: counts are orders (together) or customers (later)."""

    antecedent: str
    consequent: str
    antecedent_name: str | None
    consequent_name: str | None
    #: orders (customers) with both / with A then B
    count: int
    #: orders (customers) with the antecedent, and with the consequent
    antecedent_count: int
    consequent_count: int
    support: float
    confidence: float
    lift: float

    def cross_sell_query(self, months: int = 3) -> str:
        """The segment of customers who bought the antecedent lately but not the consequent."""
        return cross_sell_query(self.antecedent, self.consequent, months)


@dataclass(frozen=True)
class Affinity(ToDict):
    """Rules of products bought together and bought later, best lift first."""

    as_of: dt.date
    #: first day of the window, None for all time
    since: dt.date | None
    #: N: purchase orders with at least one line
    orders: int
    #: C: customers with such an order
    customers: int
    min_support: float
    pairs: list[Rule] = field(default_factory=list)
    sequences: list[Rule] = field(default_factory=list)


def _lines(con: ibis.BaseBackend, as_of: dt.date, since: dt.date | None) -> ir.Table:
    """One row per (purchase order, product): order_id, customer_id, ordered_at, product_id."""
    p = window_purchases(con, as_of, since).select("order_id", "customer_id", "ordered_at")
    items = con.table("order_items").select("order_id", "product_id").distinct()
    return items.join(p, "order_id")


def _names(con: ibis.BaseBackend) -> ir.Table:
    items = con.table("order_items")
    return items.group_by("product_id").aggregate(name=items.product_name.max())


def _rules(
    con: ibis.BaseBackend,
    both: ir.Table,
    single: ir.Table,
    total: int,
    min_support: float,
    top: int | None,
) -> list[Rule]:
    """Directed rules from unordered (``a`` < ``b``) or ordered pair counts ``n``.

    ``both``: a, b, n (n = together / a then b); ``single``: product_id, n.
    """
    kept = both.filter(both.n >= min_support * total)
    left = single.rename(n_a="n", a="product_id")
    right = single.rename(n_b="n", b="product_id")
    t = kept.join(left, "a").join(right, "b")
    names = _names(con)
    t = t.left_join(names.rename(name_a="name", a="product_id"), "a").drop("a_right")
    t = t.left_join(names.rename(name_b="name", b="product_id"), "b").drop("b_right")
    t = t.mutate(
        support=t.n / total,
        confidence=t.n / t.n_a,
        lift=(t.n * total) / (t.n_a * t.n_b),
    )
    t = t.order_by([t.lift.desc(), t.n.desc(), t.a, t.b])
    if top is not None:
        t = t.limit(top)
    return [
        Rule(
            r["a"],
            r["b"],
            r["name_a"],
            r["name_b"],
            int(r["n"]),
            int(r["n_a"]),
            int(r["n_b"]),
            float(r["support"]),
            float(r["confidence"]),
            float(r["lift"]),
        )
        for r in t.to_pyarrow().to_pylist()
    ]


def _pair_counts(lines: ir.Table) -> ir.Table:
    """Orders containing both a and b, each pair in both directions (a → b and b → a)."""
    x = lines.select("order_id", a="product_id")
    y = lines.select("order_id", b="product_id")
    pairs = x.join(y, [x.order_id == y.order_id, x.a < y.b])
    counted = pairs.group_by(["a", "b"]).aggregate(n=pairs.count())
    swapped = counted.select(a=counted.b, b=counted.a, n=counted.n)
    return counted.union(swapped)


def _sequence_counts(lines: ir.Table) -> ir.Table:
    """Customers with an order of a strictly before an order of b (first a < last b)."""
    per = lines.group_by(["customer_id", "product_id"]).aggregate(
        first_at=lines.ordered_at.min(), last_at=lines.ordered_at.max()
    )
    x = per.select("customer_id", "first_at", a="product_id")
    y = per.select("customer_id", "last_at", b="product_id")
    pairs = x.join(y, [x.customer_id == y.customer_id, x.a != y.b, x.first_at < y.last_at])
    return pairs.group_by(["a", "b"]).aggregate(n=pairs.count())


def affinity(
    con: ibis.BaseBackend,
    as_of: dt.date,
    *,
    min_support: float = 0.001,
    top: int | None = 20,
    months: int | None = None,
) -> Affinity:
    """Pairs bought together and A-then-B sequences with support, confidence and lift.

    Parameters
    ----------
    con : ibis.BaseBackend
        The Ibis connection of the workspace (``ws.ibis``).
    as_of : datetime.date
        Purchases up to the end of this day count.
    min_support : float, default 0.001
        Keep the rules whose support is at least this fraction (of orders for pairs, of
        customers for sequences).
    top : int or None, default 20
        How many rules of each kind to return (None: all).
    months : int or None, default None
        Only the last ``months`` months of purchases (None: all time).

    Returns
    -------
    Affinity
        ``pairs`` and ``sequences``, each sorted by lift, then count, then ids.
    """
    if isinstance(min_support, bool) or not 0 <= min_support <= 1:
        raise ConfigError(f"min_support must be a fraction in [0, 1]; got {min_support!r}")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ConfigError(f"top must be a whole number ≥ 1 or None (all rules); got {top!r}")
    since = window_start(as_of, months)
    lines = _lines(con, as_of, since)
    row = (
        lines.aggregate(orders=lines.order_id.nunique(), customers=lines.customer_id.nunique())
        .to_pyarrow()
        .to_pylist()[0]
    )
    n_orders, n_customers = int(row["orders"] or 0), int(row["customers"] or 0)
    result = Affinity(as_of, since, n_orders, n_customers, min_support)
    if not n_orders:
        return result
    in_orders = lines.group_by("product_id").aggregate(n=lines.order_id.nunique())
    by_customers = lines.group_by("product_id").aggregate(n=lines.customer_id.nunique())
    result.pairs.extend(_rules(con, _pair_counts(lines), in_orders, n_orders, min_support, top))
    result.sequences.extend(
        _rules(con, _sequence_counts(lines), by_customers, n_customers, min_support, top)
    )
    return result
