"""The dashboard's views of people: one customer as a marketer reads them, member lists with
words instead of codes, and the values a picker offers.

``customer_card`` is the customer page: contact (only when the caller may see personal data),
the profile with its scores, every segment — built-in and saved — the customer is in *now*
(computed, not read from the last refresh), predictions, and the timeline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from danggol.errors import ConfigError
from danggol.segments import service
from danggol.segments.compile import email_domain
from danggol.segments.fields import FIELDS
from danggol.segments.parse import check_text
from danggol.store.workspace import Workspace
from danggol.web import dashboard
from danggol.web.words import value_words

#: the columns a picker can list the shop's values of, by query field: (table, column)
PICKABLE = {
    "customer_regions": ("customers", "region"),
    "customer_cities": ("customers", "city"),
    "customer_countries": ("customers", "country"),
    "customer_tags": ("customers", "tags"),
    "signup_channel": ("customers", "signup_channel"),
    "favourite_category": ("order_items", "category"),
    "channel": ("orders", "channel"),
    "event": ("events", "event"),
    "coupon_code": ("orders", "coupon_code"),
    "customer_email_domain": ("customers", "email"),
    "customer_account_status": ("customers", "account_status"),
    "companies": ("customers", "company"),
    "product_tags": ("products", "tags"),  # the catalogue's tags, where a shop loads one
}
#: the profile's per-event counters (``events_cart_add`` …) are shown as one activity list
EVENT_PREFIX = "events_"


def live_segments(ws: Workspace, customer_id: str, as_of: dt.date) -> list[dict[str, Any]]:
    """Every segment, built-in and saved, that has the customer as a member on ``as_of``:
    name, titles, goal and whether it is built in. One query (a union of one membership test
    per segment); segments still waiting for parameters are skipped."""
    check_text(customer_id, "a customer id")
    segments = service.registry(ws).all()
    runnable = [s for s in segments.values() if not s.missing_params()]
    if not runnable:
        return []
    comp = service.compiler(ws, as_of)
    parts = []
    for seg in runnable:
        members = comp.members(seg.tree())
        hit = members.filter(members.customer_id == customer_id)
        parts.append(hit.select(segment=ibis.literal(seg.name)).limit(1))
    union = parts[0] if len(parts) == 1 else ibis.union(*parts)
    found = {r["segment"] for r in union.to_pyarrow().to_pylist()}
    return [
        {
            "name": s.name,
            "title": {"ko": s.label("ko"), "en": s.label("en")},
            "title_langs": sorted(s.title),
            "goal": s.goal,
            "builtin": s.builtin,
        }
        for s in sorted(runnable, key=lambda s: (not s.builtin, s.name))
        if s.name in found
    ]


def customer_card(
    ws: Workspace, customer_id: str, as_of: dt.date, *, personal: bool
) -> dict[str, Any]:
    """The customer page: :func:`dashboard.customer_detail` with the contact (name, e-mail,
    phone — ``None`` when ``personal`` is false, and ``contact_guarded`` says so), the event
    counters folded into ``activity`` ({event: count}, only those that happened) and the
    segments the customer is in now (:func:`live_segments`)."""
    detail = dashboard.customer_detail(ws, customer_id, as_of)
    profile = detail["profile"]
    activity = {
        k[len(EVENT_PREFIX) :]: v
        for k, v in profile.items()
        if k.startswith(EVENT_PREFIX) and k != "events_total" and v
    }
    detail["profile"] = {
        k: v for k, v in profile.items() if not (k.startswith(EVENT_PREFIX) and k != "events_total")
    }
    detail["activity"] = dict(sorted(activity.items(), key=lambda kv: -kv[1]))
    contact = None
    if personal:
        people = ws.ibis.table("customers")
        cols = [c for c in service.CONTACT_FIELDS if c in people.columns]
        rows = (
            people.filter(people.customer_id == customer_id).select(*cols).to_pyarrow().to_pylist()
        )
        contact = rows[0] if rows else dict.fromkeys(cols)
    detail["contact"] = contact
    detail["contact_guarded"] = not personal
    detail["segments"] = live_segments(ws, customer_id, as_of)
    return detail


def field_values(
    ws: Workspace, field: str, search: str = "", limit: int = 50
) -> list[dict[str, Any]]:
    """The values a picker offers for a query field (regions, cities, tags, channels …): each
    with how many customers (or rows, for order and event columns) carry it, most first."""
    if field not in PICKABLE:
        raise ConfigError(
            f"no value list for '{field}'; the pickers serve {', '.join(sorted(PICKABLE))}"
        )
    table_name, column = PICKABLE[field]
    if table_name not in ws.ibis.list_tables():
        return []
    table = ws.ibis.table(table_name)
    if column not in table.columns:
        return []
    value = table[column]
    if column == "tags":  # a list per row: customers' tags, products' tags
        value = value.unnest()
    if column == "email":  # the domain, as customer_email_domain compares it
        value = email_domain(value)
    t = table.select(value=value)
    t = t.filter(t.value.notnull() & (t.value.cast("string") != ""))
    needle = check_text(search.strip().lower(), "a search")
    if needle:
        t = t.filter(t.value.cast("string").lower().contains(needle))
    t = t.group_by("value").aggregate(count=t.count())
    rows = t.order_by([ibis.desc("count"), "value"]).limit(limit).to_pyarrow().to_pylist()
    return [{"value": r["value"], "count": r["count"]} for r in rows]


def field_label(name: str, lang: str) -> str:
    """A member-list column's heading: the query field's label, a contact field's, or the
    name as it is."""
    if name in FIELDS:
        spec = FIELDS[name]
        return spec.ko if lang == "ko" else spec.en
    contact = {
        "name": {"ko": "이름", "en": "Name"},
        "email": {"ko": "이메일", "en": "E-mail"},
        "phone": {"ko": "휴대전화", "en": "Phone"},
    }
    return contact.get(name, {}).get(lang, name)


def labelled(table: ir.Table | pa.Table, lang: str) -> pa.Table:
    """A member table for people: headings in ``lang`` and coded values (gender, stage, RFM
    group …) in words; dates and numbers stay as they are, so a spreadsheet can still sort."""
    if lang not in ("ko", "en"):
        raise ConfigError(f"the language of the headings is ko or en; got {lang!r}")
    data = table if isinstance(table, pa.Table) else table.to_pyarrow()
    names = value_words()
    columns = []
    for name in data.column_names:
        column = data.column(name)
        source = FIELDS[name].column if name in FIELDS else name
        words = names.get(name) or names.get(source)
        if words and pa.types.is_string(column.type):
            mapped = [
                None if v is None else words.get(v, {}).get(lang, v) for v in column.to_pylist()
            ]
            column = pa.chunked_array([pa.array(mapped, pa.string())])
        elif pa.types.is_boolean(column.type):
            yes, no = ("예", "아니오") if lang == "ko" else ("yes", "no")
            column = pa.chunked_array(
                [pa.array([None if v is None else yes if v else no for v in column.to_pylist()])]
            )
        columns.append(column)
    headings = [field_label(n, lang) for n in data.column_names]
    return pa.table(columns, names=headings)
