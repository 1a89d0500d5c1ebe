"""The demo shop's purchases: when each buyer orders, the basket lines and the money."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from danggol.demo.arrays import _choice, _minutes, _segment_cumsum, _segment_rank
from danggol.demo.clock import _Catalogue, _Clock
from danggol.demo.people import _People
from danggol.demo.vocabularies import (
    CATEGORY_SHARES,
    CONSUMABLES,
    COUPONS,
    FIRST_DELAY_MEDIAN_DAYS,
    FREE_SHIPPING_FROM,
    LINES_P,
    P_NEVER_BUY,
    P_SAME_SESSION,
    REPLENISH_SHAPE,
    SHIPPING_FEE,
    STATUS_P,
)
from danggol.schema import ORDER_STATUSES, PURCHASE_STATUSES

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
