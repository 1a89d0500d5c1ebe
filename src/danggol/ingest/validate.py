"""Typing and validation of one mapped input, as one DuckDB query.

``typed_query`` turns a relation of mapped input columns (text, or already typed when the
input was Parquet or Arrow) into the canonical typed columns plus ``_line`` and ``_reason``:
NULL for a good row, else every problem of the row in words. Only identifiers from
``schema.py`` and fixed formats are written into the SQL; values never are, and the
workspace time zone is a query parameter (``$tz``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from danggol.schema import STORE_TYPE, Column, Table

#: date(-time) formats tried after ISO 8601 (strptime syntax). Day-first and month-first
#: forms (06/07/2025) are not among them: which is meant must be declared (``date_formats``).
DATE_FORMATS = ("%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y. %m. %d", "%Y. %m. %d.")
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
    "%Y. %m. %d",
    "%Y. %m. %d.",
    # Korean Excel's re-saved date-times: 오전/오후 become AM/PM before these are tried
    "%Y-%m-%d %p %I:%M:%S",
    "%Y-%m-%d %p %I:%M",
    "%Y.%m.%d %p %I:%M:%S",
    "%Y.%m.%d %p %I:%M",
    "%Y/%m/%d %p %I:%M:%S",
    "%Y/%m/%d %p %I:%M",
    "%Y. %m. %d. %p %I:%M:%S",
    "%Y. %m. %d. %p %I:%M",
)
#: what an unreadable date-time is told it may look like
ACCEPTED_TIMES = (
    "2025-06-30 14:05[:09] (ISO 8601, optionally with Z, +09:00 or UTC), 2025-06-30 오후 2:05, "
    "2025.06.30[ 14:05], 2025/06/30[ 14:05], 20250630, an Excel serial such as 45838.5; "
    "declare other forms with date_formats in a --mapping file"
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
    "date": "a date (accepted: 2025-06-30, 2025.06.30, 2025/06/30, 20250630, Excel serial)",
    "timestamp": f"a date-time (accepted: {ACCEPTED_TIMES})",
    "json": "a JSON object",
}


def q(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _text(ref: str) -> str:
    return f"NULLIF(TRIM(CAST({ref} AS VARCHAR)), '')"


#: a text amount with thousands separators "," (15,000 · 1,234,567.50)
_THOUSANDS = r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?"
#: a plain number (12 · 12.50 · .5 · 1e3)
_PLAIN = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
#: a dot that may be a thousands separator (1.000 · 12.500): neither reading is taken
_DOT_GROUP = r"[+-]?[1-9][0-9]{0,2}(\.[0-9]{3})+"
#: decimal-comma forms, read only when the mapping declares ``decimal: ","``
_EU_GROUPED = r"[+-]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?"
_EU_PLAIN = r"[+-]?[0-9]+(,[0-9]+)?"
_NON_FINITE = ("nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")
#: an Excel date serial (days since 1899-12-30), as Excel writes a date cell as a number
_SERIAL = r"[0-9]{5}(\.[0-9]+)?"
#: an ISO 8601 date or date-time without an offset (2025-06-01 14:15[:09[.5]])
_ISO_LOCAL = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?"
#: a value that is a JSON list or object, where one id was expected
_NOT_SCALAR = r"\s*(\[.*\]|\{.*\})\s*"


@dataclass(frozen=True)
class Rules:
    """How one input is read: its mapping's options and the workspace's settings."""

    #: extra strptime formats (a mapping's ``date_formats``)
    formats: tuple[str, ...] = ()
    #: the file writes amounts with a decimal comma (1.234,50)
    decimal_comma: bool = False
    #: rows sharing the key are one record (order columns repeated on every item row)
    group: bool = False
    #: each row is an order line with its own amount and status (implies ``group``)
    lines: bool = False
    #: 'load' or 'quarantine' orders with no member id, e-mail or phone
    guests: str = "load"
    #: the input spans several files: locations name the file too
    multi_file: bool = False
    #: the relation has ``_hash`` (the whole source row's hash), so exact repeats are found
    hashed: bool = False
    #: a preset's companion table (the customers of an order file): rows naming no
    #: customer at all (an order's further item rows) carry none, and are left out
    companion: bool = False
    #: a table of the ``_hash`` values that occur more than once in the whole staged load
    #: (found once for all its tables); else they are found in the relation itself
    repeats: str | None = None


def _money_text(t: str, decimal_comma: bool) -> str:
    c = f"regexp_replace({t}, '[\\s₩￦$€£¥]|원$|KRW|USD', '', 'g')"
    # the common case first: whole units in digits alone (39000), read without the
    # clean-up and the separator forms below (one pattern instead of up to five)
    plain = f"WHEN regexp_full_match({t}, '[0-9]{{1,15}}') THEN CAST({t} AS DOUBLE) "
    if decimal_comma:
        return (
            f"CASE {plain}WHEN regexp_full_match({c}, '{_EU_GROUPED}') "
            f"THEN TRY_CAST(replace(replace({c}, '.', ''), ',', '.') AS DOUBLE) "
            f"WHEN regexp_full_match({c}, '{_EU_PLAIN}') "
            f"THEN TRY_CAST(replace({c}, ',', '.') AS DOUBLE) "
            f"WHEN {_one_of(f'lower({c})', _NON_FINITE)} THEN TRY_CAST({c} AS DOUBLE) END"
        )
    return (
        f"CASE {plain}WHEN regexp_full_match({c}, '{_THOUSANDS}') "
        f"THEN TRY_CAST(replace({c}, ',', '') AS DOUBLE) "
        f"WHEN regexp_full_match({c}, '{_DOT_GROUP}') THEN NULL "
        f"WHEN regexp_full_match({c}, '{_PLAIN}') THEN TRY_CAST({c} AS DOUBLE) "
        f"WHEN {_one_of(f'lower({c})', _NON_FINITE)} THEN TRY_CAST({c} AS DOUBLE) END"
    )


def _ambiguous(t: str) -> str:
    """True for a text amount whose separators could be read two ways."""
    c = f"regexp_replace({t}, '[\\s₩￦$€£¥]|원$|KRW|USD', '', 'g')"
    return (
        f"(regexp_full_match({c}, '{_DOT_GROUP}') OR regexp_full_match({c}, '{_EU_GROUPED}') "
        f"OR regexp_full_match({c}, '[+-]?[0-9]+,[0-9]+'))"
    )


def _time_text(t: str) -> str:
    """Text date-times normalised: 'UTC'/'GMT' → +00:00, an offset's seconds dropped,
    오전/오후 → AM/PM."""
    n = f"regexp_replace({t}, '\\s*(UTC|GMT)$', '+00:00')"
    n = f"regexp_replace({n}, '([+-][0-9][0-9]:[0-9][0-9]):00$', '\\1')"
    return f"replace(replace({n}, '오전', 'AM'), '오후', 'PM')"


def _serial(t: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({t}, '{_SERIAL}') THEN TIMESTAMP '1899-12-30' + "
        f"to_microseconds(CAST(round(TRY_CAST({t} AS DOUBLE) * 86400000000) AS BIGINT)) END"
    )


def parse_expr(col: Column, ref: str, source_type: str, rules: Rules = Rules()) -> str:
    """SQL that reads ``ref`` (of DuckDB type ``source_type``) as ``col``'s kind; NULL if it can't."""
    t = _text(ref)
    stype = source_type.upper()
    formats = rules.formats
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
        return _money_text(t, rules.decimal_comma)
    if col.kind == "boolean":
        if stype == "BOOLEAN":
            return ref
        low = f"lower({t})"
        return (
            f"CASE WHEN {_one_of(low, TRUE_WORDS)} THEN TRUE "
            f"WHEN {_one_of(low, FALSE_WORDS)} THEN FALSE END"
        )
    if col.kind == "date":
        if stype == "DATE":
            return ref
        if stype.startswith("TIMESTAMP"):
            return f"CAST({ref} AS DATE)"
        fmts = _sql_list([*formats, *DATE_FORMATS])
        return (
            f"COALESCE(TRY_CAST({t} AS DATE), CAST(TRY_CAST({t} AS TIMESTAMP) AS DATE), "
            f"CAST(try_strptime({t}, {fmts}) AS DATE), CAST({_serial(t)} AS DATE))"
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


def _one_of(expr: str, values: tuple[str, ...]) -> str:
    """``expr`` is one of ``values``: ``list_contains``, not ``IN``, which DuckDB turns into a
    join of every row's ``expr`` (evaluated for all rows, even inside a CASE branch few reach:
    0.17 s per amount column at 1M lines)."""
    return (
        "list_contains(["
        + ", ".join("'" + v.replace("'", "''") + "'" for v in values)
        + f"], {expr})"
    )


def _utc(instant: str) -> str:
    """The UTC wall time of a TIMESTAMPTZ: its microseconds since the epoch as a TIMESTAMP
    (what ``timezone('UTC', x)`` gives, at a third of the cost); ``timezone`` still reads
    the values that have no epoch (±infinity)."""
    return f"COALESCE(make_timestamp(epoch_us({instant})), timezone('UTC', {instant}))"


def _as_utc(utc: str) -> str:
    """A UTC TIMESTAMP as the instant it names (a TIMESTAMPTZ): ``timezone('UTC', x)``,
    built from its microseconds."""
    return f"COALESCE(make_timestamptz(epoch_us({utc})), timezone('UTC', {utc}))"


def _timestamp_utc(ref: str, t: str, stype: str, formats: tuple[str, ...]) -> str:
    """A UTC TIMESTAMP. Text with an offset (or 'UTC') is that instant; text without one,
    and a date alone (its midnight), is local time in the workspace zone ``$tz``."""
    if stype == "TIMESTAMP WITH TIME ZONE":
        return _utc(ref)
    if stype.startswith("TIMESTAMP") or stype == "DATE":
        return _utc(f"timezone($tz, CAST({ref} AS TIMESTAMP))")
    fmts = _sql_list([*formats, *TIMESTAMP_FORMATS])
    n = _time_text(t)
    with_offset = f"regexp_replace({n}, '\\s+([+-][0-9][0-9]:?[0-9][0-9])$', '\\1')"
    local = f"COALESCE(try_strptime({n}, {_sql_list(list(formats))}), " if formats else "COALESCE("
    # a declared format wins over the built-in reading (a day-first file, say)
    local += f"TRY_CAST({n} AS TIMESTAMP), try_strptime({n}, {fmts}), {_serial(t)})"
    # the common case first: an ISO date-time without offset, local time (no declared format
    # to prefer), read without the normalisation below
    iso = ""
    if not formats:
        iso = (
            f"WHEN regexp_full_match({t}, '{_ISO_LOCAL}') AND TRY_CAST({t} AS TIMESTAMP) "
            f"IS NOT NULL THEN {_utc(f'timezone($tz, TRY_CAST({t} AS TIMESTAMP))')} "
        )
    return (
        f"CASE {iso}WHEN regexp_matches({n}, '{OFFSET_RE}') "
        f"THEN {_utc(f'TRY_CAST({with_offset} AS TIMESTAMPTZ)')} "
        f"ELSE {_utc(f'timezone($tz, {local})')} END"
    )


def local_date_expr(utc_ref: str) -> str:
    """The local date (workspace zone) of a UTC TIMESTAMP."""
    return f"CAST(timezone($tz, {_as_utc(utc_ref)}) AS DATE)"


def _shown(raw: str) -> str:
    return f"'''' || left(CAST({raw} AS VARCHAR), 60) || ''''"


def _value_checks(table: Table, col: Column, rules: Rules) -> list[str]:
    """SQL expressions, each a message or NULL, over one row's typed ``c`` and raw ``_raw_c``:
    what is wrong with a value that is there (a missing one is judged after grouping)."""
    c, raw = q(col.name), q("_raw_" + col.name)
    shown = _shown(raw)
    out: list[str] = []
    if col.kind in KIND_WORDS:
        cannot = f"'cannot read {col.name} ' || {shown} || ' as {KIND_WORDS[col.kind]}'"
        if col.kind in ("money", "number") and not rules.decimal_comma:
            cannot = (
                f"CASE WHEN {_ambiguous('CAST(' + raw + ' AS VARCHAR)')} "
                f"THEN 'ambiguous {col.name} ' || {shown} || ': the separators could mean "
                "thousands or decimals; write 1500 or 1.5 (15,000 with groups of three digits is "
                'read as thousands), or declare decimal: "," in a --mapping file\' '
                f"ELSE {cannot} END"
            )
        out.append(f"CASE WHEN {raw} IS NOT NULL AND {c} IS NULL THEN {cannot} END")
    if col.kind in ("money", "number"):
        out.append(
            f"CASE WHEN NOT isfinite({c}) THEN '{col.name} ' || {shown} || "
            "' is not a finite number' END"
        )
    if col.kind == "money":
        out.append(
            f"CASE WHEN {c} < 0 THEN 'negative {col.name} (' || CAST({raw} AS VARCHAR) || ')' END"
        )
    if col.kind == "timestamp":
        out.append(
            f"CASE WHEN CAST({c} AS DATE) NOT BETWEEN $dmin AND $dmax THEN '{col.name} ' || "
            f"{shown} || ' is outside the plausible dates ' || CAST($dmin AS VARCHAR) || ' to ' "
            "|| CAST($dmax AS VARCHAR) || ' (earliest_date / latest_date in danggol.toml)' END"
        )
    if col.kind == "date":
        out.append(
            f"CASE WHEN {c} NOT BETWEEN DATE '1900-01-01' AND $dmax THEN '{col.name} ' || "
            f"{shown} || ' is outside the plausible dates 1900-01-01 to ' || "
            "CAST($dmax AS VARCHAR) END"
        )
    if col.name in (*table.key, "customer_id") and col.kind == "text":
        out.append(
            f"CASE WHEN (contains(CAST({raw} AS VARCHAR), '[') OR "
            f"contains(CAST({raw} AS VARCHAR), '{{')) AND "
            f"regexp_full_match(CAST({raw} AS VARCHAR), '{_NOT_SCALAR}', 's') "
            f"THEN '{col.name} ' || {shown} || ' is a list or an object; an id is one value' END"
        )
    if col.choices:
        allowed = ", ".join(col.choices)
        out.append(
            f"CASE WHEN {c} IS NOT NULL AND NOT {_one_of(c, col.choices)} "
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
    if rules.lines and col.name == "total":
        out.append(f"CASE WHEN {raw} IS NULL THEN 'missing total (this line''s amount)' END")
    return out


def _required_checks(table: Table, rules: Rules) -> list[str]:
    out = []
    for col in table.columns:
        if not col.required:
            continue
        message = f"'missing required field {col.name}'"
        if col.name == "customer_id" and table.name == "orders":
            message = "'no customer: the member id, e-mail and phone are all empty" + (
                ' (guests = "quarantine" in danggol.toml)\''
                if rules.guests == "quarantine"
                else "'"
            )
        out.append(f"CASE WHEN {q(col.name)} IS NULL THEN {message} END")
    if table.name == "orders":
        out.append(
            "CASE WHEN refunded_amount > total THEN 'refunded_amount ' || "
            "CAST(_raw_refunded_amount AS VARCHAR) || ' is larger than total ' || "
            "CAST(_raw_total AS VARCHAR) END"
        )
    return out


def _location(rules: Rules) -> str:
    if rules.multi_file:
        return "'line ' || _line || ' of ' || regexp_extract(_file, '[^/]+$')"
    return "'line ' || _line"


def _reasons(parts: list[str]) -> str:
    return f"NULLIF(concat_ws('; ', {', '.join(parts)}), '')" if parts else "NULL"


def typed_query(
    table: Table, relation: str, source_types: Mapping[str, str], rules: Rules = Rules()
) -> str:
    """The query that types and checks ``relation`` (columns named as in ``table`` plus
    ``_fileno``, ``_file``, ``_line`` and, when ``rules.hashed``, ``_hash``). Columns the
    input lacks are NULL (or their default).

    Its rows: ``_fileno``, ``_line``, the stored columns, ``_reason`` (NULL for a good row,
    else every problem in words) and ``_dup_of`` (the location of the row this one repeats
    exactly: counted once, not loaded again). In ``group`` mode one row per key.
    """
    group = rules.group or rules.lines
    raw_cols, typed_cols, value_checks = [], [], []
    for col in table.columns:
        if col.name in source_types:
            ref = q(col.name)
            # typed input (Parquet, Arrow) is missing only when NULL; text also when blank.
            # Casting typed values to text for every row would cost more than the load itself.
            raw = _text(ref) if _is_text(source_types[col.name]) else ref
            parsed = parse_expr(col, ref, source_types[col.name], rules)
            if col.kind == "text" and col.choices:
                parsed = f"lower({parsed})"
            if col.name == "email":
                parsed = f"lower({parsed})"
            if col.name == "event":  # 'Cart Add', 'cart-add' and 'cart_add' are one event name
                parsed = f"regexp_replace(lower({parsed}), '[\\s-]+', '_', 'g')"
            if col.name == "country":
                parsed = f"upper({parsed})"
            value_checks += _value_checks(table, col, rules)
        else:
            raw, parsed = "CAST(NULL AS VARCHAR)", f"CAST(NULL AS {STORE_TYPE[col.kind]})"
        raw_cols.append(f"{raw} AS {q('_raw_' + col.name)}")
        typed_cols.append(f"{parsed} AS {q(col.name)}")

    pos = "(CAST(_fileno AS BIGINT) << 40) + _line"
    ctes = [
        f"typed AS (SELECT _fileno, _line, {pos} AS _pos, "
        f"{_location(rules)} AS _loc, {', '.join(raw_cols)}, {', '.join(typed_cols)} "
        f"FROM {relation})",
        f"valued AS (SELECT *, {_reasons(value_checks)} AS _value_reason FROM typed)",
    ]
    if rules.hashed:  # exact repeats of a whole source row: the first one counts
        # found from the input's own columns, so that the typed rows are read once (not
        # materialised for three readers)
        ctes += [
            f"hd AS (SELECT _hash FROM {rules.repeats})"
            if rules.repeats  # a superset for a view of some files: the window below decides
            else f"hd AS (SELECT _hash FROM {relation} GROUP BY _hash HAVING count(*) > 1)",
            f"dupmark AS (SELECT {pos} AS _pos, first_value({_location(rules)}) OVER w "
            f"AS _dup_of, row_number() OVER w AS _rn FROM {relation} SEMI JOIN hd USING (_hash) "
            f"WINDOW w AS (PARTITION BY _hash ORDER BY {pos}))",
            "marked AS (SELECT v.*, d._dup_of FROM valued v LEFT JOIN "
            "(SELECT _pos, _dup_of FROM dupmark WHERE _rn > 1) d USING (_pos))",
        ]
    else:
        ctes.append("marked AS (SELECT *, CAST(NULL AS VARCHAR) AS _dup_of FROM valued)")
    if group:
        live = "SELECT * FROM marked WHERE _dup_of IS NULL"
        if table.name == "customers":  # the key of a guest's rows is their guest id
            live = f"SELECT * REPLACE ({_guest_id(table, rules)}) FROM marked WHERE _dup_of IS NULL"
            if rules.companion:  # an order file's item rows that name no customer at all
                live = f"SELECT * FROM ({live}) WHERE customer_id IS NOT NULL"
        ctes.append(f"live AS ({live})")
        ctes += _grouped_ctes(table, rules, set(source_types))
        source = "grouped"
    else:
        source = "marked"
    ctes.append(f"derived AS (SELECT * {_derived_sql(table, rules)} FROM {source})")
    checks = ["_value_reason", *_required_checks(table, rules)]
    if group:
        checks += ["_group_reason"]
    ctes.append(f"checked AS (SELECT *, {_reasons(checks)} AS _row_reason FROM derived)")
    key_sql = ", ".join(q(k) for k in table.key)
    out_cols = [q(name) for name, _ in table.store_columns()]
    if group:  # one row per key already
        final = (
            f"SELECT _fileno, _line, {', '.join(out_cols)}, _row_reason AS _reason, "
            "CAST(NULL AS VARCHAR) AS _dup_of FROM checked"
        )
        return "WITH " + ",\n".join(ctes) + "\n" + final
    if _key_numbered(table, source_types):
        # the input has no line numbers: they are numbered above, one key per kept row, so
        # no key is given twice and the conflict search below would find nothing
        final = (
            f"SELECT _fileno, _line, {', '.join(out_cols)}, CASE WHEN _dup_of IS NULL "
            "THEN _row_reason END AS _reason, _dup_of FROM checked"
        )
        return "WITH " + ",\n".join(ctes) + "\n" + final
    # a key given twice: the same values → a duplicate counted once; different → all its
    # rows are quarantined, each naming the others
    compared = [c for c in out_cols if c.strip('"') not in table.key]
    differ = ", ".join(
        f"CASE WHEN count(DISTINCT COALESCE(CAST({c} AS VARCHAR), '(none)')) > 1 THEN '{c.strip(chr(34))}' END"
        for c in compared
    )
    key_words = " + ".join(table.key)
    key_shown = " || ' + ' || ".join(f"'''' || CAST({q(k)} AS VARCHAR) || ''''" for k in table.key)
    ctes += [
        "kept AS (SELECT * FROM checked WHERE _dup_of IS NULL)",
        f"dupkeys AS (SELECT {key_sql} FROM kept GROUP BY {key_sql} HAVING count(*) > 1)",
        f"conflicts AS (SELECT {key_sql}, min(_pos) AS _first_pos, arg_min(_loc, _pos) AS _first_loc, "
        f"array_to_string(list(_loc ORDER BY _pos)[1:6], ', ') AS _locs, "
        f"concat_ws(', ', {differ or 'NULL'}) AS _differ "
        f"FROM kept SEMI JOIN dupkeys USING ({key_sql}) GROUP BY {key_sql})",
    ]
    reason = (
        "concat_ws('; ', _row_reason, CASE WHEN x._differ <> '' THEN "
        f"'{key_words} ' || {key_shown} || ' appears at ' || x._locs || ' with different ' || "
        "x._differ END)"
    )
    final = (
        f"SELECT _fileno, _line, {', '.join('checked.' + c for c in out_cols)}, "
        "CASE WHEN checked._dup_of IS NOT NULL OR (x._differ = '' AND _pos > x._first_pos) "
        f"THEN NULL ELSE NULLIF({reason}, '') END AS _reason, "
        "CASE WHEN checked._dup_of IS NULL AND x._differ = '' AND _pos > x._first_pos "
        "THEN x._first_loc ELSE checked._dup_of END AS _dup_of "
        f"FROM checked LEFT JOIN conflicts x USING ({key_sql})"
    )
    return "WITH " + ",\n".join(ctes) + "\n" + final


def _key_numbered(table: Table, present: Mapping[str, str]) -> bool:
    """True when the key's last part is the line number that ``_derived_sql`` gives each
    row (order lines without a line number column)."""
    return table.name == "order_items" and table.key[-1] == "line_no" and "line_no" not in present


#: grouped columns whose value may come from other columns (a status's refunded amount)
_FROM_OTHERS = ("total", "ordered_at", "status", "refunded_amount")
#: the raw texts still read after grouping (the refunded amount's checks and default);
#: every value was checked row by row before, so no other raw text is carried
_GROUPED_RAW = ("total", "refunded_amount")
#: order columns on which the rows of one order must agree (else it is quarantined)
_ORDER_AGREE = ("customer_id", "ordered_at", "total")


def _several(ref: str) -> str:
    """True when ``ref`` takes more than one value (NULLs aside) in a group: what
    ``count(DISTINCT ref) > 1`` says, without a distinct set per group."""
    return f"COALESCE(min({ref}) <> max({ref}), false)"


def _grouped_ctes(table: Table, rules: Rules, present: set[str]) -> list[str]:
    """Rows sharing the key become one record. Each column takes its first non-empty value;
    the columns in ``_ORDER_AGREE`` must not disagree; in ``lines`` mode the total is the sum
    of the lines' amounts and the time the earliest; mixed line statuses make the order's.
    A column the input lacks (not in ``present``) is NULL in every row: it stays NULL,
    without an aggregate per record."""
    key = q(table.key[0])
    agree = [c for c in _ORDER_AGREE if table.name == "orders"]
    if rules.lines:
        agree = ["customer_id"]
    selects = [
        key,
        "min(_pos) AS _pos",
        "arg_min(_fileno, _pos) AS _fileno",
        "arg_min(_line, _pos) AS _line",
        "arg_min(_loc, _pos) AS _loc",
        "arg_min(_loc || ': ' || _value_reason, _pos) FILTER (WHERE _value_reason IS NOT NULL) "
        "AS _value_reason",
    ]
    status = q("status")
    mixed = _several(status)
    off = f"{status} IN ('cancelled', 'refunded', 'partially_refunded', 'failed')"
    amount = "total" if rules.lines else "line_amount"
    for col in table.columns:
        if col.name == table.key[0]:
            continue
        c, raw = q(col.name), q("_raw_" + col.name)
        keep_raw = col.name in _GROUPED_RAW
        if col.name not in present and col.name not in _FROM_OTHERS:
            selects.append(f"CAST(NULL AS {STORE_TYPE[col.kind]}) AS {c}")
            if keep_raw:
                selects.append(f"CAST(NULL AS VARCHAR) AS {raw}")
            continue
        first = f"arg_min({c}, _pos) FILTER (WHERE {c} IS NOT NULL)"
        first_raw = f"arg_min({raw}, _pos) FILTER (WHERE {raw} IS NOT NULL)"
        value = first
        if rules.lines and col.name == "total":
            value = f"sum({c})"
        elif rules.lines and col.name == "ordered_at":
            value = f"min({c})"
        elif table.name == "orders" and col.name == "status":
            n = f"count({status})"
            value = (
                f"CASE WHEN NOT {mixed} THEN {first} "
                f"WHEN count_if({off}) = {n} THEN CASE WHEN count_if({status} IN "
                f"('refunded', 'partially_refunded')) > 0 THEN 'refunded' "
                f"WHEN count_if({status} = 'cancelled') > 0 THEN 'cancelled' ELSE 'failed' END "
                "ELSE 'partially_refunded' END"
            )
        elif table.name == "orders" and col.name == "refunded_amount":
            # a partly returned order: the returned lines' amounts (the file's own figure wins)
            parts = f"sum({q(amount)}) FILTER (WHERE {off})"
            value = f"CASE WHEN {mixed} THEN COALESCE({first}, {parts}) ELSE {first} END"
            first_raw = (
                f"COALESCE({first_raw}, CASE WHEN {mixed} THEN CAST({parts} AS VARCHAR) END)"
            )
        selects.append(f"{value} AS {c}")
        if keep_raw:
            selects.append(f"{first_raw} AS {raw}")
    differ = ", ".join(f"CASE WHEN {_several(q(c))} THEN '{c}' END" for c in agree)
    selects.append(f"concat_ws(', ', {differ or 'NULL'}) AS _differ")
    key_words = table.key[0]
    return [
        f"grouped0 AS (SELECT {', '.join(selects)} FROM live GROUP BY {key})",
        # where the rows of a disagreeing record are: looked up for those records only
        f"spots AS (SELECT {key}, array_to_string(list(_loc ORDER BY _pos)[1:6], ', ') AS _locs "
        f"FROM live SEMI JOIN (SELECT {key} FROM grouped0 WHERE _differ <> '') USING ({key}) "
        f"GROUP BY {key})",
        "grouped AS (SELECT g.*, CASE WHEN _differ <> '' THEN "
        f"'{key_words} ' || '''' || g.{key} || '''' || ' appears at ' || s._locs || "
        "' with different ' || _differ END AS _group_reason "
        f"FROM grouped0 g LEFT JOIN spots s USING ({key}))",
    ]


def _default_sql(col: Column) -> str:
    if col.kind in ("money", "number"):
        return f"CAST({float(col.default or 0)!r} AS DOUBLE)"
    if col.kind == "integer":
        return str(int(col.default or 0))
    return "'" + (col.default or "").replace("'", "''") + "'"


def _guest_id(table: Table, rules: Rules) -> str:
    """The customer id of a row without one: 'guest:' + a hash of the normalised e-mail, else
    of the phone (digits, +82 → 0), else (orders, guests = 'load') of the order id."""
    phone = "regexp_replace(phone, '[^0-9]', '', 'g')"
    phone = f"CASE WHEN {phone} LIKE '82%' AND length({phone}) >= 11 THEN '0' || {phone}[3:] ELSE {phone} END"
    parts = [
        "customer_id",
        "'guest:' || left(sha256('email:' || lower(trim(email))), 16)",
        f"CASE WHEN length({phone}) >= 8 THEN 'guest:' || left(sha256('phone:' || {phone}), 16) END",
    ]
    if table.name == "orders" and rules.guests == "load":
        parts.append("'guest:' || left(sha256('order:' || order_id), 16)")
    return f"COALESCE({', '.join(parts)}) AS customer_id"


def _derived_sql(table: Table, rules: Rules) -> str:
    """Defaults; guest ids; local dates of timestamps; numbered order lines; content ids of
    events."""
    replace = []
    for col in table.columns:
        special = ("refunded_amount", "status") if table.name == "orders" else ()
        if col.default is not None and col.name not in special:
            replace.append(f"COALESCE({q(col.name)}, {_default_sql(col)}) AS {q(col.name)}")
    if table.name == "orders":  # a refund of unknown amount on a refunded order is all of it
        replace.append(
            "CASE WHEN _raw_refunded_amount IS NULL AND status = 'refunded' THEN total "
            "ELSE COALESCE(refunded_amount, 0.0) END AS refunded_amount"
        )
        # a paid order with a refund is partly refunded (WooCommerce keeps 'completed' or
        # 'processing' after a partial refund; only refunded_total says so)
        replace.append(
            "CASE WHEN COALESCE(status, 'paid') = 'paid' AND refunded_amount > 0 THEN "
            "CASE WHEN refunded_amount >= total THEN 'refunded' ELSE 'partially_refunded' END "
            "ELSE COALESCE(status, 'paid') END AS status"
        )
    if table.name in ("orders", "customers"):
        replace.append(_guest_id(table, rules))
    if table.name == "order_items":
        replace.append(
            "COALESCE(line_no, row_number() OVER (PARTITION BY order_id, _dup_of IS NULL "
            "ORDER BY _pos)) AS line_no"
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
