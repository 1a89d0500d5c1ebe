"""A generated Korean online shop: the four canonical tables, fast and deterministic.

``generate_shop`` builds customers, orders, order lines and behaviour events for a shop in
Asia/Seoul with numpy array operations only (no Python loop runs per customer, order or
event), so a million customers (≈10M orders, ≈22M order lines, ≈31M events) take under a
minute on two cores.

The generative model
--------------------
*Clock.* Activity follows an hourly weight over the whole period: a KST hour-of-day curve
(quiet at night, peaks at lunch and 20–23 h), weekday and month factors and sale days
(11월 11일, the last week of November). Cumulating the weights gives "activity days"; a
uniform draw in activity days, mapped back through the cumulative curve, lands on a real
instant with that seasonality. Purchases and browsing are simulated in activity days.

*Customers.* Sign-ups grow by half each year (same hourly curve). Each customer gets
demographics (성+이름, age 18–70, 시/도 by population), a signup channel and latent traits:
a favourite category, a price affinity, a preferred device and an engagement level.

*Purchases (BG/NBD-like).* 30% never buy (with late sign-ups, ~32% have no order). Buyers
order first in the signup session or after a log-normal delay. Then 30% drop out at once
(one-time buyers); the others buy as a Poisson process whose rate is gamma distributed
across customers, and drop out after each repeat purchase with a probability that differs
widely between customers (Beta(2, 40), mean 1/21): some leave after a few orders, a few
stay for years. That spread is what the BG/NBD model's Beta(a, b) describes, so a BG/NBD
fit of the shop has a finite optimum (a ≈ 2.3, b ≈ 46 at 100,000 customers); with
nearly the same dropout probability for everyone, the fitted a and b would run off
towards infinity. A fifth of repeat buyers are *replenishers* of a 식품/뷰티 staple who
reorder on a near-regular 2–5 week cycle (gamma gaps). Frequent buyers (by expected
purchases: rate × purchases until dropout) lean to cheaper consumables; with the spread
of tenures this puts ~45% of paid revenue in the top 10% of buying customers.

*Baskets.* 1–4 lines; each line's category is the customer's favourite or a popular one,
the product a bestseller or one at the customer's price affinity; some lines are on sale.
Shipping is 3,000 won below 50,000 won, coupons give discounts, and statuses are mostly
``paid`` with refunds, partial refunds, cancellations and failed payments.

*Events.* Every order has a visit minutes before it and partly tracked product_view,
cart_add and checkout_start steps; customers also browse without buying (abandoned carts
and checkouts) while active and for a while after their last order; anonymous visitors
browse; and there are e-mail sign-ups, ad clicks, social engagement, coupon claims,
reviews, referrals and a small paid membership (trial, start, failed payment, cancel).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from danggol.schema import EVENT_NAMES, ORDER_STATUSES, PURCHASE_STATUSES, TABLES

__all__ = ["generate_shop"]

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

# --------------------------------------------------------------------------------------
# Small array helpers
# --------------------------------------------------------------------------------------

_DIGITS4 = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)


def _fixed_strings(n: int, *parts: str | tuple[np.ndarray, int]) -> pa.StringArray:
    """Strings of one width from literal parts and zero-padded numbers, without Python per row.

    Each row is written into an ``n × width`` byte matrix (digits four at a time through a
    lookup table) that becomes the data buffer of an Arrow string array as it is.
    """
    widths = [len(p.encode()) if isinstance(p, str) else p[1] for p in parts]
    row = sum(widths)
    buf = np.empty((n, row), dtype=np.uint8)
    col = 0
    for part, width in zip(parts, widths, strict=True):
        if isinstance(part, str):
            buf[:, col : col + width] = np.frombuffer(part.encode(), dtype=np.uint8)
        else:
            value = np.asarray(part[0], dtype=np.int64)
            stop = col + width
            while stop > col:
                start = max(col, stop - 4)
                buf[:, start:stop] = _DIGITS4[value % 10_000][:, 4 - (stop - start) :]
                value = value // 10_000
                stop = start
        col += width
    return pa.StringArray.from_buffers(n, _offsets(n, row), pa.py_buffer(buf))


def _numbered(prefix: str, n: int, width: int) -> pa.StringArray:
    """``prefix`` + 1 … n zero-padded to ``width``: the fast path for sequential ids.

    Rows are written in blocks of 10,000 (numbers 0 … 9999 of a block share their higher
    digits), so every digit group is a broadcast copy instead of a per-row gather.
    """
    p = prefix.encode()
    lp, row = len(p), len(p) + width
    blocks = (n + 1 + 9_999) // 10_000  # numbers 0 … n, row 0 dropped below
    buf = np.empty((blocks, 10_000, row), dtype=np.uint8)
    buf[:, :, :lp] = np.frombuffer(p, dtype=np.uint8)
    block = np.arange(blocks, dtype=np.int64)
    stop = row
    while stop > lp:
        start = max(lp, stop - 4)
        if stop == row:  # the lowest four digits repeat in every block
            buf[:, :, start:stop] = _DIGITS4[None, :, 4 - (stop - start) :]
        else:
            buf[:, :, start:stop] = _DIGITS4[block % 10_000][:, None, 4 - (stop - start) :]
            block = block // 10_000
        stop = start
    data = buf.reshape(-1)[row : (n + 1) * row]
    return pa.StringArray.from_buffers(n, _offsets(n, row), pa.py_buffer(data))


def _offsets(n: int, row: int) -> pa.Buffer:
    """int32 offsets of n strings of ``row`` bytes (an Arrow ``string`` holds < 2 GiB)."""
    if n * row >= 2**31:
        raise ValueError(
            f"{n:,} strings of {row} bytes exceed one Arrow string array; "
            "generate fewer customers (a few million at most)"
        )
    return pa.py_buffer(np.arange(0, (n + 1) * row, row, dtype=np.int32))


def _digits(count: int) -> int:
    return len(str(max(count, 1)))


def _take(values: pa.Array, index: np.ndarray) -> pa.Array:
    """``values[index]`` with null where ``index < 0``."""
    return values.take(pa.array(index, mask=index < 0))


def _choice(rng: np.random.Generator, weights: np.ndarray | list[float], n: int) -> np.ndarray:
    """n indices drawn with the given (unnormalised) weights."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    drawn = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    return np.minimum(drawn, len(cdf) - 1).astype(np.int32)


def _segment_rank(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each run of ``counts`` (the flattened position inside its segment)."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def _segment_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each segment of ``counts`` (empty segments allowed)."""
    total = np.cumsum(values)
    before = np.concatenate(([0.0], total))[np.cumsum(counts) - counts]
    return total - np.repeat(before, counts)


def _minutes(rng: np.random.Generator, mean: float, n: int, least: float = 0.0) -> np.ndarray:
    """Exponential durations in µs (a minimum plus an exponential of ``mean`` minutes)."""
    return ((least + rng.exponential(mean, n)) * US_PER_MINUTE).astype(np.int64)


# --------------------------------------------------------------------------------------
# Clock
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    """The period as hours from a KST midnight, with cumulative activity and sign-up curves."""

    start_us: int
    end_us: int
    n_days: int
    #: cumulative activity at each hour edge, in activity days (ends at ``n_days``)
    activity: np.ndarray
    #: cumulative sign-up weight at each hour edge, ends at 1
    signups: np.ndarray

    @property
    def end_lam(self) -> float:
        return float(self.activity[-1])

    def time_at(self, lam: np.ndarray) -> np.ndarray:
        """µs instants of activity-day positions (clamped to the period)."""
        hours = np.interp(lam, self.activity, np.arange(len(self.activity), dtype=np.float64))
        return self.start_us + (hours * US_PER_HOUR).astype(np.int64)

    def lam_at(self, t_us: np.ndarray) -> np.ndarray:
        hours = (t_us - self.start_us) / US_PER_HOUR
        return np.interp(hours, np.arange(len(self.activity), dtype=np.float64), self.activity)

    def sample_signups(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n sorted sign-up instants following the growing sign-up curve."""
        hour = np.searchsorted(self.signups, rng.random(n), side="right") - 1
        hour = np.clip(hour, 0, len(self.signups) - 2)
        t = self.start_us + hour * US_PER_HOUR + rng.integers(0, US_PER_HOUR, n)
        t = np.minimum(t, self.end_us)
        t.sort()
        return t


def _make_clock(end: dt.date, years: float) -> _Clock:
    n_days = max(1, round(years * 365.25))
    first = end - dt.timedelta(days=n_days - 1)
    epoch = dt.date(1970, 1, 1)
    # midnight KST is 15:00 UTC of the day before
    start_us = (first - epoch).days * US_PER_DAY - KST_OFFSET_US
    end_us = start_us + n_days * US_PER_DAY - 1

    days = np.datetime64(first.isoformat(), "D") + np.arange(n_days)
    month_start = days.astype("datetime64[M]")
    month = month_start.astype(np.int64) % 12
    day_of_month = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    daily = MONTHLY[month] * WEEKDAY[weekday]
    # 11.11 and the last week of November ("블랙프라이데이") are the big sale days
    daily = daily * np.where((month == 10) & (day_of_month == 11), 2.2, 1.0)
    daily = daily * np.where((month == 10) & (day_of_month >= 24), 1.3, 1.0)

    hourly = (daily[:, None] * HOURLY[None, :]).ravel()
    activity = np.concatenate(([0.0], np.cumsum(hourly)))
    activity *= n_days / activity[-1]

    growth = np.exp(np.log(SIGNUP_GROWTH) * np.arange(n_days) / 365.25)
    signup_w = ((growth * np.sqrt(daily))[:, None] * HOURLY[None, :]).ravel()
    signups = np.concatenate(([0.0], np.cumsum(signup_w)))
    signups /= signups[-1]
    return _Clock(start_us, end_us, n_days, activity, signups)


# --------------------------------------------------------------------------------------
# Catalogue
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Catalogue:
    """Products ordered by category, then price; ``cat_start``/``cat_size`` index the blocks."""

    product_id: pa.Array
    name: pa.Array
    category: np.ndarray  # int8 per product
    price: np.ndarray  # float64 won
    cat_start: np.ndarray
    cat_size: np.ndarray
    #: per category block, product positions from best to least selling
    bestsellers: np.ndarray


def _round_price(raw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shop-like prices: mostly ``…,900`` won, otherwise a round hundred."""
    nine = np.ceil(raw / 1000.0) * 1000.0 - 100.0
    hundred = np.round(raw / 100.0) * 100.0
    return np.where(rng.random(len(raw)) < 0.7, nine, hundred)


def _make_catalogue(rng: np.random.Generator) -> _Catalogue:
    names: list[str] = []
    cats: list[np.ndarray] = []
    prices: list[np.ndarray] = []
    best: list[np.ndarray] = []
    for c, spec in enumerate(CATEGORIES):
        size, low, high = spec.products, spec.low, spec.high
        combos = [f"{a} {b}" for a in spec.adjectives for b in spec.nouns]
        picked = rng.choice(len(combos), size=size, replace=False)
        # most products sit in the cheaper part of the range, a few are premium
        raw = np.exp(np.log(low) + np.log(high / low) * rng.beta(1.2, 2.6, size))
        price = np.clip(_round_price(raw, rng), low, high)
        order = np.argsort(price, kind="stable")
        names.extend(combos[i] for i in picked[order])
        prices.append(price[order])
        cats.append(np.full(size, c, dtype=np.int8))
        best.append(rng.permutation(size))
    sizes = np.array([c.products for c in CATEGORIES], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    n = int(sizes.sum())
    # ids are not in category order, as in a real catalogue that grew over time
    numbers = rng.permutation(n) + 1
    return _Catalogue(
        product_id=_fixed_strings(n, "P", (numbers, max(4, _digits(n)))),
        name=pa.array(names, pa.string()),
        category=np.concatenate(cats),
        price=np.concatenate(prices),
        cat_start=starts,
        cat_size=sizes,
        bestsellers=np.concatenate(best),
    )


# --------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------


@dataclass
class _People:
    """Per-customer attributes and latent traits, customers in sign-up order."""

    signup_us: np.ndarray
    signup_lam: np.ndarray
    channel: np.ndarray
    opt_in: np.ndarray
    device: np.ndarray
    fav: np.ndarray
    affinity: np.ndarray
    rate: np.ndarray
    p_drop: np.ndarray
    one_and_done: np.ndarray
    replenisher: np.ndarray
    staple: np.ndarray
    wholesale: np.ndarray
    engagement: np.ndarray
    columns: dict[str, pa.Array] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.signup_us)


def _name_columns(rng: np.random.Generator, n: int, gender: np.ndarray) -> dict[str, pa.Array]:
    """name, email and phone of each customer."""
    given = FEMALE_NAMES + MALE_NAMES
    given_roman = FEMALE_ROMAN + MALE_ROMAN
    n_f, n_given = len(FEMALE_NAMES), len(given)
    surname = _choice(rng, SURNAME_SHARES, n)
    first = rng.integers(0, len(FEMALE_NAMES), n)
    first = np.where(gender == 1, first + n_f, first)
    other = gender >= 2
    first[other] = rng.integers(0, n_given, int(other.sum()))
    combo = surname.astype(np.int64) * n_given + first
    full_names = pa.array([s + g for s in SURNAMES for g in given], pa.string())
    locals_ = pa.array([g + s for s in SURNAMES_ROMAN for g in given_roman], pa.string())

    # a bijection of the row number keeps e-mails and phones unique without a check
    mod = 10 ** max(4, _digits(n))
    number = (np.arange(n, dtype=np.int64) * 7_919 + 1_234) % mod
    domain = _choice(rng, EMAIL_SHARES, n)
    email = pc.binary_join_element_wise(
        locals_.take(combo),
        pc.cast(pa.array(number), pa.string()),
        "@",
        pa.array(EMAIL_DOMAINS).take(domain),
        "",
    )
    phone_no = (np.arange(n, dtype=np.int64) * 48_271 + 31_415_926) % 100_000_000
    phone = _fixed_strings(n, "010-", (phone_no // 10_000, 4), "-", (phone_no % 10_000, 4))
    email = pc.if_else(pa.array(rng.random(n) < 0.02), pa.scalar(None, pa.string()), email)
    phone = pc.if_else(pa.array(rng.random(n) < 0.05), pa.scalar(None, pa.string()), phone)
    return {"name": full_names.take(combo), "email": email, "phone": phone}


def _place_columns(rng: np.random.Generator, n: int) -> tuple[dict[str, pa.Array], np.ndarray]:
    """country, region and city; also whether the customer lives in Korea."""
    countries: list[str] = []
    regions: list[str | None] = []
    cities: list[str] = []
    weights: list[float] = []
    for region, pop, towns in REGIONS:
        urban = 1.1 if region in ("서울특별시", "경기도") else 1.0  # online shoppers skew urban
        for town in towns:
            countries.append("KR")
            regions.append(region)
            cities.append(town)
            weights.append((1 - FOREIGN_SHARE) * urban * pop / len(towns))
    kr_total = sum(weights)
    for country, town in zip(FOREIGN_COUNTRIES, FOREIGN_CITIES, strict=True):
        countries.append(country)
        regions.append(None)
        cities.append(town)
        weights.append(kr_total * FOREIGN_SHARE / (1 - FOREIGN_SHARE) / len(FOREIGN_CITIES))
    place = _choice(rng, weights, n)
    n_kr = sum(len(r[2]) for r in REGIONS)
    cols = {
        "country": pa.array(countries, pa.string()).take(place),
        "region": pa.array(regions, pa.string()).take(place),
        "city": pa.array(cities, pa.string()).take(place),
    }
    return cols, place < n_kr


def _make_people(rng: np.random.Generator, n: int, clock: _Clock, cat: _Catalogue) -> _People:
    signup_us = clock.sample_signups(rng, n)
    signup_lam = clock.lam_at(signup_us)

    gender = _choice(rng, [0.56, 0.41, 0.01, 0.02], n)  # female, male, other, not given
    age = 18.0 + 52.0 * rng.beta(2.2, 4.0, n)
    channel = _choice(rng, SIGNUP_SHARES, n).astype(np.int8)
    opt_in = rng.random(n) < 0.6
    # older customers use the web more, the rest mostly phones
    p_web = np.where(age > 50, 0.35, 0.15)
    u = rng.random(n)
    device = np.where(u < p_web, 0, np.where(u < p_web + 0.45, 1, 2)).astype(np.int8)

    # latent purchase traits (see the module docstring)
    rate = rng.gamma(RATE_SHAPE, MEAN_RATE / RATE_SHAPE, n)
    p_drop = rng.beta(*DROPOUT_BETA, n)
    one_and_done = rng.random(n) < P_ONE_AND_DONE
    replenisher = ~one_and_done & (rng.random(n) < P_REPLENISHER)
    # frequent buyers fill cheaper baskets (groceries, refills): keeps revenue less skewed;
    # "frequent" = expected purchases (rate × purchases until dropout) against a typical one
    busy = rate / MEAN_RATE * (DROPOUT_BETA[0] / sum(DROPOUT_BETA) / p_drop)
    affinity = rng.beta(AFFINITY_BETA, AFFINITY_BETA, n) - AFFINITY_SLOPE * np.log(busy)
    cycle = rng.uniform(14.0, 35.0, n)  # days between refills of a consumable
    rate = np.where(replenisher, 1.0 / cycle, rate)
    affinity = np.where(replenisher, affinity - 0.1, affinity)
    fav = _choice(rng, CATEGORY_SHARES, n).astype(np.int8)
    consumable = np.asarray(CONSUMABLES, dtype=np.int8)
    # frequent buyers tend to be grocery and beauty shoppers, as do all replenishers
    grocer = replenisher | (rng.random(n) < np.minimum(0.6, 0.25 * busy))
    fav = np.where(grocer, consumable[rng.integers(0, 2, n)], fav)
    # a staple product in the cheaper two thirds of the favourite category
    staple = cat.cat_start[fav] + (rng.random(n) * cat.cat_size[fav] * 0.66).astype(np.int64)
    staple = np.where(replenisher, staple, -1)
    affinity = np.clip(affinity, 0.02, 0.98).astype(np.float32)
    wholesale = rng.random(n) < 0.003
    engagement = rng.gamma(2.0, 0.5, n)

    columns = _name_columns(rng, n, gender)
    places, in_korea = _place_columns(rng, n)
    columns.update(places)
    columns["phone"] = pc.if_else(
        pa.array(in_korea), columns["phone"], pa.scalar(None, pa.string())
    )
    signup_day = (signup_us + KST_OFFSET_US) // US_PER_DAY
    birth = (signup_day - (age * 365.25).astype(np.int64)).astype(np.int32)
    columns["gender"] = _take(
        pa.array(["female", "male", "other"]), np.where(gender < 3, gender, -1)
    )
    columns["birth_date"] = pa.array(birth, mask=rng.random(n) < 0.06).view(pa.date32())
    columns["signup_channel"] = pa.array(SIGNUP_CHANNELS).take(channel)
    columns["marketing_opt_in"] = pa.array(opt_in)
    return _People(
        signup_us,
        signup_lam,
        channel,
        opt_in,
        device,
        fav,
        affinity,
        rate,
        p_drop,
        one_and_done,
        replenisher,
        staple,
        wholesale,
        engagement,
        columns,
    )


# --------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------


@dataclass
class _Orders:
    """Order-level arrays in chronological order, plus per-customer summaries."""

    cust: np.ndarray
    t_us: np.ndarray
    seq: np.ndarray
    #: per customer: number of orders, activity day of the first and last order
    count: np.ndarray
    first_lam: np.ndarray
    last_lam: np.ndarray


def _purchase_times(rng: np.random.Generator, people: _People, clock: _Clock) -> _Orders:
    """When every customer orders: a first order, then a BG/NBD-like repeat process."""
    n = people.n
    end_lam = clock.end_lam
    never = rng.random(n) < P_NEVER_BUY
    same_session = rng.random(n) < P_SAME_SESSION
    later_lam = people.signup_lam + rng.lognormal(np.log(FIRST_DELAY_MEDIAN_DAYS), 1.2, n)
    first_us = np.where(
        same_session,
        people.signup_us + _minutes(rng, 18.0, n, least=1.0),
        clock.time_at(np.minimum(later_lam, end_lam)),
    )
    buys = ~never & (first_us <= clock.end_us) & (same_session | (later_lam <= end_lam))
    first_lam = clock.lam_at(first_us)

    # repeat purchases: at most the dropout count, cut at the end of the period; the number
    # drawn per customer is capped well above what the window can hold to bound the work
    dropout = rng.geometric(people.p_drop)
    window = np.maximum(end_lam - first_lam, 0.0)
    expected = people.rate * window
    cap = np.ceil(expected + 4.0 * np.sqrt(expected) + 3.0).astype(np.int64)
    drawn = np.where(buys & ~people.one_and_done, np.minimum(dropout, cap), 0)
    owner = np.repeat(np.arange(n, dtype=np.int32), drawn)
    gaps = rng.standard_exponential(len(owner))
    regular = people.replenisher[owner]
    gaps[regular] = rng.standard_gamma(REPLENISH_SHAPE, int(regular.sum())) / REPLENISH_SHAPE
    gaps /= people.rate[owner]
    rep_lam = first_lam[owner] + _segment_cumsum(gaps, drawn)
    kept = rep_lam <= end_lam
    repeats = np.bincount(owner[kept], minlength=n)

    # customer-major layout: each customer's first order, then the repeats in time order
    count = buys.astype(np.int64) + repeats
    start = np.cumsum(count) - count
    total = int(count.sum())
    cust = np.repeat(np.arange(n, dtype=np.int32), count)
    t_us = np.empty(total, dtype=np.int64)
    t_us[start[buys]] = first_us[buys]
    rep_pos = start[owner[kept]] + 1 + _segment_rank(drawn)[kept]
    t_us[rep_pos] = np.minimum(clock.time_at(rep_lam[kept]), clock.end_us)
    seq = _segment_rank(count).astype(np.int32)
    last = np.where(count > 0, t_us[np.maximum(start + count - 1, 0)] if total else 0, 0)

    chrono = np.argsort(t_us, kind="stable")
    return _Orders(
        cust=cust[chrono],
        t_us=t_us[chrono],
        seq=seq[chrono],
        count=count,
        first_lam=np.where(buys, first_lam, np.nan),
        last_lam=np.where(count > 0, clock.lam_at(last), np.nan),
    )


@dataclass
class _Lines:
    order: np.ndarray  # chronological order index of each line
    line_no: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    first_line: np.ndarray  # per order: index of its first line


def _make_lines(
    rng: np.random.Generator, orders: _Orders, people: _People, cat: _Catalogue
) -> _Lines:
    # int32/float32 temporaries and early ``del``s keep a 25M-line basket within memory
    n_orders = len(orders.cust)
    per_order = (_choice(rng, LINES_P, n_orders) + 1).astype(np.int64)
    order = np.repeat(np.arange(n_orders, dtype=np.int32), per_order)
    line_no = _segment_rank(per_order).astype(np.int32)
    n_lines = len(order)
    cust = orders.cust[order]

    # category: the favourite one or any by popularity
    popular = _choice(rng, CATEGORY_SHARES, n_lines).astype(np.int8)
    category = np.where(rng.random(n_lines, dtype=np.float32) < 0.55, people.fav[cust], popular)
    del popular
    start = cat.cat_start.astype(np.int32)[category]
    size = cat.cat_size.astype(np.int32)[category]
    del category
    # product: a bestseller (Zipf-like rank) or one at the customer's price affinity; the
    # line number shifts the position so lines of one order rarely repeat a product
    rank = (size * rng.random(n_lines, dtype=np.float32) ** 3).astype(np.int32)
    best = cat.bestsellers.astype(np.int32)[start + np.minimum(rank, size - 1)]
    del rank
    q = people.affinity[cust] + rng.normal(0.0, 0.18, n_lines).astype(np.float32)
    pos = (np.clip(q, 0.0, 0.999) * size).astype(np.int32)
    del q
    pos += line_no
    pos %= size
    del size
    product = start + np.where(rng.random(n_lines, dtype=np.float32) < 0.35, best, pos)
    del start, best, pos
    # replenishers' orders start with their staple product
    staple = people.staple.astype(np.int32)[cust]
    refill = (line_no == 0) & (staple >= 0) & (rng.random(n_lines, dtype=np.float32) < 0.9)
    product = np.where(refill, staple, product)
    del staple

    quantity = _quantities(rng, cat.category[product], people.wholesale[cust], refill)
    del refill, cust
    # a few lines on sale at 10–30% off
    price = cat.price[product]
    off = rng.integers(1, 4, n_lines, dtype=np.int8)
    off[rng.random(n_lines, dtype=np.float32) >= 0.12] = 0
    sale = np.flatnonzero(off)
    price[sale] = np.round(price[sale] * (1.0 - 0.1 * off[sale]) / 100.0) * 100.0
    first_line = np.cumsum(per_order) - per_order
    return _Lines(order, line_no, product, quantity, price, first_line)


def _quantities(
    rng: np.random.Generator, category: np.ndarray, wholesale: np.ndarray, refill: np.ndarray
) -> np.ndarray:
    """Mostly 1; consumables more often 2–3; wholesale buyers 3–10."""
    n = len(category)
    u = rng.random(n, dtype=np.float32)
    consumable = np.isin(category, CONSUMABLES) | refill
    p2 = np.where(consumable, np.float32(0.28), np.float32(0.10))
    p3 = np.where(consumable, np.float32(0.10), np.float32(0.03))
    quantity = 1 + (u < p2).astype(np.int64) + (u < p3) + (u < 0.01)
    bulk = np.flatnonzero(wholesale)
    quantity[bulk] = rng.integers(3, 11, len(bulk))
    return quantity


@dataclass
class _Money:
    subtotal: np.ndarray
    shipping: np.ndarray
    discount: np.ndarray
    coupon: np.ndarray  # index into COUPONS or -1
    total: np.ndarray
    status: np.ndarray  # index into ORDER_STATUSES
    refunded: np.ndarray
    channel: np.ndarray


def _make_money(
    rng: np.random.Generator, orders: _Orders, lines: _Lines, people: _People
) -> _Money:
    n = len(orders.cust)
    line_value = lines.quantity * lines.unit_price
    subtotal = np.bincount(lines.order, weights=line_value, minlength=n)
    shipping = np.where(subtotal < FREE_SHIPPING_FROM, SHIPPING_FEE, 0.0)

    device = people.device[orders.cust]
    channel = np.where(rng.random(n) < 0.8, device, rng.integers(0, 3, n)).astype(np.int8)
    coupon = _choice(rng, [c[5] for c in COUPONS], n)
    coupon = np.where(rng.random(n) < 0.10, coupon, -1)
    welcome = (orders.seq == 0) & (rng.random(n) < 0.35)
    coupon = np.where(welcome, 0, coupon)
    coupon = np.where((coupon == 1) & (channel != 2), -1, coupon)  # APP3000 only in the app

    kind = np.array([c[1] for c in COUPONS])
    amount = np.array([c[2] for c in COUPONS])
    cap = np.array([c[3] for c in COUPONS])
    minimum = np.array([c[4] for c in COUPONS])
    k = np.maximum(coupon, 0)
    pct_off = np.minimum(np.floor(subtotal * amount[k] / 10.0) * 10.0, cap[k])
    discount = np.select(
        [kind[k] == "pct", kind[k] == "fixed", kind[k] == "ship"], [pct_off, amount[k], shipping]
    )
    usable = (coupon >= 0) & (subtotal >= minimum[k]) & (discount > 0)
    coupon = np.where(usable, coupon, -1).astype(np.int8)
    discount = np.where(usable, np.minimum(discount, subtotal), 0.0)
    total = subtotal + shipping - discount

    status = _choice(rng, [STATUS_P[s] for s in ORDER_STATUSES], n).astype(np.int8)
    # a partial refund is a returned line when there are several, else part of the order
    last_line = line_value[lines.first_line + np.maximum(_order_sizes(lines, n) - 1, 0)]
    several = _order_sizes(lines, n) > 1
    fraction = np.round(total * rng.uniform(0.2, 0.6, n) / 10.0) * 10.0
    partial = np.where(several & (last_line < total), last_line, fraction)
    partial = np.clip(partial, 10.0, total - 10.0)
    refunded = np.select(
        [
            status == ORDER_STATUSES.index("refunded"),
            status == ORDER_STATUSES.index("partially_refunded"),
        ],
        [total, partial],
        0.0,
    )
    return _Money(subtotal, shipping, discount, coupon, total, status, refunded, channel)


def _purchased(status: np.ndarray) -> np.ndarray:
    """Whether each order counts as a purchase (paid or partially refunded)."""
    return np.isin(status, [ORDER_STATUSES.index(s) for s in PURCHASE_STATUSES])


def _order_sizes(lines: _Lines, n_orders: int) -> np.ndarray:
    return np.diff(np.append(lines.first_line, len(lines.order)))[:n_orders]


# --------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------

EV = {name: i for i, name in enumerate(EVENT_NAMES)}
VISIT_SOURCES = ("direct", "naver", "kakao", "instagram", "google", "email", "push")
AD_NETWORKS = ("naver", "kakao", "instagram", "google", "youtube")
AD_CAMPAIGNS = ("brand", "retargeting", "seasonal_sale")
SOCIAL = (("instagram", "like"), ("instagram", "share"), ("kakao", "share"), ("youtube", "comment"))
PLANS = (("monthly", 4_900.0), ("yearly", 49_000.0))
CANCEL_REASONS = ("too_expensive", "not_using", "other")


def _json(obj: dict[str, object]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class _Props:
    """The JSON property strings events share, and their codes."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.visit = self._add([{"source": s} for s in VISIT_SOURCES])
        self.ad = self._add(
            [{"network": n, "campaign": c} for n in AD_NETWORKS for c in AD_CAMPAIGNS]
        )
        self.social = self._add([{"platform": p, "action": a} for p, a in SOCIAL])
        self.coupon = self._add([{"coupon_code": c[0]} for c in COUPONS])
        self.plan = self._add([{"plan": p} for p, _ in PLANS])
        self.fail = self._add([{"plan": p, "reason": "card_declined"} for p, _ in PLANS])
        self.cancel = self._add(
            [{"plan": p, "reason": r} for p, _ in PLANS for r in CANCEL_REASONS]
        )
        self.newsletter = self._add([{"list": "newsletter"}])[0]
        self.array = pa.array(self.texts, pa.string())

    def _add(self, objs: list[dict[str, object]]) -> np.ndarray:
        first = len(self.texts)
        self.texts.extend(_json(o) for o in objs)
        return np.arange(first, len(self.texts), dtype=np.int16)


_EMPTY = np.empty(0)


@dataclass
class _EventParts:
    """Events collected as blocks of arrays; ``arg`` carries an order or customer index."""

    parts: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def add(
        self,
        cust: np.ndarray,
        event: str,
        t_us: np.ndarray,
        *,
        product: np.ndarray | None = None,
        value: np.ndarray | None = None,
        prop: np.ndarray | int | None = None,
        arg: np.ndarray | None = None,
    ) -> None:
        n = len(t_us)
        if n == 0:
            return
        self.parts.append(
            (
                np.asarray(cust, dtype=np.int32),
                np.full(n, EV[event], dtype=np.int8),
                np.asarray(t_us, dtype=np.int64),
                np.full(n, -1, np.int32) if product is None else product.astype(np.int32),
                np.full(n, np.nan, np.float32) if value is None else value.astype(np.float32),
                np.broadcast_to(np.asarray(-1 if prop is None else prop, np.int16), (n,)),
                np.full(n, -1, np.int32) if arg is None else arg.astype(np.int32),
            )
        )

    def concat(self) -> list[np.ndarray]:
        """The seven columns, each part's arrays released as soon as they are copied."""
        parts = [list(p) for p in self.parts]
        self.parts.clear()
        cols = []
        for i in range(7):
            cols.append(np.concatenate([p[i] for p in parts]))
            for p in parts:
                p[i] = _EMPTY
        return cols


def _spread(
    rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` uniform activity days in ``[lo[i], hi[i]]``: (owner, position)."""
    owner = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    lam = lo[owner] + rng.random(len(owner)) * (hi - lo)[owner]
    return owner, lam


def _funnel_events(
    rng: np.random.Generator,
    ev: _EventParts,
    orders: _Orders,
    lines: _Lines,
    money: _Money,
    props: _Props,
) -> None:
    """Each order's session: visit → product_view → cart_add → checkout_start, minutes before."""
    n = len(orders.cust)
    idx = np.arange(n)
    first = lines.first_line
    product = lines.product[first]
    checkout = orders.t_us - _minutes(rng, 1.5, n, least=0.3)
    cart = checkout - _minutes(rng, 4.0, n, least=0.3)
    view = cart - _minutes(rng, 2.0, n, least=0.2)
    visit = view - _minutes(rng, 1.0, n, least=0.1)
    # tracking is partial (app deep links, "buy now"), which keeps ~2 events per order
    source = props.visit[_choice(rng, [4, 3, 1, 1, 1, 0.5, 0.5], n)]
    ev.add(orders.cust, "visit", visit, prop=source)
    for name, t, share in (
        ("product_view", view, 0.12),
        ("cart_add", cart, 0.3),
        ("checkout_start", checkout, 0.35),
    ):
        who = idx[rng.random(n) < share]
        ev.add(
            orders.cust[who],
            name,
            t[who],
            product=None if name == "checkout_start" else product[who],
            value=lines.unit_price[first][who] if name == "cart_add" else None,
        )

    # reviews of an eighth of the purchases, days later (the rating in ``value``)
    bought = _purchased(money.status)
    reviewed = idx[bought & (rng.random(n) < 0.12)]
    rating = _choice(rng, [0.03, 0.04, 0.10, 0.28, 0.55], len(reviewed)) + 1
    ev.add(
        orders.cust[reviewed],
        "review",
        orders.t_us[reviewed] + ((3.0 + rng.exponential(5.0, len(reviewed))) * US_PER_DAY),
        product=product[reviewed],
        value=rating,
        arg=reviewed,
    )

    # coupon claims shortly before a coupon order (the welcome coupon is claimed at sign-up)
    used = idx[money.coupon > 0]
    ev.add(
        orders.cust[used],
        "coupon_claim",
        orders.t_us[used] - _minutes(rng, 24 * 60.0, len(used), least=10.0),
        prop=props.coupon[money.coupon[used]],
    )


def _browse_events(
    rng: np.random.Generator,
    ev: _EventParts,
    owner: np.ndarray,
    t0: np.ndarray,
    people: _People,
    cat: _Catalogue,
    props: _Props,
    p_cart: float,
) -> None:
    """Sessions without an order: a visit, a few product views, sometimes an abandoned cart."""
    n = len(owner)
    anon = owner >= people.n
    fav = np.where(anon, -1, people.fav[np.minimum(owner, people.n - 1)])
    ev.add(owner, "visit", t0, prop=props.visit[_choice(rng, [3, 4, 1, 1, 1, 0.5, 0.5], n)])
    views = 1 + rng.poisson(0.4, n)
    v_owner = np.repeat(np.arange(n), views)
    step = _minutes(rng, 1.2, len(v_owner), least=0.1)
    v_t = t0[v_owner] + _segment_cumsum(step.astype(np.float64), views).astype(np.int64)
    popular = _choice(rng, CATEGORY_SHARES, len(v_owner))
    v_fav = fav[v_owner]
    category = np.where((v_fav >= 0) & (rng.random(len(v_owner)) < 0.6), v_fav, popular)
    product = cat.cat_start[category] + (rng.random(len(v_owner)) * cat.cat_size[category]).astype(
        np.int64
    )
    ev.add(owner[v_owner], "product_view", v_t, product=product)

    # the last viewed product goes to the cart, sometimes on to checkout, then no order
    last = np.cumsum(views) - 1
    carted = rng.random(n) < p_cart
    c_t = v_t[last] + _minutes(rng, 1.0, n, least=0.2)
    ev.add(
        owner[carted],
        "cart_add",
        c_t[carted],
        product=product[last][carted],
        value=cat.price[product[last][carted]],
    )
    checked = carted & (rng.random(n) < 0.25)
    ev.add(owner[checked], "checkout_start", (c_t + _minutes(rng, 2.0, n, least=0.3))[checked])


def _customer_events(
    rng: np.random.Generator,
    ev: _EventParts,
    people: _People,
    orders: _Orders,
    money: _Money,
    cat: _Catalogue,
    props: _Props,
    clock: _Clock,
) -> np.ndarray:
    """Browsing and marketing events of known customers; returns who subscribed to e-mail."""
    n = people.n
    end_lam = clock.end_lam
    buyer = orders.count > 0
    # active until a while after the last order (or after sign-up for prospects)
    linger = np.where(buyer, rng.exponential(45.0, n), rng.exponential(20.0, n))
    lo = people.signup_lam
    base = np.where(buyer, orders.last_lam, lo)
    hi = np.minimum(np.maximum(base, lo) + linger, end_lam)
    span = hi - lo

    # browse sessions: one at sign-up, then more for engaged and frequent customers
    rate = people.engagement * (0.001 + 0.12 * people.rate * buyer)
    sessions = rng.poisson(rate * span)
    owner, lam = _spread(rng, lo, hi, sessions)
    t0 = np.concatenate((people.signup_us - _minutes(rng, 3.0, n), clock.time_at(lam)))
    owner = np.concatenate((np.arange(n, dtype=np.int32), owner))
    _browse_events(rng, ev, owner, t0, people, cat, props, p_cart=0.5)

    # e-mail newsletter sign-ups of opted-in customers, right after sign-up
    subscribed = people.opt_in & (rng.random(n) < 0.75)
    who = np.flatnonzero(subscribed)
    ev.add(
        who,
        "email_subscribe",
        people.signup_us[who] + _minutes(rng, 1.0, len(who)),
        prop=props.newsletter,
    )

    # welcome-coupon claims at sign-up; everyone who used it claimed it
    used_welcome = np.zeros(n, dtype=bool)
    used_welcome[orders.cust[money.coupon == 0]] = True
    who = np.flatnonzero(used_welcome | (rng.random(n) < 0.4))
    # within the first minute, before a same-session first order (≥ 1 min after sign-up)
    claimed = people.signup_us[who] + rng.integers(3, 55, len(who)) * US_PER_SECOND
    ev.add(who, "coupon_claim", claimed, prop=props.coupon[0])

    # acquisition ad clicks just before signing up through an ad channel, and later ones
    ad_channel = np.isin(people.channel, (1, 2, 3, 4)) & (rng.random(n) < 0.7)
    who = np.flatnonzero(ad_channel)
    network = np.array([0, 0, 1, 2, 3, 4], dtype=np.int16)[people.channel[who]]
    ev.add(
        who,
        "ad_click",
        people.signup_us[who] - _minutes(rng, 6.0, len(who), least=0.5),
        prop=props.ad[network * len(AD_CAMPAIGNS)],
    )
    owner, lam = _spread(rng, lo, hi, rng.poisson(0.003 * span))
    ev.add(
        owner,
        "ad_click",
        clock.time_at(lam),
        prop=props.ad[rng.integers(0, len(props.ad), len(owner))],
    )

    owner, lam = _spread(rng, lo, hi, rng.poisson(0.003 * people.engagement * span))
    ev.add(
        owner,
        "social_engage",
        clock.time_at(lam),
        prop=props.social[rng.integers(0, len(SOCIAL), len(owner))],
    )

    owner, lam = _spread(rng, lo, hi, rng.poisson(0.002 * span))
    ev.add(
        owner,
        "coupon_claim",
        clock.time_at(lam),
        prop=props.coupon[rng.integers(1, len(COUPONS), len(owner))],
    )

    _referral_events(rng, ev, people, orders)
    _membership_events(rng, ev, people, orders, props, clock)
    return subscribed


def _referral_events(
    rng: np.random.Generator, ev: _EventParts, people: _People, orders: _Orders
) -> None:
    """Referral-channel customers were referred by an earlier customer (the busier of two)."""
    referred = np.flatnonzero(people.channel == 5)
    referred = referred[referred > 0]
    a = (rng.random(len(referred)) * referred).astype(np.int64)
    b = (rng.random(len(referred)) * referred).astype(np.int64)
    referrer = np.where(orders.count[a] >= orders.count[b], a, b)
    t = people.signup_us[referred] - _minutes(rng, 2 * 24 * 60.0, len(referred))
    t = np.maximum(t, people.signup_us[referrer] + US_PER_MINUTE)
    ev.add(referrer, "referral", t, arg=referred)


def _membership_events(
    rng: np.random.Generator,
    ev: _EventParts,
    people: _People,
    orders: _Orders,
    props: _Props,
    clock: _Clock,
) -> None:
    """The 단골 membership: trial, paid start, failed renewals and cancellations."""
    end_lam = clock.end_lam
    candidates = np.flatnonzero((orders.count >= 2) & (rng.random(people.n) < 0.15))
    k = len(candidates)
    plan = (rng.random(k) < 0.2).astype(np.int16)  # a fifth choose the yearly plan
    trial = orders.first_lam[candidates] + rng.uniform(1.0, 60.0, k)
    started = trial + 14.0
    converts = rng.random(k) < 0.55
    failed = started + 30.0 * rng.integers(1, 7, k)
    fails = converts & (rng.random(k) < 0.15)
    cancelled = started + rng.exponential(150.0, k)
    cancels = converts & (rng.random(k) < 0.4)
    for name, lam, who, prop, value in (
        ("trial_start", trial, np.ones(k, bool), props.plan[plan], None),
        (
            "subscription_start",
            started,
            converts,
            props.plan[plan],
            np.array([p[1] for p in PLANS])[plan],
        ),
        ("subscription_fail", failed, fails, props.fail[plan], None),
        (
            "subscription_cancel",
            cancelled,
            cancels,
            props.cancel[plan * len(CANCEL_REASONS) + rng.integers(0, 3, k)],
            None,
        ),
    ):
        keep = who & (lam <= end_lam)
        ev.add(
            candidates[keep],
            name,
            clock.time_at(lam[keep]),
            prop=prop[keep],
            value=None if value is None else value[keep],
        )


def _anonymous_events(
    rng: np.random.Generator,
    ev: _EventParts,
    people: _People,
    cat: _Catalogue,
    props: _Props,
    clock: _Clock,
) -> int:
    """Visitors who never signed up; their ids follow the customers' in the index space."""
    n_anon = max(1, round(0.35 * people.n))
    sessions = 1 + rng.poisson(0.6, n_anon)
    owner, lam = _spread(rng, np.zeros(n_anon), np.full(n_anon, clock.end_lam), sessions)
    _browse_events(rng, ev, people.n + owner, clock.time_at(lam), people, cat, props, p_cart=0.1)
    return n_anon


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def _timestamps(t_us: np.ndarray) -> pa.Array:
    return pa.array(t_us, pa.int64()).view(TS_TYPE)


def _tags(
    rng: np.random.Generator, people: _People, spend: np.ndarray, subscribed: np.ndarray
) -> pa.Array:
    """``;``-separated tags: vip (top 2% spend), newsletter, wholesale, kakao_channel, employee."""
    n = people.n
    buyers = spend > 0
    vip_from = np.quantile(spend[buyers], 0.98) if buyers.any() else np.inf
    bits = (
        (buyers & (spend >= vip_from)).astype(np.int64)
        | (subscribed.astype(np.int64) << 1)
        | (people.wholesale.astype(np.int64) << 2)
        | ((rng.random(n) < np.where(people.channel == 2, 0.4, 0.05)).astype(np.int64) << 3)
        | ((rng.random(n) < 0.001).astype(np.int64) << 4)
    )
    combos = [
        ";".join(t for b, t in enumerate(TAG_NAMES) if mask >> b & 1) or None
        for mask in range(2 ** len(TAG_NAMES))
    ]
    return pa.array(combos, pa.string()).take(bits)


def _customers_table(people: _People, ids: pa.Array, tags: pa.Array) -> pa.Table:
    c = people.columns
    return pa.table(
        {
            "customer_id": ids,
            "email": c["email"],
            "phone": c["phone"],
            "name": c["name"],
            "gender": c["gender"],
            "birth_date": c["birth_date"],
            "country": c["country"],
            "region": c["region"],
            "city": c["city"],
            "signup_at": _timestamps(people.signup_us),
            "signup_channel": c["signup_channel"],
            "marketing_opt_in": c["marketing_opt_in"],
            "tags": tags,
        }
    )


def _order_ids(index: np.ndarray, n_orders: int) -> pa.Array:
    return _fixed_strings(len(index), "O", (index + 1, max(8, _digits(n_orders))))


def _orders_table(orders: _Orders, money: _Money, customer_ids: pa.Array) -> pa.Table:
    n = len(orders.cust)
    return pa.table(
        {
            "order_id": _numbered("O", n, max(8, _digits(n))),
            "customer_id": customer_ids.take(orders.cust),
            "ordered_at": _timestamps(orders.t_us),
            "total": money.total,
            "currency": _fixed_strings(n, "KRW"),
            "status": pa.array(ORDER_STATUSES, pa.string()).take(money.status),
            "refunded_amount": money.refunded,
            "discount": money.discount,
            "coupon_code": _take(pa.array([c[0] for c in COUPONS]), money.coupon),
            "shipping_fee": money.shipping,
            "channel": pa.array(DEVICES, pa.string()).take(money.channel),
        }
    )


def _items_table(lines: _Lines, n_orders: int, cat: _Catalogue) -> pa.Table:
    return pa.table(
        {
            "order_id": _order_ids(lines.order, n_orders),
            "product_id": cat.product_id.take(lines.product),
            "product_name": cat.name.take(lines.product),
            "category": pa.array(CATEGORY_NAMES, pa.string()).take(cat.category[lines.product]),
            "quantity": pa.array(lines.quantity, pa.int64()),
            "unit_price": pa.array(lines.unit_price, pa.float64()),
            "line_no": pa.array(lines.line_no.astype(np.int64) + 1),
        }
    )


def _events_table(
    ev: _EventParts,
    clock: _Clock,
    n_orders: int,
    all_ids: pa.Array,
    cat: _Catalogue,
    props: _Props,
    customer_ids: pa.Array,
) -> pa.Table:
    cols = ev.concat()
    # nothing after the end; events are numbered in time order (a stable sort, so ties
    # keep their generation order on every machine)
    t_us = cols[2]
    keep = np.flatnonzero(t_us <= clock.end_us)
    chrono = keep[np.argsort(t_us[keep], kind="stable")]
    del keep, t_us
    for i in range(len(cols)):  # one column at a time: only one extra copy alive
        cols[i] = cols[i][chrono]
    del chrono
    cust, kind, t_us, product, value, prop, arg = cols
    del cols
    n = len(t_us)

    # each numpy column is dropped as soon as its Arrow column exists (30M+ rows at scale)
    out: dict[str, pa.Array] = {"event_id": _numbered("e", n, max(8, _digits(n)))}
    out["customer_id"] = all_ids.take(cust)
    del cust
    out["occurred_at"] = _timestamps(t_us)
    del t_us
    out["product_id"] = _take(cat.product_id, product)
    category = np.where(product >= 0, cat.category[np.maximum(product, 0)], -1)
    del product
    out["category"] = _take(pa.array(CATEGORY_NAMES, pa.string()), category)
    del category
    out["properties"] = _properties(kind, prop, arg, value, n_orders, props, customer_ids)
    del prop, arg
    out["event"] = pa.array(EVENT_NAMES, pa.string()).take(kind)
    del kind
    value64 = value.astype(np.float64)
    del value
    out["value"] = pa.array(value64, mask=np.isnan(value64))
    return pa.table({name: out[name] for name in TABLES["events"].input_names})


def _properties(
    kind: np.ndarray,
    prop: np.ndarray,
    arg: np.ndarray,
    value: np.ndarray,
    n_orders: int,
    props: _Props,
    customer_ids: pa.Array,
) -> pa.Array:
    """The JSON properties: shared texts by code, and per-row ones for reviews and referrals.

    The per-row texts are appended to the shared ones, so one ``take`` builds the column.
    """
    code = prop.astype(np.int32)
    # reviews name their order and rating, referrals the referred customer
    review = np.flatnonzero(kind == EV["review"])
    referral = np.flatnonzero(kind == EV["referral"])
    reviews = _fixed_strings(
        len(review),
        '{"order_id":"O',
        (arg[review] + 1, max(8, _digits(n_orders))),
        '","rating":',
        (value[review].astype(np.int64), 1),
        "}",
    )
    referrals = pc.binary_join_element_wise(
        '{"referred_customer_id":"', customer_ids.take(arg[referral]), '"}', ""
    )
    texts = pa.concat_arrays([props.array, reviews, referrals])
    code[review] = len(props.array) + np.arange(len(review), dtype=np.int32)
    code[referral] = len(props.array) + len(review) + np.arange(len(referral), dtype=np.int32)
    return _take(texts, code)


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def generate_shop(
    customers: int = 5000,
    *,
    seed: int = 7,
    end: dt.date = dt.date(2025, 6, 30),
    years: float = 3.0,
) -> dict[str, pa.Table]:
    """Generate a Korean online shop: customers, orders, order_items and events tables.

    Columns are the canonical ones of ``danggol.schema`` (text as ``string``, money as
    ``float64``, instants as UTC ``timestamp[us]``); nothing happens after the end of the
    day ``end`` in Korea, and the period starts ``years`` before it. Ids are numbered in
    time order (customers by sign-up, orders and events chronologically) and the rows come
    in that order. The same arguments give the same tables on every machine.

    Scale: ≈10 orders, ≈22 order lines and ≈31 events per customer; a million customers
    take under a minute and ~6.4 GiB at the peak, ~5.1 GiB of it the tables.

    >>> shop = generate_shop(200, seed=1)
    >>> sorted(shop)
    ['customers', 'events', 'order_items', 'orders']
    >>> shop["customers"].num_rows
    200
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1; got {customers}")
    if years <= 0:
        raise ValueError(f"years must be positive; got {years}")
    if isinstance(end, dt.datetime):
        end = end.date()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
    clock = _make_clock(end, years)
    cat = _make_catalogue(streams[0])
    people = _make_people(streams[1], customers, clock, cat)
    orders = _purchase_times(streams[2], people, clock)
    lines = _make_lines(streams[3], orders, people, cat)
    money = _make_money(streams[4], orders, lines, people)
    n_orders = len(orders.cust)

    customer_ids = _numbered("C", customers, max(7, _digits(customers)))
    props = _Props()
    ev = _EventParts()
    _funnel_events(streams[5], ev, orders, lines, money, props)
    subscribed = _customer_events(streams[5], ev, people, orders, money, cat, props, clock)
    n_anon = _anonymous_events(streams[6], ev, people, cat, props, clock)
    anon_ids = _numbered("anon-", n_anon, max(6, _digits(n_anon)))

    bought = _purchased(money.status)
    spend = np.bincount(
        orders.cust[bought], weights=(money.total - money.refunded)[bought], minlength=customers
    )
    tags = _tags(streams[4], people, spend, subscribed)

    shop = {
        "customers": _customers_table(people, customer_ids, tags),
        "orders": _orders_table(orders, money, customer_ids),
        "order_items": _items_table(lines, n_orders, cat),
    }
    del lines, money
    shop["events"] = _events_table(
        ev,
        clock,
        n_orders,
        pa.concat_arrays([customer_ids, anon_ids]),
        cat,
        props,
        customer_ids,
    )
    return shop
