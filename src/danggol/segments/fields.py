"""What a segment condition can test: fields and functions, with types and labels.

Each field maps a query name (Shopify-style where one exists: ``customer_tags``,
``customer_countries``) to a column of the customer profile, with its type and its Korean
and English label. Functions test behaviour over a time window on the fact tables.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from danggol.predict.fields import field_specs as prediction_field_specs
from danggol.schema import ACCOUNT_STATUSES, FieldSpec, FieldType
from danggol.scores import field_specs


def _f(
    name: str, type_: FieldType, en: str, ko: str, *, column: str | None = None, **kw: object
) -> FieldSpec:
    return FieldSpec(name, column or name, type_, en, ko, **kw)  # type: ignore[arg-type]


FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        _f("customer_id", "text", "customer id", "고객 ID"),
        _f("known_customer", "boolean", "known customer (record or order)", "고객 여부"),
        _f("guest", "boolean", "guest (ordered without a member id)", "비회원 주문 고객"),
        _f("number_of_orders", "integer", "number of orders", "주문 수"),
        _f("amount_spent", "number", "amount spent", "누적 구매금액", money=True),
        _f("aov", "number", "average order value", "객단가", money=True),
        _f("first_order_date", "date", "first order date", "첫 구매일"),
        _f("last_order_date", "date", "last order date", "최근 구매일"),
        _f("days_since_last_order", "integer", "days since last order", "마지막 구매 후 경과일"),
        _f(
            "avg_days_between_orders", "number", "average days between orders", "평균 구매 주기(일)"
        ),
        _f("refunds", "integer", "refunded orders", "환불 주문 수"),
        _f("amount_spent_percentile", "number", "spend percentile", "구매금액 백분위"),
        _f("favourite_category", "text", "favourite category", "선호 카테고리"),
        _f("distinct_products", "integer", "distinct products bought", "구매 상품 종류 수"),
        _f("distinct_categories", "integer", "distinct categories bought", "구매 카테고리 수"),
        _f("customer_countries", "text", "country", "국가", column="country"),
        _f("customer_regions", "text", "region", "지역(시/도)", column="region"),
        _f("customer_cities", "text", "city", "도시(시/군/구)", column="city"),
        _f("gender", "enum", "gender", "성별", values=("female", "male", "other")),
        _f("age", "integer", "age", "나이"),
        _f("signup_date", "date", "signup date", "가입일"),
        _f("signup_channel", "text", "signup channel", "가입 경로"),
        _f(
            "email_subscription_status",
            "enum",
            "email subscription",
            "마케팅 수신 동의",
            values=("subscribed", "not_subscribed"),
        ),
        _f("customer_tags", "tags", "tags", "고객 태그", column="tags"),
        _f("first_event_date", "date", "first activity date", "첫 활동일"),
        _f("last_event_date", "date", "last activity date", "최근 활동일"),
        _f("events_total", "integer", "number of events", "행동 이벤트 수"),
    )
}

#: fields the compiler adds when a query names them (``Compiler.field_<name>``): joined
#: from the fact tables or derived from other columns, so the profile stays as it is
JOINED_FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        _f("customer_email_domain", "text", "e-mail domain", "이메일 도메인"),
        _f("customer_added_date", "date", "customer added date", "고객 등록일"),
        _f("abandoned_checkout_date", "date", "last abandoned checkout", "최근 결제 이탈일"),
        _f(
            "customer_account_status",
            "enum",
            "account status",
            "계정 상태",
            column="account_status",
            values=ACCOUNT_STATUSES,
        ),
        _f("companies", "text", "company", "회사", column="company"),
        _f(
            "predicted_spend_tier",
            "enum",
            "predicted spend tier",
            "예상 구매금액 등급",
            values=("high", "medium", "low"),
        ),
    )
}
FIELDS.update(JOINED_FIELDS)

#: the score columns (RFM, lifecycle, grade, tiers) the profile carries for segments
FIELDS.update({spec.name: spec for spec in field_specs()})
#: the prediction columns a refresh adds (``p_alive``, ``predicted_clv`` …)
FIELDS.update({spec.name: spec for spec in prediction_field_specs()})

ArgType = Literal["text", "number", "integer", "date", "segment"]


@dataclass(frozen=True)
class ArgSpec:
    name: str
    type: ArgType
    en: str
    ko: str
    required: bool = False


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    returns: FieldType
    args: tuple[ArgSpec, ...]
    en: str
    ko: str

    def arg(self, name: str) -> ArgSpec | None:
        for a in self.args:
            if a.name == name:
                return a
        return None


_DATE = ArgSpec("date", "date", "on or after", "이후 기간")

FUNCTIONS: dict[str, FunctionSpec] = {
    f.name: f
    for f in (
        FunctionSpec(
            "products_purchased",
            "boolean",
            (
                ArgSpec("id", "text", "product", "상품"),
                ArgSpec("category", "text", "category", "카테고리"),
                ArgSpec("tag", "text", "product tag", "상품 태그"),
                ArgSpec("min_price", "number", "unit price at least", "최소 단가"),
                ArgSpec("max_price", "number", "unit price at most", "최대 단가"),
                _DATE,
                ArgSpec("count", "integer", "at least this many orders", "최소 주문 횟수"),
            ),
            "bought",
            "구매함",
        ),
        FunctionSpec("number_of_orders", "integer", (_DATE,), "number of orders", "주문 수"),
        FunctionSpec("amount_spent", "number", (_DATE,), "amount spent", "구매금액"),
        FunctionSpec(
            "events",
            "integer",
            (
                ArgSpec("name", "text", "event", "이벤트", required=True),
                _DATE,
                ArgSpec("id", "text", "product", "상품"),
                ArgSpec("category", "text", "category", "카테고리"),
            ),
            "events",
            "행동 이벤트 수",
        ),
        FunctionSpec(
            "anniversary",
            "date",
            (ArgSpec("date", "text", "of the date", "기념일 기준", required=True),),
            "next anniversary",
            "다음 기념일",
        ),
        FunctionSpec(
            "in_segment",
            "boolean",
            (ArgSpec("", "segment", "segment", "세그먼트", required=True),),
            "in segment",
            "세그먼트 포함",
        ),
    )
}


def register_field(spec: FieldSpec) -> None:
    """Add a field (scores and predictions add theirs: ``rfm_group``, ``p_alive`` …)."""
    FIELDS[spec.name] = spec


def suggest(name: str, known: list[str] | tuple[str, ...]) -> str | None:
    """The nearest known name of the same kind (fields for a field, segments for a segment),
    for 'did you mean …?' — only when close (``customer_account_status`` is not a slip
    for ``customer_countries``)."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return match[0] if match else None
