"""Segment exports: a data file, or a list ready for an e-mail, text or ad platform.

=========  ===========================================================================
format     what is written
=========  ===========================================================================
csv        the chosen fields, UTF-8 with a BOM (Excel in Korea reads 한글 right)
parquet    the chosen fields
esp        e-mail import for an ESP: email, name, favourite_category, last_product,
           recommended_product (+ chosen fields); CSV with a BOM
sms        SMS / Kakao AlimTalk list: phone as ``010-1234-5678``, name (+ chosen fields);
           CSV with a BOM
ads        ad-platform customer list (Google Customer Match or Meta): SHA-256 of the
           normalised e-mail and phone, nothing in clear text; CSV without a BOM
=========  ===========================================================================

``csv`` and ``parquet`` are data files: every member is written. ``esp``, ``sms`` and ``ads``
are *marketing* lists: customers who have not opted in (``customers.marketing_opt_in``) are
left out unless ``include_opted_out``, and so are customers without a usable address for
the channel. Every export returns how many members were left out and why.

An export never replaces a file unless asked (``overwrite=True``, ``--overwrite``), never
writes onto a folder or a workspace's own files (its settings, store or saved segments), and
writes the text cells of its CSV files that start like a formula (``=``, ``+``, ``-``, ``@``,
tab, carriage return) with a leading ``'`` unless ``keep_formulas=True``
(:mod:`danggol.outputs.files`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from danggol.activation import contacts
from danggol.analytics.affinity import affinity
from danggol.choices import EXPORT_FORMATS
from danggol.errors import ConfigError
from danggol.outputs.files import check_destination, write_table
from danggol.profile import purchases
from danggol.segments import service
from danggol.segments.fields import FIELDS
from danggol.serial import ToDict
from danggol.store.workspace import Workspace

FORMATS = EXPORT_FORMATS
MARKETING = ("esp", "sms", "ads")
PLATFORMS = ("google", "meta")
#: contact columns of ``customers`` an export may name beside the profile fields
CONTACT_FIELDS = ("email", "phone", "name", "marketing_opt_in", "sms_opt_in")
DEFAULT_FIELDS = ("customer_id", "name", "email", "phone")
OPTED_OUT = "not opted in to marketing"
DUPLICATE = "same address as an earlier customer"


@dataclass
class ExportResult(ToDict):
    """What an export wrote and what it left out (reason → customers)."""

    segment: str | None
    query: str
    format: str
    out: str | None
    as_of: dt.date
    members: int
    written: int
    left_out: dict[str, int] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    campaign: str | None = None
    holdout_left_out: int = 0


def export_segment(
    ws: Workspace,
    target: str,
    fmt: str,
    out: str | os.PathLike[str] | None,
    *,
    as_of: dt.date,
    fields: list[str] | None = None,
    include_opted_out: bool = False,
    params: dict[str, Any] | None = None,
    platform: str = "google",
    overwrite: bool = False,
    keep_formulas: bool = False,
) -> ExportResult:
    """Export the members of a segment (a saved or built-in name, or a query) as ``fmt``."""
    _check(fmt, out, fields, platform, overwrite)
    tgt = service.target(ws, target, params)
    members = service.members(ws, tgt, as_of)
    result = ExportResult(tgt.name, tgt.query, fmt, None, as_of, 0, 0)
    return export_members(
        ws,
        members,
        fmt,
        out,
        result,
        fields=fields,
        include_opted_out=include_opted_out,
        platform=platform,
        overwrite=overwrite,
        keep_formulas=keep_formulas,
    )


def export_members(
    ws: Workspace,
    members: ir.Table,
    fmt: str,
    out: str | os.PathLike[str] | None,
    result: ExportResult,
    *,
    fields: list[str] | None = None,
    include_opted_out: bool = False,
    platform: str = "google",
    overwrite: bool = False,
    keep_formulas: bool = False,
) -> ExportResult:
    """Write ``members`` (profile rows) as ``fmt``; fill and return ``result``."""
    _check(fmt, out, fields, platform, overwrite)
    profile_cols = _profile_columns(members, fields)
    if fmt == "esp":
        profile_cols = list(dict.fromkeys([*profile_cols, "favourite_category"]))
    table = members.select("customer_id", *[c for c in profile_cols if c != "customer_id"])
    customers = ws.ibis.table("customers")
    # a source that predates a contact column (a Postgres or Spark table without sms_opt_in)
    # has it empty
    customers = customers.select(
        "customer_id",
        *(
            customers[c]
            if c in customers.columns
            else ibis.null("boolean" if c.endswith("_opt_in") else "string").name(c)
            for c in CONTACT_FIELDS
        ),
    )
    table = table.left_join(customers, "customer_id").drop("customer_id_right")
    if fmt == "esp":
        table = _with_products(ws, table, result.as_of)
    fetched = table.order_by("customer_id").to_pyarrow()
    result.members = fetched.num_rows
    if fmt in MARKETING:
        builder = {"esp": _esp, "sms": _sms, "ads": _ads}[fmt]
        kept, left_out = builder(fetched.to_pylist(), _chosen(fields), include_opted_out, platform)
        columns = list(kept[0]) if kept else _columns_of(fmt, fields, platform)
        arrow = pa.Table.from_pylist(kept) if kept else _empty(columns)
    else:  # a data file: every member, the columns with their types (tags stay lists)
        columns = _chosen(fields) or list(DEFAULT_FIELDS)
        arrow, left_out = fetched.select(columns), Counter()
    file_fmt = "parquet" if fmt == "parquet" else "csv"
    result.written = write_table(
        arrow,
        file_fmt,
        out,
        excel=fmt not in ("ads", "parquet"),
        overwrite=overwrite,
        keep_formulas=keep_formulas,
    )
    result.out = None if out is None else str(out)
    result.left_out = dict(sorted(left_out.items()))
    result.columns = columns
    return result


def _check(
    fmt: str,
    out: str | os.PathLike[str] | None,
    fields: list[str] | None,
    platform: str,
    overwrite: bool,
) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if platform not in PLATFORMS:
        raise ConfigError(f"unknown ad platform {platform!r}; choose one of {', '.join(PLATFORMS)}")
    if fmt == "ads" and fields:
        raise ConfigError(
            "an ads list holds hashed e-mails and phones only, nothing in clear text: "
            "leave out --fields (or export csv for the other fields)"
        )
    if fmt == "parquet" and out is None:
        raise ConfigError("parquet is a binary format: give a file with --out FILE.parquet")
    if out is not None:
        check_destination(out, overwrite=overwrite)  # before the members are computed


def _chosen(fields: list[str] | None) -> list[str]:
    return [FIELDS[f].column if f in FIELDS else f for f in fields or []]


def _profile_columns(members: ir.Table, fields: list[str] | None) -> list[str]:
    chosen = _chosen(fields) or list(DEFAULT_FIELDS)
    unknown = [f for f in chosen if f not in members.columns and f not in CONTACT_FIELDS]
    if unknown:
        raise ConfigError(
            f"unknown field(s) {unknown}: a field is a profile field "
            f"({', '.join(members.columns)}) or a contact field ({', '.join(CONTACT_FIELDS)})"
        )
    return [f for f in chosen if f not in CONTACT_FIELDS]


def _with_products(ws: Workspace, table: ir.Table, as_of: dt.date) -> ir.Table:
    """Add ``last_product`` (the name, else the id, of the latest purchased line) and
    ``recommended_product``: of the products bought together with it (best lift first, then
    most orders, then id), the first this customer has not bought yet."""
    con = ws.ibis
    p = purchases(con, as_of).select("order_id", "customer_id", "ordered_at")
    items = con.table("order_items")
    lines = items.join(p, "order_id")
    ranked = lines.mutate(
        _r=ibis.row_number().over(
            group_by=lines.customer_id,
            order_by=[lines.ordered_at.desc(), lines.order_id.desc(), lines.line_no.desc()],
        )
    )
    last = ranked.filter(ranked._r == 0).select(
        "customer_id",
        _last_id=ranked.product_id,
        last_product=ranked.product_name.fill_null(ranked.product_id),
    )
    rules = affinity(con, as_of, min_support=0.0, top=None).pairs
    if rules:
        names = items.group_by("product_id").aggregate(_name=items.product_name.max())
        rule_t = ibis.memtable(
            pa.table(
                {
                    "_a": [r.antecedent for r in rules],
                    "_b": [r.consequent for r in rules],
                    "_rank": list(range(len(rules))),  # already best lift, count, ids first
                }
            )
        )
        bought = lines.select(_c=lines.customer_id, _p=lines.product_id).distinct()
        cand = last.join(rule_t, last._last_id == rule_t._a)
        cand = cand.anti_join(bought, [cand.customer_id == bought._c, cand._b == bought._p])
        cand = cand.mutate(
            _k=ibis.row_number().over(group_by=cand.customer_id, order_by=cand._rank)
        ).filter(lambda t: t._k == 0)
        cand = cand.join(names, cand._b == names.product_id)
        best = cand.select(_rc="customer_id", recommended_product=cand._name.fill_null(cand._b))
        last = last.left_join(best, last.customer_id == best._rc).drop("_rc")
    else:
        last = last.mutate(recommended_product=ibis.null("string"))
    last = last.drop("_last_id").rename(_lc="customer_id")
    joined = table.left_join(last, table.customer_id == last._lc).drop("_lc")
    return joined


def _opted_in(row: dict[str, Any]) -> bool:
    return bool(row.get("marketing_opt_in"))


def _sms_opted_in(row: dict[str, Any]) -> bool:
    """Consent to advertising text messages: the customer's own SMS consent when the shop's
    file gave one (an e-mail consent is not one for SMS), else the general marketing consent."""
    sms = row.get("sms_opt_in")
    return bool(sms) if sms is not None else _opted_in(row)


def _pick(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {f: _cell(row[f]) for f in fields}


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def _reachable(
    rows: list[dict[str, Any]],
    include: bool,
    column: str,
    normalise: Callable[[Any], str],
    left: Counter[str],
    consent: Callable[[dict[str, Any]], bool] = _opted_in,
) -> Iterator[tuple[dict[str, Any], str]]:
    """The rows a message can reach through ``column`` (normalised), each address once; the
    others are counted in ``left`` by reason (not opted in, the contact error, a duplicate)."""
    seen: set[str] = set()
    for row in rows:
        if not include and not consent(row):
            left[OPTED_OUT] += 1
            continue
        try:
            address = normalise(row[column])
        except contacts.ContactError as exc:
            left[str(exc)] += 1
            continue
        if address in seen:
            left[DUPLICATE] += 1
            continue
        seen.add(address)
        yield row, address


def _esp(
    rows: list[dict[str, Any]], fields: list[str], include: bool, _platform: str
) -> tuple[list[dict[str, Any]], Counter[str]]:
    kept: list[dict[str, Any]] = []
    left: Counter[str] = Counter()
    for row, email in _reachable(rows, include, "email", contacts.email_address, left):
        base = {
            "email": email,
            "name": row["name"],
            "favourite_category": row["favourite_category"],
            "last_product": row["last_product"],
            "recommended_product": row["recommended_product"],
        }
        extra = {f: _cell(row[f]) for f in fields if f not in base}
        kept.append({"customer_id": row["customer_id"], **base, **extra})
    return kept, left


def _sms(
    rows: list[dict[str, Any]], fields: list[str], include: bool, _platform: str
) -> tuple[list[dict[str, Any]], Counter[str]]:
    kept: list[dict[str, Any]] = []
    left: Counter[str] = Counter()
    for row, phone in _reachable(rows, include, "phone", contacts.mobile, left, _sms_opted_in):
        base = {"customer_id": row["customer_id"], "phone": phone, "name": row["name"]}
        base.update({f: _cell(row[f]) for f in fields if f not in base})
        kept.append(base)
    return kept, left


#: the header and phone form each ad platform expects (both hash the normalised text)
AD_COLUMNS = {"google": ("Email", "Phone"), "meta": ("email", "phone")}


def ad_phone(raw: str | None, platform: str) -> str:
    """Google Customer Match hashes E.164 (``+821012345678``); Meta the digits with the
    country code and no ``+`` (``821012345678``)."""
    number = contacts.e164(raw)
    return number if platform == "google" else number.removeprefix("+")


def _ads(
    rows: list[dict[str, Any]], _fields: list[str], include: bool, platform: str
) -> tuple[list[dict[str, Any]], Counter[str]]:
    email_col, phone_col = AD_COLUMNS[platform]
    kept: list[dict[str, Any]] = []
    left: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if not include and not _opted_in(row):
            left[OPTED_OUT] += 1
            continue
        email = phone = ""
        reasons = []
        try:
            email = contacts.sha256(contacts.email_address(row["email"]))
        except contacts.ContactError as exc:
            reasons.append(str(exc))
        try:
            phone = contacts.sha256(ad_phone(row["phone"], platform))
        except contacts.ContactError as exc:
            reasons.append(str(exc))
        if not email and not phone:
            left[" and ".join(reasons)] += 1
            continue
        if (email, phone) in seen:
            left[DUPLICATE] += 1
            continue
        seen.add((email, phone))
        kept.append({email_col: email, phone_col: phone})
    return kept, left


def _columns_of(fmt: str, fields: list[str] | None, platform: str) -> list[str]:
    chosen = _chosen(fields)
    if fmt == "ads":
        return list(AD_COLUMNS[platform])
    if fmt == "esp":
        base = ["customer_id", "email", "name", "favourite_category", "last_product"]
        return list(dict.fromkeys([*base, "recommended_product", *chosen]))
    return list(dict.fromkeys(["customer_id", "phone", "name", *chosen]))


def _empty(columns: list[str]) -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in columns})
