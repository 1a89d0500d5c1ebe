"""The data of the report, its words and its number formats.

:func:`collect_report` runs every query the report needs once and returns
:class:`ReportData`; the HTML page (``outputs.report``) and its charts (``outputs.charts``)
only format it. Every number comes from the library: ``summary.shop_summary``,
``scores.scored_profile``, ``scores.stage_shares``, ``analytics`` and, for the predictions'
diagnostics, ``predict.backtest``. Every word of the page
comes from :data:`LABELS`, in Korean and English.

>>> fmt_money(893180940.0, "KRW", "ko"), fmt_money(893180940.0, "KRW", "ko", compact=True)
('₩893,180,940', '8.9억원')
>>> fmt_money(893180940.0, "KRW", "en", compact=True), fmt_pct(0.43298)
('₩893.2M', '43.3%')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from danggol import analytics
from danggol.analytics import Affinity, Cohorts, Concentration, Migration
from danggol.dates import shift
from danggol.errors import ConfigError, TooLittleDataError
from danggol.scores import scored_profile, stage_shares
from danggol.scores.rfm import SegmentMap, load_segment_map
from danggol.scores.summaries import GridCell, rfm_cells, stage_counts
from danggol.store.workspace import Workspace
from danggol.summary import shop_summary

if TYPE_CHECKING:
    from danggol.predict.backtest import Backtest

LANGS = ("ko", "en")
FONT_STACK = '"Noto Sans KR", "NanumGothic", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif'
#: how many top affinity rules the report lists
TOP_RULES = 10

#: every word of the page, ``LABELS[key][lang]``; ``{name}`` fields are filled with
#: escaped values
LABELS: dict[str, dict[str, str]] = {
    "title": {"ko": "고객 세분화 리포트", "en": "Customer segmentation report"},
    "subtitle": {
        "ko": "기준일 {as_of} · 비교 기준일 {compare_to}",
        "en": "As of {as_of} · compared with {compare_to}",
    },
    "headline": {"ko": "핵심 지표", "en": "Headline"},
    "customers": {"ko": "고객 수", "en": "Customers"},
    "buyers": {"ko": "구매 고객", "en": "Buyers"},
    "revenue": {"ko": "매출", "en": "Revenue"},
    "repeat_rate": {"ko": "재구매율", "en": "Repeat rate"},
    "top10": {"ko": "상위 10% 매출 비중", "en": "Top 10% share"},
    "gini": {"ko": "지니 계수", "en": "Gini coefficient"},
    "headline_note": {
        "ko": "고객 수는 고객 정보가 있거나 주문한 적이 있는 사람(익명 방문자 제외)으로, 세그먼트 비율의 분모와 같습니다. 구매 고객은 구매가 한 번 이상인 고객입니다. 매출은 환불을 뺀 금액입니다.",
        "en": "Customers are everyone with a customer record or an order (anonymous visitors excluded), the denominator of every segment share; buyers have at least one purchase. Revenue is net of refunds.",
    },
    "rfm": {"ko": "RFM 그리드", "en": "RFM grid"},
    "rfm_note": {
        "ko": "구매 고객을 최근성(R)과 빈도·금액(FM) 점수로 나눈 격자입니다. 칸마다 RFM 그룹, 고객 수, 매출을 보여 줍니다. 구매 이력이 없는 {prospects} {n}명은 격자에 없습니다.",
        "en": "Buyers by recency (R) and frequency·monetary (FM) score; each cell shows its RFM group, customers and revenue. The {n} {prospects} without a purchase are not on the grid.",
    },
    "r_axis": {"ko": "R (최근성)", "en": "R (recency)"},
    "fm_axis": {"ko": "FM (빈도·금액)", "en": "FM (frequency·monetary)"},
    "people": {"ko": "{n}명", "en": "{n} customers"},
    "lifecycle": {"ko": "라이프사이클", "en": "Lifecycle"},
    "funnel": {"ko": "단계별 고객 수 ({as_of})", "en": "Customers per stage ({as_of})"},
    "lifecycle_note": {
        "ko": "잠재 → 신규 → 활동 → 충성 → 이탈. 비중은 프로필의 모든 고객(방문자 포함) 중 비율입니다.",
        "en": "Potential → new → active → loyal → churned. Shares are of every customer in the profile, visitors included.",
    },
    "shares": {
        "ko": "단계 비중 추이 (월별 기준일)",
        "en": "Stage shares over time (monthly as-of dates)",
    },
    "concentration": {"ko": "매출 집중도", "en": "Revenue concentration"},
    "concentration_note": {
        "ko": "구매 고객 {n}명을 구매액 오름차순으로 세운 로렌츠 곡선입니다. 대각선에서 멀수록 매출이 소수에게 몰려 있습니다.",
        "en": "Lorenz curve of the {n} buyers sorted by ascending spend: the further from the diagonal, the more revenue sits with a few customers.",
    },
    "x_buyers": {"ko": "구매 고객 누적 비율", "en": "Cumulative share of buyers"},
    "y_revenue": {"ko": "매출 누적 비율", "en": "Cumulative share of revenue"},
    "equality": {"ko": "완전 균등", "en": "Perfect equality"},
    "top_n": {"ko": "상위 {p}", "en": "Top {p}"},
    "share": {"ko": "매출 비중", "en": "Revenue share"},
    "migration": {"ko": "RFM 그룹 이동", "en": "RFM group migration"},
    "migration_note": {
        "ko": "행은 {a}의 그룹, 열은 {b}의 그룹입니다. 굵은 테두리(대각선)는 그룹이 그대로인 고객입니다. 유지 {stayed}명 · 이동 {moved}명 · 전체 {population}명.",
        "en": "Rows are the group on {a}, columns the group on {b}; the outlined diagonal is customers who stayed. Stayed {stayed} · moved {moved} · all {population}.",
    },
    "from": {"ko": "{d}의 그룹 ↓", "en": "Group on {d} ↓"},
    "to": {"ko": "{d}의 그룹 →", "en": "Group on {d} →"},
    "none": {"ko": "고객 아님", "en": "Not a customer"},
    "total": {"ko": "합계", "en": "Total"},
    "cohorts": {"ko": "코호트 리텐션", "en": "Cohort retention"},
    "cohorts_note": {
        "ko": "첫 구매 월(코호트)별로, k개월 뒤(M+k)에 다시 구매한 고객의 비율입니다. 최근 {n}개 코호트, {as_of}이 속한 달은 아직 진행 중입니다.",
        "en": "Per month of first purchase (cohort), the share of its customers who bought again k months later (M+k). The last {n} cohorts; the month of {as_of} is still running.",
    },
    "cohort": {"ko": "코호트 (고객 수)", "en": "Cohort (customers)"},
    "affinity": {"ko": "함께 구매한 상품", "en": "Products bought together"},
    "affinity_note": {
        "ko": "상품이 있는 구매 주문 {orders}건 기준, 향상도 순 상위 {n}개 규칙입니다. 지지도: 두 상품이 함께 든 주문 비율 · 신뢰도: A가 든 주문 중 B도 든 비율 · 향상도: 1보다 클수록 함께 사는 경향.",
        "en": "The top {n} rules by lift over {orders} purchase orders with products. Support: share of orders with both · confidence: of the orders with A, the share with B · lift: above 1, bought together more than by chance.",
    },
    "lift": {"ko": "향상도", "en": "Lift"},
    "product_a": {"ko": "상품 A", "en": "Product A"},
    "product_b": {"ko": "상품 B", "en": "Product B"},
    "together": {"ko": "함께 주문", "en": "Orders"},
    "support": {"ko": "지지도", "en": "Support"},
    "confidence": {"ko": "신뢰도", "en": "Confidence"},
    "query": {
        "ko": "교차 판매 세그먼트 (A는 최근 샀지만 B는 안 산 고객)",
        "en": "Cross-sell segment (bought A lately, not B)",
    },
    "no_rules": {
        "ko": "함께 구매한 상품 규칙이 없습니다.",
        "en": "No products were bought together.",
    },
    "no_data": {"ko": "데이터가 없습니다.", "en": "No data."},
    "diagnostics": {"ko": "예측 진단", "en": "Prediction diagnostics"},
    "diag_note": {
        "ko": "{cutoff}까지의 구매로 {model} 모델을 학습해 다음 {days}일({end}까지)을 예측하고, 실제로 일어난 구매와 비교했습니다. 고객 {n}명 · 실제 구매 {actual}건 · 예측 {predicted}건 · 재구매 AUC {auc} · 브라이어 점수 {brier}.",
        "en": "The {model} model was fitted on the purchases up to {cutoff}, predicted the next {days} days (to {end}) and was compared with what happened. {n} customers · {actual} purchases, {predicted} predicted · repurchase AUC {auc} · Brier score {brier}.",
    },
    "diag_spend": {
        "ko": "같은 기간 매출: 실제 {actual}, 예측 {predicted}.",
        "en": "Spend in the same period: {actual} actual, {predicted} predicted.",
    },
    "diag_none": {
        "ko": "예측 진단을 계산할 수 없습니다: {reason}",
        "en": "The prediction diagnostics cannot be computed: {reason}",
    },
    "diag_cond_exp": {
        "ko": "보정 기간 재구매 횟수별 실제 대 예측 구매",
        "en": "Actual against predicted purchases by repeat purchases before the cutoff",
    },
    "diag_cond_exp_note": {
        "ko": "기준일 전 재구매 횟수가 같은 고객끼리 묶어, 그 뒤 {days}일 동안의 고객당 평균 구매 수를 실제와 모델 예측으로 비교합니다.",
        "en": "Customers grouped by their repeat purchases before the cutoff: their mean purchases in the next {days} days, actual against the model's prediction.",
    },
    "diag_tracking": {"ko": "구매 추적: 실제 대 예측", "en": "Tracking: actual against predicted"},
    "diag_tracking_note": {
        "ko": "기준일 뒤 {unit}마다 실제 구매 수(실선)와 모델이 예측한 구매 수(점선)를 비교하고, 아래 그래프는 그 누적 합계입니다.",
        "en": "Purchases per {unit} after the cutoff, actual (solid) against the model's prediction (dashed); the chart below adds them up.",
    },
    "diag_tracking_weekly": {"ko": "{unit}별 구매 수", "en": "Purchases per {unit}"},
    "diag_tracking_cumulative": {"ko": "누적 구매 수", "en": "Cumulative purchases"},
    "diag_calibration": {"ko": "재구매 확률 보정", "en": "Calibration of P(repurchase)"},
    "diag_calibration_note": {
        "ko": "고객을 예측 재구매 확률 순으로 10개 구간으로 나눠 구간별 평균 예측 확률과 실제 재구매 비율을 비교하며, 점이 대각선에 가까울수록 확률을 그대로 믿을 수 있습니다.",
        "en": "Customers in ten groups by predicted P(repurchase): each group's mean predicted probability against the share that did buy again; the closer the points to the diagonal, the more the probabilities can be taken at face value.",
    },
    "diag_p_alive": {
        "ko": "재구매 횟수 × 최근성별 활동 확률",
        "en": "P(alive) by frequency and recency",
    },
    "diag_alive": {"ko": "활동 확률", "en": "P(alive)"},
    "diag_p_alive_note": {
        "ko": "첫 구매 뒤 {T} 지난 고객이 아직 활동 중일 확률을 재구매 횟수(가로)와 마지막 구매 시점(세로)으로 보여 주며, 자주 그리고 최근에 산 고객일수록 높습니다.",
        "en": "The probability that a customer whose first purchase was {T} ago is still active, by repeat purchases (across) and the time of the last purchase (down): higher for those who bought often and lately.",
    },
    "diag_x_repeat": {"ko": "기준일 전 재구매 횟수", "en": "Repeat purchases before the cutoff"},
    "diag_y_mean_purchases": {"ko": "고객당 평균 구매 수", "en": "Mean purchases per customer"},
    "diag_y_purchases": {"ko": "구매 수", "en": "Purchases"},
    "diag_x_period_end": {"ko": "{unit} (끝나는 날)", "en": "Each {unit}, by its last day"},
    "diag_x_predicted_p": {"ko": "예측 재구매 확률", "en": "Predicted P(repurchase)"},
    "diag_y_observed_p": {"ko": "실제 재구매 비율", "en": "Share that bought again"},
    "diag_x_frequency": {"ko": "재구매 횟수", "en": "Repeat purchases"},
    "diag_y_recency": {
        "ko": "마지막 구매 시점 (첫 구매 후 {unit} 수)",
        "en": "Last purchase ({unit}s after the first)",
    },
    "diag_actual": {"ko": "실제", "en": "Actual"},
    "diag_predicted": {"ko": "예측", "en": "Predicted"},
    "diag_perfect": {"ko": "완전 보정", "en": "Perfectly calibrated"},
    "diag_repeat_purchases": {"ko": "재구매 횟수", "en": "Repeat purchases"},
    "diag_actual_mean": {"ko": "실제 평균 구매", "en": "Actual mean purchases"},
    "diag_predicted_mean": {"ko": "예측 평균 구매", "en": "Predicted mean purchases"},
    "diag_difference": {"ko": "차이 (예측 − 실제)", "en": "Difference (predicted − actual)"},
    "diag_unit_week": {"ko": "주", "en": "week"},
    "diag_unit_day": {"ko": "일", "en": "day"},
    "diag_units_week": {"ko": "{n}주", "en": "{n} weeks"},
    "diag_units_day": {"ko": "{n}일", "en": "{n} days"},
    "footer": {
        "ko": "danggol {version}이 만든 리포트입니다. 모든 수치는 기준일 {as_of}의 데이터에서 계산했습니다.",
        "en": "Made by danggol {version}. Every figure is computed from the data as of {as_of}.",
    },
}


def esc(value: object) -> str:
    """A data value as HTML text (quotes escaped too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def label(key: str, lang: str, **values: object) -> str:
    """``LABELS[key][lang]`` with its ``{fields}`` filled in; the result is *not* escaped."""
    return LABELS[key][lang].format(**values)


# --------------------------------------------------------------------------------------
# numbers as text
# --------------------------------------------------------------------------------------

#: currency → symbol written before the amount (others are written as their code)
CURRENCY_SYMBOLS = {"KRW": "₩", "USD": "$", "EUR": "€", "JPY": "¥", "GBP": "£"}
#: currencies without minor units
ZERO_DECIMALS = {"KRW", "JPY"}


def fmt_int(n: int | float) -> str:
    return f"{n:,.0f}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x * 100:.{digits}f}%"


def fmt_money(value: float, currency: str, lang: str, *, compact: bool = False) -> str:
    """Money as ko-KR writes it: ``₩893,180,940``; compact in Korean units (``8.9억원``,
    ``1,234만원``) or, in English, ``₩893.2M``."""
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    if not compact:
        digits = 0 if currency in ZERO_DECIMALS else 2
        sign = "-" if value < 0 else ""
        return f"{sign}{symbol}{abs(value):,.{digits}f}"
    if lang == "ko" and currency == "KRW":
        if abs(value) >= 1e8:
            return f"{value / 1e8:,.1f}억원"
        if abs(value) >= 1e4:
            return f"{value / 1e4:,.0f}만원"
        return f"{value:,.0f}원"
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{symbol}{value / size:,.1f}{unit}"
    return f"{symbol}{value:,.0f}"


# --------------------------------------------------------------------------------------
# the data
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, computed once by :func:`collect_report`."""

    as_of: dt.date
    compare_to: dt.date
    months: int
    shop_name: str
    currency: str
    summary: dict[str, Any]
    concentration: Concentration
    segment_map: SegmentMap
    grid: list[GridCell]
    prospects: int
    funnel: dict[str, int]
    #: rows of ``stage_shares`` (as_of, stage, customers, share, churn_days)
    stage_shares: list[dict[str, Any]]
    migration: Migration
    #: the last ``months`` cohorts and offsets 0 … months − 1
    cohorts: Cohorts
    affinity: Affinity
    #: the backtest of the purchase model with its diagnostics (``predict.backtest``); None
    #: when it cannot run, ``diagnostics_reason`` saying why
    diagnostics: Backtest | None = None
    diagnostics_reason: str = ""
    #: the same reason in Korean when it is a shop's too short history (else "")
    diagnostics_reason_ko: str = ""


def collect_report(
    ws: Workspace,
    as_of: dt.date,
    *,
    compare_to: dt.date | None = None,
    months: int = 12,
    diagnostics: bool = True,
) -> ReportData:
    """Run every query the report needs, as of ``as_of``.

    ``compare_to`` is the first date of the migration matrix (default: one month before
    ``as_of``); ``months`` is how far back the stage shares go (one bar per month-end
    as-of date) and how many monthly cohorts the heatmap shows. With ``diagnostics`` the
    purchase model is backtested (:func:`prediction_diagnostics`).
    """
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 60:
        raise ConfigError(f"months must be a whole number in [1, 60]; got {months!r}")
    before = shift(as_of, -1, "m") if compare_to is None else compare_to
    if before > as_of:
        raise ConfigError(
            f"the comparison date ({before}) is after the as-of date ({as_of}); give an "
            "earlier --compare-to"
        )
    con = ws.ibis
    profile = scored_profile(con, as_of)
    grid, prospects = rfm_cells(profile)
    dates = [shift(as_of, -k, "m") for k in range(months - 1, -1, -1)]
    return ReportData(
        as_of=as_of,
        compare_to=before,
        months=months,
        shop_name=ws.config.shop_name,
        currency=ws.config.currency,
        summary=shop_summary(ws, as_of),
        concentration=analytics.concentration(con, as_of),
        segment_map=load_segment_map(),
        grid=grid,
        prospects=prospects,
        funnel=stage_counts(profile),
        stage_shares=stage_shares(con, dates).to_pylist(),
        migration=analytics.migration(con, before, as_of, by="rfm_group"),
        cohorts=_last_cohorts(analytics.cohorts(con, as_of), months),
        affinity=analytics.affinity(con, as_of, top=TOP_RULES),
        **(prediction_diagnostics(ws, as_of) if diagnostics else {}),
    )


def prediction_diagnostics(ws: Workspace, as_of: dt.date) -> dict[str, Any]:
    """The backtest the report's diagnostics show: the purchase model of the ``[predictions]``
    settings (with ``auto``, the one the latest refresh used) fitted up to ``as_of`` − horizon
    and scored on the horizon up to ``as_of``, in the settings' time unit. A shop with too little
    history gets no backtest and the reason (``diagnostics_reason``)."""
    from danggol.predict.backtest import backtest
    from danggol.predict.diagnostics import model_to_diagnose

    settings = ws.config.predictions
    days = settings.horizon_days
    try:
        run = backtest(
            ws.ibis,
            cutoff=as_of - dt.timedelta(days=days),
            horizon_days=days,
            model=model_to_diagnose(ws.duck, settings.model),
            time_unit=settings.time_unit,
        )
    except ConfigError as e:
        ko = e.ko if isinstance(e, TooLittleDataError) else ""
        return {"diagnostics": None, "diagnostics_reason": str(e), "diagnostics_reason_ko": ko}
    return {"diagnostics": run, "diagnostics_reason": "", "diagnostics_reason_ko": ""}


def _last_cohorts(co: Cohorts, months: int) -> Cohorts:
    rows = slice(-months, None)

    def cut(matrix: list[list[Any]]) -> list[list[Any]]:
        return [row[:months] for row in matrix[rows]]

    return dataclasses.replace(
        co,
        cohorts=co.cohorts[rows],
        sizes=co.sizes[rows],
        customers=cut(co.customers),
        retention=cut(co.retention),
        orders=cut(co.orders),
        revenue=cut(co.revenue),
    )
