"""Behaviour functions in Shopify's MATCHES form: one row per function, what its arguments test.

``products_purchased MATCHES (id = 'A', date > -3m, count >= 2)`` holds for a customer when
the rows of the function (here: purchased order lines) that pass every *row* test (``id``,
``date`` …) pass the *aggregate* tests too (``count`` — of distinct orders here — and
``sum_amount``); with no aggregate test it means "at least one row". ``NOT MATCHES`` is its
complement over the segment's universe.

The older form ``products_purchased(id: 'A', date: -90d) = true`` (and ``events(name: 'x')
>= 1``) is read into the same tree by :func:`from_call`, so both forms print back as MATCHES.
"""

from __future__ import annotations

from dataclasses import dataclass

from danggol.errors import SegmentError
from danggol.segments import nodes as n

#: operators allowed inside MATCHES ( … )
INNER_OPS = ("=", "!=", "<", "<=", ">", ">=", "BETWEEN", "NOT BETWEEN", "IN", "NOT IN")


@dataclass(frozen=True)
class MatchArg:
    name: str
    type: str  # text, number, integer, date, tags
    en: str
    ko: str
    #: True for a test on the rows' aggregate (count, sum_amount), False for a row test
    aggregate: bool = False


@dataclass(frozen=True)
class MatchSpec:
    name: str
    args: tuple[MatchArg, ...]
    en: str
    ko: str
    #: Shopify's spellings of this function (``shopify_email.opened``)
    aliases: tuple[str, ...] = ()
    #: event names the rows come from (for the e-mail and storefront functions)
    events: tuple[str, ...] = ()
    #: the compiler's ``rows_<source>`` that gives the rows
    source: str = ""

    def arg(self, name: str) -> MatchArg | None:
        return next((a for a in self.args if a.name == name), None)


_DATE = MatchArg("date", "date", "date", "날짜")
_COUNT = MatchArg("count", "integer", "times", "횟수", aggregate=True)
_ID = MatchArg("id", "text", "product", "상품")
_CATEGORY = MatchArg("category", "text", "category", "카테고리")


def _email(action: str, en: str, ko: str, *events: str) -> MatchSpec:
    return MatchSpec(
        f"email_{action}",
        (
            MatchArg("campaign_id", "text", "campaign", "캠페인"),
            MatchArg("activity_id", "text", "activity", "활동"),
            _DATE,
            _COUNT,
        ),
        en,
        ko,
        aliases=(f"shopify_email.{action}",),
        events=events,
        source="email",
    )


MATCH_FUNCTIONS: dict[str, MatchSpec] = {
    s.name: s
    for s in (
        MatchSpec(
            "products_purchased",
            (
                _ID,
                _CATEGORY,
                MatchArg("tag", "tags", "product tag", "상품 태그"),
                MatchArg("price", "number", "unit price", "단가"),
                _DATE,
                MatchArg("count", "integer", "orders", "주문 수", aggregate=True),
            ),
            "bought",
            "구매함",
            source="products",
        ),
        MatchSpec(
            "orders_placed",
            (
                MatchArg("id", "text", "order", "주문"),
                MatchArg("amount", "number", "order amount", "주문 금액"),
                MatchArg("channel", "text", "channel", "채널"),
                MatchArg("coupon_code", "text", "coupon", "쿠폰"),
                _DATE,
                MatchArg("count", "integer", "orders", "주문 수", aggregate=True),
                MatchArg("sum_amount", "number", "amount in all", "합계 금액", aggregate=True),
            ),
            "placed orders",
            "주문함",
            source="orders",
        ),
        MatchSpec(
            "events",
            (MatchArg("name", "text", "event", "이벤트"), _ID, _CATEGORY, _DATE, _COUNT),
            "had events",
            "행동 이벤트",
            source="events",
        ),
        MatchSpec(
            "product_viewed",
            (_ID, MatchArg("product_id", "text", "product", "상품"), _CATEGORY, _DATE, _COUNT),
            "viewed products",
            "상품 조회",
            aliases=("storefront.product_viewed",),
            events=("product_view",),
            source="email",
        ),
        MatchSpec(
            "abandoned_checkouts",
            (_ID, _CATEGORY, _DATE, _COUNT),
            "abandoned a checkout",
            "결제 이탈",
            source="abandoned_checkouts",
        ),
        _email("opened", "opened an e-mail", "이메일 열람", "email_open", "email_opened"),
        _email(
            "delivered", "received an e-mail", "이메일 수신", "email_deliver", "email_delivered"
        ),
        _email("clicked", "clicked an e-mail", "이메일 클릭", "email_click", "email_clicked"),
        _email("bounced", "e-mail bounced", "이메일 반송", "email_bounce", "email_bounced"),
        _email(
            "unsubscribed",
            "unsubscribed from e-mail",
            "이메일 수신 거부",
            "email_unsubscribe",
            "email_unsubscribed",
        ),
        _email(
            "marked_as_spam",
            "marked an e-mail as spam",
            "이메일 스팸 신고",
            "email_spam",
            "email_marked_as_spam",
        ),
    )
}
#: Shopify's spelling → danggol's function
MATCH_ALIASES: dict[str, str] = {
    alias: spec.name for spec in MATCH_FUNCTIONS.values() for alias in spec.aliases
}


def match_spec(name: str) -> MatchSpec | None:
    """The MATCHES function named ``name`` (danggol's or Shopify's spelling), if any."""
    return MATCH_FUNCTIONS.get(MATCH_ALIASES.get(name, name))


# ------------------------------------------------------------------ the older call form

#: products_purchased(...) argument → (MATCHES argument, operator)
_LEGACY_PRODUCTS = {
    "id": ("id", "="),
    "category": ("category", "="),
    "tag": ("tag", "="),
    "min_price": ("price", ">="),
    "max_price": ("price", "<="),
    "date": ("date", ">="),
    "count": ("count", ">="),
}
_LEGACY_EVENTS = {
    "name": ("name", "="),
    "id": ("id", "="),
    "category": ("category", "="),
    "date": ("date", ">="),
}


def _tests(call: n.Call, table: dict[str, tuple[str, str]]) -> list[n.Compare]:
    tests = []
    for key, value in call.args:
        arg, op = table[key]
        tests.append(n.Compare(n.Field(arg), op, value))
    return tests


def from_call(cond: n.Compare) -> n.Node | None:
    """The MATCHES tree of an older-form condition, or None when it has none.

    ``products_purchased(id: 'A', date: -90d) = true`` → ``products_purchased MATCHES
    (id = 'A', date >= -90d)``; ``= false`` → its NOT MATCHES; ``events(name: 'x') >= 1`` →
    ``events MATCHES (name = 'x')``; ``events(…) = 0`` → NOT MATCHES; ``events(…) op k``
    → ``events MATCHES (…, count op k)`` (only with whole numbers on the right)."""
    call = cond.left
    if not isinstance(call, n.Call):
        return None
    if call.name == "products_purchased":
        if cond.op not in ("=", "!=") or not isinstance(cond.right, n.Value):
            return None
        if not isinstance(cond.right.value, bool):
            return None
        count = call.arg("count")
        if isinstance(count, n.Value) and isinstance(count.value, int) and count.value < 1:
            raise SegmentError(
                f"products_purchased(count: {count.value}) must be at least 1; "
                "to find customers who did not buy, compare with = false"
            )
        node: n.Node = n.Matches("products_purchased", tuple(_tests(call, _LEGACY_PRODUCTS)))
        positive = cond.right.value == (cond.op == "=")
        return node if positive else n.Not(node)
    if call.name == "events":
        right = cond.right
        whole = [right] if isinstance(right, n.Value) else list(right or ())  # type: ignore[arg-type]
        if not whole or not all(
            isinstance(v, n.Value) and type(v.value) is int and v.value >= 0 for v in whole
        ):
            return None
        tests = _tests(call, _LEGACY_EVENTS)
        if cond.op == ">=" and whole[0].value == 1:  # type: ignore[union-attr]
            return n.Matches("events", tuple(tests))
        if cond.op == "=" and whole[0].value == 0:  # type: ignore[union-attr]
            return n.Not(n.Matches("events", tuple(tests)))
        tests.append(n.Compare(n.Field("count"), cond.op, cond.right))
        return n.Matches("events", tuple(tests))
    return None


__all__ = ["INNER_OPS", "MATCH_ALIASES", "MATCH_FUNCTIONS", "MatchSpec", "from_call", "match_spec"]
