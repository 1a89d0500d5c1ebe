"""The canonical tables and their columns, in one place.

Input files are mapped onto these columns (``ingest``); the store keeps them with the
types below; the profile and the segment language read them. A column's ``kind`` says how
input text is parsed:

=========  ==========================================================================
kind       accepted input
=========  ==========================================================================
text       any text; surrounding blanks are trimmed, empty means missing
integer    a whole number
money      a finite number ≥ 0; ``15,000`` and ``1,234.50`` (``,`` + groups of 3 digits) are
           thousands; ``1,5``, ``1.000`` and ``1.000,50`` are ambiguous and quarantined unless
           the mapping declares ``decimal: ","``; a currency sign or 원/KRW is allowed
number     any number
boolean    true/false, yes/no, y/n, 1/0, Korean 예/아니오, 동의/거부
date       ``2025-06-30``, ``2025/06/30``, ``2025.06.30``, ``20250630``, an Excel serial
timestamp  ISO 8601 with or without an offset (``Z``, ``+09:00``, ``UTC``); Korean forms
           ``2025-06-30 오후 2:05[:09]``, ``2025.06.30[ 14:05]``, ``2025/06/30[ 14:05]``,
           ``20250630``; an Excel serial (``45838.5``); without an offset it is in the
           workspace time zone; a date alone is its local midnight. ``06/07/2025`` is read
           only with a declared ``date_formats`` entry (day or month first?)
tags       ``;``-separated (``,`` also accepted), stored lower-cased as a list
json       a JSON object
=========  ==========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "integer", "money", "number", "boolean", "date", "timestamp", "tags", "json"]

#: DuckDB type each kind is stored as. Timestamps are stored in UTC, and each timestamp
#: column gets a companion local ``*_date`` column (see ``Column.local_date``).
STORE_TYPE: dict[str, str] = {
    "text": "VARCHAR",
    "integer": "BIGINT",
    "money": "DOUBLE",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "tags": "VARCHAR[]",
    "json": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"
    required: bool = False
    description: str = ""
    #: for timestamp columns: the name of the local-date column derived at ingest
    local_date: str | None = None
    #: allowed values (after lower-casing) for enumerations
    choices: tuple[str, ...] = ()
    default: str | None = None
    #: False for an input-only column: read from the file to derive stored values (a guest's
    #: e-mail, an order line's amount), never stored itself
    stored: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    #: the columns a row is upserted by
    key: tuple[str, ...]
    description: str = ""

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def store_columns(self) -> list[tuple[str, str]]:
        """(name, DuckDB type) of the stored table, local-date columns included."""
        out: list[tuple[str, str]] = []
        for col in self.columns:
            if not col.stored:
                continue
            out.append((col.name, STORE_TYPE[col.kind]))
            if col.local_date:
                out.append((col.local_date, "DATE"))
        return out


#: a customer account's states (Shopify's customer ``state``: an account is disabled until the
#: customer is invited, invited until they accept or decline)
ACCOUNT_STATUSES = ("enabled", "disabled", "invited", "declined")

ORDER_STATUSES = ("paid", "partially_refunded", "refunded", "cancelled", "failed")
#: statuses that count as a purchase
PURCHASE_STATUSES = ("paid", "partially_refunded")
#: statuses counted in ``refunds``
REFUND_STATUSES = ("refunded", "partially_refunded")

#: the event vocabulary danggol knows by name (any other name is accepted too)
EVENT_NAMES = (
    "visit",
    "product_view",
    "cart_add",
    "checkout_start",
    "email_subscribe",
    "ad_click",
    "social_engage",
    "trial_start",
    "subscription_start",
    "subscription_cancel",
    "subscription_fail",
    "review",
    "referral",
    "coupon_claim",
)

CUSTOMERS = Table(
    "customers",
    (
        Column("customer_id", required=True, description="the shop's id of the customer"),
        Column("email"),
        Column("phone"),
        Column("name"),
        Column("gender", choices=("female", "male", "other")),
        Column("birth_date", "date"),
        Column("country", description="ISO 3166 alpha-2, e.g. KR"),
        Column("region", description="e.g. 서울특별시, 경기도"),
        Column("city"),
        Column("signup_at", "timestamp", local_date="signup_date"),
        Column("signup_channel"),
        Column("marketing_opt_in", "boolean"),
        Column("tags", "tags"),
        Column(
            "account_status",
            choices=ACCOUNT_STATUSES,
            description="the customer account's state, as Shopify has it: enabled, disabled, "
            "invited or declined",
        ),
        Column("company", description="the customer's company (B2B), e.g. the default address's"),
        # last: a store migrated from version 3 gains it at the end, as a new one has it
        Column(
            "sms_opt_in",
            "boolean",
            description="consent to advertising text messages (광고성 문자 수신 동의), when the file "
            "gives it apart from e-mail; empty: marketing_opt_in stands for every channel",
        ),
    ),
    key=("customer_id",),
    description="one row per known customer",
)

ORDERS = Table(
    "orders",
    (
        Column("order_id", required=True),
        Column("customer_id", required=True),
        Column("ordered_at", "timestamp", required=True, local_date="order_date"),
        Column("total", "money", required=True, description="what the customer paid"),
        Column("currency"),
        Column("status", choices=ORDER_STATUSES, default="paid"),
        Column("refunded_amount", "money", default="0"),
        Column("discount", "money"),
        Column("coupon_code"),
        Column("shipping_fee", "money"),
        Column("channel"),
        Column(
            "email",
            stored=False,
            description="the buyer's e-mail: a guest order (no customer_id) gets a stable id from it",
        ),
        Column("phone", stored=False, description="the buyer's phone, for a guest without e-mail"),
        Column(
            "line_amount",
            "money",
            stored=False,
            description="an item row's own amount, in exports that repeat the order total on "
            "every item row (the refunded part of a partly returned order)",
        ),
    ),
    key=("order_id",),
    description="one row per order",
)

ORDER_ITEMS = Table(
    "order_items",
    (
        Column("order_id", required=True),
        Column("product_id", required=True),
        Column("product_name"),
        Column("category"),
        Column("quantity", "integer", default="1"),
        Column("unit_price", "money"),
        Column("line_no", "integer", description="position in the order; numbered if absent"),
    ),
    key=("order_id", "line_no"),
    description="one row per order line; a file's lines of an order replace that order's lines",
)

PRODUCTS = Table(
    "products",
    (
        Column("product_id", required=True, description="the id order lines name the product by"),
        Column("product_name"),
        Column("category"),
        Column("tags", "tags", description="the product's tags (``products_purchased(tag: …)``)"),
    ),
    key=("product_id",),
    description="one row per product: its tags (a catalogue export); optional",
)

EVENTS = Table(
    "events",
    (
        Column("event_id", description="derived from the row's content if absent"),
        Column("customer_id", required=True, description="a customer or an anonymous visitor id"),
        Column("event", required=True),
        Column("occurred_at", "timestamp", required=True, local_date="event_date"),
        Column("product_id"),
        Column("category"),
        Column("value", "number"),
        Column("properties", "json"),
    ),
    key=("event_id",),
    description="one row per behaviour event",
)

TABLES: dict[str, Table] = {t.name: t for t in (CUSTOMERS, ORDERS, ORDER_ITEMS, PRODUCTS, EVENTS)}

#: the types a profile field can have in the segment language
FieldType = Literal["integer", "number", "date", "text", "tags", "boolean", "enum"]


@dataclass(frozen=True)
class FieldSpec:
    """A profile field as the segment language sees it: query name, column, type, labels."""

    name: str
    column: str
    type: FieldType
    en: str
    ko: str
    values: tuple[str, ...] = ()  # enums
    money: bool = False
