"""The demo shop's arrays assembled into the canonical Arrow tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from danggol.demo.arrays import _digits, _fixed_strings, _numbered, _take
from danggol.demo.clock import _Catalogue, _Clock
from danggol.demo.events import EV, _EventParts, _Props
from danggol.demo.orders import _Lines, _Money, _Orders
from danggol.demo.people import _People
from danggol.demo.vocabularies import CATEGORY_NAMES, COUPONS, DEVICES, TAG_NAMES, TS_TYPE
from danggol.schema import EVENT_NAMES, ORDER_STATUSES, TABLES

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
