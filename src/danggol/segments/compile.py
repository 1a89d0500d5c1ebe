"""Compile a segment tree to one Ibis expression: one rule per node kind.

``Compiler(con, as_of).members(tree)`` is the customer profile filtered by the tree. Each
function call in the tree (``products_purchased(...)``, ``events(...)``...) becomes one
aggregate over the fact tables, left-joined onto the profile as a column; every condition is
two-valued (an unknown value never satisfies a positive form and always satisfies its
negation: ``!=``, ``NOT CONTAINS`` … are complements, as in Shopify), so ``NOT`` means what a
marketer expects. Groups of many conditions are combined as balanced trees, so a chain of
thousands of ORs stays a few dozen levels deep in the engine's expression.
Types are checked before anything runs; a node kind without a rule fails loudly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from danggol.dates import shift
from danggol.errors import ConfigError, SegmentError
from danggol.profile import customer_profile, purchases
from danggol.segments import nodes as n
from danggol.segments.fields import FIELDS, FUNCTIONS, suggest
from danggol.segments.forms import check_size
from danggol.segments.operators import build
from danggol.segments.parse import check_text, to_query
from danggol.segments.universe import asks_for_visitors, known

#: resolves a segment name (``in_segment('vip')``) to its tree
Resolver = Callable[[str], n.Node]

NUMERIC = ("integer", "number")
ORDERING = ("<", "<=", ">", ">=", "BETWEEN", "NOT BETWEEN")


def shift_date(day: dt.date, offset: n.DateOffset) -> dt.date:
    """The as-of date moved by an offset (``danggol.dates.shift``: months clamp to the end)."""
    try:
        return shift(day, offset.amount, offset.unit)
    except ConfigError as exc:
        raise SegmentError(str(exc)) from None


def kind_of(expr: n.Expr) -> str:
    """The type of an expression: a field type, 'null', or 'date' for offsets."""
    if isinstance(expr, n.Field):
        return FIELDS[expr.name].type
    if isinstance(expr, n.DateOffset):
        return "date"
    if isinstance(expr, n.Call):
        return FUNCTIONS[expr.name].returns
    if isinstance(expr, n.Arith):
        return "number"
    value = expr.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dt.date):
        return "date"
    return "text"


def _compatible(left: str, right: str) -> bool:
    if right == "null":
        return True
    if left in NUMERIC:
        return right in NUMERIC
    if left in ("text", "enum", "tags"):
        return right == "text"
    return left == right


_HINT = {
    "date": "a date like 2025-06-30 or an offset like -30d",
    "integer": "a number",
    "number": "a number",
    "text": "text in quotes",
    "enum": "text in quotes",
    "tags": "a tag in quotes",
    "boolean": "true or false",
}


class Compiler:
    """Compiles trees for one connection and as-of date."""

    def __init__(
        self,
        con: ibis.BaseBackend,
        as_of: dt.date,
        *,
        base: ir.Table | Callable[[], ir.Table] | None = None,
        resolver: Resolver | None = None,
        _stack: tuple[str, ...] = (),
    ) -> None:
        self.con = con
        self.as_of = as_of
        # the profile is built on first use, so that type errors come before any work
        self._base = base if base is not None else (lambda: customer_profile(con, as_of))
        self.resolver = resolver
        self._stack = _stack
        self._calls: dict[n.Call, str] = {}

    @property
    def base(self) -> ir.Table:
        if callable(self._base):
            self._base = self._base()
        return self._base

    # -- public ---------------------------------------------------------------------------
    def check(self, tree: n.Node) -> None:
        """Raise SegmentError for unknown names, wrong types, unknown segments, cycles, and
        trees above the size limits (a tree built in Python is not read by the parser)."""
        check_size(tree)
        for path, cond in n.conditions(tree):
            try:
                self._check_compare(cond, path)
            except SegmentError as exc:
                raise SegmentError(
                    f"{exc.message} — in: {to_query(cond)}",
                    path=exc.path,
                    file=exc.file,
                    suggestion=exc.suggestion,
                ) from None

    def with_calls(self, tree: n.Node) -> ir.Table:
        """The base table with one column per function call of ``tree``."""
        self.check(tree)
        table = self.base
        for i, call in enumerate(n.calls(tree)):
            column = f"_call_{i}"
            self._calls[call] = column
            table = self._join_call(table, call, column)
        return table

    def predicate(self, tree: n.Node, table: ir.Table) -> ir.BooleanValue:
        return self.visit(tree, table)

    def members(self, tree: n.Node) -> ir.Table:
        """The profile rows of the customers in the segment: known customers only, unless
        the tree names ``known_customer`` (see ``universe.py``)."""
        table = self.with_calls(tree)
        condition = self.predicate(tree, table)
        if not asks_for_visitors(tree, self.resolver):
            condition = known(table) & condition
        return table.filter(condition).select(*self.base.columns)

    # -- nodes ----------------------------------------------------------------------------
    def visit(self, node: n.Node, t: ir.Table) -> ir.BooleanValue:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise SegmentError(f"the compiler has no rule for the node kind {type(node).__name__}")
        return method(node, t)

    def visit_All(self, node: n.All, t: ir.Table) -> ir.BooleanValue:
        return _balanced([self.visit(child, t) for child in node.children], and_=True)

    def visit_AnyOf(self, node: n.AnyOf, t: ir.Table) -> ir.BooleanValue:
        return _balanced([self.visit(child, t) for child in node.children], and_=False)

    def visit_Not(self, node: n.Not, t: ir.Table) -> ir.BooleanValue:
        return ~self.visit(node.child, t)

    def visit_Compare(self, node: n.Compare, t: ir.Table) -> ir.BooleanValue:
        left = self.value(node.left, t)
        kind = kind_of(node.left)
        if isinstance(node.right, tuple):
            right: object = tuple(self.value(x, t) for x in node.right)
        elif node.right is None:
            right = None
        else:
            right = self.value(node.right, t)
        return build(node.op, left, right, kind)

    # -- expressions ------------------------------------------------------------------------
    def value(self, expr: n.Expr, t: ir.Table) -> ir.Value:
        method = getattr(self, f"value_{type(expr).__name__}", None)
        if method is None:
            raise SegmentError(
                f"the compiler has no rule for the expression kind {type(expr).__name__}"
            )
        return method(expr, t)

    def value_Field(self, expr: n.Field, t: ir.Table) -> ir.Value:
        return t[FIELDS[expr.name].column]

    def value_Value(self, expr: n.Value, t: ir.Table) -> ir.Value:
        if expr.value is None:
            return ibis.null()
        if isinstance(expr.value, str):
            check_text(expr.value)
        return ibis.literal(expr.value)

    def value_DateOffset(self, expr: n.DateOffset, t: ir.Table) -> ir.Value:
        return ibis.literal(shift_date(self.as_of, expr))

    def value_Arith(self, expr: n.Arith, t: ir.Table) -> ir.Value:
        left = self.value(expr.left, t).cast("float64")
        right = self.value(expr.right, t).cast("float64")
        if expr.op == "+":
            return left + right
        if expr.op == "-":
            return left - right
        if expr.op == "*":
            return left * right
        return left / ibis.cases((right == 0, ibis.null("float64")), else_=right)

    def value_Call(self, expr: n.Call, t: ir.Table) -> ir.Value:
        return t[self._calls[expr]]

    # -- type checks ----------------------------------------------------------------------
    def _check_expr(self, expr: n.Expr, path: str) -> None:
        if isinstance(expr, n.Field) and expr.name not in FIELDS:
            raise SegmentError(
                f"unknown field '{expr.name}'",
                path=path,
                suggestion=suggest(expr.name, tuple(FIELDS)),
            )
        if isinstance(expr, n.Arith):
            for side in (expr.left, expr.right):
                self._check_expr(side, path)
                if kind_of(side) not in NUMERIC:
                    raise SegmentError(
                        f"arithmetic needs numbers; {_describe(side)} is {kind_of(side)}", path=path
                    )
        if isinstance(expr, n.Call):
            self._check_call(expr, path)

    def _check_call(self, call: n.Call, path: str) -> None:
        spec = FUNCTIONS.get(call.name)
        if spec is None:
            raise SegmentError(
                f"unknown function '{call.name}'",
                path=path,
                suggestion=suggest(call.name, tuple(FUNCTIONS)),
            )
        for name, value in call.args:
            arg = spec.arg(name)
            if arg is None:
                names = ", ".join(a.name for a in spec.args)
                raise SegmentError(
                    f"{call.name} has no argument '{name}'; its arguments are {names}", path=path
                )
            if isinstance(value, n.Value) and isinstance(value.value, str):
                check_text(value.value)
            got = kind_of(value)
            want = {"segment": "text", "date": "date"}.get(arg.type, arg.type)
            if not _compatible(want, got) or got == "null":
                raise SegmentError(
                    f"{call.name}({name or 'name'}: …) takes {_HINT.get(want, want)}, got {_describe(value)}",
                    path=path,
                )
        for arg in spec.args:
            if arg.required and call.arg(arg.name) is None:
                raise SegmentError(
                    f"{call.name} needs the argument '{arg.name or 'segment name'}'", path=path
                )
        if call.name == "in_segment":
            self._resolve(str(call.arg("").value), path)  # type: ignore[union-attr]

    def _check_compare(self, cond: n.Compare, path: str) -> None:
        self._check_expr(cond.left, path)
        left = kind_of(cond.left)
        rights = (
            cond.right
            if isinstance(cond.right, tuple)
            else ()
            if cond.right is None
            else (cond.right,)
        )
        for right in rights:
            self._check_expr(right, path)
        op = cond.op
        if op in ("IS NULL", "IS NOT NULL"):
            return
        if op in ORDERING and left not in (*NUMERIC, "date"):
            raise SegmentError(
                f"'{op}' compares numbers or dates; {_describe(cond.left)} is {left} — use = or CONTAINS",
                path=path,
            )
        if op in ("CONTAINS", "NOT CONTAINS") and left not in ("text", "tags", "enum"):
            raise SegmentError(
                f"CONTAINS works on text and tags; {_describe(cond.left)} is {left}", path=path
            )
        if left == "tags" and op in ("=", "!=", "IN", "NOT IN"):
            raise SegmentError(
                f"{_describe(cond.left)} is a list of tags: use CONTAINS 'tag' or NOT CONTAINS 'tag'",
                path=path,
            )
        for right in rights:
            got = kind_of(right)
            if not _compatible(left, got):
                raise SegmentError(
                    f"{_describe(cond.left)} is {left}; compare it with {_HINT.get(left, left)}, "
                    f"got {_describe(right)}",
                    path=path,
                )
            spec = FIELDS.get(cond.left.name) if isinstance(cond.left, n.Field) else None
            if (
                spec
                and spec.values
                and isinstance(right, n.Value)
                and isinstance(right.value, str)
                and right.value.lower() not in spec.values
                and op not in ("CONTAINS", "NOT CONTAINS")
            ):
                raise SegmentError(
                    f"{spec.name} is one of {', '.join(spec.values)}; got '{right.value}'",
                    path=path,
                )

    # -- function calls -------------------------------------------------------------------
    def _since(self, call: n.Call) -> dt.date | None:
        value = call.arg("date")
        if value is None:
            return None
        if isinstance(value, n.DateOffset):
            return shift_date(self.as_of, value)
        return value.value  # type: ignore[return-value]

    def _join_call(self, table: ir.Table, call: n.Call, column: str) -> ir.Table:
        agg = getattr(self, f"call_{call.name}")(call)
        joined = table.left_join(agg.rename({column: "value"}), "customer_id").drop(
            "customer_id_right"
        )
        default = False if FUNCTIONS[call.name].returns == "boolean" else 0
        return joined.mutate(**{column: joined[column].fill_null(default)})

    def _purchases_since(self, call: n.Call) -> ir.Table:
        p = purchases(self.con, self.as_of)
        since = self._since(call)
        return p if since is None else p.filter(p.order_date >= since)

    def call_products_purchased(self, call: n.Call) -> ir.Table:
        p = self._purchases_since(call).select("order_id", "customer_id")
        items = self.con.table("order_items")
        filters = []
        for arg, column in (("id", "product_id"), ("category", "category")):
            if (v := call.arg(arg)) is not None:
                filters.append(items[column] == v.value)  # type: ignore[union-attr]
        if (v := call.arg("min_price")) is not None:
            filters.append(items.unit_price >= v.value)  # type: ignore[union-attr]
        if (v := call.arg("max_price")) is not None:
            filters.append(items.unit_price <= v.value)  # type: ignore[union-attr]
        if filters:
            items = items.filter(*filters)
        lines = items.select("order_id").distinct().join(p, "order_id")
        count = call.arg("count")
        need = int(count.value) if count is not None else 1  # type: ignore[union-attr, arg-type]
        if need < 1:
            raise SegmentError(
                f"products_purchased(count: {need}) must be at least 1; "
                "to find customers who did not buy, compare with = false"
            )
        per = lines.group_by("customer_id").aggregate(orders=lines.order_id.nunique())
        return per.select("customer_id", value=per.orders >= need)

    def call_number_of_orders(self, call: n.Call) -> ir.Table:
        p = self._purchases_since(call)
        return p.group_by("customer_id").aggregate(value=p.count())

    def call_amount_spent(self, call: n.Call) -> ir.Table:
        p = self._purchases_since(call)
        return p.group_by("customer_id").aggregate(
            value=(p.total - p.refunded_amount.fill_null(0)).sum()
        )

    def call_events(self, call: n.Call) -> ir.Table:
        e = self.con.table("events")
        filters = [e.event_date <= self.as_of, e.event == call.arg("name").value]  # type: ignore[union-attr]
        since = self._since(call)
        if since is not None:
            filters.append(e.event_date >= since)
        for arg, column in (("id", "product_id"), ("category", "category")):
            if (v := call.arg(arg)) is not None:
                filters.append(e[column] == v.value)  # type: ignore[union-attr]
        e = e.filter(*filters)
        return e.group_by("customer_id").aggregate(value=e.count())

    def call_in_segment(self, call: n.Call) -> ir.Table:
        name = str(call.arg("").value)  # type: ignore[union-attr]
        tree = self._resolve(name, "")
        inner = Compiler(
            self.con,
            self.as_of,
            base=self.base,
            resolver=self.resolver,
            _stack=(*self._stack, name),
        )
        members = inner.members(tree)
        return members.select("customer_id", value=ibis.literal(True))

    def _resolve(self, name: str, path: str) -> n.Node:
        if name in self._stack:
            chain = " → ".join([*self._stack, name])
            raise SegmentError(
                f"segments refer to each other in a loop: {chain}", path=path or None
            )
        if self.resolver is None:
            raise SegmentError(
                f"in_segment('{name}'): no saved segments to look in", path=path or None
            )
        return self.resolver(name)


def _balanced(parts: list[ir.BooleanValue], *, and_: bool) -> ir.BooleanValue:
    """``a AND b AND c …`` as a balanced tree (depth log2 n, not n): a left-deep chain of a
    thousand ORs overflows the SQL compiler's recursion."""
    while len(parts) > 1:
        paired = [
            (parts[i] & parts[i + 1]) if and_ else (parts[i] | parts[i + 1])
            for i in range(0, len(parts) - 1, 2)
        ]
        if len(parts) % 2:
            paired.append(parts[-1])
        parts = paired
    return parts[0]


def _describe(expr: object) -> str:
    if isinstance(expr, n.Field):
        return expr.name
    if isinstance(expr, n.Value):
        return "null" if expr.value is None else f"{kind_of(expr)} {expr.value!r}"
    if isinstance(expr, n.DateOffset):
        return f"the offset {expr.amount}{expr.unit}"
    if isinstance(expr, n.Call):
        return f"{expr.name}(…)"
    return "an arithmetic expression"
