"""Segment tree → canonical query text (the printer; ``parse.py`` reads the text back).

``to_query`` prints a tree so that for every tree whose groups have at least two children
``parse_query(to_query(tree)) == tree``: a group inside a group and a nested arithmetic
operand are always parenthesised, a MATCHES prints its tests in order, a date offset of 0 or
-1 days prints as ``today`` / ``yesterday``, text is quoted with ``\\`` and ``\'`` escaped.
Every form a tree comes from (query text, YAML/JSON, the Python builder, the older
``fn(arg: v) = true`` call form) prints back through here.
"""

from __future__ import annotations

import datetime as dt
import math

from danggol.errors import SegmentError
from danggol.segments.nodes import (
    ARITH_OPS,
    COMPARE_OPS,
    OFFSET_UNITS,
    All,
    AnyOf,
    Arith,
    Call,
    Compare,
    DateOffset,
    Expr,
    Field,
    Matches,
    Node,
    Not,
    Value,
)

__all__ = ["to_query"]


def to_query(node: Node) -> str:
    """The canonical query text of a tree: ``parse_query(to_query(t)) == t``."""
    if isinstance(node, Compare):
        return _compare_text(node)
    if isinstance(node, Matches):
        return _matches_text(node, "MATCHES")
    if isinstance(node, Not):
        if isinstance(node.child, Matches):
            return _matches_text(node.child, "NOT MATCHES")
        return f"NOT ({to_query(node.child)})"
    if isinstance(node, All | AnyOf):
        if not node.children:
            raise SegmentError(f"an empty {type(node).__name__} group cannot be printed")
        joiner = " AND " if isinstance(node, All) else " OR "
        return joiner.join(_child_text(child) for child in node.children)
    raise SegmentError(f"not a segment node: {node!r}")


def _matches_text(node: Matches, word: str) -> str:
    return f"{node.function} {word} ({', '.join(_compare_text(t) for t in node.tests)})"


def _child_text(child: Node) -> str:
    # a group inside a group is always parenthesised: simplest rule that round-trips
    text = to_query(child)
    return f"({text})" if isinstance(child, All | AnyOf) else text


def _compare_text(node: Compare) -> str:
    left, op, right = _expr_text(node.left), node.op, node.right
    if op not in COMPARE_OPS:
        raise SegmentError(f"unknown comparison '{op}' in {node!r}")
    if op in ("IS NULL", "IS NOT NULL"):
        return f"{left} {op}"
    if op in ("BETWEEN", "NOT BETWEEN"):
        if not isinstance(right, tuple) or len(right) != 2:
            raise SegmentError(f"{op} needs a (low, high) pair, got {right!r}")
        return f"{left} {op} {_expr_text(right[0])} AND {_expr_text(right[1])}"
    if op in ("IN", "NOT IN"):
        if not isinstance(right, tuple) or not right:
            raise SegmentError(f"{op} needs a non-empty tuple of values, got {right!r}")
        return f"{left} {op} ({', '.join(_expr_text(item) for item in right)})"
    if right is None or isinstance(right, tuple):
        raise SegmentError(f"{op} needs one value on its right, got {right!r}")
    return f"{left} {op} {_expr_text(right)}"


def _expr_text(expr: Expr) -> str:
    if isinstance(expr, Field):
        return expr.name
    if isinstance(expr, Value | DateOffset):
        return _literal_text(expr)
    if isinstance(expr, Arith):
        if expr.op not in ARITH_OPS:
            raise SegmentError(f"unknown arithmetic operator '{expr.op}'")
        return f"{_operand_text(expr.left)} {expr.op} {_operand_text(expr.right)}"
    if isinstance(expr, Call):
        args = ", ".join(
            f"{key}: {_literal_text(value)}" if key else _literal_text(value)
            for key, value in expr.args
        )
        return f"{expr.name}({args})"
    raise SegmentError(f"not a segment expression: {expr!r}")


def _operand_text(expr: Expr) -> str:
    # a nested Arith is always parenthesised, so the tree's shape survives the round trip
    text = _expr_text(expr)
    return f"({text})" if isinstance(expr, Arith) else text


def _literal_text(expr: Value | DateOffset) -> str:
    if isinstance(expr, DateOffset):
        if expr.unit not in OFFSET_UNITS or type(expr.amount) is not int:
            raise SegmentError(f"not a date offset that can be written: {expr!r}")
        if expr.unit == "d" and expr.amount in (0, -1):
            return "today" if expr.amount == 0 else "yesterday"
        sign = "+" if expr.amount > 0 else ""
        return f"{sign}{expr.amount}{expr.unit}"
    value = expr.value
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SegmentError(f"the number {value!r} cannot be written in a query")
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise SegmentError(f"the value {value!r} cannot be written in a query")
