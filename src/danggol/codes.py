"""Names of the codes the data carries — gender, channels, order statuses, event names,
subscription, grade changes — in Korean and English, by the column they are found in.

A base module (like ``schema``): the segment wording (``segments.explain``) and the dashboard
(``web.words``) both read it, so a code has one name everywhere. A code not listed is
shown as it came (a shop's own channel or event name).

>>> VALUES["status"]["refunded"]["ko"], name_of("gender", "female", "en"), name_of("gender", "x", "ko")
('환불', 'Female', 'x')
"""

from __future__ import annotations

#: names of the codes the data itself carries (order status, channels, event names …), by the
#: column they are found in; a code not listed is shown as it came
VALUES: dict[str, dict[str, dict[str, str]]] = {
    "gender": {
        "female": {"ko": "여성", "en": "Female"},
        "male": {"ko": "남성", "en": "Male"},
        "other": {"ko": "기타", "en": "Other"},
    },
    "email_subscription_status": {
        "subscribed": {"ko": "수신 동의", "en": "Subscribed"},
        "not_subscribed": {"ko": "수신 미동의", "en": "Not subscribed"},
    },
    "account_status": {
        "enabled": {"ko": "계정 활성", "en": "Enabled"},
        "disabled": {"ko": "계정 없음", "en": "Disabled"},
        "invited": {"ko": "가입 초대됨", "en": "Invited"},
        "declined": {"ko": "초대 거절", "en": "Declined"},
    },
    "signup_channel": {
        "organic": {"ko": "직접 방문", "en": "Organic"},
        "naver": {"ko": "네이버", "en": "Naver"},
        "google": {"ko": "구글", "en": "Google"},
        "kakao": {"ko": "카카오", "en": "Kakao"},
        "instagram": {"ko": "인스타그램", "en": "Instagram"},
        "facebook": {"ko": "페이스북", "en": "Facebook"},
        "referral": {"ko": "추천", "en": "Referral"},
        "email": {"ko": "이메일", "en": "E-mail"},
        "ads": {"ko": "광고", "en": "Ads"},
    },
    "channel": {
        "web": {"ko": "PC 웹", "en": "Web"},
        "mobile": {"ko": "모바일 웹", "en": "Mobile web"},
        "app": {"ko": "앱", "en": "App"},
        "store": {"ko": "오프라인 매장", "en": "Store"},
    },
    "status": {
        "paid": {"ko": "결제 완료", "en": "Paid"},
        "partially_refunded": {"ko": "부분 환불", "en": "Partly refunded"},
        "refunded": {"ko": "환불", "en": "Refunded"},
        "cancelled": {"ko": "취소", "en": "Cancelled"},
        "failed": {"ko": "결제 실패", "en": "Payment failed"},
    },
    "event": {
        "visit": {"ko": "방문", "en": "Visit"},
        "product_view": {"ko": "상품 조회", "en": "Product view"},
        "cart_add": {"ko": "장바구니 담기", "en": "Added to cart"},
        "checkout_start": {"ko": "결제 시작", "en": "Checkout started"},
        "coupon_claim": {"ko": "쿠폰 받기", "en": "Coupon claimed"},
        "ad_click": {"ko": "광고 클릭", "en": "Ad click"},
        "email_subscribe": {"ko": "수신 동의", "en": "Subscribed to e-mail"},
        "email_unsubscribe": {"ko": "수신 거부", "en": "Unsubscribed from e-mail"},
        "referral": {"ko": "친구 추천", "en": "Referral"},
        "review": {"ko": "리뷰 작성", "en": "Review"},
        "social_engage": {"ko": "SNS 반응", "en": "Social engagement"},
        "trial_start": {"ko": "체험 시작", "en": "Trial started"},
        "subscription_start": {"ko": "정기구독 시작", "en": "Subscription started"},
        "subscription_cancel": {"ko": "정기구독 해지", "en": "Subscription cancelled"},
        "subscription_fail": {"ko": "정기결제 실패", "en": "Subscription payment failed"},
        "wishlist_add": {"ko": "찜하기", "en": "Wishlist"},
        "search": {"ko": "검색", "en": "Search"},
    },
    "change": {
        "new": {"ko": "신규", "en": "new"},
        "upgrade": {"ko": "승급", "en": "upgrade"},
        "downgrade": {"ko": "강등", "en": "downgrade"},
        "same": {"ko": "유지", "en": "same"},
    },
}

#: query fields whose values are these codes, by the column they read
FIELD_COLUMNS = {
    "gender": "gender",
    "signup_channel": "signup_channel",
    "customer_account_status": "account_status",
}


def name_of(column: str, code: str, lang: str) -> str:
    """The code's name in ``lang``, or the code itself when it has none."""
    return VALUES.get(column, {}).get(code, {}).get(lang, code)
