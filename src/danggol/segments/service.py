"""What the edges (CLI, API) call for segments: resolve, count, members, SQL, explain.

A *target* is a saved or built-in segment name, or a query typed on the spot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import sqlglot

from danggol.errors import ConfigError, NotFoundError, SegmentError, UnknownSegmentError
from danggol.predict.customers import field_specs as prediction_fields
from danggol.predict.customers import profile_with_predictions
from danggol.profile import customer_profile
from danggol.scores import add_scores
from danggol.segments.compile import Compiler
from danggol.segments.definition import NAME_RE, Segment
from danggol.segments.fields import FIELDS, suggest
from danggol.segments.nodes import Compare, Field, Matches, Node, Value, conditions, field_names
from danggol.segments.parse import check_text, parse_query, to_query
from danggol.segments.places import city_key, region_spellings
from danggol.segments.registry import Registry
from danggol.segments.universe import asks_for_visitors, universe_size
from danggol.store.workspace import Workspace

DIALECTS = ("duckdb", "postgres", "bigquery", "snowflake", "spark", "databricks", "trino", "mysql")
#: dialects whose Ibis compiler needs the engine's package (pyspark): translated by sqlglot
TRANSPILED = ("spark", "databricks")
PREDICTION_FIELDS = {spec.name for spec in prediction_fields()} | {"predicted_spend_tier"}


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


def compiler(ws: Workspace, as_of: dt.date) -> Compiler:
    return Compiler(
        ws.ibis,
        as_of,
        base=lambda: profile_with_predictions(ws.ibis, as_of, ws.config.predictions),
        resolver=registry(ws).tree,
        timezone=ws.config.timezone,
    )


def members(ws: Workspace, tgt: Target, as_of: dt.date) -> ir.Table:
    return compiler(ws, as_of).members(tgt.tree)


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
    expr = members(ws, tgt, as_of)
    return int(expr.count().to_pyarrow().as_py())


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
    # the full expression (not the materialised profile), so the SQL runs on any engine
    full = Compiler(
        ws.ibis,
        as_of,
        base=lambda: add_scores(ws.ibis, customer_profile(ws.ibis, as_of), as_of),
        resolver=registry(ws).tree,
        timezone=ws.config.timezone,
    )
    expr = full.members(tgt.tree).select("customer_id")
    if dialect in TRANSPILED:
        # no Ibis compiler without the engine's own package: sqlglot translates DuckDB's SQL
        duck_sql = str(ibis.to_sql(expr, dialect="duckdb"))
        return ";\n".join(sqlglot.transpile(duck_sql, read="duckdb", write=dialect, pretty=True))
    return str(ibis.to_sql(expr, dialect=dialect))


#: contact columns of ``customers`` a member list may add: personal data, guarded by the web token
CONTACT_FIELDS = ("name", "email", "phone")


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
    table = members(ws, tgt, as_of)
    wanted = ["customer_id", *[f for f in dict.fromkeys(fields) if f != "customer_id"]]
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
    page: int = 1,
    page_size: int = 50,
) -> MemberPage:
    """One page of members, sorted by a chosen field (then by id) and filtered by a search on
    the customer id (case-insensitive substring). A page past the last raises NotFoundError."""
    if page < 1 or page_size < 1:
        raise ConfigError(f"page and page_size start at 1; got page={page}, page_size={page_size}")
    table = member_fields(ws, tgt, as_of, [*fields, sort])
    if search:
        needle = check_text(search.strip().lower(), "a search")
        table = table.filter(table.customer_id.lower().contains(needle))
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
    "category": ("order_items", "category", "category", "카테고리"),
    "event": ("events", "event", "event", "이벤트"),
    "region": ("customers", "region", "region", "지역"),
    "city": ("customers", "city", "city", "도시"),
}
#: (MATCHES function or '', argument or field) → what its values name
_NAMES_OF = {
    ("products_purchased", "id"): "product",
    ("products_purchased", "category"): "category",
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
        t = ws.ibis.table(table)
        present = {
            str(v).lower()
            for v in t.select(v=t[column]).distinct().to_pyarrow()["v"].to_pylist()
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
