"""The segment tree: frozen, pure data. It knows no SQL and no Ibis.

A segment is a condition tree::

    All(children) | AnyOf(children) | Not(child) | Compare(left, op, right)

over expressions::

    Field(name) | Value(value) | DateOffset(amount, unit) | Arith(op, left, right) | Call(name, args)

A leaf may also be ``Matches(function, tests)``: Shopify's ``products_purchased MATCHES
(id = 'A', date > -3m)``.

``parse.parse_query`` makes a tree from query text and ``parse.to_query`` prints it back;
``compile.compile_segment`` turns it into an Ibis expression.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, TypeAlias

#: comparison operators; BETWEEN takes a (low, high) pair, IN a tuple, IS NULL nothing
COMPARE_OPS = (
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "BETWEEN",
    "NOT BETWEEN",
    "IN",
    "NOT IN",
    "CONTAINS",
    "NOT CONTAINS",
    "IS NULL",
    "IS NOT NULL",
)
ARITH_OPS = ("+", "-", "*", "/")

#: the largest tree any form (query text, YAML/JSON, Python) may give: nesting of groups,
#: NOTs and parentheses, and leaf conditions in all. The parser, the YAML reader and the
#: compiler refuse more with a SegmentError, so no input reaches Python's recursion limit
#: (the SQL generator recurses about eight frames per level: 140 alternating AND/OR levels
#: ran, 200 did not) or runs for minutes (a 1,000-term OR counts in about 3 s on the tiny
#: test shop; 50,000 took 160 s before the limit).
MAX_DEPTH = 100
MAX_CONDITIONS = 2000
OFFSET_UNITS = ("d", "w", "m", "y")

Scalar: TypeAlias = str | int | float | bool | dt.date | None


@dataclass(frozen=True)
class Field:
    """A profile field by name, e.g. ``amount_spent``."""

    name: str


@dataclass(frozen=True)
class Value:
    """A literal: text, number, true/false, a date, or null."""

    value: Scalar


@dataclass(frozen=True)
class DateOffset:
    """A date relative to the as-of date: ``-30d`` is DateOffset(-30, 'd')."""

    amount: int
    unit: Literal["d", "w", "m", "y"]


@dataclass(frozen=True)
class Arith:
    op: Literal["+", "-", "*", "/"]
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Call:
    """A function with named arguments: ``products_purchased(id: 'A', date: -90d)``.

    ``in_segment('vip')`` has one positional argument, kept under the name ``""``.
    """

    name: str
    args: tuple[tuple[str, Value | DateOffset], ...] = ()

    def arg(self, name: str) -> Value | DateOffset | None:
        for key, value in self.args:
            if key == name:
                return value
        return None


Expr: TypeAlias = Field | Value | DateOffset | Arith | Call


@dataclass(frozen=True)
class Compare:
    """``left op right``; ``right`` is an Expr, a tuple of Exprs (BETWEEN, IN), or None (IS NULL)."""

    left: Expr
    op: str
    right: Expr | tuple[Expr, ...] | None = None


@dataclass(frozen=True)
class Matches:
    """``products_purchased MATCHES (id = 'A', date > -3m)``: a behaviour function whose rows
    pass every test (``segments/matches.py``). Each test is a Compare whose left side is the
    argument's name as a Field (``Field('id')``) — an argument, not a profile field.
    ``NOT MATCHES`` is ``Not(Matches(…))``."""

    function: str
    tests: tuple[Compare, ...] = ()


@dataclass(frozen=True)
class All:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node: TypeAlias = All | AnyOf | Not | Compare | Matches
Leaf: TypeAlias = Compare | Matches


def size(node: Node) -> tuple[int, int]:
    """(depth, leaf conditions) of a tree, computed without recursion (a tree built in
    Python may be deeper than Python's recursion limit). The depth counts the groups and
    NOTs above the deepest condition: ``a > 1`` is 0, ``NOT (a > 1 OR b > 1)`` is 2."""
    depth = leaves = 0
    stack: list[tuple[Node, int]] = [(node, 0)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, All | AnyOf):
            stack.extend((child, level + 1) for child in current.children)
        elif isinstance(current, Not):
            stack.append((current.child, level + 1))
        else:
            leaves += 1
            depth = max(depth, level)
    return depth, leaves


def walk(node: Node) -> list[Node]:
    """Every node of the tree, depth first, the root first."""
    out: list[Node] = [node]
    if isinstance(node, All | AnyOf):
        for child in node.children:
            out += walk(child)
    elif isinstance(node, Not):
        out += walk(node.child)
    return out


def conditions(node: Node) -> list[tuple[str, Leaf]]:
    """The leaf conditions (comparisons and MATCHES) with their paths (``0.1.0``: child
    indexes from the root)."""
    found: list[tuple[str, Leaf]] = []
    pending: list[tuple[Node, str]] = [(node, "")]  # a stack, not recursion: any depth
    while pending:
        n, path = pending.pop()
        if isinstance(n, Compare | Matches):
            found.append((path, n))
        elif isinstance(n, All | AnyOf):
            children = [(c, f"{path}.{i}" if path else str(i)) for i, c in enumerate(n.children)]
            pending.extend(reversed(children))  # popped in order of appearance
        else:
            pending.append((n.child, f"{path}.0" if path else "0"))
    return found


def calls(node: Node) -> list[Call]:
    """Every function call in the tree, each once, in order of appearance."""
    seen: dict[Call, None] = {}

    def expr(e: object) -> None:
        if isinstance(e, Call):
            seen.setdefault(e)
        elif isinstance(e, Arith):
            expr(e.left)
            expr(e.right)
        elif isinstance(e, tuple):
            for x in e:
                expr(x)

    for _, cond in conditions(node):
        if isinstance(cond, Compare):
            expr(cond.left)
            expr(cond.right)
    return list(seen)


def field_names(node: Node) -> list[str]:
    """Every profile field the tree tests, each once, in order of appearance."""
    seen: dict[str, None] = {}

    def expr(e: object) -> None:
        if isinstance(e, Field):
            seen.setdefault(e.name)
        elif isinstance(e, Arith):
            expr(e.left)
            expr(e.right)
        elif isinstance(e, tuple):
            for x in e:
                expr(x)

    for _, cond in conditions(node):
        if isinstance(cond, Compare):
            expr(cond.left)
            expr(cond.right)
    return list(seen)
