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
from collections.abc import Callable, Collection
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from danggol.dates import shift
from danggol.errors import ConfigError, SegmentError
from danggol.profile import customer_profile, purchase_lines, purchases
from danggol.segments import nodes as n
from danggol.segments.fields import FIELDS, FUNCTIONS, JOINED_FIELDS, suggest
from danggol.segments.forms import check_size
from danggol.segments.matches import INNER_OPS, MATCH_FUNCTIONS, match_spec
from danggol.segments.operators import build, build_filter
from danggol.segments.parse import check_text
from danggol.segments.places import city_key, region_spellings
from danggol.segments.printer import to_query
from danggol.segments.spellings import SPELLED, spellings
from danggol.segments.universe import asks_for_visitors, known
from danggol.store.backends import fixed_table

#: resolves a segment name (``in_segment('vip')``) to its tree
Resolver = Callable[[str], n.Node]

NUMERIC = ("integer", "number")
#: the comparisons a region or city value is read with every spelling of its place
PLACE_OPS = ("=", "!=", "IN", "NOT IN", "CONTAINS", "NOT CONTAINS")
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
        timezone: str | None = None,
        exact_text: bool = True,
        holds: Collection[n.Matches] = (),
        _stack: tuple[str, ...] = (),
    ) -> None:
        self.con = con
        self.as_of = as_of
        # the profile is built on first use, so that type errors come before any work
        self._base = base if base is not None else (lambda: customer_profile(con, as_of))
        self.resolver = resolver
        self.timezone = timezone
        #: compare a catalogue value with the shop's own spellings of it (``spellings.py``);
        #: off for SQL shown to be run elsewhere, which must not carry this shop's values
        self.exact_text = exact_text
        #: MATCHES nodes (without totals) every row of the base has a row of — the base is
        #: their customers (``service.count``): compiled as true, with no join
        self._holds = frozenset(holds)
        self._stack = _stack
        self._calls: dict[n.Call, str] = {}
        #: the stored purchased lines (``_stored_lines``): None before the first look
        self._lines: ir.Table | bool | None = None
        #: the row columns the MATCHES node being compiled names (``matching_rows``)
        self._wanted: set[str] = set()

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
                if isinstance(cond, n.Matches):
                    self._check_matches(cond, path)
                else:
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
        for name in n.field_names(tree):
            if name in JOINED_FIELDS and FIELDS[name].column not in table.columns:
                table = getattr(self, f"field_{name}")(table)
        for i, call in enumerate(n.calls(tree)):
            column = f"_call_{i}"
            self._calls[call] = column
            table = self._join_call(table, call, column)
        leaves = dict.fromkeys(c for _, c in n.conditions(tree) if isinstance(c, n.Matches))
        for i, found in enumerate(leaves):
            column = f"_matches_{i}"
            self._calls[found] = column  # type: ignore[index]
            if found in self._holds:
                table = table.mutate(**{column: ibis.literal(True)})
            else:
                table = self._join_matches(table, found, column)
        return table

    def predicate(self, tree: n.Node, table: ir.Table) -> ir.BooleanValue:
        return self.visit(tree, table)

    def members(self, tree: n.Node, *, also: Collection[str] = ()) -> ir.Table:
        """The profile rows of the customers in the segment: known customers only, unless
        the tree names ``known_customer`` (see ``universe.py``). ``also`` names joined
        fields (``customer_account_status``, ``companies`` …) to add as columns."""
        table = self.with_calls(tree)
        extra = [
            FIELDS[f].column
            for f in dict.fromkeys(also)
            if f in JOINED_FIELDS and FIELDS[f].column not in self.base.columns
        ]
        for name in dict.fromkeys(also):
            if name in JOINED_FIELDS and FIELDS[name].column not in table.columns:
                table = getattr(self, f"field_{name}")(table)
        condition = self.in_universe(tree, table) & self.predicate(tree, table)
        return table.filter(condition).select(*self.base.columns, *extra)

    def in_universe(self, tree: n.Node, table: ir.Table) -> ir.BooleanValue:
        """Whether a row can be a member at all: a known customer, or anyone when the tree
        names ``known_customer`` (``universe.py``)."""
        if asks_for_visitors(tree, self.resolver):
            return ibis.literal(True)
        return known(table)

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

    def visit_Matches(self, node: n.Matches, t: ir.Table) -> ir.BooleanValue:
        return t[self._calls[node]]  # type: ignore[index]

    def visit_Compare(self, node: n.Compare, t: ir.Table) -> ir.BooleanValue:
        place = self._place(node, t)
        if place is not None:
            return place
        left = self.value(node.left, t)
        kind = kind_of(node.left)
        if isinstance(node.right, tuple):
            right: object = tuple(self.value(x, t) for x in node.right)
        elif node.right is None:
            right = None
        else:
            right = self.value(node.right, t)
        return build(node.op, left, right, kind)

    def _place(self, node: n.Compare, t: ir.Table) -> ir.BooleanValue | None:
        """Regions and cities by any spelling of the place (``places.py``): 서울 finds
        서울특별시, Seoul and KR-11; US-CA-LosAngeles finds Los Angeles."""
        name = node.left.name if isinstance(node.left, n.Field) else None
        if name not in ("customer_regions", "customer_cities") or node.op not in PLACE_OPS:
            return None
        rights = node.right if isinstance(node.right, tuple) else (node.right,)
        if not all(isinstance(r, n.Value) and isinstance(r.value, str) for r in rights):
            return None
        texts = [str(r.value) for r in rights]  # type: ignore[union-attr]
        column = t[FIELDS[name].column]
        if name == "customer_regions":
            spellings = [s for text in texts for s in region_spellings(text)]
            left: ir.Value = column.lower()
        else:
            spellings = [city_key(text) for text in texts]
            left = column.lower().re_replace(r"[\s\-]+", "")
        positive = node.op in ("=", "IN", "CONTAINS")
        if node.op in ("CONTAINS", "NOT CONTAINS"):
            held = _balanced([left.contains(s) for s in spellings], and_=False)
        else:
            held = left.isin(list(dict.fromkeys(spellings)))
        held = held.fill_null(False)
        return held if positive else ~held

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
        if isinstance(expr.value, dt.datetime):
            # dates are compared by the shop's local day, as Shopify does ("entire days")
            return ibis.literal(self.local_day(expr.value))
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

    def local_day(self, moment: dt.datetime) -> dt.date:
        """A date-time's day in the shop's time zone (a time without an offset is local)."""
        if moment.tzinfo is not None and self.timezone:
            return moment.astimezone(ZoneInfo(self.timezone)).date()
        return moment.date()

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

    def _check_matches(self, node: n.Matches, path: str) -> None:
        spec = match_spec(node.function)
        if spec is None:
            raise SegmentError(
                f"MATCHES is not supported for '{node.function}'",
                path=path,
                suggestion=suggest(node.function, tuple(MATCH_FUNCTIONS)),
            )
        for test in node.tests:
            arg = spec.arg(test.left.name) if isinstance(test.left, n.Field) else None
            if arg is None:
                names = ", ".join(a.name for a in spec.args)
                raise SegmentError(
                    f"{spec.name} MATCHES has no argument {_describe(test.left)}; its arguments "
                    f"are {names}",
                    path=path,
                )
            if test.op not in INNER_OPS:
                raise SegmentError(
                    f"'{test.op}' is not supported inside MATCHES (use {', '.join(INNER_OPS)})",
                    path=path,
                )
            want = "text" if arg.type == "tags" else arg.type
            if arg.type == "tags" and test.op not in ("=", "!=", "IN", "NOT IN"):
                raise SegmentError(f"{arg.name} takes =, !=, IN or NOT IN", path=path)
            rights = test.right if isinstance(test.right, tuple) else (test.right,)
            for right in rights:
                if not isinstance(right, n.Value | n.DateOffset):
                    raise SegmentError(f"{spec.name}({arg.name}): a value is needed", path=path)
                if isinstance(right, n.Value) and isinstance(right.value, str):
                    check_text(right.value)
                got = kind_of(right)
                if got == "null" or not _compatible(want, got):
                    raise SegmentError(
                        f"{spec.name} MATCHES ({arg.name} …) takes {_HINT.get(want, want)}, "
                        f"got {_describe(right)}",
                        path=path,
                    )

    def matching_rows(self, node: n.Matches) -> ir.Table:
        """The function's rows (with ``customer_id``) that pass the row tests of ``node``: what
        its aggregate tests count. A count whose members need such a row takes its customers
        from here (``service.restricting_call``)."""
        spec = match_spec(node.function)
        assert spec is not None  # checked
        # the row columns the tests name (a source may skip a costly join for one not named)
        self._wanted = {t.left.name for t in node.tests}  # type: ignore[union-attr]
        source = getattr(self, f"rows_{spec.source}")(spec)
        for test in node.tests:
            if not spec.arg(test.left.name).aggregate:  # type: ignore[union-attr]
                source = source.filter(self._row_test(source, spec, test))
        return source

    def _join_matches(self, table: ir.Table, node: n.Matches, column: str) -> ir.Table:
        """One boolean column: whether the customer's rows of the function pass the tests."""
        spec = match_spec(node.function)
        assert spec is not None  # checked
        aggregate = [t for t in node.tests if spec.arg(t.left.name).aggregate]  # type: ignore[union-attr]
        source = self.matching_rows(node)
        if not aggregate:  # "at least one row": the customers with one, no totals to compute
            rows = source.select("customer_id").distinct().mutate(_has_rows=ibis.literal(True))
            joined = table.left_join(rows, "customer_id").drop("customer_id_right")
            held = joined._has_rows.fill_null(False)
            return joined.mutate(**{column: held}).drop("_has_rows")
        # only the totals the tests name (count of distinct units, sum of amounts)
        totals = {
            "count": lambda: source._unit.nunique(),
            "sum_amount": lambda: source._amount.sum(),
        }
        named = [name for name in totals if any(t.left.name == name for t in aggregate)]  # type: ignore[union-attr]
        per = source.group_by("customer_id").aggregate(**{k: totals[k]() for k in named})
        joined = table.left_join(per, "customer_id").drop("customer_id_right")
        counts = {name: joined[name].fill_null(0) for name in named}
        held = [
            build(t.op, counts[t.left.name], self._right(t.right, joined), kind_of_arg(spec, t))  # type: ignore[union-attr]
            for t in aggregate
        ]
        result = held[0]
        for h in held[1:]:
            result = result & h
        return joined.mutate(**{column: result}).drop(*named)

    def customers_with_rows(self, node: n.Call | n.Matches) -> ir.Table:
        """The distinct customers with a row of a behaviour call, or with a row that passes a
        MATCHES node's row tests: a condition that needs such a row holds for none other
        (``service.count`` starts from them)."""
        if isinstance(node, n.Call):
            return getattr(self, f"call_{node.name}")(node).select("customer_id").distinct()
        return self.matching_rows(node).select("customer_id").distinct()

    def _right(self, right: object, t: ir.Table) -> object:
        if isinstance(right, tuple):
            return tuple(self.value(x, t) for x in right)
        return self.value(right, t)  # type: ignore[arg-type]

    def _row_test(self, rows: ir.Table, spec: object, test: n.Compare) -> ir.BooleanValue:
        name = test.left.name  # type: ignore[union-attr]
        kind = kind_of_arg(spec, test)
        left = rows[name]
        right = self._right(test.right, rows)
        if kind == "tags":  # a line's product tags: = is "has the tag", IN "has one of them"
            values = right if isinstance(right, tuple) else (right,)
            has = ibis.literal(False)
            for value in values:
                has = has | build("CONTAINS", left, value, "tags")
            return ~has if test.op in ("!=", "NOT IN") else has
        exact = self._spelled(rows, spec, test) if kind == "text" else None
        if exact is not None:
            return exact
        return build_filter(test.op, left, right, kind)

    def _spelled(self, rows: ir.Table, spec: object, test: n.Compare) -> ir.BooleanValue | None:
        """``=``, ``!=``, ``IN``, ``NOT IN`` of a catalogue column (``spellings.SPELLED``)
        against typed text, as an exact test against the shop's spellings of that text: the
        rows of the case-insensitive test, in a form the engine's scan applies. None when
        the column has no listing (another engine, too many values)."""
        where = SPELLED.get((spec.source, test.left.name))  # type: ignore[attr-defined, union-attr]
        if where is None or not self.exact_text or test.op not in ("=", "!=", "IN", "NOT IN"):
            return None
        rights = test.right if isinstance(test.right, tuple) else (test.right,)
        texts = [r.value for r in rights if isinstance(r, n.Value) and isinstance(r.value, str)]
        if len(texts) != len(rights):
            return None
        found = spellings(self.con, *where, texts)
        if found is None:
            return None
        column = rows[test.left.name]  # type: ignore[union-attr]
        held = column.isin(list(found)) if found else ibis.literal(False)
        return held if test.op in ("=", "IN") else ~held.fill_null(False)

    def _in_window(self, table: ir.Table, column: str) -> ir.Table:
        return table.filter(table[column] <= self.as_of)

    def _stored_lines(self) -> ir.Table | None:
        """The purchased lines a refresh stored, cut at the as-of date, when they are current
        for the store (no load since they were built: ``profile.purchase_lines_current``);
        else None and the lines are joined from the fact tables. Looked up once per compiler."""
        if self._lines is None:
            found = purchase_lines(self.con, self.as_of)
            self._lines = found if found is not None else False
        return self._lines if self._lines is not False else None

    def _with_tags(self, lines: ir.Table) -> ir.Table:
        """A line's product tags from the catalogue (the products table), by product id; an
        engine whose copy of the store has no catalogue has no tags."""
        if "products" in self.con.list_tables():
            tags = fixed_table(self.con, "products").select(product_id="product_id", tag="tags")
            return lines.left_join(tags, "product_id").drop("product_id_right")
        return lines.mutate(tag=ibis.null("array<string>"))

    def rows_products(self, spec: object) -> ir.Table:
        """Purchased order lines: one row per line of a purchase up to the as-of date — the
        stored lines when current (``_stored_lines``), else order lines joined with
        :func:`purchases`. The catalogue's tags are joined on only when a test names them."""
        stored = self._stored_lines()
        if stored is not None:
            lines = self._with_tags(stored) if "tag" in self._wanted else stored
            return lines.select(
                "customer_id",
                id=lines.product_id,
                category=lines.category,
                tag=lines.tag if "tag" in self._wanted else ibis.null("array<string>"),
                price=lines.unit_price,
                _unit=lines.unit,
                _amount=lines.amount,
                date=lines.order_date,
            )
        p = purchases(self.con, self.as_of).select("order_id", "customer_id", "order_date")
        items = fixed_table(self.con, "order_items")
        if "tag" in self._wanted:
            items = self._with_tags(items)
        else:
            items = items.mutate(tag=ibis.null("array<string>"))
        joined = items.select(
            "order_id",
            id=items.product_id,
            category=items.category,
            tag=items.tag,
            price=items.unit_price,
            _amount=items.unit_price * items.quantity,
        ).join(p, "order_id")
        return joined.select(
            "customer_id",
            "id",
            "category",
            "tag",
            "price",
            _unit=joined.order_id,
            _amount=joined._amount,
            date=joined.order_date,
        )

    def rows_orders(self, spec: object) -> ir.Table:
        """Purchases (paid or partly refunded orders) up to the as-of date."""
        p = purchases(self.con, self.as_of)
        amount = p.total - p.refunded_amount.fill_null(0)
        return p.select(
            "customer_id",
            id=p.order_id,
            amount=amount,
            channel=p.channel,
            coupon_code=p.coupon_code,
            date=p.order_date,
            _unit=p.order_id,
            _amount=amount,
        )

    def _event_rows(self, names: tuple[str, ...] | None = None) -> ir.Table:
        e = self._in_window(fixed_table(self.con, "events"), "event_date")
        if names:
            e = e.filter(e.event.isin(list(names)))
        props = e.properties.cast("json")
        return e.select(
            "customer_id",
            name=e.event,
            id=e.product_id,
            product_id=e.product_id,
            category=e.category,
            campaign_id=props["campaign_id"].str,
            activity_id=props["activity_id"].str,
            date=e.event_date,
            _unit=e.event_id,
            _amount=e.value.fill_null(0),
        )

    def rows_events(self, spec: object) -> ir.Table:
        """Events up to the as-of date (of any name unless the tests name one)."""
        return self._event_rows()

    def rows_email(self, spec: object) -> ir.Table:
        """Events of the function's names (the e-mail activity ``email_open`` …, whose
        ``campaign_id`` and ``activity_id`` are read from the event's properties; the
        storefront's ``product_view``)."""
        return self._event_rows(spec.events)  # type: ignore[attr-defined]

    def rows_abandoned_checkouts(self, spec: object) -> ir.Table:
        """Checkouts started with no purchase by the customer on that day or after it (up to
        the as-of date): a ``checkout_start`` event followed by no order."""
        starts = self._event_rows(("checkout_start",))
        p = purchases(self.con, self.as_of)
        last = p.group_by("customer_id").aggregate(_last_purchase=p.order_date.max())
        joined = starts.left_join(last, "customer_id").drop("customer_id_right")
        open_ = joined.filter(
            joined._last_purchase.isnull() | (joined._last_purchase < joined.date)
        )
        return open_.drop("_last_purchase")

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
        returns = FUNCTIONS[call.name].returns
        if returns == "date":  # no date is no date
            return joined
        default = False if returns == "boolean" else 0
        return joined.mutate(**{column: joined[column].fill_null(default)})

    def _purchases_since(self, call: n.Call) -> ir.Table:
        p = purchases(self.con, self.as_of)
        since = self._since(call)
        return p if since is None else p.filter(p.order_date >= since)

    def call_products_purchased(self, call: n.Call) -> ir.Table:
        count = call.arg("count")
        need = int(count.value) if count is not None else 1  # type: ignore[union-attr, arg-type]
        if need < 1:
            raise SegmentError(
                f"products_purchased(count: {need}) must be at least 1; "
                "to find customers who did not buy, compare with = false"
            )
        stored = self._stored_lines()
        if stored is not None:  # the stored lines carry their order's customer and date
            since = self._since(call)
            lines = stored if since is None else stored.filter(stored.order_date >= since)
            lines = self._line_filters(call, lines)
            per = lines.group_by("customer_id").aggregate(orders=lines.unit.nunique())
            return per.select("customer_id", value=per.orders >= need)
        p = self._purchases_since(call).select("order_id", "customer_id")
        items = self._line_filters(call, fixed_table(self.con, "order_items"))
        joined = items.select("order_id").distinct().join(p, "order_id")
        per = joined.group_by("customer_id").aggregate(orders=joined.order_id.nunique())
        return per.select("customer_id", value=per.orders >= need)

    def _line_filters(self, call: n.Call, items: ir.Table) -> ir.Table:
        """Order lines (``product_id``, ``category``, ``unit_price``) kept by the call's
        product, category, price and tag arguments."""
        filters = []
        for arg, column in (("id", "product_id"), ("category", "category")):
            if (v := call.arg(arg)) is not None:
                filters.append(items[column] == v.value)  # type: ignore[union-attr]
        if (v := call.arg("min_price")) is not None:
            filters.append(items.unit_price >= v.value)  # type: ignore[union-attr]
        if (v := call.arg("max_price")) is not None:
            filters.append(items.unit_price <= v.value)  # type: ignore[union-attr]
        if (v := call.arg("tag")) is not None:
            if "products" in self.con.list_tables():
                tagged = fixed_table(self.con, "products")
                tagged = tagged.filter(build("CONTAINS", tagged.tags, v.value, "tags"))  # type: ignore[union-attr]
                filters.append(items.product_id.isin(tagged.product_id))
            else:  # no catalogue: no line has the tag
                filters.append(ibis.literal(False))
        return items.filter(*filters) if filters else items

    def call_number_of_orders(self, call: n.Call) -> ir.Table:
        p = self._purchases_since(call)
        return p.group_by("customer_id").aggregate(value=p.count())

    def call_amount_spent(self, call: n.Call) -> ir.Table:
        p = self._purchases_since(call)
        return p.group_by("customer_id").aggregate(
            value=(p.total - p.refunded_amount.fill_null(0)).sum()
        )

    def call_events(self, call: n.Call) -> ir.Table:
        e = fixed_table(self.con, "events")
        filters = [e.event_date <= self.as_of, e.event == call.arg("name").value]  # type: ignore[union-attr]
        since = self._since(call)
        if since is not None:
            filters.append(e.event_date >= since)
        for arg, column in (("id", "product_id"), ("category", "category")):
            if (v := call.arg(arg)) is not None:
                filters.append(e[column] == v.value)  # type: ignore[union-attr]
        e = e.filter(*filters)
        return e.group_by("customer_id").aggregate(value=e.count())

    def call_anniversary(self, call: n.Call) -> ir.Table:
        """The next anniversary of a date on or after the as-of date (29 February is the
        28th in other years), so ``anniversary(date: 'birth_date') BETWEEN today AND +30d``
        is "a birthday in the next 30 days", as in Shopify."""
        which = str(call.arg("date").value)  # type: ignore[union-attr]
        column = ANNIVERSARY_DATES.get(which)
        if column is None:
            raise SegmentError(
                f"anniversary(date: '{which}'): choose one of {', '.join(ANNIVERSARY_DATES)}",
                suggestion=suggest(which, tuple(ANNIVERSARY_DATES)),
            )
        if column == "first_order_date":
            p = purchases(self.con, self.as_of)
            dates = p.group_by("customer_id").aggregate(day=p.order_date.min())
        else:
            c = fixed_table(self.con, "customers")
            dates = c.select("customer_id", day=c[column])
        dates = dates.filter(dates.day.notnull())
        return dates.select("customer_id", value=_next_anniversary(dates.day, self.as_of))

    # -- fields joined or derived when named ------------------------------------------------
    def _customers_column(self, table: ir.Table, name: str, source: str) -> ir.Table:
        c = fixed_table(self.con, "customers")
        if source not in c.columns:
            raise SegmentError(
                f"{name} needs a '{source}' column in customers, and this shop's customers have "
                f"none: load customers with a {source} column (see docs/segments.md)"
            )
        value = c[source] if source != "email" else email_domain(c.email)
        joined = table.left_join(c.select("customer_id", _v=value), "customer_id")
        return joined.drop("customer_id_right").rename({FIELDS[name].column: "_v"})

    def field_customer_email_domain(self, table: ir.Table) -> ir.Table:
        """The part of the e-mail after '@', lower-cased (``customer_email_domain``)."""
        return self._customers_column(table, "customer_email_domain", "email")

    def field_customer_account_status(self, table: ir.Table) -> ir.Table:
        """A customers column ``account_status`` (e.g. enabled, invited, disabled), when the
        shop loads one."""
        return self._customers_column(table, "customer_account_status", "account_status")

    def field_companies(self, table: ir.Table) -> ir.Table:
        """A customers column ``company`` (B2B shops), when the shop loads one."""
        return self._customers_column(table, "companies", "company")

    def field_customer_added_date(self, table: ir.Table) -> ir.Table:
        """When the customer became known: the sign-up date, else the first order (of any
        status) — a guest is added by their first checkout, as in Shopify."""
        o = fixed_table(self.con, "orders")
        o = o.filter(o.order_date <= self.as_of)
        first = o.group_by("customer_id").aggregate(_first=o.order_date.min())
        joined = table.left_join(first, "customer_id").drop("customer_id_right")
        added = ibis.coalesce(joined.signup_date, joined._first)
        return joined.mutate(customer_added_date=added).drop("_first")

    def field_abandoned_checkout_date(self, table: ir.Table) -> ir.Table:
        """The last day the customer started a checkout and bought nothing on or after it."""
        rows = self.rows_abandoned_checkouts(None)
        last = rows.group_by("customer_id").aggregate(abandoned_checkout_date=rows.date.max())
        return table.left_join(last, "customer_id").drop("customer_id_right")

    def field_predicted_spend_tier(self, table: ir.Table) -> ir.Table:
        """Shopify's predicted spend tier from danggol's prediction: high for the top 20 % of
        predicted CLV (percentile ≥ 80), medium for the next 40 % (≥ 40), low below; empty
        without a prediction."""
        if "predicted_clv_percentile" not in table.columns:
            raise SegmentError(
                "predicted_spend_tier needs the predictions: run 'danggol refresh' first"
            )
        pct = table.predicted_clv_percentile
        tier = ibis.cases((pct >= 80, "high"), (pct >= 40, "medium"), (pct.notnull(), "low"))
        return table.mutate(predicted_spend_tier=tier)

    def call_in_segment(self, call: n.Call) -> ir.Table:
        name = str(call.arg("").value)  # type: ignore[union-attr]
        tree = self._resolve(name, "")
        inner = Compiler(
            self.con,
            self.as_of,
            base=self.base,
            resolver=self.resolver,
            timezone=self.timezone,
            exact_text=self.exact_text,
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


#: the dates ``anniversary(date: …)`` knows (Shopify's birth-date metafield spelling too)
ANNIVERSARY_DATES = {
    "birth_date": "birth_date",
    "metafields.facts.birth_date": "birth_date",
    "facts.birth_date": "birth_date",
    "first_order_date": "first_order_date",
}


def _next_anniversary(day: ir.DateValue, as_of: dt.date) -> ir.DateValue:
    """The first date on or after ``as_of`` with the month and day of ``day`` (29 February
    falls on the 28th in a common year)."""

    def on(year: int) -> ir.DateValue:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        feb29 = (day.month() == 2) & (day.day() == 29)
        d = feb29.ifelse(28 if not leap else 29, day.day())
        return ibis.date(ibis.literal(year), day.month(), d)

    this_year = on(as_of.year)
    return (this_year >= as_of).ifelse(this_year, on(as_of.year + 1))


def email_domain(email: ir.StringValue) -> ir.StringValue:
    """The part of an e-mail after its '@', stripped and lower-cased (null without one): the rule of
    ``customer_email_domain``, shared with the dashboard's domain picker."""
    at = email.find("@")
    return (at >= 0).ifelse(email.substr(at + 1).strip().lower(), ibis.null("string"))


def kind_of_arg(spec: object, test: n.Compare) -> str:
    """The type of a MATCHES argument (``date``, ``text``, ``tags`` …)."""
    return spec.arg(test.left.name).type  # type: ignore[attr-defined, union-attr]


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
