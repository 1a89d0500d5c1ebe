"""Every word of the dashboard, in Korean and English: one table the page loads from the API.

The report's words (``report_data.LABELS``) and the dashboard's own (:data:`UI`) are one
vocabulary: a key is defined in one place only (a test checks that the two tables share no
key), and :func:`ui_words` hands both to the page. :data:`VALUES` names the codes stored in the
data (gender, channels, order statuses, event names, subscription, grade changes …) next to
the library's own names for stages, reasons, tiers, RFM groups, grades and VIP clusters.

>>> words = ui_words()
>>> words["ko"]["revenue"], words["en"]["nav_builder"]
('매출', 'Segment builder')
>>> value_words()["gender"]["male"]
{'ko': '남성', 'en': 'Male'}
"""

from __future__ import annotations

from typing import Any

from danggol.codes import VALUES
from danggol.outputs.report_data import LABELS

#: the dashboard's words that the report does not use, ``UI[key][lang]``; ``{name}`` fields
#: are filled by the page
UI: dict[str, dict[str, str]] = {
    "brand": {"ko": "단골", "en": "danggol"},
    "nav_overview": {"ko": "개요", "en": "Overview"},
    "nav_segments": {"ko": "세그먼트", "en": "Segments"},
    "nav_builder": {"ko": "세그먼트 만들기", "en": "Segment builder"},
    "nav_predictions": {"ko": "예측", "en": "Predictions"},
    "lang_switch": {"ko": "English", "en": "한국어"},
    "nav_campaigns": {"ko": "캠페인", "en": "Campaigns"},
    "campaigns_title": {
        "ko": "캠페인 (홀드아웃 대비 성과)",
        "en": "Campaigns (against their holdout)",
    },
    "no_campaigns": {
        "ko": "아직 캠페인이 없습니다. 아래에서 만드세요.",
        "en": "No campaign yet: create one below.",
    },
    "campaign": {"ko": "캠페인", "en": "Campaign"},
    "kpi_name": {"ko": "KPI", "en": "KPI"},
    "window": {"ko": "측정 기간", "en": "Window"},
    "treated": {"ko": "발송군", "en": "Treated"},
    "holdout": {"ko": "홀드아웃", "en": "Holdout"},
    "difference": {"ko": "차이", "en": "Difference"},
    "relative_uplift": {"ko": "상대 향상", "en": "Relative uplift"},
    "interval": {"ko": "신뢰구간", "en": "Interval"},
    "p_value": {"ko": "p-값", "en": "p-value"},
    "incremental_revenue": {"ko": "증분 매출", "en": "Incremental revenue"},
    "window_open": {"ko": "측정 중 (데이터: {d}까지)", "en": "still measuring (data up to {d})"},
    "export_for": {"ko": "내보내기:", "en": "Export for:"},
    "as_of": {"ko": "기준일 {d}", "en": "As of {d}"},
    "last_refresh": {"ko": "최근 갱신 {d}", "en": "Last refresh {d}"},
    "no_refresh": {"ko": "아직 갱신하지 않았습니다", "en": "Not refreshed yet"},
    "refresh": {"ko": "지금 갱신", "en": "Refresh now"},
    "refreshing": {"ko": "갱신 중…", "en": "Refreshing…"},
    "refresh_done": {"ko": "갱신 완료 ({s}초)", "en": "Refreshed ({s} s)"},
    "loading": {"ko": "불러오는 중…", "en": "Loading…"},
    "error": {"ko": "오류", "en": "Error"},
    "retry": {"ko": "다시 시도", "en": "Retry"},
    "aov": {"ko": "객단가", "en": "Average order value"},
    "orders": {"ko": "주문", "en": "Orders"},
    "prospects_note": {
        "ko": "구매 이력이 없는 미구매 가입자 {n}명은 격자에 없습니다.",
        "en": "The {n} prospects without a purchase are not on the grid.",
    },
    "segments_title": {"ko": "세그먼트", "en": "Segments"},
    "builtin": {"ko": "기본 제공", "en": "built-in"},
    "saved": {"ko": "저장됨", "en": "saved"},
    "new_segment": {"ko": "새 세그먼트", "en": "New segment"},
    "size": {"ko": "고객 수", "en": "Customers"},
    "share_customers": {"ko": "고객 비중", "en": "Share of customers"},
    "share_revenue": {"ko": "매출 비중", "en": "Revenue share"},
    "trend": {"ko": "추이", "en": "Trend"},
    "needs": {"ko": "필요한 값: {p}", "en": "Needs: {p}"},
    "shop_segments": {"ko": "우리 가게 세그먼트", "en": "The shop's segments"},
    "library": {"ko": "기본 세그먼트 (목표별)", "en": "Built-in segments by goal"},
    "name": {"ko": "이름", "en": "Name"},
    "description": {"ko": "설명", "en": "Description"},
    "goal": {"ko": "목표", "en": "Goal"},
    "words": {"ko": "조건", "en": "Conditions"},
    "size_over_time": {"ko": "고객 수 추이", "en": "Size over time"},
    "entered": {"ko": "들어옴", "en": "Entered"},
    "left": {"ko": "나감", "en": "Left"},
    "last_change": {
        "ko": "최근 갱신에서 {e}명 들어오고 {l}명 나갔습니다",
        "en": "At the last refresh {e} entered and {l} left",
    },
    "members": {"ko": "고객 목록", "en": "Members"},
    "search": {"ko": "고객 ID 검색", "en": "Search customer id"},
    "export": {"ko": "CSV 내보내기", "en": "Export CSV"},
    "sql": {"ko": "SQL 보기", "en": "Show SQL"},
    "page": {"ko": "{p} / {n} 쪽", "en": "Page {p} of {n}"},
    "prev": {"ko": "이전", "en": "Previous"},
    "next": {"ko": "다음", "en": "Next"},
    "edit": {"ko": "빌더에서 편집", "en": "Edit in builder"},
    "delete": {"ko": "삭제", "en": "Delete"},
    "confirm_delete": {
        "ko": "세그먼트 \u2018{n}\u2019을(를) 삭제할까요?",
        "en": "Delete the segment \u2018{n}\u2019?",
    },
    "deleted": {"ko": "삭제했습니다", "en": "Deleted"},
    "no_members": {"ko": "해당 고객이 없습니다.", "en": "No customers."},
    "builder_title": {"ko": "세그먼트 만들기", "en": "Segment builder"},
    "all": {"ko": "모두 만족 (AND)", "en": "All of (AND)"},
    "any": {"ko": "하나 이상 만족 (OR)", "en": "Any of (OR)"},
    "not": {"ko": "아님 (NOT)", "en": "Not (NOT)"},
    "add_condition": {"ko": "+ 조건", "en": "+ Condition"},
    "add_group": {"ko": "+ 그룹", "en": "+ Group"},
    "remove": {"ko": "삭제", "en": "Remove"},
    "field": {"ko": "항목", "en": "Field"},
    "operator": {"ko": "연산", "en": "Operator"},
    "value": {"ko": "값", "en": "Value"},
    "live_count": {"ko": "현재 조건의 고객 수", "en": "Customers matching now"},
    "counting": {"ko": "세는 중…", "en": "Counting…"},
    "query_text": {"ko": "쿼리 (직접 고쳐도 됩니다)", "en": "Query (you can edit it too)"},
    "apply_query": {"ko": "쿼리 적용", "en": "Apply query"},
    "save": {"ko": "저장", "en": "Save"},
    "save_segment": {"ko": "세그먼트 저장", "en": "Save segment"},
    "saved_ok": {"ko": "저장했습니다: {n}", "en": "Saved: {n}"},
    "name_hint": {
        "ko": "영문 소문자, 숫자, _ (예: vip_seoul)",
        "en": "lower-case letters, digits and _ (e.g. vip_seoul)",
    },
    "replace": {"ko": "같은 이름이 있으면 덮어쓰기", "en": "Overwrite a segment of that name"},
    "ago": {"ko": "전", "en": "ago"},
    "days": {"ko": "일", "en": "days"},
    "weeks": {"ko": "주", "en": "weeks"},
    "months": {"ko": "개월", "en": "months"},
    "years": {"ko": "년", "en": "years"},
    "date_exact": {"ko": "날짜 지정", "en": "Exact date"},
    "pick_product": {"ko": "상품 검색", "en": "Search products"},
    "pick_category": {"ko": "카테고리 검색", "en": "Search categories"},
    "since": {"ko": "기간", "en": "Period"},
    "any_time": {"ko": "전체 기간", "en": "All time"},
    "percentile_hint": {
        "ko": "백분위 (0–100, 80 = 상위 20%)",
        "en": "percentile (0–100, 80 = top 20%)",
    },
    "raw": {"ko": "직접 입력", "en": "Free text"},
    "yes": {"ko": "예", "en": "yes"},
    "no": {"ko": "아니오", "en": "no"},
    "and_between": {"ko": "~", "en": "and"},
    "customer": {"ko": "고객", "en": "Customer"},
    "profile": {"ko": "프로필", "en": "Profile"},
    "scores": {"ko": "점수", "en": "Scores"},
    "grade": {"ko": "등급", "en": "Grade"},
    "stage": {"ko": "라이프사이클", "en": "Lifecycle"},
    "rfm_group": {"ko": "RFM 그룹", "en": "RFM group"},
    "predictions": {"ko": "예측", "en": "Predictions"},
    "timeline": {"ko": "타임라인", "en": "Timeline"},
    "order": {"ko": "주문", "en": "Order"},
    "event": {"ko": "이벤트", "en": "Event"},
    "in_segments": {"ko": "속한 세그먼트", "en": "Segments"},
    "explain": {"ko": "세그먼트 포함 여부 설명", "en": "Why in or out of a segment"},
    "choose_segment": {"ko": "세그먼트 선택", "en": "Choose a segment"},
    "in": {"ko": "포함", "en": "IN"},
    "out": {"ko": "제외", "en": "OUT"},
    "grades": {"ko": "등급 이력", "en": "Grade history"},
    "value_was": {"ko": "값: {v}", "en": "value: {v}"},
    "predictions_title": {"ko": "예측", "en": "Predictions"},
    "backtest": {
        "ko": "백테스트 (모델이 보지 못한 기간으로 검증)",
        "en": "Backtest (checked on a period the model never saw)",
    },
    "backtest_note": {
        "ko": "{c}까지의 데이터로 학습하고, 이후 {h}일 동안의 실제 구매와 비교했습니다 (모델 {m}).",
        "en": "Fitted on the data up to {c} and compared with the purchases of the next {h} days (model {m}).",
    },
    "auc": {"ko": "AUC (재구매 여부)", "en": "AUC (repurchase)"},
    "mae": {"ko": "MAE (구매 횟수)", "en": "MAE (purchases)"},
    "rmse": {"ko": "RMSE", "en": "RMSE"},
    "correlation": {"ko": "상관계수", "en": "Correlation"},
    "actual_total": {"ko": "실제 구매 횟수", "en": "Actual purchases"},
    "predicted_total": {"ko": "예측 구매 횟수", "en": "Predicted purchases"},
    "brier": {"ko": "Brier 점수", "en": "Brier score"},
    "calibration": {
        "ko": "보정 (예측 확률 구간별 실제 재구매율)",
        "en": "Calibration (observed repurchase rate per predicted probability bin)",
    },
    "predicted": {"ko": "예측", "en": "Predicted"},
    "observed": {"ko": "실제", "en": "Observed"},
    "no_predictions": {
        "ko": "프로필에 예측 열이 아직 없습니다. 예측을 포함한 갱신 후에 여기에 나타납니다.",
        "en": "The profile has no prediction columns yet; they appear here after a refresh that stores predictions.",
    },
    "top_predicted": {
        "ko": "예측 가치 상위 고객",
        "en": "Customers with the highest predicted value",
    },
    "average": {"ko": "평균", "en": "Average"},
    "grid_members": {
        "ko": "RFM R{r} · FM{fm} ({g}) 고객",
        "en": "Customers in RFM R{r} · FM{fm} ({g})",
    },
    "query_members": {"ko": "쿼리 결과 고객", "en": "Customers matching the query"},
    "open_builder": {"ko": "빌더에서 열기", "en": "Open in builder"},
    "stage_funnel": {"ko": "라이프사이클 단계별 고객", "en": "Customers per lifecycle stage"},
    "stage_shares": {
        "ko": "단계 비중 추이 (월말 기준)",
        "en": "Stage shares over time (month ends)",
    },
    "rfm_click_note": {
        "ko": "칸을 누르면 그 칸의 고객 목록이 열립니다. R = 최근성, FM = 빈도·금액.",
        "en": "Click a cell to list its customers. R = recency, FM = frequency·monetary.",
    },
    "seg_title": {"ko": "제목", "en": "Title"},
    "query_label": {"ko": "쿼리", "en": "Query"},
    "nothing": {"ko": "없음", "en": "none"},
}


def ui_words() -> dict[str, dict[str, str]]:
    """``{lang: {key: words}}``: the report's words and the dashboard's, for the page."""
    table = {**LABELS, **UI}
    return {lang: {k: v[lang] for k, v in table.items()} for lang in ("ko", "en")}


def value_words() -> dict[str, dict[str, dict[str, str]]]:
    """``{column: {code: {"ko", "en"}}}``: the data's codes (:data:`VALUES`) and the library's
    own names for lifecycle stages and reasons, tiers, RFM groups, grades and VIP clusters."""
    from danggol.predict.clusters import NAMES, TYPICAL
    from danggol.scores.grades import TIER_LABELS, load_grade_rules
    from danggol.scores.lifecycle import REASON_LABELS, STAGE_LABELS
    from danggol.scores.rfm import load_segment_map

    smap = load_segment_map()
    grades = load_grade_rules()
    words: dict[str, dict[str, dict[str, Any]]] = {k: dict(v) for k, v in VALUES.items()}
    words.update(
        rfm_group={k: {"ko": smap.label(k, "ko"), "en": smap.label(k, "en")} for k in smap.keys},
        lifecycle_stage=STAGE_LABELS,
        lifecycle_reason=REASON_LABELS,
        spend_tier=TIER_LABELS,
        frequency_tier=TIER_LABELS,
        grade={k: {"ko": grades.label(k, "ko"), "en": grades.label(k, "en")} for k in grades.keys},
        vip_cluster={c.key: {"ko": c.ko, "en": c.en} for c in (*NAMES, TYPICAL)},
    )
    words["order_status"] = words["status"]
    words["order_channel"] = words["channel"]
    return words
