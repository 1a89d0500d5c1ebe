"""The customer profile: one row per customer, as of a date, as one Ibis expression.

Every id seen in customers, orders or events up to the as-of date has a row;
``known_customer`` is true for customer records and everyone who placed an order (of any
status), false for anonymous visitors (ids seen only in events). Segments and every
count hold known customers only unless asked (``segments/universe.py``). "As of D"
means up to the end of day D in the workspace time zone; the store keeps each timestamp's
local date, so the cut is a plain date comparison on every engine.

Field meanings (the segment language uses these names):

* a *purchase* is an order with status ``paid`` or ``partially_refunded``;
* ``number_of_orders`` = count of purchases; ``amount_spent`` = Σ (total − refunded_amount)
  over purchases;
* ``first_order_date`` / ``last_order_date`` = local dates of the first / last purchase;
  ``days_since_last_order`` = as-of date − last_order_date, in days;
* ``avg_days_between_orders`` = (last − first) / (number_of_orders − 1), null below 2;
  ``aov`` = amount_spent / number_of_orders (null without a purchase);
* ``refunds`` = count of orders with status ``refunded`` or ``partially_refunded``;
* ``amount_spent_percentile`` = 100 × PERCENT_RANK() over amount_spent among customers
  with at least one purchase (null for the others): "top 20%" is ``>= 80``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from danggol.errors import ConfigError
from danggol.schema import PURCHASE_STATUSES, REFUND_STATUSES
from danggol.store.backends import fixed_table, to_rows
from danggol.store.tables import PURCHASE_LINES, PURCHASE_LINES_META

if TYPE_CHECKING:
    from danggol.config import WorkspaceConfig

#: the columns of the profile that do not depend on the shop's event names, in order
BASE_FIELDS = (
    "customer_id",
    "known_customer",
    "guest",
    "number_of_orders",
    "amount_spent",
    "aov",
    "first_order_date",
    "last_order_date",
    "days_since_last_order",
    "avg_days_between_orders",
    "refunds",
    "amount_spent_percentile",
    "favourite_category",
    "distinct_products",
    "distinct_categories",
    "country",
    "region",
    "city",
    "gender",
    "age",
    "signup_date",
    "signup_channel",
    "email_subscription_status",
    "tags",
    "first_event_date",
    "last_event_date",
    "events_total",
)


def event_column(name: str) -> str:
    """The profile column that counts events named ``name``: ``events_cart_add``."""
    return "events_" + re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def as_of_date(value: dt.date | None, config: WorkspaceConfig) -> dt.date:
    """The as-of date: given, else the workspace's ``as_of``, else today in its time zone.

    Text is parsed at the edges (the CLI's ``parse_date``, the API's ``parse_day``), each in its
    own words; here a date comes in.

    >>> from danggol.config import WorkspaceConfig
    >>> as_of_date(dt.date(2025, 6, 30), WorkspaceConfig())
    datetime.date(2025, 6, 30)
    >>> as_of_date(None, WorkspaceConfig(as_of="2025-05-31"))
    datetime.date(2025, 5, 31)
    """
    if value is None:
        return config.today()
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ConfigError(f"as_of must be a date like date(2025, 6, 30); got {value!r}")
    return value


def purchases(con: ibis.BaseBackend, as_of: dt.date) -> ir.Table:
    """Orders that count as purchases, up to the end of the as-of day."""
    o = fixed_table(con, "orders")
    return o.filter(o.order_date <= as_of, o.status.isin(PURCHASE_STATUSES))


#: the order statistics (``_order_stats``) each order column of the profile is computed from
ORDER_STATS: dict[str, tuple[str, ...]] = {
    "number_of_orders": ("number_of_orders",),
    "amount_spent": ("amount_spent",),
    "aov": ("number_of_orders", "amount_spent"),
    "first_order_date": ("first_order_date",),
    "last_order_date": ("last_order_date",),
    "days_since_last_order": ("last_order_date",),
    "avg_days_between_orders": ("number_of_orders", "first_order_date", "last_order_date"),
    "refunds": ("refunds",),
    "amount_spent_percentile": ("number_of_orders", "amount_spent"),
}
#: the statistics a purchase alone gives (``refunds`` counts orders that are not purchases)
PURCHASE_STATS = frozenset(
    {"number_of_orders", "amount_spent", "first_order_date", "last_order_date"}
)


def _order_stats(
    con: ibis.BaseBackend,
    as_of: dt.date,
    stats: Collection[str] | None = None,
    *,
    purchases_only: bool = False,
) -> ir.Table:
    """One row per customer with an order (of any status) up to the as-of date, with the
    ``stats`` named (default: every one, and ``orders_any_status``). ``purchases_only``: one
    row per customer with a purchase, read from the purchases alone (as hand-written SQL
    would: ``WHERE status IN … GROUP BY``); only :data:`PURCHASE_STATS` can be asked then."""
    if purchases_only:
        p = purchases(con, as_of)
        every: dict[str, Callable[[], ir.Value]] = {
            "number_of_orders": p.count,
            "amount_spent": lambda: (p.total - p.refunded_amount.fill_null(0)).sum(),
            "first_order_date": p.order_date.min,
            "last_order_date": p.order_date.max,
        }
        source = p
    else:
        o = fixed_table(con, "orders")
        o = o.filter(o.order_date <= as_of)
        bought = o.status.isin(PURCHASE_STATUSES)
        every = {
            "number_of_orders": lambda: o.count(where=bought),
            "amount_spent": lambda: ibis.cases(
                (bought, o.total - o.refunded_amount.fill_null(0)), else_=0.0
            ).sum(),
            "first_order_date": lambda: o.order_date.min(where=bought),
            "last_order_date": lambda: o.order_date.max(where=bought),
            "refunds": lambda: o.count(where=o.status.isin(REFUND_STATUSES)),
            "orders_any_status": o.count,
        }
        source = o
    if stats is not None and purchases_only and not set(stats) <= PURCHASE_STATS:
        raise ValueError(f"the purchases alone do not give {sorted(set(stats) - PURCHASE_STATS)}")
    names = list(every) if stats is None else [s for s in every if s in stats]
    if not names:
        return source.select("customer_id").distinct()
    return source.group_by("customer_id").aggregate(**{k: every[k]() for k in names})


def _percentiles(stats: ir.Table) -> ir.Table:
    buyers = stats.filter(stats.number_of_orders > 0)
    return buyers.select(
        "customer_id",
        amount_spent_percentile=ibis.percent_rank().over(order_by=buyers.amount_spent) * 100,
    )


def _item_stats(con: ibis.BaseBackend, as_of: dt.date) -> ir.Table:
    p = purchases(con, as_of).select("order_id", "customer_id")
    items = fixed_table(con, "order_items")
    lines = items.join(p, "order_id")
    per_cat = (
        lines.filter(lines.category.notnull())
        .group_by(["customer_id", "category"])
        .aggregate(quantity=lines.quantity.sum())
    )
    ranked = per_cat.mutate(
        _rank=ibis.row_number().over(
            group_by=per_cat.customer_id,
            order_by=[per_cat.quantity.desc(), per_cat.category.asc()],
        )
    )
    favourite = ranked.filter(ranked._rank == 0).select(
        "customer_id", favourite_category=ranked.category
    )
    counts = lines.group_by("customer_id").aggregate(
        distinct_products=lines.product_id.nunique(),
        distinct_categories=lines.category.nunique(),
    )
    return counts.left_join(favourite, "customer_id").drop("customer_id_right")


def _event_stats(con: ibis.BaseBackend, as_of: dt.date, names: list[str]) -> ir.Table:
    e = fixed_table(con, "events")
    e = e.filter(e.event_date <= as_of)
    spellings: dict[str, list[str]] = {}
    for name in names:
        spellings.setdefault(event_column(name), []).append(name)
    per_name = {col: e.count(where=e.event.isin(raw)) for col, raw in spellings.items()}
    return e.group_by("customer_id").aggregate(
        first_event_date=e.event_date.min(),
        last_event_date=e.event_date.max(),
        events_total=e.count(),
        **per_name,
    )


def event_names(con: ibis.BaseBackend) -> list[str]:
    """The event names present in the store (a small query, run once per profile build)."""
    e = fixed_table(con, "events")
    rows = to_rows(con, e.select("event").distinct().order_by("event"))
    return [str(name) for (name,) in rows if name is not None]


def _age(birth: ir.DateValue, as_of: dt.date) -> ir.IntegerValue:
    """Whole years between birth date and the as-of date."""
    before_birthday = (birth.month() > as_of.month) | (
        (birth.month() == as_of.month) & (birth.day() > as_of.day)
    )
    return (as_of.year - birth.year()) - before_birthday.ifelse(1, 0)


#: profile columns by the table they come from: a pruned profile joins only the parts it needs
#: (``known_customer`` reads the customers and the orders: see ``customer_profile``)
CUSTOMER_COLUMNS = frozenset(
    {
        "country",
        "region",
        "city",
        "gender",
        "age",
        "signup_date",
        "signup_channel",
        "email_subscription_status",
        "tags",
    }
)
ORDER_COLUMNS = frozenset(ORDER_STATS) - {"amount_spent_percentile"}
ITEM_COLUMNS = frozenset({"favourite_category", "distinct_products", "distinct_categories"})
EVENT_COLUMNS = frozenset({"first_event_date", "last_event_date", "events_total"})

#: which rows a profile has: every id of customers, orders and events (``every_id``); the
#: customers with an order of any status (``ordered``); those with a purchase (``bought``)
ROWS = ("every_id", "ordered", "bought")


def customer_profile(
    con: ibis.BaseBackend,
    as_of: dt.date,
    *,
    events: list[str] | None = None,
    columns: Collection[str] | None = None,
    ids: ir.Table | None = None,
    rows: str = "every_id",
) -> ir.Table:
    """One row per customer as of ``as_of`` (see the module docstring for every field).

    ``events`` names the event counts to include (default: every event name in the store).
    ``columns`` keeps only these columns (and ``customer_id``), in the profile's order, and joins
    only the tables they come from, aggregating only the statistics they are computed from:
    what a segment count that tests two fields pays for. Names that are not profile columns
    (scores, predictions) are ignored. The rows are the same.
    ``ids`` (a table of distinct ``customer_id``, all of them customers as of ``as_of``) limits
    the rows to those customers, every value as in the full profile. ``rows`` (:data:`ROWS`)
    limits them to the customers with an order (``ordered``) or a purchase (``bought``), read
    from the orders' aggregate itself (no list of ids, no join): every value as in the full
    profile, ``amount_spent_percentile`` included (it ranks the buyers only).
    """
    if rows not in ROWS:
        raise ValueError(f"rows must be one of {', '.join(ROWS)}; got {rows!r}")
    if rows != "every_id" and ids is not None:
        raise ValueError("give ids or rows, not both")
    wanted = None if columns is None else {"customer_id", *columns}

    def needs(group: Collection[str]) -> bool:
        return wanted is None or not wanted.isdisjoint(group)

    if wanted is None or any(c.startswith("events_") and c != "events_total" for c in wanted):
        names = event_names(con) if events is None else events
    else:
        names = []
    event_cols = list(dict.fromkeys(map(event_column, names)))
    if wanted is not None:
        event_cols = [col for col in event_cols if col in wanted]
        names = [name for name in names if event_column(name) in event_cols]
    c = fixed_table(con, "customers")
    c = c.filter(c.signup_date.isnull() | (c.signup_date <= as_of)).mutate(
        known_customer=ibis.literal(True)
    )
    o = fixed_table(con, "orders")
    e = fixed_table(con, "events")
    known_wanted = needs({"known_customer"})
    # the order statistics the wanted columns are computed from (none: orders not joined)
    percentile = needs({"amount_spent_percentile"})
    stats_wanted = {
        stat
        for col, stats in ORDER_STATS.items()
        if needs({col}) and col != "amount_spent_percentile"
        for stat in stats
    }
    if percentile:  # ranked among the buyers: every row is one over the purchases alone
        stats_wanted |= (
            {"amount_spent"} if rows == "bought" else {"number_of_orders", "amount_spent"}
        )
    if rows == "every_id":
        if ids is None:
            ids = ibis.union(
                c.select("customer_id"),
                o.filter(o.order_date <= as_of).select("customer_id"),
                e.filter(e.event_date <= as_of).select("customer_id"),
                distinct=True,
            )
        profile = ids
        if stats_wanted or known_wanted:
            # whether an id placed an order (a known customer) is read from the same aggregate
            # (a join: DuckDB plans ``id IN (SELECT … FROM orders)`` no cheaper, measured)
            stats = _order_stats(
                con, as_of, stats_wanted | ({"orders_any_status"} if known_wanted else set())
            )
            profile = profile.left_join(stats, "customer_id").drop("customer_id_right")
    else:
        # every customer with an order is a known customer (segments/universe.py), and the
        # aggregate has one row per such customer: it is the profile's rows
        bought = rows == "bought"
        stats = _order_stats(con, as_of, stats_wanted, purchases_only=bought)
        if percentile and bought:  # every row a buyer: ranked in place, no join
            stats = stats.mutate(
                amount_spent_percentile=ibis.percent_rank().over(order_by=stats.amount_spent) * 100
            )
            percentile = False
        profile = stats

    parts: list[ir.Table] = []
    if needs(CUSTOMER_COLUMNS):
        parts.append(c)
    elif known_wanted and rows == "every_id":  # whether an id has a customer record
        parts.append(c.select("customer_id", "known_customer"))
    if percentile:
        parts.append(_percentiles(stats))
    if needs(ITEM_COLUMNS):
        parts.append(_item_stats(con, as_of))
    if needs(EVENT_COLUMNS) or event_cols:
        parts.append(_event_stats(con, as_of, names))
    for part in parts:
        profile = profile.left_join(part, "customer_id").drop("customer_id_right")

    def known_customer(p: ir.Table) -> ir.BooleanValue:
        """A known customer has a customer record or placed an order (any status): a guest
        checkout is a customer, an id seen only in events is an anonymous visitor."""
        if rows != "every_id":
            return ibis.literal(True)
        return p.known_customer.fill_null(False) | (p.orders_any_status.fill_null(0) > 0)

    def order_columns(p: ir.Table) -> dict[str, ir.Value]:
        # each present when a wanted column is computed from it (ORDER_STATS)
        n: Any = p.number_of_orders.fill_null(0) if "number_of_orders" in p.columns else None
        spent: Any = p.amount_spent.fill_null(0.0) if "amount_spent" in p.columns else None
        values: dict[str, Any] = {
            "number_of_orders": lambda: n,
            "amount_spent": lambda: spent,
            "aov": lambda: (n > 0).ifelse(spent / n, ibis.null("float64")),
            "first_order_date": lambda: p.first_order_date,
            "last_order_date": lambda: p.last_order_date,
            "days_since_last_order": lambda: ibis.date(as_of).delta(p.last_order_date, unit="day"),
            "avg_days_between_orders": lambda: (n > 1).ifelse(
                p.last_order_date.delta(p.first_order_date, unit="day") / (n - 1),
                ibis.null("float64"),
            ),
            "refunds": lambda: p.refunds.fill_null(0),
        }
        return {col: build() for col, build in values.items() if needs({col})}

    def customer_columns(p: ir.Table) -> dict[str, ir.Value]:
        return {
            "country": p.country,
            "region": p.region,
            "city": p.city,
            "gender": p.gender,
            "age": _age(p.birth_date, as_of),
            "signup_date": p.signup_date,
            "signup_channel": p.signup_channel,
            "email_subscription_status": p.marketing_opt_in.fill_null(False).ifelse(
                "subscribed", "not_subscribed"
            ),
            "tags": p.tags,
        }

    def event_columns(p: ir.Table) -> dict[str, ir.Value]:
        return {
            "first_event_date": p.first_event_date,
            "last_event_date": p.last_event_date,
            "events_total": p.events_total.fill_null(0),
        }

    built: dict[str, ir.Value] = {
        "customer_id": profile.customer_id,
        # an order without a member id loads under a 'guest:' id (ingest, docs/ingest.md)
        "guest": profile.customer_id.startswith("guest:"),
    }
    if known_wanted:
        built["known_customer"] = known_customer(profile)
    if needs(CUSTOMER_COLUMNS):
        built.update(customer_columns(profile))
    if needs(ORDER_COLUMNS):
        built.update(order_columns(profile))
    if needs({"amount_spent_percentile"}):
        built["amount_spent_percentile"] = profile.amount_spent_percentile
    if needs(ITEM_COLUMNS):
        built["favourite_category"] = profile.favourite_category
        built["distinct_products"] = profile.distinct_products.fill_null(0)
        built["distinct_categories"] = profile.distinct_categories.fill_null(0)
    if needs(EVENT_COLUMNS) or event_cols:
        built.update(event_columns(profile))
    keep = [col for col in BASE_FIELDS if col in built and (wanted is None or col in wanted)]
    return profile.select(
        **{col: built[col] for col in keep},
        **{col: profile[col].fill_null(0) for col in event_cols},
    )


class _OnlyCustomers:
    """A connection whose canonical tables show only some customers' rows (their orders' lines
    too), for :func:`profile_of`; anything else is passed through."""

    def __init__(self, con: ibis.BaseBackend, ids: ir.Table) -> None:
        self._con = con
        self._ids = ids.select("customer_id").distinct()

    def table(self, name: str) -> ir.Table:
        t = self._con.table(name)
        if name == "order_items":
            return t.semi_join(self.table("orders").select("order_id"), "order_id")
        if "customer_id" in t.columns:
            return t.semi_join(self._ids, "customer_id")
        return t


def profile_of(
    con: ibis.BaseBackend, as_of: dt.date, ids: ir.Table, *, events: list[str]
) -> ir.Table:
    """The profile rows of the customers in ``ids`` (a table with ``customer_id``), every field
    as :func:`customer_profile` computes it except ``amount_spent_percentile``, which ranks among
    them only: rank them with everyone through :func:`with_percentiles`."""
    return customer_profile(_OnlyCustomers(con, ids), as_of, events=events)


def with_percentiles(profile: ir.Table) -> ir.Table:
    """``profile`` with ``amount_spent_percentile`` ranked over all its buyers (as
    :func:`customer_profile` ranks them), the column kept in place."""
    ranked = _percentiles(profile).rename(_pid="customer_id", _pct="amount_spent_percentile")
    joined = profile.left_join(ranked, profile.customer_id == ranked._pid)
    return joined.select(
        *(
            joined._pct.name("amount_spent_percentile")
            if c == "amount_spent_percentile"
            else joined[c]
            for c in profile.columns
        )
    )


#: the table a refresh materialises the profile into (segments.history), and its bookkeeping row
SNAPSHOT_TABLE = "profile_snapshot"
SNAPSHOT_META = "profile_snapshot_meta"


def data_version(con: ibis.BaseBackend) -> int:
    """The latest ingest batch: a materialised profile is current while it is unchanged."""
    log = fixed_table(con, "ingest_log")
    value = to_rows(con, log.aggregate(v=log.batch_id.max()))[0][0]
    return int(value or 0)


#: the name before it was public (kept for branches in flight; use ``data_version``)
_data_version = data_version


def _current_meta(con: ibis.BaseBackend, meta: str, *columns: str) -> tuple[Any, ...] | None:
    """The ``columns`` of the one row of a refresh's ``meta`` table when what it describes was
    built at the store's current data version (no load came since); None when absent or stale."""
    if meta not in con.list_tables():
        return None
    rows = to_rows(con, con.table(meta).select(*columns, "data_version"))
    if not rows or rows[0][-1] != data_version(con):
        return None
    return tuple(rows[0][:-1])


def snapshot_is_current(con: ibis.BaseBackend, as_of: dt.date) -> bool:
    """Whether the profile a refresh stored is for ``as_of`` and no load came since."""
    row = _current_meta(con, SNAPSHOT_META, "as_of")
    return row is not None and row[0] == as_of


def purchase_lines_current(con: ibis.BaseBackend) -> bool:
    """Whether the purchased lines a refresh stored (``purchase_lines``) are the store's: built
    at the current data version, i.e. no load came since. They hold every purchased line with
    its order's date, so they serve any as-of date (the reader cuts at it); an absent table
    (a store never refreshed by this danggol, another engine's copy) is not current."""
    return _current_meta(con, PURCHASE_LINES_META) is not None


def purchase_lines(con: ibis.BaseBackend, as_of: dt.date) -> ir.Table | None:
    """The stored purchased lines up to the as-of date, or None when they are not current
    (the caller joins ``order_items`` with :func:`purchases` instead)."""
    if not purchase_lines_current(con):
        return None
    lines = con.table(PURCHASE_LINES)
    return lines.filter(lines.order_date <= as_of)


def profile_for(con: ibis.BaseBackend, as_of: dt.date) -> ir.Table:
    """The stored profile when it is current for ``as_of``, else the expression (no scores;
    ``scores.scored_profile`` adds them)."""
    if snapshot_is_current(con, as_of):
        return con.table(SNAPSHOT_TABLE)
    return customer_profile(con, as_of)
