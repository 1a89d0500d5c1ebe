"""How an input file's headers and values map onto the canonical tables.

A mapping names, for each canonical column, the header (or the list of synonym headers,
first found wins) it comes from, and translates values such as order statuses. Headers
match ignoring case, spaces, ``_`` and ``-``. Built-in presets live in ``presets.py``; any
other export is mapped with a YAML file::

    # orders.yaml — danggol -w shop ingest orders export.csv --mapping orders.yaml
    columns:
      order_id: Order No
      customer_id: [Member ID, Buyer ID]
      ordered_at: Order Date
      total: Paid Amount
    values:
      status: {Shipped: paid, Returned: refunded}
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from danggol.errors import InputFileError, MappingError
from danggol.schema import TABLES, Table

_KOREAN_PAID = (
    "결제완료",
    "상품준비중",
    "배송준비중",
    "배송대기",
    "배송중",
    "배송완료",
    "구매확정",
    "교환",
    "교환완료",
    "발송완료",
)
#: Korean order-status labels of shop admin exports
KOREAN_STATUS = {
    **dict.fromkeys(_KOREAN_PAID, "paid"),
    **dict.fromkeys(("취소", "주문취소", "취소완료", "결제취소"), "cancelled"),
    **dict.fromkeys(("반품", "반품완료", "환불", "환불완료", "전체환불"), "refunded"),
    **dict.fromkeys(("부분환불", "부분취소", "부분반품"), "partially_refunded"),
    **dict.fromkeys(("입금전", "입금대기", "결제대기", "결제실패", "미입금"), "failed"),
}

#: value synonyms every ingest understands (lower-cased source value → canonical value)
DEFAULT_VALUES: dict[str, dict[str, str]] = {
    "status": {
        **KOREAN_STATUS,
        "paid": "paid",
        "complete": "paid",
        "completed": "paid",
        "fulfilled": "paid",
        "shipped": "paid",
        "delivered": "paid",
        "partially_refunded": "partially_refunded",
        "partially refunded": "partially_refunded",
        "refunded": "refunded",
        "returned": "refunded",
        "cancelled": "cancelled",
        "canceled": "cancelled",
        "voided": "cancelled",
        "failed": "failed",
    },
    "gender": {
        "f": "female",
        "female": "female",
        "woman": "female",
        "w": "female",
        "여": "female",
        "여자": "female",
        "여성": "female",
        "m": "male",
        "male": "male",
        "man": "male",
        "남": "male",
        "남자": "male",
        "남성": "male",
        "other": "other",
        "기타": "other",
    },
}


def header_key(name: str) -> str:
    """Headers match ignoring case, blanks, ``_`` and ``-``: 'Customer ID' ~ 'customer_id'."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


class TableMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, str | list[str]] = {}
    values: dict[str, dict[str, str]] = {}
    #: rows that share the table's key form one record (line-item exports carry the order
    #: on every line); each column takes the first non-empty value in file order, and rows
    #: of one order that disagree on its customer, time or total quarantine it
    group: bool = False
    #: (orders) each row is an order *line* with its own amount (mapped as ``total``) and
    #: status: the order's total is the sum, its time the earliest, its status from its lines
    lines: bool = False


class Mapping(BaseModel):
    """A mapping for one or more tables. ``tables`` maps table name → TableMapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    tables: dict[str, TableMapping]
    #: extra strptime formats tried for date and date-time columns (before the built-in ones)
    date_formats: list[str] = []
    #: the decimal separator of the file's amounts: "." (default) or "," (1.234,50)
    decimal: str = "."

    @field_validator("decimal")
    @classmethod
    def _separator(cls, value: str) -> str:
        if value not in (".", ","):
            raise ValueError(f"decimal is '.' or ','; got {value!r}")
        return value

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, value: dict[str, TableMapping]) -> dict[str, TableMapping]:
        for name, tm in value.items():
            if name not in TABLES:
                raise ValueError(f"unknown table {name!r}; expected one of {sorted(TABLES)}")
            unknown = sorted(set(tm.columns) - set(TABLES[name].input_names))
            if unknown:
                raise ValueError(
                    f"{name}: unknown column(s) {unknown}; "
                    f"the columns of {name} are {list(TABLES[name].input_names)}"
                )
        return value


def load_mapping(path: str | Path, table: str) -> Mapping:
    """Read a ``--mapping`` YAML file (flat form for ``table``, or with ``tables:``)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"cannot read the mapping file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise MappingError(
            f"{path} is not UTF-8 text (byte {exc.start} cannot be decoded): save it as UTF-8"
        ) from exc
    except yaml.YAMLError as exc:
        raise MappingError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise MappingError(
            f"{path}: a mapping file is a YAML object with 'columns' and/or 'values'; "
            f"got {type(data).__name__}"
        )
    if "tables" not in data:
        flat = {k: data.pop(k) for k in ("columns", "values", "group", "lines") if k in data}
        data["tables"] = {table: flat}
    data.setdefault("name", path.stem)
    try:
        return Mapping(**data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise MappingError(f"{path}: {problems}") from exc


def plain(table: str) -> Mapping:
    """The mapping used when none is given: headers named as the canonical columns."""
    return Mapping(name="plain", tables={table: TableMapping()})


def pick_headers(headers: list[str], table: Table, tm: TableMapping) -> dict[str, list[str]]:
    """For each canonical column, the file's headers it comes from, in order of preference."""
    by_key: dict[str, str] = {}
    clashes: dict[str, list[str]] = {}
    for h in headers:
        key = header_key(h)
        if key in by_key:
            clashes.setdefault(key, [by_key[key]]).append(h)
        by_key.setdefault(key, h)
    picked: dict[str, list[str]] = {}
    for col in table.columns:
        wanted = tm.columns.get(col.name, [])
        candidates = [wanted] if isinstance(wanted, str) else list(wanted)
        for h in [*candidates, col.name]:
            if header_key(h) in clashes:
                both = " and ".join(repr(c) for c in clashes[header_key(h)])
                raise InputFileError(
                    f"the headers {both} are the same column once case, blanks, '_' and '-' "
                    f"are ignored (read as {col.name}): rename or remove one of them"
                )
        found = [by_key[header_key(h)] for h in [*candidates, col.name] if header_key(h) in by_key]
        if found:
            picked[col.name] = list(dict.fromkeys(found))
    return picked


def apply(
    raw: pa.Table, table: Table, tm: TableMapping, *, source: str, strict: bool
) -> pa.Table | None:
    """Rename ``raw``'s columns onto ``table`` and translate values.

    A column with several synonym headers present takes, row by row, the first non-empty
    one (a Shopify export's blank 'Lineitem sku' falls back to 'Lineitem name'). Returns
    None when a required column is missing and ``strict`` is False (an optional companion
    table of a preset); raises InputFileError naming what is missing otherwise.
    """
    picked = pick_headers(raw.column_names, table, tm)
    missing = missing_columns(picked, table)
    if missing:
        if not strict:
            return None
        hints = {c: tm.columns[c] for c in missing if c in tm.columns}
        raise InputFileError(
            f"{source}: cannot load {table.name}: missing required column(s) {missing}"
            + (f" (looked for {hints})" if hints else "")
            + f". The file has {raw.column_names}. "
            + "Rename the headers, pick a --preset, or map them with --mapping FILE.yaml."
        )
    arrays = {
        name: _first_filled([raw.column(h) for h in headers]) for name, headers in picked.items()
    }
    for name, array in list(arrays.items()):
        values = {
            **DEFAULT_VALUES.get(name, {}),
            **{k.lower(): v for k, v in tm.values.get(name, {}).items()},
        }
        if values and pa.types.is_string(array.type):
            arrays[name] = _translate(array, values)
    return pa.table(arrays)


def missing_columns(picked: dict[str, list[str]], table: Table) -> list[str]:
    """The required columns not found. A customer id may be absent when an e-mail or phone
    column is there: the rows then load under guest ids."""
    missing = [c for c in table.required if c not in picked]
    if "customer_id" in missing and ("email" in picked or "phone" in picked):
        missing.remove("customer_id")
    return missing


def _first_filled(columns: list[pa.ChunkedArray]) -> pa.ChunkedArray:
    if len(columns) == 1:
        return columns[0]
    blanked = [
        pc.if_else(pc.equal(pc.utf8_trim_whitespace(c), ""), pa.scalar(None, pa.string()), c)
        if pa.types.is_string(c.type)
        else c
        for c in columns
    ]
    return pc.coalesce(*blanked)


def _translate(array: pa.ChunkedArray, values: dict[str, str]) -> pa.ChunkedArray:
    keys = pa.array(list(values))
    targets = pa.array(list(values.values()))
    index = pc.index_in(pc.utf8_lower(pc.utf8_trim_whitespace(array)), value_set=keys)
    return pc.if_else(pc.is_null(index), array, pc.take(targets, index))
