"""One operator table, two renderings: each comparison's Ibis builder and its wording.

``OPERATORS[op]`` gives the function that builds the Ibis boolean for ``left op right``
and the English/Korean templates ``explain`` and ``show`` use — so the words a marketer
reads can never disagree with what runs (Datasette's filters follow the same rule).
Text comparisons ignore case (as Shopify's do); tags are stored lower-cased.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import ibis.expr.types as ir

Builder = Callable[[ir.Value, object, str], ir.BooleanValue]


def _fold(value: object, kind: str) -> object:
    """Case-fold text for comparison (text, enum, tags); other kinds pass through."""
    if kind in ("text", "enum", "tags"):
        if isinstance(value, ir.StringValue):
            return value.lower()
        if isinstance(value, str):
            return value.lower()
        if isinstance(value, tuple):
            return tuple(_fold(v, kind) for v in value)
    return value


def _left(left: ir.Value, kind: str) -> ir.Value:
    return left.lower() if kind in ("text", "enum") else left


def _eq(left: ir.Value, right: object, kind: str) -> ir.BooleanValue:
    return _left(left, kind) == _fold(right, kind)


def _between(left: ir.Value, right: object, kind: str) -> ir.BooleanValue:
    low, high = cast("tuple[object, object]", right)  # the checker made BETWEEN's pair
    return left.between(low, high)


def _in(left: ir.Value, right: object, kind: str) -> ir.BooleanValue:
    values = cast("tuple[object, ...]", _fold(right, kind))  # the checker made IN's tuple
    return _left(left, kind).isin(list(values))


def _contains(left: ir.Value, right: object, kind: str) -> ir.BooleanValue:
    if kind == "tags":  # no tags is an empty list: it contains nothing, and is never unknown
        return left.contains(_fold(right, kind)).fill_null(False)
    return left.lower().contains(_fold(right, kind))


def _not(builder: Builder) -> Builder:
    """The complement of an operator, as Shopify defines ``!=`` and ``NOT CONTAINS``: true
    wherever the positive form is not, a missing value included (``customer_cities NOT
    CONTAINS 'X'`` holds for a customer without a city)."""

    def negated(left: ir.Value, right: object, kind: str) -> ir.BooleanValue:
        return ~builder(left, right, kind).fill_null(False)

    return negated


@dataclass(frozen=True)
class Operator:
    op: str
    build: Builder
    en: str
    ko: str
    #: wording when the left side is a date
    en_date: str | None = None
    ko_date: str | None = None

    def words(self, lang: str, *, date: bool = False) -> str:
        if date and self.en_date:
            return self.ko_date if lang == "ko" else self.en_date  # type: ignore[return-value]
        return self.ko if lang == "ko" else self.en


OPERATORS: dict[str, Operator] = {
    o.op: o
    for o in (
        Operator("=", _eq, "{l} is {r}", "{l}: {r}", "{l} is on {r}", "{l}: {r}"),
        Operator(
            "!=",
            _not(_eq),
            "{l} is not {r}",
            "{l}: {r} 아님",
            "{l} is not on {r}",
            "{l}: {r} 아님",
        ),
        Operator(
            "<",
            lambda a, b, k: a < b,
            "{l} is less than {r}",
            "{l} {r} 미만",
            "{l} is before {r}",
            "{l} {r} 이전",
        ),
        Operator(
            "<=",
            lambda a, b, k: a <= b,
            "{l} is at most {r}",
            "{l} {r} 이하",
            "{l} is on or before {r}",
            "{l} {r}까지",
        ),
        Operator(
            ">",
            lambda a, b, k: a > b,
            "{l} is more than {r}",
            "{l} {r} 초과",
            "{l} is after {r}",
            "{l} {r} 이후(당일 제외)",
        ),
        Operator(
            ">=",
            lambda a, b, k: a >= b,
            "{l} is at least {r}",
            "{l} {r} 이상",
            "{l} is on or after {r}",
            "{l} {r}부터",
        ),
        Operator("BETWEEN", _between, "{l} is between {r}", "{l} {r} 사이"),
        Operator("NOT BETWEEN", _not(_between), "{l} is not between {r}", "{l} {r} 사이 아님"),
        Operator("IN", _in, "{l} is one of {r}", "{l}: {r} 중 하나"),
        Operator("NOT IN", _not(_in), "{l} is none of {r}", "{l}: {r} 어느 것도 아님"),
        Operator("CONTAINS", _contains, "{l} contains {r}", "{l}에 {r} 포함"),
        Operator("NOT CONTAINS", _not(_contains), "{l} does not contain {r}", "{l}에 {r} 없음"),
        Operator("IS NULL", lambda a, b, k: a.isnull(), "{l} is empty", "{l} 없음"),
        Operator("IS NOT NULL", lambda a, b, k: a.notnull(), "{l} is known", "{l} 있음"),
    )
}


def build(op: str, left: ir.Value, right: object, kind: str) -> ir.BooleanValue:
    """The two-valued Ibis condition: an unknown (null) value never satisfies a positive
    form (=, <, IN, CONTAINS …) and always satisfies its negation (!=, NOT IN, NOT
    CONTAINS, NOT BETWEEN), so ``a != b`` selects exactly what ``a = b`` leaves out."""
    return OPERATORS[op].build(left, right, kind).fill_null(False)


def build_filter(op: str, left: ir.Value, right: object, kind: str) -> ir.BooleanValue:
    """The same condition as a row filter (one conjunct of a WHERE), without :func:`build`'s
    outer null → false: a WHERE keeps only the rows where it is true, so unknown and false
    already mean the same there. Left bare, ``order_date >= DATE '…'`` and ``product_id =
    'P0234'`` reach DuckDB's table scan, which skips row groups by their min/max and filters
    on the dictionary; wrapped in ``COALESCE(…, FALSE)`` they are evaluated row by row after
    the scan (twice the CPU of a MATCHES over 22M order lines, docs/benchmarks.md). Negated
    forms keep their inner null handling (``!=`` holds for an unknown value)."""
    return OPERATORS[op].build(left, right, kind)


__all__ = ["OPERATORS", "Operator", "build", "build_filter"]
