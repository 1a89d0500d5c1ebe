"""The demo shop's behaviour events: funnels, browsing, engagement, membership and
anonymous visitors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from danggol.demo.arrays import _choice, _minutes, _segment_cumsum
from danggol.demo.clock import _Catalogue, _Clock
from danggol.demo.orders import _Lines, _Money, _Orders, _purchased
from danggol.demo.people import _People
from danggol.demo.vocabularies import (
    CATEGORY_SHARES,
    COUPONS,
    US_PER_DAY,
    US_PER_MINUTE,
    US_PER_SECOND,
)
from danggol.schema import EVENT_NAMES

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
