"""The segment-language fields of the prediction columns: a table alone in its module, so that
the segment language (segments/fields.py) knows them without loading what fits them (SciPy,
scikit-learn: predict/customers.py), which a count that tests no prediction never needs."""

from __future__ import annotations

from danggol.schema import FieldSpec


def field_specs() -> tuple[FieldSpec, ...]:
    """The segment-language fields for the prediction columns."""
    return (
        FieldSpec(
            "expected_orders", "expected_orders", "number", "expected orders", "예상 구매 횟수"
        ),
        FieldSpec(
            "expected_orders_low",
            "expected_orders_low",
            "number",
            "expected orders, 90% interval low",
            "예상 구매 횟수 90% 구간 하한",
        ),
        FieldSpec(
            "expected_orders_high",
            "expected_orders_high",
            "number",
            "expected orders, 90% interval high",
            "예상 구매 횟수 90% 구간 상한",
        ),
        FieldSpec("p_alive", "p_alive", "number", "probability active", "활성 확률"),
        FieldSpec(
            "repurchase_probability",
            "repurchase_probability",
            "number",
            "repurchase probability",
            "재구매 확률",
        ),
        FieldSpec(
            "predicted_clv",
            "predicted_clv",
            "number",
            "predicted lifetime value",
            "예상 고객생애가치",
            money=True,
        ),
        FieldSpec(
            "predicted_clv_low",
            "predicted_clv_low",
            "number",
            "predicted lifetime value, 90% interval low",
            "예상 고객생애가치 90% 구간 하한",
            money=True,
        ),
        FieldSpec(
            "predicted_clv_high",
            "predicted_clv_high",
            "number",
            "predicted lifetime value, 90% interval high",
            "예상 고객생애가치 90% 구간 상한",
            money=True,
        ),
        FieldSpec(
            "predicted_clv_percentile",
            "predicted_clv_percentile",
            "number",
            "predicted CLV percentile",
            "예상 CLV 백분위",
        ),
        FieldSpec(
            "expected_next_order_date",
            "expected_next_order_date",
            "date",
            "expected next order date",
            "다음 구매 예상일",
        ),
        FieldSpec("future_vip", "future_vip", "boolean", "future VIP", "예비 VIP"),
        FieldSpec("vip_cluster", "vip_cluster", "text", "VIP sub-segment", "VIP 세부 유형"),
    )


__all__ = ["field_specs"]
