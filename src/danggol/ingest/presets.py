"""Built-in presets for common shop exports.

``shopify``: the Shopify orders export (one row per line item; ``Name`` is the order and
``Email`` the customer) → orders, order_items and customers in one load.

``korean``: header synonyms of Korean shop admin exports (Cafe24, 스마트스토어, 식스샵 …),
for order files (with or without product lines) and member files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from danggol.errors import MappingError
from danggol.ingest.mapping import Mapping, TableMapping


@dataclass(frozen=True)
class Preset:
    mapping: Mapping
    #: an Arrow-level fix-up of the raw file before mapping (e.g. Shopify's 'Cancelled at')
    prepare: Callable[[pa.Table], pa.Table] | None = None
    description: str = ""


def _shopify_prepare(raw: pa.Table) -> pa.Table:
    """An order with a 'Cancelled at' time is cancelled, whatever its financial status."""
    if "Cancelled at" not in raw.column_names or "Financial Status" not in raw.column_names:
        return raw
    cancelled = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(raw["Cancelled at"])), 0)
    status = pc.if_else(cancelled, pa.scalar("voided"), raw["Financial Status"])
    return raw.set_column(raw.column_names.index("Financial Status"), "Financial Status", status)


SHOPIFY = Preset(
    Mapping(
        name="shopify",
        tables={
            "customers": TableMapping(
                group=True,
                columns={
                    "customer_id": "Email",
                    "email": "Email",
                    "name": ["Billing Name", "Shipping Name"],
                    "phone": ["Phone", "Billing Phone", "Shipping Phone"],
                    "region": ["Billing Province", "Shipping Province"],
                    "city": ["Billing City", "Shipping City"],
                    "country": ["Billing Country", "Shipping Country"],
                    "marketing_opt_in": "Accepts Marketing",
                },
            ),
            "orders": TableMapping(
                group=True,
                columns={
                    "order_id": "Name",
                    "customer_id": "Email",
                    "ordered_at": "Created at",
                    "total": "Total",
                    "currency": "Currency",
                    "status": "Financial Status",
                    "refunded_amount": "Refunded Amount",
                    "discount": "Discount Amount",
                    "coupon_code": "Discount Code",
                    "shipping_fee": "Shipping",
                    "channel": "Source",
                },
                values={
                    "status": {
                        "paid": "paid",
                        "authorized": "paid",
                        "partially_paid": "paid",
                        "partially_refunded": "partially_refunded",
                        "refunded": "refunded",
                        "voided": "cancelled",
                        "pending": "failed",
                        "expired": "failed",
                    }
                },
            ),
            "order_items": TableMapping(
                columns={
                    "order_id": "Name",
                    "product_id": ["Lineitem sku", "Lineitem name"],
                    "product_name": "Lineitem name",
                    "category": "Vendor",
                    "quantity": "Lineitem quantity",
                    "unit_price": "Lineitem price",
                }
            ),
        },
    ),
    prepare=_shopify_prepare,
    description="Shopify orders export CSV (one row per line item)",
)

KOREAN = Preset(
    Mapping(
        name="korean",
        tables={
            "customers": TableMapping(
                group=True,
                columns={
                    "customer_id": [
                        "회원아이디",
                        "아이디",
                        "회원ID",
                        "주문자ID",
                        "주문자아이디",
                        "구매자ID",
                    ],
                    "name": ["이름", "회원명", "주문자명", "주문자", "구매자명"],
                    "email": ["이메일", "주문자이메일", "이메일주소"],
                    "phone": ["휴대폰번호", "휴대전화", "휴대폰", "연락처", "주문자휴대전화"],
                    "gender": "성별",
                    "birth_date": ["생년월일", "생일"],
                    "region": ["지역", "시도"],
                    "city": ["시군구", "도시"],
                    "signup_at": ["가입일", "가입일시", "회원가입일"],
                    "signup_channel": ["가입경로", "유입경로"],
                    "marketing_opt_in": [
                        "마케팅수신동의",
                        "이메일수신여부",
                        "SMS수신여부",
                        "수신동의",
                    ],
                    "tags": ["태그", "회원그룹"],
                },
            ),
            "orders": TableMapping(
                group=True,
                columns={
                    "order_id": ["주문번호", "주문코드"],
                    "customer_id": [
                        "회원아이디",
                        "주문자ID",
                        "주문자아이디",
                        "회원ID",
                        "구매자ID",
                        "아이디",
                    ],
                    "ordered_at": ["주문일시", "주문일", "주문일자", "결제일시", "결제일"],
                    "total": ["총 결제금액", "결제금액", "실결제금액", "최종결제금액", "주문금액"],
                    "status": ["주문상태", "처리상태", "상태"],
                    "refunded_amount": ["환불금액", "총 환불금액"],
                    "discount": ["할인금액", "쿠폰할인금액"],
                    "coupon_code": ["쿠폰코드", "쿠폰번호"],
                    "shipping_fee": "배송비",
                    "channel": ["주문경로", "판매채널"],
                },
            ),
            "order_items": TableMapping(
                columns={
                    "order_id": ["주문번호", "주문코드"],
                    "product_id": ["상품번호", "상품코드", "상품ID"],
                    "product_name": "상품명",
                    "category": ["카테고리", "상품분류", "분류"],
                    "quantity": ["수량", "주문수량"],
                    "unit_price": ["판매가", "상품가격", "단가", "판매가격"],
                }
            ),
        },
        date_formats=["%Y-%m-%d %H:%M", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d"],
    ),
    description="Korean shop admin exports (주문번호, 주문일시, 회원아이디, 결제금액, 주문상태 …)",
)

PRESETS: dict[str, Preset] = {"shopify": SHOPIFY, "korean": KOREAN}

#: the order tables are loaded in, so an order line can find its order
LOAD_ORDER = ("customers", "orders", "order_items", "events")


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise MappingError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None


def tables_for(preset: Preset, table: str) -> list[str]:
    """Which tables a preset load of ``table`` fills: the table itself, and for order files
    the customers and order lines the same rows carry."""
    wanted = [table]
    if table == "orders":
        wanted += [t for t in ("customers", "order_items") if t in preset.mapping.tables]
    return [t for t in LOAD_ORDER if t in wanted]
