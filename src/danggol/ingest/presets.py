"""Built-in presets for the shop platforms' own exports, each from the platform's real
column list (the source of each list is cited at the preset and in docs/ingest.md).

``smartstore``: Naver SmartStore (스마트스토어) order download — one row per 상품주문번호
(order line) with the line's own amount and status: the order is built from its lines.

``cafe24``: Cafe24 order export — one row per ordered item, the order's totals repeated on
every item row: taken once per order (rows that disagree quarantine the order).

``shopify``: the Shopify orders export (one row per line item; ``Name`` is the order and
``Email`` the customer) → orders, order_items and customers in one load; and the Shopify
customers export (``danggol ingest customers customers_export.csv --preset shopify``) and
products export (``danggol ingest products products_export.csv --preset shopify``: tags).

``woocommerce``: the WooCommerce Customer/Order CSV Export, "Default – One Row per Item".

``korean``: loose header synonyms of Korean shop admin exports (Cafe24, 스마트스토어,
식스샵 …), for order files (with or without product lines) and member files.
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
    #: where the column list comes from
    source: str = ""


def _set(raw: pa.Table, name: str, values: pa.ChunkedArray | pa.Array) -> pa.Table:
    if name in raw.column_names:
        return raw.set_column(raw.column_names.index(name), name, values)
    return raw.append_column(name, values)


def _shopify_prepare(raw: pa.Table) -> pa.Table:
    """An order with a 'Cancelled at' time is cancelled, whatever its financial status; an
    orders file's 'Tags' are the order's, not the customer's; a customers export's first and
    last names make one name."""
    names = raw.column_names
    if "Cancelled at" in names and "Financial Status" in names:
        cancelled = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(raw["Cancelled at"])), 0)
        status = pc.if_else(cancelled, pa.scalar("voided"), raw["Financial Status"])
        raw = _set(raw, "Financial Status", status)
    if "Lineitem name" in names and "Tags" in names:
        raw = raw.rename_columns(["Order Tags" if n == "Tags" else n for n in names])
    if "Handle" in names and "Variant SKU" in names:
        raw = _fill_product_rows(raw)
    if "First Name" in names and "Last Name" in names and "Billing Name" not in names:
        full = pc.utf8_trim_whitespace(
            pc.binary_join_element_wise(raw["First Name"], raw["Last Name"], " ")
        )
        raw = _set(raw, "Customer Name", full)
    return raw


def _fill_product_rows(raw: pa.Table) -> pa.Table:
    """A Shopify products export has one row per variant, and only a product's first row
    carries its Title, Vendor and Tags (its other variants' rows leave them blank, sharing
    the Handle): each variant row takes them from its product's first row."""
    handles = raw["Handle"].to_pylist()
    for name in ("Title", "Vendor", "Tags"):
        if name not in raw.column_names:
            continue
        first: dict[object, object] = {}
        values = raw[name].to_pylist()
        for handle, value in zip(handles, values, strict=True):
            if value not in (None, "") and handle not in first:
                first[handle] = value
        filled = [
            v if v not in (None, "") else first.get(h, v)
            for h, v in zip(handles, values, strict=True)
        ]
        raw = _set(raw, name, pa.array(filled, type=raw[name].type))
    return raw


# Shopify orders export, one row per line item (help.shopify.com/en/manual/orders/export-orders,
# "Orders export CSV structure"): Name, Email, Financial Status, Paid at, Fulfillment Status,
# Fulfilled at, Accepts Marketing, Currency, Subtotal, Shipping, Taxes, Total, Discount Code,
# Discount Amount, Shipping Method, Created at, Lineitem quantity, Lineitem name, Lineitem price,
# Lineitem compare at price, Lineitem sku, Lineitem requires shipping, Lineitem taxable,
# Lineitem fulfillment status, Billing Name, Billing Street, Billing Address1, Billing Address2,
# Billing Company, Billing City, Billing Zip, Billing Province, Billing Country, Billing Phone,
# Shipping Name, … Shipping Phone, Notes, Note Attributes, Cancelled at, Payment Method,
# Payment Reference, Refunded Amount, Vendor, Outstanding Balance, Employee, Location,
# Device ID, Id, Tags, Risk Level, Source, Lineitem discount, Tax 1 Name, Tax 1 Value, …, Phone.
# Shopify customers export (help.shopify.com/en/manual/customers/import-export-customers;
# the same 20 headers in the exports that public Shopify loaders test against):
# Customer ID, First Name, Last Name, Email, Accepts Email Marketing, Default Address Company,
# Default Address Address1, Default Address Address2, Default Address City, Default Address
# Province Code, Default Address Country Code, Default Address Zip, Default Address Phone,
# Phone, Accepts SMS Marketing, Total Spent, Total Orders, Note, Tax Exempt, Tags (older
# exports: First Name, Last Name, Email, Company, Address1, Address2, City, Province,
# Province Code, Country, Country Code, Zip, Phone, Accepts Marketing, Total Spent,
# Total Orders, Tags, Note, Tax Exempt). The account state (enabled, disabled, invited,
# declined) is the 'State' column of the customers export of Matrixify/Excelify
# (matrixify.app/documentation/customers, excelify.io/.../customers: "State: disabled, invited,
# enabled, declined"); Shopify's own export has none, so account_status is then empty.
# Shopify products export, one row per variant (help.shopify.com/en/manual/products/
# import-export/using-csv, "Product CSV file format"; striveformats.com/guides/shopify/
# shopify-product-csv-template-explained): Handle, Title, Body (HTML), Vendor, Product
# Category, Type, Tags, Published, Option1 Name, Option1 Value, …, Variant SKU, Variant Grams,
# Variant Inventory Tracker, Variant Inventory Qty, …, Variant Price, Variant Compare At
# Price, …, Image Src, …, Status. Product-level columns are filled on a product's first row
# only. The orders export names a line's product by 'Lineitem sku' (else 'Lineitem name'),
# so a product is keyed by 'Variant SKU' (else its Title), and its category is the Vendor as
# for order lines.
SHOPIFY = Preset(
    Mapping(
        name="shopify",
        tables={
            "customers": TableMapping(
                group=True,
                columns={
                    # orders name their customer by e-mail only, so the customers export is
                    # keyed by e-mail too (its Customer ID appears in no orders export)
                    "customer_id": "Email",
                    "email": "Email",
                    "name": ["Billing Name", "Shipping Name", "Customer Name"],
                    "phone": [
                        "Phone",
                        "Billing Phone",
                        "Shipping Phone",
                        "Default Address Phone",
                    ],
                    "region": [
                        "Billing Province",
                        "Shipping Province",
                        "Default Address Province Code",
                        "Province Code",
                    ],
                    "city": ["Billing City", "Shipping City", "Default Address City", "City"],
                    "country": [
                        "Billing Country",
                        "Shipping Country",
                        "Default Address Country Code",
                        "Country Code",
                    ],
                    "marketing_opt_in": ["Accepts Marketing", "Accepts Email Marketing"],
                    "sms_opt_in": "Accepts SMS Marketing",
                    "tags": "Tags",
                    "account_status": ["Account Status", "State"],
                    "company": ["Default Address Company", "Company", "Billing Company"],
                },
            ),
            "orders": TableMapping(
                group=True,
                columns={
                    "order_id": "Name",
                    "customer_id": "Email",
                    "email": "Email",
                    "phone": ["Phone", "Billing Phone", "Shipping Phone"],
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
            "products": TableMapping(
                columns={
                    "product_id": ["Variant SKU", "Title"],
                    "product_name": "Title",
                    "category": "Vendor",
                    "tags": "Tags",
                }
            ),
        },
    ),
    prepare=_shopify_prepare,
    description="Shopify orders export CSV (one row per line item), its customers export, or "
    "its products export (product tags)",
    source="help.shopify.com/en/manual/orders/export-orders; "
    "help.shopify.com/en/manual/customers/import-export-customers; "
    "help.shopify.com/en/manual/products/import-export/using-csv",
)

# Naver SmartStore order download (스마트스토어센터 › 주문통합검색 › 엑셀다운), one row per
# 상품주문번호. Columns as listed in heedu-yoon/excelParser (WindowsFormsApp1/objectClass/
# SmartStore.cs): 상품주문번호, 주문번호, 배송방법(구매자 요청), 배송방법, 택배사, 송장번호, 발송일,
# 판매채널, 구매자명, 구매자ID, 수취인명, 주문상태, 주문세부상태, 결제위치, 결제일, 상품번호, 상품명,
# 상품종류, 옵션정보, 옵션관리코드, 수량, 옵션가격, 상품가격, 상품별 할인액, 판매자 부담 할인액,
# 상품별 총 주문금액, 사은품, 발주확인일, 발송기한, 발송처리일, 송장출력일, 배송비 형태,
# 배송비 묶음번호, 배송비 유형, 배송비 합계, 제주/도서 추가배송비, 배송비 할인액, 판매자 상품코드,
# 판매자 내부코드1, 판매자 내부코드2, 수취인연락처1, 수취인연락처2, 배송지, 구매자연락처, 우편번호,
# 배송메세지, 출고지, 결제수단, 수수료 과금구분, 수수료결제방식, 결제수수료, 매출연동 수수료,
# 매출연동 수수료 구분, 정산예정금액, 유입경로, 구매자 주민등록번호, 개인통관고유부호, 주문일시,
# 배송속성, 배송희망일. Newer downloads name the line amount 최종 상품별 총 주문금액.
SMARTSTORE_STATUS = {
    "결제대기": "failed",
    "미결제취소": "failed",
    "결제완료": "paid",
    "신규주문": "paid",
    "발송대기": "paid",
    "배송준비": "paid",
    "배송중": "paid",
    "배송완료": "paid",
    "구매확정": "paid",
    "교환": "paid",
    "교환완료": "paid",
    "취소": "cancelled",
    "취소완료": "cancelled",
    "반품": "refunded",
    "반품완료": "refunded",
}
SMARTSTORE = Preset(
    Mapping(
        name="smartstore",
        tables={
            "customers": TableMapping(
                group=True,
                columns={
                    "customer_id": "구매자ID",
                    "name": "구매자명",
                    "phone": "구매자연락처",
                },
            ),
            "orders": TableMapping(
                lines=True,
                columns={
                    "order_id": "주문번호",
                    "customer_id": "구매자ID",
                    "phone": "구매자연락처",
                    # the order's time is the earliest payment of its lines
                    "ordered_at": ["결제일", "주문일시"],
                    "total": ["최종 상품별 총 주문금액", "상품별 총 주문금액"],
                    "status": "주문상태",
                    "channel": ["유입경로", "판매채널"],
                },
                values={"status": SMARTSTORE_STATUS},
            ),
            "order_items": TableMapping(
                columns={
                    "order_id": "주문번호",
                    "product_id": ["상품번호", "판매자 상품코드"],
                    "product_name": "상품명",
                    "quantity": "수량",
                    "unit_price": "상품가격",
                }
            ),
        },
    ),
    description="Naver SmartStore order download (.xlsx or CSV; one row per 상품주문번호)",
    source="heedu-yoon/excelParser WindowsFormsApp1/objectClass/SmartStore.cs",
)

# Cafe24 order export (쇼핑몰 관리자 › 주문 › 주문조회 › 엑셀 다운로드, 기본 양식), one row per
# ordered item with the order's totals repeated. Headers as real exports spell them (seen in
# public code reading those files, e.g. a Cafe24 → DB loader mapping 주문번호, 품목별주문번호,
# 주문일시, 결제일시(입금확인일), 총주문금액(KRW), 총배송비(KRW), 총결제금액(KRW), 회원등급추가할인금액,
# 사용한적립금액, 쿠폰할인금액, 결제수단, 매출경로, 주문경로(PC/모바일), 주문자휴대전화, 주문자ID,
# 상품구매금액(KRW), 상품별추가할인금액, 수량, 주문상품명, 상품코드, 상품자체코드, 상품옵션; and
# parsers using 주문 상태, 상품품목코드, 실제 환불금액, 최종 결제금액(KRW)). Headers match ignoring
# blanks, so 총 결제금액(KRW) and 총결제금액(KRW) are one.
CAFE24_STATUS = {
    "입금전": "failed",
    "상품준비중": "paid",
    "배송준비중": "paid",
    "배송대기": "paid",
    "배송중": "paid",
    "배송완료": "paid",
    "구매확정": "paid",
    "취소신청": "paid",
    "반품신청": "paid",
    "교환신청": "paid",
    "교환완료": "paid",
    "취소완료": "cancelled",
    "환불전": "refunded",
    "환불완료": "refunded",
    "반품완료": "refunded",
}
CAFE24 = Preset(
    Mapping(
        name="cafe24",
        tables={
            "customers": TableMapping(
                group=True,
                columns={
                    "customer_id": ["주문자ID", "주문자 아이디"],
                    "name": ["주문자명", "주문자"],
                    "email": ["주문자 이메일", "주문자이메일"],
                    "phone": ["주문자 휴대전화", "주문자 전화번호"],
                },
            ),
            "orders": TableMapping(
                group=True,
                columns={
                    "order_id": "주문번호",
                    "customer_id": ["주문자ID", "주문자 아이디"],
                    "email": ["주문자 이메일", "주문자이메일"],
                    "phone": ["주문자 휴대전화", "주문자 전화번호"],
                    "ordered_at": ["주문일시", "결제일시(입금확인일)"],
                    "total": ["총 결제금액(KRW)", "최종 결제금액(KRW)", "총 결제금액"],
                    "line_amount": ["상품구매금액(KRW)", "상품구매금액"],
                    "status": ["주문 상태", "주문상태"],
                    "refunded_amount": ["실제 환불금액", "환불금액"],
                    "discount": ["쿠폰 할인금액", "쿠폰할인금액"],
                    "shipping_fee": ["총 배송비(KRW)", "총배송비"],
                    "channel": ["매출경로", "주문경로(PC/모바일)"],
                },
                values={"status": CAFE24_STATUS},
            ),
            "order_items": TableMapping(
                columns={
                    "order_id": "주문번호",
                    "product_id": ["상품품목코드", "상품코드", "상품번호"],
                    "product_name": ["주문상품명", "상품명(한국어 쇼핑몰)", "상품명"],
                    "quantity": "수량",
                    "unit_price": ["판매가", "상품판매가"],
                }
            ),
        },
    ),
    description="Cafe24 order export (one row per item, the order's totals on every row)",
    source="Cafe24 admin order Excel download; headers as read by public Cafe24 loaders",
)

# WooCommerce Customer/Order/Coupon Export, "Default - One Row per Item" order format, as
# the extension (5.x) defines it in CSV_Export_Format_Definition::get_predefined_formats()
# (format key 'default_one_row_per_item'; docs: woocommerce.com/document/ordercustomer-csv-
# exporter/ and woocommerce.com/document/ordercustomer-csv-export-developer-documentation/):
# order_id, order_number, date, status, shipping_total, shipping_tax_total, fee_total,
# fee_tax_total, tax_total, discount_total, order_total, refunded_total, order_currency,
# payment_method, shipping_method, customer_id, billing_first_name, billing_last_name,
# billing_company, billing_email, billing_phone, billing_address_1, billing_address_2,
# billing_postcode, billing_city, billing_state, billing_country, shipping_first_name,
# shipping_last_name, shipping_address_1, shipping_address_2, shipping_postcode, shipping_city,
# shipping_state, shipping_country, shipping_company, customer_note, item_id, item_product_id,
# item_name, item_sku, item_price, item_quantity, item_subtotal, item_subtotal_tax, item_total,
# item_total_tax, item_refunded, item_refunded_qty, item_meta, shipping_items, fee_items,
# tax_items, coupon_items, order_notes, download_permissions_granted. Older (3.x/4.x) exports
# name the date column order_date and add cart_discount, order_discount. A guest's
# customer_id is 0.
WOOCOMMERCE_STATUS = {
    "pending": "failed",
    "wc-pending": "failed",
    "processing": "paid",
    "wc-processing": "paid",
    "on-hold": "paid",
    "wc-on-hold": "paid",
    "completed": "paid",
    "wc-completed": "paid",
    "cancelled": "cancelled",
    "wc-cancelled": "cancelled",
    "refunded": "refunded",
    "wc-refunded": "refunded",
    "failed": "failed",
    "wc-failed": "failed",
}


def _woocommerce_prepare(raw: pa.Table) -> pa.Table:
    """A guest order's customer_id is 0 in WooCommerce: no member id."""
    if "customer_id" not in raw.column_names:
        return raw
    ids = raw["customer_id"]
    if not pa.types.is_string(ids.type):
        ids = pc.cast(ids, pa.string())
    guest = pc.equal(pc.utf8_trim_whitespace(ids), "0")
    return _set(raw, "customer_id", pc.if_else(guest, pa.scalar("", pa.string()), ids))


WOOCOMMERCE = Preset(
    Mapping(
        name="woocommerce",
        tables={
            "customers": TableMapping(
                group=True,
                columns={
                    "customer_id": "customer_id",
                    "email": "billing_email",
                    "name": ["billing_full_name", "billing_first_name"],
                    "phone": "billing_phone",
                    "city": "billing_city",
                    "region": "billing_state",
                    "country": "billing_country",
                },
            ),
            "orders": TableMapping(
                group=True,
                columns={
                    "order_id": ["order_id", "order_number"],
                    "customer_id": "customer_id",
                    "email": "billing_email",
                    "phone": "billing_phone",
                    "ordered_at": ["order_date", "date"],
                    "total": "order_total",
                    "currency": "order_currency",
                    "status": "status",
                    "refunded_amount": "refunded_total",
                    "discount": ["discount_total", "cart_discount"],
                    "shipping_fee": ["shipping_total", "order_shipping"],
                    "line_amount": "item_total",
                },
                values={"status": WOOCOMMERCE_STATUS},
            ),
            "order_items": TableMapping(
                columns={
                    "order_id": ["order_id", "order_number"],
                    "product_id": ["item_sku", "item_product_id", "item_name"],
                    "product_name": "item_name",
                    "quantity": "item_quantity",
                    "unit_price": "item_price",
                }
            ),
        },
        # the extension's legacy formats write US dates (5/31/2016 0:37)
        date_formats=["%m/%d/%Y %H:%M", "%m/%d/%Y"],
    ),
    prepare=_woocommerce_prepare,
    description="WooCommerce Customer/Order CSV Export, Default - One Row per Item",
    source="woocommerce.com/document/ordercustomer-csv-exporter/ (the extension's "
    "'Default - One Row per Item' format definition)",
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
                    # e-mail and text-message consents are separate in Korean law (정보통신망법
                    # §50) and in Cafe24's member download: SMS 수신여부 is the SMS list's own
                    "marketing_opt_in": ["마케팅수신동의", "이메일수신여부", "수신동의"],
                    "sms_opt_in": ["SMS수신여부", "SMS수신동의", "문자수신동의", "문자수신여부"],
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
                    "email": ["이메일", "주문자이메일"],
                    "phone": ["주문자휴대전화", "휴대폰번호", "휴대전화", "구매자연락처", "연락처"],
                    "ordered_at": ["주문일시", "주문일", "주문일자", "결제일시", "결제일"],
                    "total": [
                        "총 결제금액",
                        "총 결제금액(KRW)",
                        "최종 결제금액(KRW)",
                        "결제금액",
                        "실결제금액",
                        "최종결제금액",
                        "주문금액",
                    ],
                    "line_amount": ["상품구매금액(KRW)", "상품구매금액"],
                    "status": ["주문상태", "처리상태", "상태"],
                    "refunded_amount": ["환불금액", "총 환불금액", "실제 환불금액"],
                    "discount": ["할인금액", "쿠폰할인금액"],
                    "coupon_code": ["쿠폰코드", "쿠폰번호"],
                    "shipping_fee": "배송비",
                    "channel": ["주문경로", "판매채널"],
                },
                values={"status": {**CAFE24_STATUS, **SMARTSTORE_STATUS}},
            ),
            "order_items": TableMapping(
                columns={
                    "order_id": ["주문번호", "주문코드"],
                    "product_id": ["상품번호", "상품코드", "상품ID"],
                    "product_name": ["상품명", "주문상품명"],
                    "category": ["카테고리", "상품분류", "분류"],
                    "quantity": ["수량", "주문수량"],
                    "unit_price": ["판매가", "상품가격", "단가", "판매가격"],
                }
            ),
        },
        date_formats=["%Y-%m-%d %H:%M", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d"],
    ),
    description="Korean shop admin exports (주문번호, 주문일시, 회원아이디, 결제금액, 주문상태 …)",
    source="header synonyms of Korean admin exports (no single platform's list)",
)

PRESETS: dict[str, Preset] = {
    "smartstore": SMARTSTORE,
    "cafe24": CAFE24,
    "shopify": SHOPIFY,
    "woocommerce": WOOCOMMERCE,
    "korean": KOREAN,
}

#: the order tables are loaded in, so an order line can find its order
LOAD_ORDER = ("customers", "orders", "order_items", "products", "events")


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
