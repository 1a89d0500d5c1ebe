"""The demo shop's words and rates: categories, names, regions, channels, the activity
curves and the parameters of the purchase process."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR
KST_OFFSET_US = 9 * US_PER_HOUR
TS_TYPE = pa.timestamp("us", tz="UTC")

# --------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(","))


@dataclass(frozen=True)
class _Category:
    name: str
    products: int
    #: price range in won
    low: int
    high: int
    #: share of order lines by popularity
    share: float
    #: product names are "adjective noun"
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]


# fmt: off
CATEGORIES = (
    _Category("의류", 70, 12_900, 189_000, 0.22,
              _words("베이직, 오버핏, 린넨, 코튼, 캐시미어, 스트라이프, 데일리, 슬림핏, 와이드, 크롭"),
              _words("티셔츠, 맨투맨, 후드티, 셔츠, 블라우스, 니트, 가디건, 청바지, 슬랙스, 원피스, "
                     "스커트, 자켓, 코트, 패딩")),
    _Category("신발", 30, 29_000, 259_000, 0.08,
              _words("데일리, 쿠션, 경량, 가죽, 캔버스, 방수, 키높이, 러닝"),
              _words("스니커즈, 로퍼, 슬립온, 샌들, 슬리퍼, 운동화, 부츠, 구두")),
    _Category("가방", 25, 19_900, 390_000, 0.06,
              _words("미니, 캔버스, 가죽, 나일론, 데일리, 빅, 퀼팅, 여행용"),
              _words("크로스백, 백팩, 토트백, 숄더백, 에코백, 파우치, 캐리어, 클러치")),
    _Category("뷰티", 55, 5_900, 89_000, 0.20,
              _words("수분, 진정, 비타민, 시카, 어성초, 히알루론, 쌀, 녹차"),
              _words("토너, 세럼, 크림, 선크림, 클렌징폼, 마스크팩 10매, 립밤, 앰플, 쿠션")),
    _Category("식품", 55, 5_900, 59_000, 0.18,
              _words("제주, 유기농, 국내산, 저당, 고단백, 무첨가, 수제, 프리미엄"),
              _words("현미밥, 닭가슴살, 견과류, 그래놀라, 김치, 단백질 쉐이크, 생수 2L 12입, "
                     "원두커피, 녹차 티백, 샐러드, 한우 불고기")),
    _Category("생활용품", 40, 5_900, 79_000, 0.13,
              _words("대용량, 무향, 친환경, 항균, 접이식, 스테인리스, 실리콘, 순면"),
              _words("세탁세제, 주방세제, 물티슈 10팩, 수건 세트, 휴지 30롤, 밀폐용기, 텀블러, "
                     "칫솔 세트, 수납함")),
    _Category("디지털", 25, 9_900, 390_000, 0.06,
              _words("무선, 블루투스, 고속충전, 휴대용, 미니, 게이밍, 노이즈캔슬링, 스마트"),
              _words("이어폰, 보조배터리, 충전기, 키보드, 마우스, 스피커, 스마트워치, 케이블, 거치대")),
    _Category("도서", 30, 9_900, 38_000, 0.07,
              _words("여행, 요리, 경제, 심리, 역사, 파이썬, 마케팅, 육아, 영어, 과학"),
              _words("에세이, 입문서, 실전 가이드, 그림책, 문제집, 소설, 교양서")),
)
# fmt: on
CATEGORY_NAMES = tuple(c.name for c in CATEGORIES)
CATEGORY_SHARES = [c.share for c in CATEGORIES]
#: categories whose products are re-bought on a cycle
CONSUMABLES = (CATEGORY_NAMES.index("뷰티"), CATEGORY_NAMES.index("식품"))

#: the 20 commonest Korean surnames, their usual romanisation and share (%)
SURNAMES = _words("김, 이, 박, 최, 정, 강, 조, 윤, 장, 임, 한, 오, 서, 신, 권, 황, 안, 송, 전, 홍")
SURNAMES_ROMAN = _words(
    "kim, lee, park, choi, jung, kang, cho, yoon, jang, lim, han, oh, seo, shin, kwon, hwang, "
    "ahn, song, jeon, hong"
)
SURNAME_SHARES = [21.6, 14.8, 8.5, 4.7, 4.3, 2.4, 2.1, 2.1, 2.0, 1.7]
SURNAME_SHARES += [1.5, 1.5, 1.5, 1.5, 1.4, 1.4, 1.4, 1.4, 1.1, 1.1]
FEMALE_NAMES = _words(
    "서연, 지우, 서윤, 민서, 하은, 지민, 수빈, 예은, 지현, 은지, 민지, 유진, "
    "수연, 하윤, 지아, 채원, 다은, 소연, 혜진, 지은, 미영, 정희, 영숙, 현정"
)
FEMALE_ROMAN = _words(
    "seoyeon, jiwoo, seoyun, minseo, haeun, jimin, subin, yeeun, jihyun, eunji, minji, yujin, "
    "suyeon, hayun, jia, chaewon, daeun, soyeon, hyejin, jieun, miyoung, junghee, youngsook, "
    "hyunjung"
)
MALE_NAMES = _words(
    "민준, 서준, 도윤, 예준, 시우, 하준, 지호, 주원, 지훈, 현우, 준서, 건우, "
    "우진, 민재, 성민, 동현, 재현, 영수, 정훈, 상철, 성호, 준호, 태윤, 승현"
)
MALE_ROMAN = _words(
    "minjun, seojun, doyun, yejun, siwoo, hajun, jiho, juwon, jihoon, hyunwoo, junseo, gunwoo, "
    "woojin, minjae, sungmin, donghyun, jaehyun, youngsoo, junghoon, sangchul, sungho, junho, "
    "taeyoon, seunghyun"
)
EMAIL_DOMAINS = _words("naver.com, gmail.com, daum.net, kakao.com, hanmail.net, nate.com")
EMAIL_SHARES = [0.45, 0.30, 0.09, 0.08, 0.05, 0.03]
#: 시/도, population (10k, 2024) and some of its cities / 구
# fmt: off
REGIONS = (
    ("서울특별시", 936, _words("강남구, 서초구, 송파구, 마포구, 영등포구, 관악구, 노원구, 강서구, "
                           "성동구, 용산구")),
    ("경기도", 1363, _words("수원시, 성남시, 고양시, 용인시, 부천시, 화성시, 안산시, 남양주시, "
                         "안양시, 평택시")),
    ("부산광역시", 329, _words("해운대구, 부산진구, 동래구, 사하구, 수영구")),
    ("대구광역시", 237, _words("수성구, 달서구, 북구, 중구")),
    ("인천광역시", 300, _words("연수구, 남동구, 부평구, 서구, 미추홀구")),
    ("광주광역시", 142, _words("서구, 북구, 광산구")),
    ("대전광역시", 144, _words("유성구, 서구, 중구")),
    ("울산광역시", 110, _words("남구, 중구, 울주군")),
    ("세종특별자치시", 39, _words("세종시")),
    ("강원특별자치도", 152, _words("춘천시, 원주시, 강릉시")),
    ("충청북도", 159, _words("청주시, 충주시, 제천시")),
    ("충청남도", 213, _words("천안시, 아산시, 당진시, 서산시")),
    ("전북특별자치도", 174, _words("전주시, 익산시, 군산시")),
    ("전라남도", 180, _words("여수시, 순천시, 목포시")),
    ("경상북도", 255, _words("포항시, 구미시, 경주시, 안동시")),
    ("경상남도", 323, _words("창원시, 김해시, 양산시, 진주시")),
    ("제주특별자치도", 67, _words("제주시, 서귀포시")),
)
# fmt: on
#: share of customers abroad, and where
FOREIGN_SHARE = 0.03
FOREIGN_COUNTRIES = _words("US, JP, CN, VN, CA, AU")
FOREIGN_CITIES = _words("Los Angeles, Tokyo, Shanghai, Ho Chi Minh City, Toronto, Sydney")
SIGNUP_CHANNELS = _words("organic, naver, kakao, instagram, google, referral")
SIGNUP_SHARES = [0.30, 0.25, 0.15, 0.12, 0.10, 0.08]
DEVICES = ("web", "mobile", "app")
TAG_NAMES = ("vip", "newsletter", "wholesale", "kakao_channel", "employee")

#: KST hour-of-day activity (index 0 = 00:00–00:59 KST)
HOURLY = np.array(
    [
        0.55,
        0.35,
        0.18,
        0.10,
        0.07,
        0.08,
        0.15,
        0.35,
        0.60,
        0.90,
        1.10,
        1.20,
        1.45,
        1.35,
        1.10,
        1.05,
        1.05,
        1.10,
        1.20,
        1.35,
        1.60,
        1.85,
        1.80,
        1.20,
    ]
)
#: Monday first
WEEKDAY = np.array([1.06, 1.00, 1.00, 0.98, 0.92, 0.94, 1.10])
MONTHLY = np.array([1.00, 0.90, 1.00, 0.95, 1.00, 0.95, 0.95, 0.90, 1.00, 1.05, 1.30, 1.15])
#: sign-ups roughly this many times more in each later year
SIGNUP_GROWTH = 1.5

# Purchase process (rates are per activity day, ≈ per calendar day).
P_NEVER_BUY = 0.30
P_SAME_SESSION = 0.45
FIRST_DELAY_MEDIAN_DAYS = 14.0
P_ONE_AND_DONE = 0.30
MEAN_RATE = 0.15
RATE_SHAPE = 6.0
#: the dropout probability after each repeat purchase varies widely between customers
#: (mean 1/21; a tenth of customers below 0.013, a tenth above 0.092), as in the BG/NBD model
DROPOUT_BETA = (2.0, 40.0)
P_REPLENISHER = 0.2
REPLENISH_SHAPE = 8.0
#: how much cheaper (in price quantile per e-fold of expected purchases) frequent buyers shop
AFFINITY_SLOPE = 0.2
AFFINITY_BETA = 3.0

#: lines per order (1–4)
LINES_P = np.array([0.30, 0.30, 0.22, 0.18])
FREE_SHIPPING_FROM = 50_000.0
SHIPPING_FEE = 3_000.0
STATUS_P = {
    "paid": 0.91,
    "partially_refunded": 0.02,
    "refunded": 0.03,
    "cancelled": 0.03,
    "failed": 0.01,
}
#: code, kind (pct / fixed / ship), amount, cap, minimum subtotal, share of coupon orders
COUPONS = (
    ("WELCOME10", "pct", 0.10, 10_000.0, 0.0, 0.0),
    ("APP3000", "fixed", 3_000.0, 3_000.0, 20_000.0, 0.30),
    ("SALE5000", "fixed", 5_000.0, 5_000.0, 50_000.0, 0.30),
    ("FREESHIP", "ship", 0.0, SHIPPING_FEE, 0.0, 0.25),
    ("BDAY20", "pct", 0.20, 20_000.0, 0.0, 0.05),
    ("VIP15", "pct", 0.15, 30_000.0, 100_000.0, 0.10),
)
