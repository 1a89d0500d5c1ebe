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

from danggol.activation import contacts, exports
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
    "err_input": {"ko": "입력값을 확인하세요.", "en": "Check the input."},
    "n_products": {"ko": "상품 {n}종", "en": "{n} products"},
    "auc_note": {
        "ko": "재구매할 고객을 안 할 고객보다 높게 맞힌 비율 (0.5 = 동전 던지기, 1 = 완벽)",
        "en": "how often a repurchaser ranks above a non-repurchaser (0.5 = a coin toss, 1 = perfect)",
    },
    "mae_note": {
        "ko": "고객 한 명의 예측 구매 횟수가 평균 이만큼 빗나감",
        "en": "per customer, the predicted purchases are off by this much on average",
    },
    "rmse_note": {
        "ko": "큰 오차에 더 무게를 둔 오차",
        "en": "the error with large misses weighing more",
    },
    "correlation_note": {
        "ko": "예측과 실제 구매 횟수가 함께 움직이는 정도 (1 = 완전히)",
        "en": "how closely predicted and actual purchases move together (1 = fully)",
    },
    "backtest_sentence": {
        "ko": "모델이 본 적 없는 {h}일 동안, 재구매할 고객을 {auc}의 확률로 더 높게 골라냈고, 고객당 구매 횟수는 평균 {mae}회 빗나갔습니다 (예측 합계 {p}회, 실제 {a}회).",
        "en": "Over {h} days the model never saw, it ranked a repurchaser above a non-repurchaser {auc} of the time, and missed each customer's number of purchases by {mae} on average ({p} predicted in all, {a} happened).",
    },
    "behaviour": {"ko": "행동 (기간 지정)", "en": "Behaviour (over a period)"},
    "in_period": {"ko": "기간 조건", "en": "over a period"},
    "builder_copy": {"ko": "새 세그먼트: ‘{n}’에서 복사", "en": "New segment: a copy of ‘{n}’"},
    "builder_edit": {"ko": "세그먼트 편집: {n}", "en": "Edit segment: {n}"},
    "copy_note": {
        "ko": "기본 세그먼트는 바뀌지 않습니다. 새 이름으로 저장하면 우리 가게 세그먼트가 됩니다.",
        "en": "The built-in segment stays as it is: saving under a new name makes it one of the shop's segments.",
    },
    "copy_edit": {"ko": "복사해서 편집", "en": "Copy and edit"},
    "save_changes": {"ko": "변경 저장", "en": "Save changes"},
    "campaign_create": {"ko": "캠페인 만들기", "en": "Create campaign"},
    "campaign_name_hint": {
        "ko": "영문 소문자, 숫자, _, - (예: winback_june)",
        "en": "lower-case letters, digits, _ and - (e.g. winback_june)",
    },
    "campaign_new": {"ko": "새 캠페인", "en": "New campaign"},
    "campaign_new_note": {
        "ko": "지금 세그먼트 고객 중 홀드아웃 비율만큼을 무작위로 빼 두고, 측정 기간 동안 발송군과 비교합니다.",
        "en": "The holdout share of the segment's customers is set aside at random now; the treated are compared with them over the window.",
    },
    "goal_of_segment": {"ko": "세그먼트의 목표", "en": "The segment's goal"},
    "holdout_share": {"ko": "홀드아웃 비율 (%)", "en": "Holdout share (%)"},
    "window_days": {"ko": "측정 기간 (일)", "en": "Window (days)"},
    "segment": {"ko": "세그먼트", "en": "Segment"},
    "kpi_conversion_rate": {"ko": "구매 전환율", "en": "Conversion rate"},
    "kpi_revenue_per_customer": {"ko": "고객당 매출", "en": "Revenue per customer"},
    "kpi_aov": {"ko": "객단가", "en": "Average order value"},
    "kpi_orders": {"ko": "고객당 주문 수", "en": "Orders per customer"},
    "verdict_better": {
        "ko": "효과 있음: 발송군이 홀드아웃보다 유의하게 높습니다 (신뢰수준 {l}).",
        "en": "It worked: the treated did significantly better than the holdout (at the {l} level).",
    },
    "verdict_worse": {
        "ko": "역효과: 발송군이 홀드아웃보다 유의하게 낮습니다 (신뢰수준 {l}).",
        "en": "It backfired: the treated did significantly worse than the holdout (at the {l} level).",
    },
    "verdict_none": {
        "ko": "유의한 차이 없음: 차이가 우연일 수 있습니다 (신뢰수준 {l}).",
        "en": "No significant difference: the gap may be chance (at the {l} level).",
    },
    "verdict_unknown": {
        "ko": "아직 판단할 수 없습니다: 비교할 고객이나 구매가 부족합니다.",
        "en": "Too early to tell: not enough customers or purchases to compare.",
    },
    "interval_note": {"ko": "{l} 신뢰구간", "en": "{l} interval"},
    "choose_columns": {"ko": "열 선택", "en": "Columns"},
    "choose_event": {"ko": "이벤트 선택", "en": "Choose an event"},
    "contact": {"ko": "연락처", "en": "Contact"},
    "contact_name": {"ko": "이름", "en": "Name"},
    "contact_email": {"ko": "이메일", "en": "E-mail"},
    "contact_phone": {"ko": "휴대전화", "en": "Phone"},
    "contact_guarded": {
        "ko": "이름·이메일·전화번호는 개인정보라 접근 토큰이 있어야 볼 수 있습니다 (?token=…로 한 번 여세요).",
        "en": "Name, e-mail and phone are personal data: they need the access token (open the page once with ?token=…).",
    },
    "csv_in_words": {"ko": "한글 제목과 값으로", "en": "Headings and values in words"},
    "date_mode": {"ko": "날짜 방식", "en": "Date kind"},
    "date_relative": {"ko": "기준일로부터", "en": "From the as-of date"},
    "destinations": {"ko": "발송 대상 목록 내보내기", "en": "Lists for a destination"},
    "dest_sms": {"ko": "문자 발송 목록", "en": "SMS list"},
    "dest_sms_note": {"ko": "수신 동의한 휴대전화 번호만", "en": "opted-in mobile numbers only"},
    "dest_esp": {"ko": "이메일 발송 목록", "en": "E-mail list"},
    "dest_esp_note": {
        "ko": "수신 동의한 이메일 주소만 (이메일 발송 서비스용)",
        "en": "opted-in addresses only (for an e-mail service)",
    },
    "dest_ads": {"ko": "광고 맞춤 타깃", "en": "Ad audience"},
    "dest_ads_note": {
        "ko": "이메일·전화번호를 해시로 (구글·메타 광고)",
        "en": "hashed e-mails and phones (Google, Meta ads)",
    },
    "dest_parquet": {"ko": "데이터 파일", "en": "Data file"},
    "dest_parquet_note": {
        "ko": "모든 고객, Parquet 형식 (분석용)",
        "en": "every member, as Parquet (for analysis)",
    },
    "did_you_mean": {"ko": "혹시 이것인가요:", "en": "did you mean"},
    "downloaded": {"ko": "내려받았습니다: {f}", "en": "Downloaded: {f}"},
    "preparing": {"ko": "파일을 만드는 중…", "en": "Preparing the file…"},
    "export_written": {
        "ko": "세그먼트 고객 {m}명 중 {w}명을 파일에 담았습니다.",
        "en": "{w} of the segment's {m} customers are in the file.",
    },
    "export_left_out": {"ko": "{n}명은 빠졌습니다. 이유:", "en": "{n} were left out, because:"},
    "export_none_left": {"ko": "빠진 고객이 없습니다.", "en": "Nobody was left out."},
    "err_position": {"ko": "{p}번째 글자", "en": "at character {p}"},
    "err_builtin": {
        "ko": "기본 세그먼트는 덮어쓸 수 없습니다. ‘복사해서 편집’으로 새 이름의 세그먼트를 만드세요.",
        "en": "A built-in segment cannot be replaced: use ‘Copy and edit’ to make a segment with a new name.",
    },
    "err_exists": {
        "ko": "같은 이름의 세그먼트가 이미 있습니다. 다른 이름을 고르세요.",
        "en": "A segment of that name already exists: choose another name.",
    },
    "err_date": {
        "ko": "날짜는 2025-06-30처럼 연-월-일로 적어 주세요.",
        "en": "Write the date as year-month-day, like 2025-06-30.",
    },
    "err_token": {
        "ko": "이 정보는 접근 토큰이 있어야 볼 수 있습니다. 페이지를 ?token=…로 한 번 여세요.",
        "en": "This needs the access token: open the page once with ?token=….",
    },
    "err_not_found": {
        "ko": "찾을 수 없습니다. 이름이나 ID를 확인하세요.",
        "en": "Not found: check the name or the id.",
    },
    "err_segment": {
        "ko": "조건을 읽을 수 없습니다. 표시된 위치를 고치세요.",
        "en": "The condition cannot be read: fix it where marked.",
    },
    "err_busy": {
        "ko": "다른 작업이 진행 중입니다. 잠시 후 다시 시도하세요.",
        "en": "Busy with other work: try again in a moment.",
    },
    "err_conflict": {
        "ko": "이미 갱신이 진행 중입니다. 끝날 때까지 기다리세요.",
        "en": "A refresh is already running: wait for it to finish.",
    },
    "fill_params": {"ko": "값 넣어 만들기", "en": "Fill in to use"},
    "params_title": {"ko": "값을 넣어 새 세그먼트 만들기", "en": "Make a segment from it"},
    "params_note": {
        "ko": "기본 세그먼트는 그대로 두고, 고른 값으로 새 세그먼트를 저장합니다.",
        "en": "The built-in stays as it is; the values you choose are saved as a new segment.",
    },
    "make_segment": {"ko": "새 세그먼트로 저장", "en": "Save as a new segment"},
    "new_name": {"ko": "새 세그먼트 이름", "en": "Name of the new segment"},
    "group_op": {"ko": "묶음 방식", "en": "How the group combines"},
    "in_korean": {"ko": "한국어", "en": "Korean"},
    "in_english": {"ko": "영어", "en": "English"},
    "in_no_segment": {"ko": "지금 속한 세그먼트가 없습니다.", "en": "In no segment now."},
    "segments_live": {
        "ko": "기본 제공과 저장한 세그먼트를 지금 기준으로 계산했습니다.",
        "en": "Built-in and saved segments, computed now.",
    },
    "list_hint": {
        "ko": "쉼표로 구분 (예: 서울특별시, 부산광역시)",
        "en": "comma-separated (e.g. Seoul, Busan)",
    },
    "negate": {"ko": "아님", "en": "not"},
    "of_customers": {"ko": "전체 고객의 {p}", "en": "{p} of customers"},
    "predictions_note": {
        "ko": "확률은 %로, 괄호 안은 구간입니다 (있을 때).",
        "en": "Probabilities in %; ranges in brackets when known.",
    },
    "refunded": {"ko": "환불", "en": "refunded"},
    "search_people": {
        "ko": "이름, 이메일, 전화번호, 고객 ID로 검색",
        "en": "Search name, e-mail, phone or id",
    },
    "sec_purchases": {"ko": "구매", "en": "Purchases"},
    "sec_person": {"ko": "고객 정보", "en": "About"},
    "sec_scores": {"ko": "점수", "en": "Scores"},
    "sec_activity": {"ko": "활동", "en": "Activity"},
    "sec_events": {"ko": "행동 이벤트", "en": "Events"},
    "times": {"ko": "{n}회", "en": "{n}×"},
    "unit": {"ko": "단위", "en": "Unit"},
    "model_bgnbd": {"ko": "BG/NBD", "en": "BG/NBD"},
    "model_mbgnbd": {"ko": "MBG/NBD", "en": "MBG/NBD"},
    "model_pareto_nbd": {"ko": "Pareto/NBD", "en": "Pareto/NBD"},
    "pick_products": {"ko": "상품 검색", "en": "Search products"},
    "pick_categories": {"ko": "카테고리 검색", "en": "Search categories"},
    "pick_customer_regions": {"ko": "지역 선택", "en": "Choose a region"},
    "pick_customer_cities": {"ko": "도시 선택", "en": "Choose a city"},
    "pick_customer_countries": {"ko": "국가 선택", "en": "Choose a country"},
    "pick_customer_tags": {"ko": "태그 선택", "en": "Choose a tag"},
    "pick_signup_channel": {"ko": "가입 경로 선택", "en": "Choose a channel"},
    "param_product": {"ko": "상품", "en": "Product"},
    "param_product_a": {"ko": "상품 A (구매함)", "en": "Product A (bought)"},
    "param_product_b": {"ko": "상품 B (구매하지 않음)", "en": "Product B (not bought)"},
    "param_category": {"ko": "카테고리", "en": "Category"},
    "param_region": {"ko": "지역 (시/도)", "en": "Region"},
    "param_months": {"ko": "기간 (개월)", "en": "Period (months)"},
    "param_days": {"ko": "기간 (일)", "en": "Period (days)"},
    "param_min_orders": {"ko": "최소 주문 횟수", "en": "At least this many orders"},
    "param_min_refunds": {"ko": "최소 환불 횟수", "en": "At least this many refunds"},
    "param_min_price": {"ko": "최소 단가 (원)", "en": "Unit price at least"},
    "param_threshold": {"ko": "기준 금액 (원)", "en": "Threshold amount"},
    "param_max_p_alive": {"ko": "활성 확률 상한 (0–1)", "en": "Probability active at most (0–1)"},
    "param_min_probability": {
        "ko": "재구매 확률 하한 (0–1)",
        "en": "Repurchase probability at least (0–1)",
    },
    "param_factor": {"ko": "구매 주기 배수", "en": "Cycle multiple"},
    "param_give_up": {"ko": "포기 배수", "en": "Give-up multiple"},
    "param_new_days": {"ko": "신규 기간 (일)", "en": "New for (days)"},
    "param_min_days": {"ko": "첫 구매 후 최소 경과일", "en": "Days since first order at least"},
    "type_number": {"ko": "숫자", "en": "number"},
    "type_integer": {"ko": "정수", "en": "whole number"},
    "type_date": {"ko": "날짜", "en": "date"},
    "type_text": {"ko": "글자", "en": "text"},
    "type_enum": {"ko": "선택", "en": "choice"},
    "type_boolean": {"ko": "예/아니오", "en": "yes/no"},
    "type_tags": {"ko": "태그", "en": "tags"},
    "op_eq": {"ko": "같음", "en": "is"},
    "op_ne": {"ko": "같지 않음", "en": "is not"},
    "op_gt": {"ko": "초과", "en": "more than"},
    "op_ge": {"ko": "이상", "en": "at least"},
    "op_lt": {"ko": "미만", "en": "less than"},
    "op_le": {"ko": "이하", "en": "at most"},
    "op_between": {"ko": "사이", "en": "between"},
    "op_not_between": {"ko": "사이 아님", "en": "not between"},
    "op_in": {"ko": "중 하나", "en": "one of"},
    "op_not_in": {"ko": "어느 것도 아님", "en": "none of"},
    "op_contains": {"ko": "포함", "en": "contains"},
    "op_not_contains": {"ko": "포함하지 않음", "en": "does not contain"},
    "op_null": {"ko": "값 없음", "en": "is empty"},
    "op_not_null": {"ko": "값 있음", "en": "is known"},
    "op_date_eq": {"ko": "그날", "en": "on"},
    "op_date_gt": {"ko": "이후 (그날 제외)", "en": "after"},
    "op_date_ge": {"ko": "이후 (그날 포함)", "en": "on or after"},
    "op_date_lt": {"ko": "이전", "en": "before"},
    "op_date_le": {"ko": "까지 (그날 포함)", "en": "on or before"},
    "ago_before_ge": {"ko": "최근", "en": "within the last"},
    "ago_after_ge": {"ko": "이내", "en": ""},
    "ago_before_gt": {"ko": "최근", "en": "within the last"},
    "ago_after_gt": {"ko": "이내 (그날 제외)", "en": "(not that day)"},
    "ago_before_lt": {"ko": "", "en": ""},
    "ago_after_lt": {"ko": "전보다 이전", "en": "ago or longer"},
    "ago_before_le": {"ko": "", "en": ""},
    "ago_after_le": {"ko": "전 또는 그 이전", "en": "ago or earlier"},
    "ago_before_eq": {"ko": "", "en": ""},
    "ago_after_eq": {"ko": "전 그날", "en": "ago, that day"},
    "ago_before_ne": {"ko": "", "en": ""},
    "ago_after_ne": {"ko": "전", "en": "ago"},
    "ago_before_between": {"ko": "", "en": ""},
    "ago_after_between": {"ko": "전", "en": "ago"},
    "ago_before_not_between": {"ko": "", "en": ""},
    "ago_after_not_between": {"ko": "전", "en": "ago"},
    "ago_before_in": {"ko": "", "en": ""},
    "ago_after_in": {"ko": "전", "en": "ago"},
    "ago_before_not_in": {"ko": "", "en": ""},
    "ago_after_not_in": {"ko": "전", "en": "ago"},
    "ago_before_contains": {"ko": "", "en": ""},
    "ago_after_contains": {"ko": "전", "en": "ago"},
    "ago_before_not_contains": {"ko": "", "en": ""},
    "ago_after_not_contains": {"ko": "전", "en": "ago"},
    "ago_before_null": {"ko": "", "en": ""},
    "ago_after_null": {"ko": "전", "en": "ago"},
    "ago_before_not_null": {"ko": "", "en": ""},
    "ago_after_not_null": {"ko": "전", "en": "ago"},
}


#: why a destination export left a customer out (``activation.exports``), in words
EXPORT_REASONS: dict[str, dict[str, str]] = {
    exports.OPTED_OUT: {"ko": "마케팅 수신 미동의", "en": "not opted in to marketing"},
    exports.DUPLICATE: {
        "ko": "앞 고객과 같은 주소·번호",
        "en": "same address as an earlier customer",
    },
    contacts.NO_PHONE: {"ko": "휴대전화 번호 없음", "en": "no phone number"},
    contacts.BAD_PHONE: {"ko": "국내 휴대전화 번호가 아님", "en": "not a Korean mobile number"},
    contacts.NO_EMAIL: {"ko": "이메일 주소 없음", "en": "no e-mail address"},
    contacts.BAD_EMAIL: {"ko": "올바르지 않은 이메일 주소", "en": "e-mail address is not valid"},
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
