"""Lifecycle stages, estimator style: ``Lifecycle().fit(profile).transform(profile)``.

Every customer of the profile is in exactly one stage (never null), decided by the first
rule that holds, top to bottom (a *purchase* and the fields are the profile's):

==========  =================================================================================
stage       rule
==========  =================================================================================
potential   no purchase (``number_of_orders = 0``): visitors, subscribers, cart abandoners,
            trial users, registered customers who never bought
churned     *lapsed*: ``days_since_last_order > churn_days_`` and, when the customer has a
            purchase cycle, ``days_since_last_order > churn_cycles × avg_days_between_orders``
            — that is, longer than max(window, k × their own cycle)
new         first purchase at most ``new_days`` days before the as-of date
            (``as-of − first_order_date ≤ new_days``, the rule of the ``welcome_month`` segment)
loyal       ``number_of_orders ≥ loyal_orders``
active      every other customer with a purchase
==========  =================================================================================

``lifecycle_reason`` explains the stage (first rule that holds):

* potential: ``refunded`` (bought, but every purchase was refunded: ``refunds > 0``),
  ``trial`` (a ``trial_start`` event), ``cart_abandoner`` (``cart_add`` or ``checkout_start``),
  ``subscriber`` (``email_subscribe`` event or ``email_subscription_status = 'subscribed'``),
  ``visitor`` (any other event), ``known`` (a registered customer with no event), ``other``
  (only cancelled or failed orders). Event counts are read from the ``events_*`` columns when
  the profile has them (a shop without such events simply has no such reason).
* churned: ``refunds`` (``refunds ≥ refund_churn``: left after repeated refunds) or ``lapsed``.
* new: ``first_order`` (one purchase) or ``returning`` (already came back).
* active: ``one_order`` (a single purchase), ``on_cycle`` (``days_since_last_order ≤
  avg_days_between_orders``) or ``overdue`` (later than their own cycle, not yet churned);
  loyal: ``on_cycle`` or ``overdue``.

The churn window ``churn_days_`` is ``churn_days`` when given. Otherwise it is learned at ``fit``
from the purchase cycles of the repeat buyers (``number_of_orders ≥ 2``):

    churn_days_ = ceil(churn_cycles × Q)

where ``Q`` is the ``churn_quantile`` (default 0.9) inverted-CDF quantile of their
``avg_days_between_orders`` (the ceil(q·n)-th smallest, no interpolation) and ``churn_cycles``
counts as 1 when None. So a one-time buyer is given as long as a slow (90th-percentile) repeat
buyer — k of those cycles — before being called churned, and the churn rule reads
"no purchase for longer than k × max(Q, their own cycle)". With fewer than
``min_repeat_buyers`` repeat buyers the data says too little, and ``fallback_churn_days``
is used.

>>> import datetime as dt, ibis
>>> day = dt.date(2025, 6, 30)
>>> profile = ibis.memtable({
...     "customer_id": ["a", "b", "c"],
...     "known_customer": [True, True, False],
...     "number_of_orders": [0, 1, 4],
...     "first_order_date": [None, day, dt.date(2024, 1, 1)],
...     "last_order_date": [None, day, dt.date(2024, 3, 1)],
...     "days_since_last_order": [None, 0, 486],
...     "avg_days_between_orders": [None, None, 20.0],
...     "refunds": [0, 0, 0],
... })
>>> stages = Lifecycle(churn_days=120).fit_transform(profile).order_by("customer_id")
>>> stages.select("customer_id", "lifecycle_stage", "lifecycle_reason").to_pyarrow().to_pylist()[2]
{'customer_id': 'c', 'lifecycle_stage': 'churned', 'lifecycle_reason': 'lapsed'}
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from danggol.errors import ConfigError
from danggol.estimator import Estimator, Param, int_in, number_in, optional
from danggol.profile import customer_profile, event_column

if TYPE_CHECKING:  # loaded by what computes: reading the score fields (a count) needs neither
    import numpy as np
    import pyarrow as pa

STAGES = ("potential", "new", "active", "loyal", "churned")

STAGE_LABELS: dict[str, dict[str, str]] = {
    "potential": {"ko": "잠재 고객", "en": "Potential"},
    "new": {"ko": "신규 고객", "en": "New"},
    "active": {"ko": "활동 고객", "en": "Active"},
    "loyal": {"ko": "충성 고객", "en": "Loyal"},
    "churned": {"ko": "이탈 고객", "en": "Churned"},
}

#: stage → its reasons, in the order they are tested
REASONS: dict[str, tuple[str, ...]] = {
    "potential": (
        "refunded",
        "trial",
        "cart_abandoner",
        "subscriber",
        "visitor",
        "known",
        "other",
    ),
    "new": ("first_order", "returning"),
    "active": ("one_order", "on_cycle", "overdue"),
    "loyal": ("on_cycle", "overdue"),
    "churned": ("refunds", "lapsed"),
}

REASON_LABELS: dict[str, dict[str, str]] = {
    "refunded": {"ko": "구매 후 전액 환불", "en": "every purchase refunded"},
    "trial": {"ko": "체험 이용", "en": "trial user"},
    "cart_abandoner": {"ko": "장바구니 이탈", "en": "cart abandoner"},
    "subscriber": {"ko": "구독자", "en": "subscriber"},
    "visitor": {"ko": "방문자", "en": "visitor"},
    "known": {"ko": "가입만 함", "en": "registered, no activity"},
    "other": {"ko": "기타", "en": "other"},
    "first_order": {"ko": "첫 구매", "en": "first order"},
    "returning": {"ko": "재구매", "en": "came back"},
    "one_order": {"ko": "1회 구매", "en": "one order"},
    "on_cycle": {"ko": "구매 주기 안", "en": "on their cycle"},
    "overdue": {"ko": "구매 주기 지남", "en": "overdue"},
    "refunds": {"ko": "반복 환불 후 이탈", "en": "left after repeated refunds"},
    "lapsed": {"ko": "장기 미구매", "en": "lapsed"},
}

#: potential-customer reasons read from event counts: reason → event names, in test order
SIGNAL_EVENTS: dict[str, tuple[str, ...]] = {
    "trial": ("trial_start",),
    "cart_abandoner": ("cart_add", "checkout_start"),
    "subscriber": ("email_subscribe",),
}

REQUIRED_COLUMNS = (
    "number_of_orders",
    "first_order_date",
    "last_order_date",
    "days_since_last_order",
    "avg_days_between_orders",
)


class Lifecycle(Estimator):
    """Lifecycle stage and reason of every customer (see the module docstring for the rules).

    Parameters
    ----------
    new_days : int ≥ 1, default 30
        A customer is new while their first purchase is at most this many days old.
    churn_days : int ≥ 1 or None, default None
        The churn window in days; None learns it from the data at ``fit``.
    churn_cycles : number > 0 or None, default 3.0
        A repeat buyer is churned only after this many of their own purchase cycles too;
        None ignores the own cycle.
    churn_quantile : number in (0, 1], default 0.9
        The quantile of repeat buyers' cycles that, times ``churn_cycles``, becomes the
        learned window.
    loyal_orders : int ≥ 2, default 3
        Purchases that make a (not new, not churned) customer loyal.
    refund_churn : int ≥ 1 or None, default 2
        Refunded orders that make a churned customer's reason ``refunds``; None never does.
    fallback_churn_days : int ≥ 1, default 180
        The window when fewer than ``min_repeat_buyers`` repeat buyers exist.
    min_repeat_buyers : int ≥ 1, default 20

    Attributes (after ``fit``)
    --------------------------
    churn_days_ : int
    churn_days_source_ : str
        ``'given'``, ``'learned'`` or ``'fallback'``.
    n_repeat_buyers_ : int or None
        Repeat buyers seen at fit (None when ``churn_days`` was given).
    """

    _parameters = (
        Param("new_days", int_in(1, math.inf), "an int in the range [1, inf)"),
        Param("churn_days", optional(int_in(1, math.inf)), "an int in the range [1, inf) or None"),
        Param(
            "churn_cycles",
            optional(number_in(0, 100, low_open=True)),
            "a number in the range (0, 100] or None",
        ),
        Param("churn_quantile", number_in(0, 1, low_open=True), "a number in the range (0, 1]"),
        Param("loyal_orders", int_in(2, math.inf), "an int in the range [2, inf)"),
        Param(
            "refund_churn", optional(int_in(1, math.inf)), "an int in the range [1, inf) or None"
        ),
        Param("fallback_churn_days", int_in(1, math.inf), "an int in the range [1, inf)"),
        Param("min_repeat_buyers", int_in(1, math.inf), "an int in the range [1, inf)"),
    )

    def __init__(
        self,
        new_days: int = 30,
        churn_days: int | None = None,
        churn_cycles: float | None = 3.0,
        churn_quantile: float = 0.9,
        loyal_orders: int = 3,
        refund_churn: int | None = 2,
        fallback_churn_days: int = 180,
        min_repeat_buyers: int = 20,
    ) -> None:
        self.new_days = new_days
        self.churn_days = churn_days
        self.churn_cycles = churn_cycles
        self.churn_quantile = churn_quantile
        self.loyal_orders = loyal_orders
        self.refund_churn = refund_churn
        self.fallback_churn_days = fallback_churn_days
        self.min_repeat_buyers = min_repeat_buyers

    # -- fit ------------------------------------------------------------------------------
    def fit(self, profile: ir.Table) -> Lifecycle:
        """Validate the parameters and set ``churn_days_`` (given, learned or the fallback)."""
        self.validate_params()
        _require_columns(profile, REQUIRED_COLUMNS)
        if self.churn_days is not None:
            self.churn_days_ = self.churn_days
            self.churn_days_source_ = "given"
            self.n_repeat_buyers_ = None
            return self
        repeat = profile.filter(
            (profile.number_of_orders >= 2) & profile.avg_days_between_orders.notnull()
        )
        cycles = repeat.select("avg_days_between_orders").to_pyarrow()
        values = cycles["avg_days_between_orders"].to_numpy()
        self.n_repeat_buyers_ = len(values)
        if len(values) < self.min_repeat_buyers:
            self.churn_days_ = self.fallback_churn_days
            self.churn_days_source_ = "fallback"
        else:
            cycles = 1.0 if self.churn_cycles is None else float(self.churn_cycles)
            window = cycles * _quantile(values, self.churn_quantile)
            self.churn_days_ = max(1, math.ceil(window))
            self.churn_days_source_ = "learned"
        return self

    # -- transform ------------------------------------------------------------------------
    def transform(self, profile: ir.Table) -> ir.Table:
        """The profile with ``lifecycle_stage`` and ``lifecycle_reason`` (both never null)."""
        if not hasattr(self, "churn_days_"):
            raise ConfigError(
                "This Lifecycle instance is not fitted yet. Call 'fit' with a profile before "
                "'transform', or use 'fit_transform'."
            )
        _require_columns(profile, REQUIRED_COLUMNS)
        p = profile
        orders = p.number_of_orders.fill_null(0)
        days = p.days_since_last_order
        cycle = p.avg_days_between_orders
        refunds = _count(p, "refunds")
        since_first = days + p.last_order_date.delta(p.first_order_date, unit="day")

        lapsed = days > self.churn_days_
        if self.churn_cycles is not None:
            lapsed = lapsed & (cycle.isnull() | (days > cycle * float(self.churn_cycles)))
        stage = ibis.cases(
            (orders <= 0, "potential"),
            (lapsed, "churned"),
            (since_first <= self.new_days, "new"),
            (orders >= self.loyal_orders, "loyal"),
            else_="active",
        )
        refund_churned = (
            refunds >= self.refund_churn if self.refund_churn is not None else ibis.literal(False)
        )
        rhythm = ibis.cases(
            ((orders == 1) | cycle.isnull(), "one_order"),
            (days > cycle, "overdue"),
            else_="on_cycle",
        )
        table = p.mutate(lifecycle_stage=stage)
        s = table.lifecycle_stage
        reason = ibis.cases(
            (s == "potential", _potential_reason(table, refunds)),
            (s == "churned", refund_churned.ifelse("refunds", "lapsed")),
            (s == "new", (orders == 1).ifelse("first_order", "returning")),
            else_=rhythm,
        )
        return table.mutate(lifecycle_reason=reason)

    def fit_transform(self, profile: ir.Table) -> ir.Table:
        return self.fit(profile).transform(profile)


def _quantile(values: np.ndarray, q: float) -> float:
    """Inverted-CDF quantile: the ceil(q·n)-th smallest value (no interpolation)."""
    import numpy as np

    ordered = np.sort(values)
    return float(ordered[max(1, math.ceil(q * len(ordered))) - 1])


def _count(profile: ir.Table, column: str) -> ir.IntegerValue:
    """A count column of the profile, 0 when absent or null."""
    if column in profile.columns:
        return profile[column].fill_null(0)
    return ibis.literal(0)


def _potential_reason(p: ir.Table, refunds: ir.IntegerValue) -> ir.StringValue:
    """Why a customer without a purchase is known to the shop (first that holds)."""
    branches: list[tuple[ir.BooleanValue, str]] = [(refunds > 0, "refunded")]
    for reason, names in SIGNAL_EVENTS.items():
        has = ibis.literal(False)
        for name in names:
            has = has | (_count(p, event_column(name)) > 0)
        if reason == "subscriber" and "email_subscription_status" in p.columns:
            has = has | (p.email_subscription_status == "subscribed").fill_null(False)
        branches.append((has, reason))
    branches.append((_count(p, "events_total") > 0, "visitor"))
    if "known_customer" in p.columns:
        branches.append((p.known_customer.fill_null(False), "known"))
    return ibis.cases(*branches, else_="other")


def _require_columns(table: ir.Table, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ConfigError(
            f"the profile lacks the column(s) {', '.join(missing)}; pass the table "
            "danggol.customer_profile(con, as_of) returns (or one with those columns)"
        )


def stage_shares(
    con: ibis.BaseBackend,
    dates: Iterable[dt.date],
    *,
    lifecycle: Lifecycle | None = None,
) -> pa.Table:
    """Customers and share per lifecycle stage at each as-of date.

    For every date the profile is built as of that date (``customer_profile(con, as_of)``) and
    a fresh ``Lifecycle`` with the given parameters is fitted on it, so a learned churn window
    only uses what was known on that date. The share is of all customers in that profile
    (potential customers included); every stage is listed for every date, with 0 when empty.

    Returns a table with columns ``as_of`` (date), ``stage``, ``customers`` (int64),
    ``share`` (float64, 0–1) and ``churn_days`` (the window used), ordered by date and
    ``STAGES``.
    """
    import pyarrow as pa

    params = (lifecycle or Lifecycle()).get_params()
    signals = [name for names in SIGNAL_EVENTS.values() for name in names]
    rows: list[dict[str, Any]] = []
    for as_of in sorted(set(dates)):
        profile = customer_profile(con, as_of, events=signals)
        model = Lifecycle(**params).fit(profile)
        staged = model.transform(profile)
        counts = staged.group_by("lifecycle_stage").aggregate(customers=staged.count())
        found = {r["lifecycle_stage"]: r["customers"] for r in counts.to_pyarrow().to_pylist()}
        total = sum(found.values())
        for stage in STAGES:
            n = int(found.get(stage, 0))
            rows.append(
                {
                    "as_of": as_of,
                    "stage": stage,
                    "customers": n,
                    "share": n / total if total else 0.0,
                    "churn_days": model.churn_days_,
                }
            )
    schema = pa.schema(
        [
            ("as_of", pa.date32()),
            ("stage", pa.string()),
            ("customers", pa.int64()),
            ("share", pa.float64()),
            ("churn_days", pa.int64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


__all__ = [
    "REASONS",
    "REASON_LABELS",
    "SIGNAL_EVENTS",
    "STAGES",
    "STAGE_LABELS",
    "Lifecycle",
    "stage_shares",
]
