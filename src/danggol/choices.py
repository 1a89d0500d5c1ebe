"""The closed vocabularies the library accepts and the edges offer: plain data, no engine.

The CLI builds its help texts from these at start, so they live in a module that imports nothing
heavy (a base module, like ``errors``); the library modules that use them import them from here.
"""

from __future__ import annotations

#: the marketing goals a segment can serve, with their Korean and English names
GOALS: dict[str, tuple[str, str]] = {
    "conversion_cycle": ("구매 주기 관리", "Conversion-cycle management"),
    "cross_sell": ("교차 판매", "Cross-sell"),
    "upsell": ("업셀 · 객단가 상승", "Upgrade and bigger baskets"),
    "interest": ("관심 고객 전환", "Convert interest"),
    "loyalty": ("충성 고객 육성", "Grow loyal customers"),
    "welcome": ("신규 고객 환영", "Welcome new customers"),
    "feedback": ("고객 의견 수집", "Ask for feedback"),
    "recovery": ("이탈 · 불만 관리", "Recovery"),
    "local": ("지역 마케팅", "Local marketing"),
    "other": ("기타", "Other"),
}
#: SQL dialects a segment can be rendered in (``segment sql --dialect``)
DIALECTS = ("duckdb", "postgres", "bigquery", "snowflake", "spark", "databricks", "trino", "mysql")
#: formats of a segment export (``danggol export --format``)
EXPORT_FORMATS = ("csv", "parquet", "esp", "sms", "ads")
#: campaign KPIs with their definitions
KPIS = {
    "conversion_rate": "members who bought in the window / members",
    "revenue_per_customer": "revenue in the window / members",
    "aov": "revenue / purchases in the window",
    "orders": "purchases in the window / members",
}
#: purchase-count models a backtest can run (Gamma-Gamma predicts spend, not purchases)
BACKTEST_MODELS = ("bgnbd", "mbgnbd", "pareto_nbd")
#: models ``predict fit`` can fit
FIT_MODELS = (*BACKTEST_MODELS, "gamma_gamma")
#: classifiers of the supervised repurchase model
SUPERVISED_METHODS = ("gradient_boosting", "logistic")
