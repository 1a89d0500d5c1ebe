"""The Python form of a segment, for notebooks.

>>> from danggol import segment as s
>>> lapsed = (s.field("number_of_orders") >= 1) & (s.field("last_order_date") < s.ago(5, "m"))
>>> s.to_query(lapsed)
'number_of_orders >= 1 AND last_order_date < -5m'
>>> s.to_query(s.products_purchased(id="A", date=s.ago(3, "m")) == False)
"products_purchased NOT MATCHES (id = 'A', date >= -3m)"
>>> s.to_query(s.matches("products_purchased", s.arg("id") == 1234, s.arg("date") > s.ago(3, "m")))
"products_purchased MATCHES (id = '1234', date > -3m)"

``&``, ``|`` and ``~`` build AND, OR and NOT (a chain ``a & b & c`` is one group, as in the
query text); the result is the same tree the query and YAML forms give.
"""

from __future__ import annotations

import datetime as dt

from danggol.errors import SegmentError
from danggol.segments import nodes as n
from danggol.segments.fields import FIELDS, FUNCTIONS, suggest
from danggol.segments.forms import from_dict, to_dict
from danggol.segments.matches import MATCH_FUNCTIONS, from_call, match_spec
from danggol.segments.parse import as_text_id, parse_query
from danggol.segments.printer import to_query as _to_query

__all__ = [
    "Cond",
    "Expr",
    "ago",
    "amount_spent",
    "arg",
    "events",
    "field",
    "from_dict",
    "in_segment",
    "matches",
    "number_of_orders",
    "parse_query",
    "products_purchased",
    "to_dict",
    "to_query",
    "today",
]


def _expr(value: object) -> n.Expr:
    if isinstance(value, Expr):
        return value.node
    if isinstance(value, n.DateOffset | n.Field | n.Call | n.Arith | n.Value):
        return value
    if isinstance(value, str | int | float | bool | dt.date) or value is None:
        return n.Value(value)
    raise SegmentError(
        f"cannot use {type(value).__name__} in a segment; use text, a number or a date"
    )


class Cond:
    """A condition or group; combine with ``&``, ``|`` and ``~``."""

    def __init__(self, node: n.Node) -> None:
        self.node = node

    def __and__(self, other: Cond) -> Cond:
        left = self.node.children if isinstance(self.node, n.All) else (self.node,)
        return Cond(n.All((*left, other.node)))

    def __or__(self, other: Cond) -> Cond:
        left = self.node.children if isinstance(self.node, n.AnyOf) else (self.node,)
        return Cond(n.AnyOf((*left, other.node)))

    def __invert__(self) -> Cond:
        return Cond(n.Not(self.node))

    def __repr__(self) -> str:
        return f"Cond({_to_query(self.node)!r})"


class Expr:
    """A field, a function call or arithmetic; compare it to get a condition."""

    def __init__(self, node: n.Expr) -> None:
        self.node = node

    def _cmp(self, op: str, other: object) -> Cond:
        cond = n.Compare(self.node, op, _expr(other))
        # the older call form is the same tree as the query's: MATCHES (one canonical form)
        return Cond(from_call(cond) or cond)

    def __eq__(self, other: object) -> Cond:  # type: ignore[override]
        return self._cmp("=", other)

    def __ne__(self, other: object) -> Cond:  # type: ignore[override]
        return self._cmp("!=", other)

    def __lt__(self, other: object) -> Cond:
        return self._cmp("<", other)

    def __le__(self, other: object) -> Cond:
        return self._cmp("<=", other)

    def __gt__(self, other: object) -> Cond:
        return self._cmp(">", other)

    def __ge__(self, other: object) -> Cond:
        return self._cmp(">=", other)

    __hash__ = None  # type: ignore[assignment]

    def between(self, low: object, high: object) -> Cond:
        return Cond(n.Compare(self.node, "BETWEEN", (_expr(low), _expr(high))))

    def isin(self, *values: object) -> Cond:
        return Cond(n.Compare(self.node, "IN", tuple(_expr(v) for v in values)))

    def contains(self, value: object) -> Cond:
        return Cond(n.Compare(self.node, "CONTAINS", _expr(value)))

    def isnull(self) -> Cond:
        return Cond(n.Compare(self.node, "IS NULL", None))

    def notnull(self) -> Cond:
        return Cond(n.Compare(self.node, "IS NOT NULL", None))

    def _arith(self, op: str, other: object, reverse: bool = False) -> Expr:
        a, b = self.node, _expr(other)
        return Expr(n.Arith(op, b, a) if reverse else n.Arith(op, a, b))  # type: ignore[arg-type]

    def __add__(self, other: object) -> Expr:
        return self._arith("+", other)

    def __sub__(self, other: object) -> Expr:
        return self._arith("-", other)

    def __mul__(self, other: object) -> Expr:
        return self._arith("*", other)

    def __rmul__(self, other: object) -> Expr:
        return self._arith("*", other, reverse=True)

    def __truediv__(self, other: object) -> Expr:
        return self._arith("/", other)


def to_query(tree: Cond | n.Node) -> str:
    """The query text of a condition built here (or of any tree)."""
    return _to_query(tree.node if isinstance(tree, Cond) else tree)


def field(name: str) -> Expr:
    if name not in FIELDS:
        raise SegmentError(f"unknown field '{name}'", suggestion=suggest(name, tuple(FIELDS)))
    return Expr(n.Field(name))


def ago(amount: int, unit: str = "d") -> n.DateOffset:
    """``ago(5, 'm')`` is ``-5m``: the as-of date minus 5 calendar months."""
    if unit not in n.OFFSET_UNITS:
        raise SegmentError(f"an offset unit is one of d, w, m, y; got {unit!r}")
    return n.DateOffset(-abs(int(amount)), unit)  # type: ignore[arg-type]


def _call(function: str, *positional: object, **kwargs: object) -> Expr:
    spec = FUNCTIONS[function]
    args: list[tuple[str, n.Value | n.DateOffset]] = [("", _expr(p)) for p in positional]  # type: ignore[misc]
    for key, value in kwargs.items():
        if spec.arg(key) is None:
            names = ", ".join(a.name for a in spec.args)
            raise SegmentError(f"{function} has no argument '{key}'; its arguments are {names}")
        args.append((key, as_text_id(_expr(value), spec.arg(key).type)))  # type: ignore[arg-type, union-attr]
    return Expr(n.Call(function, tuple(args)))


def products_purchased(**kwargs: object) -> Expr:
    return _call("products_purchased", **kwargs)


def number_of_orders(**kwargs: object) -> Expr:
    return _call("number_of_orders", **kwargs)


def amount_spent(**kwargs: object) -> Expr:
    return _call("amount_spent", **kwargs)


def events(**kwargs: object) -> Expr:
    return _call("events", **kwargs)


def today() -> n.DateOffset:
    """The as-of date itself (Shopify's ``today``)."""
    return n.DateOffset(0, "d")


def arg(name: str) -> Expr:
    """An argument of a MATCHES function, to compare: ``arg("id") == 1234``."""
    return Expr(n.Field(name))


def matches(function: str, *tests: Cond) -> Cond:
    """``function MATCHES (tests…)``: ``matches("products_purchased", arg("id") == 1234,
    arg("date") > ago(3, "m"))``; ``~matches(…)`` is NOT MATCHES."""
    spec = match_spec(function)
    if spec is None:
        raise SegmentError(
            f"MATCHES is not supported for '{function}'",
            suggestion=suggest(function, tuple(MATCH_FUNCTIONS)),
        )
    compares = []
    for test in tests:
        node = test.node
        if not isinstance(node, n.Compare) or not isinstance(node.left, n.Field):
            raise SegmentError("each test of matches(…) is arg(NAME) compared with a value")
        a = spec.arg(node.left.name)
        if a is None:
            names = ", ".join(x.name for x in spec.args)
            raise SegmentError(f"{spec.name} has no argument '{node.left.name}'; its are {names}")
        right = node.right
        if isinstance(right, tuple):
            right = tuple(as_text_id(v, a.type) for v in right)  # type: ignore[arg-type]
        elif right is not None:
            right = as_text_id(right, a.type)  # type: ignore[arg-type]
        compares.append(n.Compare(node.left, node.op, right))
    return Cond(n.Matches(spec.name, tuple(compares)))


def in_segment(name: str) -> Cond:
    return Expr(n.Call("in_segment", (("", n.Value(name)),))) == True  # noqa: E712
