"""What the edges (CLI, API) call for segments: resolve, count, members, SQL, explain.

A *target* is a saved or built-in segment name, or a query typed on the spot.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import operator
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import sqlglot

from danggol.choices import DIALECTS
from danggol.errors import ConfigError, NotFoundError, SegmentError, UnknownSegmentError
from danggol.predict.fields import field_specs as prediction_fields
from danggol.profile import BASE_FIELDS, SNAPSHOT_TABLE, customer_profile, snapshot_is_current
from danggol.segments.compile import Compiler
from danggol.segments.definition import NAME_RE, Segment
from danggol.segments.fields import FIELDS, FUNCTIONS, suggest
from danggol.segments.matches import match_spec
from danggol.segments.nodes import (
    All,
    Call,
    Compare,
    Field,
    Matches,
    Node,
    Value,
    calls,
    conditions,
    field_names,
)
from danggol.segments.parse import check_text, parse_query, to_query
from danggol.segments.places import city_key, region_spellings
from danggol.segments.registry import Registry
from danggol.segments.spellings import SPELLED, listing
from danggol.segments.universe import UNIVERSE_FIELD, asks_for_visitors, universe_size
from danggol.store.backends import to_rows
from danggol.store.workspace import Workspace

#: dialects whose Ibis compiler needs the engine's package (pyspark): translated by sqlglot
TRANSPILED = ("spark", "databricks")
PREDICTION_FIELDS = {spec.name for spec in prediction_fields()} | {"predicted_spend_tier"}
PREDICTION_COLUMNS = {FIELDS[name].column for name in PREDICTION_FIELDS if name in FIELDS}
#: the columns :func:`customer_profile` computes (besides one ``events_*`` per event name)
PROFILE_COLUMNS = frozenset(BASE_FIELDS)


@dataclass(frozen=True)
class Target:
    tree: Node
    segment: Segment | None = None

    @property
    def query(self) -> str:
        return to_query(self.tree)

    @property
    def name(self) -> str | None:
        return self.segment.name if self.segment else None


def registry(ws: Workspace) -> Registry:
    return Registry(ws.path / "segments")


def target(ws: Workspace, text: str, params: dict[str, Any] | None = None) -> Target:
    """A segment name (saved or built-in) or a query."""
    reg = registry(ws)
    stripped = text.strip()
    if NAME_RE.fullmatch(stripped) and stripped in reg.all():
        segment = reg.get(stripped)
        if params:
            segment = segment.with_params(**params)
        return Target(segment.tree(), segment)
    if params:
        raise SegmentError("--param applies to a saved or built-in segment, not to a query")
    if NAME_RE.fullmatch(stripped) and stripped not in FIELDS:
        # a bare name is a segment's name: suggest segments, not fields
        raise UnknownSegmentError(
            f"unknown segment '{stripped}'; 'danggol segment list' shows them (a query "
            "compares a field, e.g. number_of_orders >= 1)",
            suggestion=suggest(stripped, tuple(reg.all())),
        )
    return Target(parse_query(text))


def named(ws: Workspace, name: str) -> Target:
    """A saved or built-in segment by name only (UnknownSegmentError otherwise)."""
    segment = registry(ws).get(name)
    return Target(segment.tree(), segment)


def compiler(ws: Workspace, as_of: dt.date, *, fields: Collection[str] | None = None) -> Compiler:
    """The compiler over the profile segments run on. ``fields`` (field names or profile
    columns) prunes it: only those columns are computed (:func:`profile_base`)."""
    return Compiler(
        ws.ibis,
        as_of,
        base=lambda: profile_base(ws, as_of, None if fields is None else columns_of(fields)),
        resolver=registry(ws).tree,
        timezone=ws.config.timezone,
    )


def referenced_fields(ws: Workspace, tree: Node) -> list[str]:
    """Every field ``tree`` tests, with those of the segments it names (``in_segment``)."""
    reg = registry(ws)
    seen: dict[str, None] = {}
    visited: set[str] = set()

    def walk(node: Node) -> None:
        seen.update(dict.fromkeys(field_names(node)))
        for call in calls(node):
            arg = call.arg("") if call.name == "in_segment" else None
            name = None if arg is None else str(getattr(arg, "value", ""))
            if name and name not in visited:
                visited.add(name)
                # an unknown segment: the compiler reports it, with its position
                with contextlib.suppress(SegmentError):
                    walk(reg.tree(name))

    walk(tree)
    return list(seen)


def columns_of(fields: Collection[str]) -> set[str]:
    """The profile columns behind field names (a column name stands for itself)."""
    # known_customer: the universe every segment is drawn from (segments/universe.py)
    return {
        "customer_id",
        UNIVERSE_FIELD,
        *(FIELDS[f].column if f in FIELDS else f for f in fields),
    }


#: comparisons whose truth for a customer without any matching row (a call's default: 0 or
#: false) can be told in Python
_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def restricting_call(tree: Node) -> Call | Matches | None:
    """A call the whole condition needs a matching row for: a top-level (ANDed) comparison of
    a behavioural call that its default (0 or false, no matching row) fails, such as
    ``events(name: 'cart_add', date: -7d) >= 1``, or a MATCHES that no row fails
    (``products_purchased MATCHES (date > -3m)``, ``events MATCHES (…, count >= 3)``; not
    ``count < 2``, which a customer without rows passes). The members are among the
    customers of that call's rows, so a count need not build the profile of everyone."""
    children = tree.children if isinstance(tree, All) else (tree,)
    for child in children:
        if isinstance(child, Matches) and _needs_a_row(child):
            return child
        if not (isinstance(child, Compare) and isinstance(child.left, Call)):
            continue
        spec = FUNCTIONS.get(child.left.name)
        check = _PY_OPS.get(child.op)
        if spec is None or check is None or child.left.name == "in_segment":
            continue
        if not isinstance(child.right, Value) or child.right.value is None:
            continue
        default = False if spec.returns == "boolean" else 0
        try:
            holds = check(default, child.right.value)
        except TypeError:
            continue
        if not holds:
            return child.left
    return None


def _needs_a_row(node: Matches) -> bool:
    """Whether a customer without rows of the function fails the MATCHES: it has no test of
    the totals (then it means 'at least one row'), or one that 0 fails."""
    spec = match_spec(node.function)
    if spec is None:
        return False
    totals = _totals(node)
    return not totals or any(_holds_at_zero(t) is False for t in totals)


def _totals(node: Matches) -> list[Compare]:
    """The tests of a MATCHES on its totals (``count``, ``sum_amount``), not on its rows."""
    spec = match_spec(node.function)
    if spec is None:
        return []
    return [
        t
        for t in node.tests
        if isinstance(t.left, Field) and (a := spec.arg(t.left.name)) is not None and a.aggregate
    ]


def _holds_at_zero(test: Compare) -> bool | None:
    """Whether a test of a total (``count``, ``sum_amount``) holds for 0; None: cannot tell."""
    values = test.right if isinstance(test.right, tuple) else (test.right,)
    numbers = [
        v.value
        for v in values
        if isinstance(v, Value)
        and isinstance(v.value, int | float)
        and not isinstance(v.value, bool)
    ]
    if not numbers or len(numbers) != len(values):
        return None
    if test.op == "BETWEEN":
        return numbers[0] <= 0 <= numbers[1]
    if test.op in ("IN", "NOT IN"):
        return (0 in numbers) == (test.op == "IN")
    check = _PY_OPS.get(test.op)
    return None if check is None else bool(check(0, numbers[0]))


#: what the order columns are for a customer without any order (no row in ``orders``); None is
#: null, which no positive comparison holds for (its negations do: ``!=``, ``NOT IN`` …)
NO_ORDER_VALUES: dict[str, object] = {
    "number_of_orders": 0,
    "amount_spent": 0,
    "refunds": 0,
    "aov": None,
    "first_order_date": None,
    "last_order_date": None,
    "days_since_last_order": None,
    "avg_days_between_orders": None,
    "amount_spent_percentile": None,
}
#: the same for a customer whose orders are none of them purchases (cancelled, refunded):
#: every column but ``refunds`` (which counts refunded orders) is as without any order
NO_PURCHASE_VALUES = {k: v for k, v in NO_ORDER_VALUES.items() if k != "refunds"}
#: comparisons a null value fails (the operators' two-valued rule: the negations hold for it)
_NULL_FAILS = ("=", "<", "<=", ">", ">=", "BETWEEN", "IN")


def needs_an_order(tree: Node) -> bool:
    """Whether only customers with an order can match: a top-level (ANDed) comparison of an
    order column that fails for a customer without orders (``number_of_orders >= 1``,
    ``last_order_date < -5m``, ``amount_spent_percentile >= 80``, ``refunds >= 1``). Then the
    rows are the customers in ``orders``, not every id of customers, orders and events."""
    return _fails_without(tree, NO_ORDER_VALUES)


def needs_a_purchase(tree: Node) -> bool:
    """Whether only customers with a purchase can match (as :func:`needs_an_order`, on the
    columns a purchase alone sets: not ``refunds``). Then the rows are the buyers."""
    return _fails_without(tree, NO_PURCHASE_VALUES)


def _fails_without(tree: Node, defaults: dict[str, object]) -> bool:
    children = tree.children if isinstance(tree, All) else (tree,)
    for child in children:
        if not (isinstance(child, Compare) and isinstance(child.left, Field)):
            continue
        column = FIELDS[child.left.name].column if child.left.name in FIELDS else None
        if column not in defaults:
            continue
        default = defaults[column]
        if default is None:
            if child.op in _NULL_FAILS:
                return True  # null compared: never true
            continue
        check = _PY_OPS.get(child.op)
        if check is None or not isinstance(child.right, Value) or child.right.value is None:
            continue
        try:
            if not check(default, child.right.value):
                return True
        except TypeError:
            continue
    return False


def profile_base(
    ws: Workspace,
    as_of: dt.date,
    columns: set[str] | None = None,
    ids: ir.Table | None = None,
    rows: str = "every_id",
) -> ir.Table:
    """The table a segment runs on, paying only for ``columns`` (None: every column).

    The profile a refresh stored, when it is current for this date and data, has everything.
    Otherwise only what is asked is computed: prediction columns fit the models
    (:func:`profile_with_predictions`), score columns fit the scores on a materialised profile
    (:func:`scored_profile`), and profile columns alone are one pruned expression over the
    fact tables (:func:`customer_profile` with ``columns``): no materialisation, no fit."""
    if snapshot_is_current(ws.ibis, as_of):
        return ws.ibis.table(SNAPSHOT_TABLE)
    return computed_base(ws, as_of, columns, ids, rows)


def computed_base(
    ws: Workspace,
    as_of: dt.date,
    columns: set[str] | None = None,
    ids: ir.Table | None = None,
    rows: str = "every_id",
) -> ir.Table:
    """:func:`profile_base` when no stored profile is current: computed for ``columns``, only
    for ``ids`` (when given) or the ``rows`` of :func:`customer_profile` (profile columns only:
    a profile with scores or predictions is computed for everyone, then cut to ``ids``)."""
    con = ws.ibis
    if columns is None or columns & PREDICTION_COLUMNS:
        from danggol.predict.customers import profile_with_predictions  # SciPy: only if asked

        return only(profile_with_predictions(con, as_of, ws.config.predictions), ids)
    if any(c not in PROFILE_COLUMNS and not c.startswith("events_") for c in columns):
        from danggol.scores import scored_profile

        return only(scored_profile(con, as_of), ids)
    return customer_profile(con, as_of, columns=columns, ids=ids, rows=rows)


def only(profile: ir.Table, ids: ir.Table | None) -> ir.Table:
    """The rows of ``profile`` (computed for everyone) of the customers in ``ids`` (distinct),
    or all of them: an inner join, so that DuckDB hashes the smaller side (as a semi join or
    ``IN`` it hashed the 1M rows of the stored profile: 0.36 s)."""
    if ids is None:
        return profile
    return profile.join(ids, "customer_id").select(*profile.columns)


def stored_base(
    ws: Workspace, ids: ir.Table | None = None, columns: Collection[str] | None = None
) -> ir.Table:
    """The profile a refresh stored; with ``ids``, only those customers' rows (the values are
    the stored ones, ranked among everyone); with ``columns``, only those (the profile's columns
    the query reads, ``customer_id`` among them). A count whose members need a behaviour's row
    starts from its customers: left-joining a week's order counts onto every row of the 1M
    stored profile cost 0.2 s, joining them onto the 50k customers with a cart costs little."""
    snapshot = ws.ibis.table(SNAPSHOT_TABLE)
    # Ibis writes every column at every step: 68 of them, or the few asked. A field derived
    # from stored columns when named (``predicted_spend_tier``, ``customer_added_date``: not
    # stored) keeps them all
    if columns is not None and set(columns) <= set(snapshot.columns):
        snapshot = snapshot.select(*(c for c in snapshot.columns if c in columns))
    return only(snapshot, ids)


def members(
    ws: Workspace, tgt: Target, as_of: dt.date, *, fields: Collection[str] | None = None
) -> ir.Table:
    """The members with every profile column, score and prediction; with ``fields``, only
    those (and ``customer_id``) are sure to be there, and only what they and the segment's
    conditions need is computed."""
    if fields is None:
        return compiler(ws, as_of).members(tgt.tree)
    needed = [*referenced_fields(ws, tgt.tree), *fields]
    return compiler(ws, as_of, fields=needed).members(tgt.tree, also=fields)


def explain_compiler(ws: Workspace, tgt: Target, as_of: dt.date) -> Compiler:
    """The compiler to explain ``tgt`` with: only the columns it tests."""
    return compiler(ws, as_of, fields=referenced_fields(ws, tgt.tree))


def universe_count(ws: Workspace, as_of: dt.date) -> int:
    """The number of known customers as of ``as_of``: the universe a segment is drawn from
    and the denominator of every share (``universe.py``). The CLI, the API's overview and
    the segment sizes all count it over the same profile."""
    return universe_size(compiler(ws, as_of).base)


def universe_of(ws: Workspace, tgt: Target) -> str:
    """Which universe a target's count is drawn from: ``known_customers`` (the default), or
    ``every_id`` when the query names ``known_customer`` (anonymous visitors included)."""
    everyone = asks_for_visitors(tgt.tree, registry(ws).tree)
    return "every_id" if everyone else "known_customers"


def count(ws: Workspace, tgt: Target, as_of: dt.date) -> int:
    """How many customers are in the segment, computing only the columns it tests."""
    stored = snapshot_is_current(ws.ibis, as_of)
    columns = columns_of(referenced_fields(ws, tgt.tree))
    ids = None
    rows = "every_id"
    call = restricting_call(tgt.tree)
    if call is not None:  # only that call's customers can be in: they are the rows
        probe = Compiler(ws.ibis, as_of, resolver=registry(ws).tree)
        probe.check(tgt.tree)
        ids = probe.customers_with_rows(call)
    elif not stored and needs_a_purchase(tgt.tree) and "refunds" not in columns:
        rows = "bought"  # only buyers can be in: the rows are the purchases' aggregate
    elif not stored and needs_an_order(tgt.tree):  # only customers with an order can be in
        rows = "ordered"
    # the rows are the customers with a row of that MATCHES: without totals to test, it holds
    holds = [call] if isinstance(call, Matches) and not _totals(call) else []
    comp = Compiler(
        ws.ibis,
        as_of,
        base=lambda: (
            stored_base(ws, ids, columns)
            if stored
            else computed_base(ws, as_of, columns, ids, rows)
        ),
        resolver=registry(ws).tree,
        holds=holds,
    )
    counted = comp.members(tgt.tree).count()
    # over the stored profile the only shared parts are a MATCHES' rows, cheaper planned per
    # use; over a profile computed on the spot its shared aggregates are kept once (1.3× faster)
    return int(to_rows(ws.ibis, counted, inline_ctes=stored)[0][0])


def to_sql(ws: Workspace, tgt: Target, as_of: dt.date, dialect: str = "duckdb") -> str:
    if dialect not in DIALECTS:
        raise SegmentError(f"unknown SQL dialect '{dialect}'; choose one of {', '.join(DIALECTS)}")
    predicted = [f for f in field_names(tgt.tree) if f in PREDICTION_FIELDS]
    if predicted:
        raise SegmentError(
            f"{', '.join(predicted)} {'is a prediction' if len(predicted) == 1 else 'are predictions'}"
            " made in Python at refresh, not SQL: this segment has no portable SQL. Count it or "
            "list its members with danggol (they read the stored profile), or export the members"
        )
    from danggol.scores import add_scores

    # the full expression (not the materialised profile), so the SQL runs on any engine
    full = Compiler(
        ws.ibis,
        as_of,
        base=lambda: add_scores(ws.ibis, customer_profile(ws.ibis, as_of), as_of),
        resolver=registry(ws).tree,
        timezone=ws.config.timezone,
        exact_text=False,  # SQL to run elsewhere: no spellings of this shop's data in it
    )
    expr = full.members(tgt.tree).select("customer_id")
    if dialect in TRANSPILED:
        # no Ibis compiler without the engine's own package: sqlglot translates DuckDB's SQL
        duck_sql = str(ibis.to_sql(expr, dialect="duckdb"))
        return ";\n".join(sqlglot.transpile(duck_sql, read="duckdb", write=dialect, pretty=True))
    return str(ibis.to_sql(expr, dialect=dialect))


#: contact columns of ``customers`` a member list may add: personal data, guarded by the web token
CONTACT_FIELDS = ("name", "email", "phone")


def search_condition(table: ir.Table, search: str, contact: list[str]) -> ir.BooleanValue:
    """Rows whose id, or one of the ``contact`` columns, contains ``search`` (any case); a
    phone is compared on its digits only, so the dashes of 010-1234-5678 do not matter."""
    needle = check_text(search.strip().lower(), "a search")
    cond = table.customer_id.lower().contains(needle)
    for column in contact:
        value = table[column].cast("string").fill_null("")
        cond |= value.lower().contains(needle)
        digits = re.sub(r"\D", "", needle)
        if column == "phone" and len(digits) >= 3:
            cond |= value.re_replace(r"\D", "").contains(digits)
    return cond


def derive(
    ws: Workspace,
    source: str,
    name: str,
    params: dict[str, Any],
    *,
    title: dict[str, str] | None = None,
    description: dict[str, str] | None = None,
) -> Segment:
    """Save a new segment made from a built-in one with its parameters filled in (a cross-sell
    for two chosen products, a festival for one region …). The built-in stays as it is: the
    new segment needs a name no other segment has, built-in or saved."""
    reg = registry(ws)
    base = reg.get(source)
    taken = reg.all()
    if name in taken:
        kind = "built-in" if taken[name].builtin else "saved"
        raise SegmentError(f"a {kind} segment is already named '{name}': choose another name")
    unknown = sorted(set(params) - set(base.params))
    if unknown:
        raise SegmentError(
            f"segment '{source}' has no parameter {', '.join(unknown)}; "
            f"it takes {', '.join(base.params) or 'none'}"
        )
    segment = Segment.model_validate(
        {
            **base.model_dump(exclude={"file"}),
            "name": name,
            "builtin": False,
            "params": {**base.params, **params},
            "title": title or base.title,
            "description": description or base.description,
        }
    )
    missing = segment.missing_params()
    if missing:
        raise SegmentError(f"segment '{source}' needs a value for {', '.join(missing)}")
    reg.save(segment)
    return reg.get(name)


@dataclass(frozen=True)
class MemberPage:
    """One page of a segment's members: ``total`` matching the search, and the rows."""

    total: int
    page: int
    page_size: int
    fields: list[str]
    rows: list[dict[str, Any]]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def member_fields(ws: Workspace, tgt: Target, as_of: dt.date, fields: list[str]) -> ir.Table:
    """The members with the chosen fields: query names (``customer_countries``), profile
    columns, or contact columns (:data:`CONTACT_FIELDS`, joined from ``customers``).
    ``customer_id`` always comes first."""
    wanted = ["customer_id", *[f for f in dict.fromkeys(fields) if f != "customer_id"]]
    shown = [f for f in wanted if f not in CONTACT_FIELDS]
    comp = compiler(ws, as_of, fields=[*referenced_fields(ws, tgt.tree), *shown])
    table = comp.members(tgt.tree, also=shown)
    contact = [f for f in wanted if f in CONTACT_FIELDS and f not in table.columns]
    columns = {}
    unknown = []
    for name in wanted:
        column = FIELDS[name].column if name in FIELDS else name
        if column in table.columns:
            columns[name] = table[column]
        elif name not in contact:
            unknown.append(name)
    if unknown:
        raise ConfigError(
            f"unknown field(s) {', '.join(unknown)}; choose among the profile's columns "
            f"({', '.join(table.columns)}) or {', '.join(CONTACT_FIELDS)}",
        )
    selected = table.select(**columns)
    if contact:
        people = ws.ibis.table("customers").select("customer_id", *contact)
        selected = selected.left_join(people, "customer_id").select(*wanted)
    return selected


def member_page(
    ws: Workspace,
    tgt: Target,
    as_of: dt.date,
    *,
    fields: list[str],
    sort: str = "customer_id",
    descending: bool = False,
    search: str | None = None,
    search_contact: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> MemberPage:
    """One page of members, sorted by a chosen field (then by id) and filtered by a search on
    the customer id (case-insensitive substring) and, with ``search_contact``, on the name,
    e-mail and phone too (a phone matches on its digits: "0101234" finds 010-1234-5678).
    A page past the last raises NotFoundError."""
    if page < 1 or page_size < 1:
        raise ConfigError(f"page and page_size start at 1; got page={page}, page_size={page_size}")
    contact = list(CONTACT_FIELDS) if search and search_contact else []
    table = member_fields(ws, tgt, as_of, [*fields, sort, *contact])
    if search:
        table = table.filter(search_condition(table, search, contact))
    total = int(table.count().to_pyarrow().as_py())
    last = max(1, -(-total // page_size))
    if page > last:
        raise NotFoundError(
            f"page {page} is past the last page ({last}) of {total} members at {page_size} a page"
        )
    key = ibis.desc(sort) if descending else ibis.asc(sort)
    order = [key] if sort == "customer_id" else [key, ibis.asc("customer_id")]
    shown = ["customer_id", *[f for f in dict.fromkeys(fields) if f != "customer_id"]]
    rows = (
        table.order_by(order)
        .select(*shown)
        .limit(page_size, offset=(page - 1) * page_size)
        .to_pyarrow()
        .to_pylist()
    )
    return MemberPage(total, page, page_size, shown, rows)


#: what a value names, per field or MATCHES argument: (table, column, words en, words ko)
_VOCABULARY = {
    "product": ("order_items", "product_id", "product", "상품"),
    "tag": ("products", "tags", "product tag", "상품 태그"),
    "category": ("order_items", "category", "category", "카테고리"),
    "event": ("events", "event", "event", "이벤트"),
    "region": ("customers", "region", "region", "지역"),
    "city": ("customers", "city", "city", "도시"),
}
#: the (table, column) pairs whose values are listed once per store (``spellings.py``)
LISTED = frozenset(SPELLED.values())
#: (MATCHES function or '', argument or field) → what its values name
_NAMES_OF = {
    ("products_purchased", "id"): "product",
    ("products_purchased", "category"): "category",
    ("products_purchased", "tag"): "tag",
    ("product_viewed", "id"): "product",
    ("product_viewed", "product_id"): "product",
    ("product_viewed", "category"): "category",
    ("abandoned_checkouts", "id"): "product",
    ("abandoned_checkouts", "category"): "category",
    ("events", "id"): "product",
    ("events", "category"): "category",
    ("events", "name"): "event",
    ("", "customer_regions"): "region",
    ("", "customer_cities"): "city",
    ("", "favourite_category"): "category",
}


def value_warnings(ws: Workspace, tree: Node) -> list[dict[str, str]]:
    """Values that name nothing in this shop (a product, category, event name, region or
    city no row has): the segment still runs, but a typo would silently count 0. Each
    warning is ``{"kind", "value", "en", "ko"}``: "no product 'P9999' in this shop"."""
    wanted: dict[str, list[str]] = {}
    for _, leaf in conditions(tree):
        tests = leaf.tests if isinstance(leaf, Matches) else (leaf,)
        function = leaf.function if isinstance(leaf, Matches) else ""
        for test in tests:
            if not isinstance(test, Compare) or not isinstance(test.left, Field):
                continue
            kind = _NAMES_OF.get((function, test.left.name))
            if kind is None or test.op in ("IS NULL", "IS NOT NULL", "CONTAINS", "NOT CONTAINS"):
                continue
            rights = test.right if isinstance(test.right, tuple) else (test.right,)
            for right in rights:
                if isinstance(right, Value) and isinstance(right.value, str):
                    wanted.setdefault(kind, []).append(right.value)
    warnings = []
    for kind, values in wanted.items():
        table, column, en, ko = _VOCABULARY[kind]
        present: set[str] = set()
        listed = listing(ws.ibis, table, column) if (table, column) in LISTED else None
        if listed is not None:  # the store's values, listed once per store (spellings.py)
            present = {s.lower() for spelled in listed.values() for s in spelled}
        elif table in ws.ibis.list_tables():  # an engine's copy may lack the catalogue
            t = ws.ibis.table(table)
            if kind == "tag":  # a list of tags per product
                t = t.select(tags=t.tags.unnest())
            present = {
                str(v).lower()
                for (v,) in to_rows(ws.ibis, t.select(v=t[column]).distinct())
                if v is not None
            }
        if kind == "city":
            present = {city_key(v) for v in present}
        for value in dict.fromkeys(values):
            if kind == "region":
                found = any(s in present for s in region_spellings(value))
            elif kind == "city":
                found = city_key(value) in present
            else:
                found = value.lower() in present
            if not found:
                warnings.append(
                    {
                        "kind": kind,
                        "value": value,
                        "en": f"no {en} '{value}' in this shop",
                        "ko": f"이 쇼핑몰에 {ko} '{value}' 없음",
                    }
                )
    return warnings
