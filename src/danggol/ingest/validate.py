"""Typing and validation of one mapped input, as one DuckDB query.

``typed_query`` turns a relation of mapped input columns (text, or already typed when the
input was Parquet or Arrow) into the canonical typed columns plus ``_line`` and ``_reason``:
NULL for a good row, else every problem of the row in words. Only identifiers from
``schema.py`` and fixed formats are written into the SQL; values never are, and the
workspace time zone is a query parameter (``$tz``).
"""

from __future__ import annotations

from collections.abc import Mapping

from danggol.schema import STORE_TYPE, Column, Table

#: date(-time) formats tried after ISO 8601 (strptime syntax)
DATE_FORMATS = ("%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y. %m. %d")
TIMESTAMP_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y-%m-%d %H:%M",
    "%Y%m%d %H%M%S",
    "%Y%m%d",
    "%Y.%m.%d",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)
TRUE_WORDS = ("true", "t", "yes", "y", "1", "예", "네", "동의", "수신", "o", "on", "subscribed")
FALSE_WORDS = (
    "false",
    "f",
    "no",
    "n",
    "0",
    "아니오",
    "아니요",
    "거부",
    "미동의",
    "수신거부",
    "x",
    "off",
    "not_subscribed",
    "unsubscribed",
)
OFFSET_RE = r"\d\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|[+-]\d\d(:?\d\d)?)$"
KIND_WORDS = {
    "integer": "a whole number",
    "money": "an amount",
    "number": "a number",
    "boolean": "true/false",
    "date": "a date (YYYY-MM-DD)",
    "timestamp": "a date or date-time (ISO 8601)",
    "json": "a JSON object",
}


def q(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _text(ref: str) -> str:
    return f"NULLIF(TRIM(CAST({ref} AS VARCHAR)), '')"


def parse_expr(col: Column, ref: str, source_type: str, formats: tuple[str, ...]) -> str:
    """SQL that reads ``ref`` (of DuckDB type ``source_type``) as ``col``'s kind; NULL if it can't."""
    t = _text(ref)
    stype = source_type.upper()
    if col.kind == "text":
        return t
    if col.kind == "integer":
        if stype in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"):
            return f"CAST({ref} AS BIGINT)"
        digits = f"REPLACE({t}, ',', '')"
        return f"CASE WHEN regexp_full_match({digits}, '[+-]?[0-9]+') THEN TRY_CAST({digits} AS BIGINT) END"
    if col.kind in ("money", "number"):
        if stype in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER") or stype.startswith("DECIMAL"):
            return f"CAST({ref} AS DOUBLE)"
        cleaned = f"regexp_replace({t}, '[,\\s₩￦$€£¥]|원$|KRW|USD', '', 'g')"
        return f"TRY_CAST({cleaned} AS DOUBLE)"
    if col.kind == "boolean":
        if stype == "BOOLEAN":
            return ref
        low = f"lower({t})"
        return (
            f"CASE WHEN {low} IN {_in_list(TRUE_WORDS)} THEN TRUE "
            f"WHEN {low} IN {_in_list(FALSE_WORDS)} THEN FALSE END"
        )
    if col.kind == "date":
        if stype == "DATE":
            return ref
        if stype.startswith("TIMESTAMP"):
            return f"CAST({ref} AS DATE)"
        fmts = _sql_list([*formats, *DATE_FORMATS])
        return (
            f"COALESCE(TRY_CAST({t} AS DATE), CAST(TRY_CAST({t} AS TIMESTAMP) AS DATE), "
            f"CAST(try_strptime({t}, {fmts}) AS DATE))"
        )
    if col.kind == "timestamp":
        return _timestamp_utc(ref, t, stype, formats)
    if col.kind == "tags":
        if stype.endswith("[]"):
            return (
                f"list_filter(list_transform({ref}, lambda x: lower(trim(x))), lambda x: x <> '')"
            )
        return (
            f"list_filter(list_transform(string_split_regex(lower({t}), '[;,]'), lambda x: trim(x)), "
            "lambda x: x <> '')"
        )
    if col.kind == "json":
        return f"CASE WHEN json_valid({t}) AND starts_with({t}, '{{') THEN {t} END"
    raise ValueError(f"no parse rule for kind {col.kind!r}")


def _is_text(source_type: str) -> bool:
    return source_type.upper() in ("VARCHAR", "TEXT", "STRING", "JSON")


def _in_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _timestamp_utc(ref: str, t: str, stype: str, formats: tuple[str, ...]) -> str:
    """A UTC TIMESTAMP. Text with an offset is that instant; text without one, and a date
    alone (its midnight), is local time in the workspace zone ``$tz``."""
    if stype == "TIMESTAMP WITH TIME ZONE":
        return f"timezone('UTC', {ref})"
    if stype.startswith("TIMESTAMP") or stype == "DATE":
        return f"timezone('UTC', timezone($tz, CAST({ref} AS TIMESTAMP)))"
    fmts = _sql_list([*formats, *TIMESTAMP_FORMATS])
    with_offset = f"regexp_replace({t}, '\\s+([+-][0-9][0-9]:?[0-9][0-9])$', '\\1')"
    local = f"COALESCE(TRY_CAST({t} AS TIMESTAMP), try_strptime({t}, {fmts}))"
    return (
        f"CASE WHEN regexp_matches({t}, '{OFFSET_RE}') "
        f"THEN timezone('UTC', TRY_CAST({with_offset} AS TIMESTAMPTZ)) "
        f"ELSE timezone('UTC', timezone($tz, {local})) END"
    )


def local_date_expr(utc_ref: str) -> str:
    """The local date (workspace zone) of a UTC TIMESTAMP."""
    return f"CAST(timezone($tz, timezone('UTC', {utc_ref})) AS DATE)"


def _checks(table: Table, col: Column) -> list[str]:
    """SQL expressions, each a message or NULL, over typed ``c`` and raw ``_raw_c``."""
    c, raw = q(col.name), q("_raw_" + col.name)
    shown = f"'''' || left(CAST({raw} AS VARCHAR), 60) || ''''"
    out: list[str] = []
    if col.required:
        out.append(f"CASE WHEN {raw} IS NULL THEN 'missing required field {col.name}' END")
    if col.kind in KIND_WORDS:
        out.append(
            f"CASE WHEN {raw} IS NOT NULL AND {c} IS NULL "
            f"THEN 'cannot read {col.name} ' || {shown} || ' as {KIND_WORDS[col.kind]}' END"
        )
    if col.kind == "money":
        out.append(
            f"CASE WHEN {c} < 0 THEN 'negative {col.name} (' || CAST({raw} AS VARCHAR) || ')' END"
        )
    if col.choices:
        allowed = ", ".join(col.choices)
        out.append(
            f"CASE WHEN {c} IS NOT NULL AND {c} NOT IN {_in_list(col.choices)} "
            f"THEN 'unknown {col.name} ' || {shown} || ' (expected one of {allowed}; "
            "map other values with --mapping)' END"
        )
    if col.name == "country":
        out.append(
            f"CASE WHEN {c} IS NOT NULL AND NOT regexp_full_match({c}, '[A-Z]{{2}}') "
            f"THEN 'country ' || {shown} || ' is not an ISO 3166 alpha-2 code such as KR' END"
        )
    if col.name == "quantity":
        out.append(
            f"CASE WHEN {c} <= 0 THEN 'quantity must be at least 1, got ' || CAST({raw} AS VARCHAR) END"
        )
    return out


def _row_checks(table: Table) -> list[str]:
    if table.name == "orders":
        return [
            "CASE WHEN refunded_amount > total THEN 'refunded_amount ' || CAST(_raw_refunded_amount AS VARCHAR) || "
            "' is larger than total ' || CAST(_raw_total AS VARCHAR) END"
        ]
    return []


def typed_query(
    table: Table,
    relation: str,
    source_types: Mapping[str, str],
    *,
    group: bool = False,
    formats: tuple[str, ...] = (),
) -> str:
    """The query that types and checks ``relation`` (columns named as in ``table`` plus
    ``_line``). Columns the input lacks are NULL (or their default)."""
    present = [c for c in table.columns if c.name in source_types]
    source = relation
    if group:
        key = table.key[0]
        firsts = ", ".join(
            f"arg_min({q(c.name)}, _line) FILTER (WHERE {_text(q(c.name))} IS NOT NULL) AS {q(c.name)}"
            for c in present
            if c.name != key
        )
        source = (
            f"(SELECT {q(key)}, {firsts}{', ' if firsts else ''}min(_line) AS _line "
            f"FROM {relation} GROUP BY {q(key)})"
        )

    raw_cols, typed_cols, checks = [], [], []
    for col in table.columns:
        if col.name in source_types:
            ref = q(col.name)
            # typed input (Parquet, Arrow) is missing only when NULL; text also when blank.
            # Casting typed values to text for every row would cost more than the load itself.
            raw = _text(ref) if _is_text(source_types[col.name]) else ref
            parsed = parse_expr(col, ref, source_types[col.name], formats)
            if col.kind == "text" and col.choices:
                parsed = f"lower({parsed})"
            if col.name == "email":
                parsed = f"lower({parsed})"
            if col.name == "event":  # 'Cart Add', 'cart-add' and 'cart_add' are one event name
                parsed = f"regexp_replace(lower({parsed}), '[\\s-]+', '_', 'g')"
            if col.name == "country":
                parsed = f"upper({parsed})"
        else:
            raw, parsed = "CAST(NULL AS VARCHAR)", f"CAST(NULL AS {STORE_TYPE[col.kind]})"
        if col.default is not None:
            parsed = f"COALESCE({parsed}, {_default_sql(col)})"
        raw_cols.append(f"{raw} AS {q('_raw_' + col.name)}")
        typed_cols.append(f"{parsed} AS {q(col.name)}")
        checks += _checks(table, col)
    checks += _row_checks(table)

    out_cols = [q(name) for name, _ in table.store_columns()]
    key_sql = ", ".join(q(k) for k in table.key)
    key_words = " + ".join(table.key)
    reasons = f"NULLIF(concat_ws('; ', {', '.join(checks)}), '')"
    return f"""
WITH typed AS (
  SELECT _line, {", ".join(raw_cols)}, {", ".join(typed_cols)} FROM {source}
), derived AS (
  SELECT * {_derived_sql(table)} FROM typed
), checked AS (
  SELECT *, {reasons} AS _row_reason FROM derived
), dups AS (
  SELECT {key_sql}, min(_line) AS _first FROM checked WHERE _row_reason IS NULL
  GROUP BY {key_sql} HAVING count(*) > 1
)
SELECT _line, {", ".join("checked." + c for c in out_cols)},
       COALESCE(_row_reason, CASE WHEN _line > dups._first
         THEN 'duplicate {key_words} (first given at line ' || dups._first || ')' END) AS _reason
FROM checked LEFT JOIN dups USING ({key_sql})
"""


def _default_sql(col: Column) -> str:
    if col.kind in ("money", "number"):
        return f"CAST({float(col.default or 0)!r} AS DOUBLE)"
    if col.kind == "integer":
        return str(int(col.default or 0))
    return "'" + (col.default or "").replace("'", "''") + "'"


def _derived_sql(table: Table) -> str:
    """Local dates of timestamps; numbered order lines; content ids of events."""
    replace = []
    if table.name == "orders":  # a refund of unknown amount on a refunded order is all of it
        replace.append(
            "CASE WHEN _raw_refunded_amount IS NULL AND status = 'refunded' THEN total "
            "ELSE refunded_amount END AS refunded_amount"
        )
    if table.name == "order_items":
        replace.append(
            "COALESCE(line_no, row_number() OVER (PARTITION BY order_id ORDER BY _line)) AS line_no"
        )
    if table.name == "events":
        replace.append(
            "COALESCE(event_id, md5(concat_ws('|', customer_id, event, CAST(occurred_at AS VARCHAR), "
            "product_id, category, CAST(value AS VARCHAR), properties))) AS event_id"
        )
    sql = f" REPLACE ({', '.join(replace)})" if replace else ""
    for c in table.columns:
        if c.local_date:
            sql += f", {local_date_expr(q(c.name))} AS {q(c.local_date)}"
    return sql
