"""Who a segment can hold: its universe, and the one count every share divides by.

As in Shopify, a segment holds *known customers*: everyone with a customer record, and
everyone who placed an order (a guest checkout loaded with a customer id included).
Anonymous visitors — ids seen only in events — are left out unless the query asks for
them by naming ``known_customer`` (``known_customer = false``), directly or through a
segment it reuses with ``in_segment``.

Every count and share the library gives (``segments.service.count``, the shop summary of
the CLI, API, dashboard and report, the segment sizes of ``analytics.overlap``) divides by
:func:`universe_size` over the same profile, so a segment's share and the overview's
customer total always agree.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis.expr.types as ir

from danggol.segments import nodes as n

#: the profile column that says whether a row is a known customer
UNIVERSE_FIELD = "known_customer"
#: how reports name the denominator
UNIVERSE_WORDS = {
    "en": "known customers (customer records and everyone who ordered; anonymous visitors excluded)",
    "ko": "고객(고객 정보가 있거나 주문한 적이 있는 사람, 익명 방문자 제외)",
}


def known(profile: ir.Table) -> ir.BooleanValue:
    """True for the profile rows that are known customers (the default universe)."""
    return profile[UNIVERSE_FIELD].fill_null(False)


def universe_size(profile: ir.Table) -> int:
    """How many known customers ``profile`` holds: the denominator of every share."""
    value = profile.aggregate(n=known(profile).sum()).to_pyarrow()["n"][0].as_py()
    return int(value or 0)


def asks_for_visitors(tree: n.Node, resolve: Callable[[str], n.Node] | None = None) -> bool:
    """Whether the tree names ``known_customer`` (itself or in a segment it reuses), which
    widens its universe to every id of the profile, anonymous visitors included."""
    seen: set[str] = set()
    pending = [tree]
    while pending:
        node = pending.pop()
        if UNIVERSE_FIELD in n.field_names(node):
            return True
        if resolve is None:
            continue
        for call in n.calls(node):
            name = call.arg("")
            if call.name == "in_segment" and isinstance(name, n.Value):
                key = str(name.value)
                if key not in seen:
                    seen.add(key)
                    pending.append(resolve(key))
    return False


__all__ = ["UNIVERSE_FIELD", "UNIVERSE_WORDS", "asks_for_visitors", "known", "universe_size"]
