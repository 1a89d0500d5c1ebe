"""Migration matrices: counts by hand, and always summing to the population.

The shop, between F = 2025-03-31 and T = 2025-06-30 (spend band: no purchase → prospect,
amount_spent ≥ 100 → high, else low):

    a  known, never buys                       prospect → prospect
    b  50 on 02-01, 80 on 05-01                low (50) → high (130)
    c  150 on 01-01                            high     → high
    d  30 on 05-10, unknown before             none     → low
    e  20 on 03-01                             low      → low
    g  40 on 03-31 (the first date itself)     low      → low
    f  200 on 07-05, after T                   not in the population

Population = {a, b, c, d, e, g} = 6.
"""

from __future__ import annotations

import datetime as dt
import json

import ibis
import pytest

from analytics_shop import load_shop
from danggol.analytics import NONE, migration, movers, transitions
from danggol.errors import ConfigError
from danggol.profile import customer_profile

F = dt.date(2025, 3, 31)
T = dt.date(2025, 6, 30)


def spend_band(con, as_of):
    p = customer_profile(con, as_of, events=[])
    label = ibis.cases(
        (p.number_of_orders == 0, "prospect"), (p.amount_spent >= 100, "high"), else_="low"
    )
    return p.select("customer_id", label=label)


def active_90d(con, as_of):
    """'active' for customers with a purchase in the last 90 days; nobody else is listed."""
    p = customer_profile(con, as_of, events=[])
    recent = p.filter(p.days_since_last_order <= 90)
    return recent.select("customer_id", label=ibis.literal("active"))


@pytest.fixture
def shop(ws):
    load_shop(
        ws,
        customers=["a"],
        orders=[
            ("ob1", "b", "2025-02-01", 50),
            ("ob2", "b", "2025-05-01", 80),
            ("oc", "c", "2025-01-01", 150),
            ("od", "d", "2025-05-10", 30),
            ("oe", "e", "2025-03-01", 20),
            ("og", "g", "2025-03-31", 40),
            ("of", "f", "2025-07-05", 200),
        ],
    )
    return ws


def test_spend_bands_by_hand(shop):
    m = migration(shop.ibis, F, T, by=spend_band)
    assert m.population == 6
    assert sum(c.customers for c in m.cells) == m.population
    assert m.labels == ["high", "low", "prospect", NONE]
    assert m.matrix() == {
        "high": {"high": 1, "low": 0, "prospect": 0, "none": 0},
        "low": {"high": 1, "low": 2, "prospect": 0, "none": 0},
        "prospect": {"high": 0, "low": 0, "prospect": 1, "none": 0},
        "none": {"high": 0, "low": 1, "prospect": 0, "none": 0},
    }
    assert m.count("low", "high") == 1
    assert (m.stayed, m.moved) == (4, 2)
    assert m.cells[0].customers == 2  # largest first
    data = m.to_dict()
    json.dumps(data)
    assert data["date_from"] == "2025-03-31"


def test_movers(shop):
    assert movers(shop.ibis, F, T, "low", "high", by=spend_band)["customer_id"].to_pylist() == ["b"]
    got = movers(shop.ibis, F, T, "low", "low", by=spend_band)["customer_id"].to_pylist()
    assert got == ["e", "g"]
    assert movers(shop.ibis, F, T, NONE, "low", by=spend_band)["customer_id"].to_pylist() == ["d"]
    t = transitions(shop.ibis, F, T, spend_band)
    assert t.columns == ("customer_id", "from_label", "to_label")


def test_customers_labelled_on_one_side_only(shop):
    # active at F (since 12-31): b, c, e, g; at T (since 04-01): b, d
    m = migration(shop.ibis, F, T, by=active_90d)
    assert m.population == 5
    assert sum(c.customers for c in m.cells) == 5
    assert m.matrix() == {"active": {"active": 1, "none": 3}, "none": {"active": 1, "none": 0}}


def test_null_labels_read_none(shop):
    def band_or_null(con, as_of):
        t = spend_band(con, as_of)
        return t.mutate(label=(t.label == "prospect").ifelse(ibis.null("string"), t.label))

    m = migration(shop.ibis, F, T, by=band_or_null)
    assert m.population == 6
    assert m.count(NONE, NONE) == 1  # a: labelled null at both dates
    assert sum(c.customers for c in m.cells) == 6


def test_a_profile_column(shop):
    m = migration(shop.ibis, F, T, by="number_of_orders")
    assert m.population == 6
    assert {(c.from_label, c.to_label): c.customers for c in m.cells} == {
        ("0", "0"): 1,
        ("1", "2"): 1,
        ("1", "1"): 3,
        (NONE, "1"): 1,
    }


def test_a_score_column(shop):
    # rfm_group / lifecycle_stage / grade come from the scored profile
    m = migration(shop.ibis, F, T, by="lifecycle_stage")
    assert m.population == 6
    assert sum(c.customers for c in m.cells) == 6
    assert m.count(NONE, NONE) == 0


def test_counts_sum_to_the_population_on_a_bigger_shop(ws):
    # 60 customers with purchases spread over 12 months; pairs of dates, one pair the same
    orders = [
        (f"o{i}-{k}", f"c{i:02d}", f"2025-{1 + (i * 7 + k * 5) % 12:02d}-15", 10 + (i * k) % 90)
        for i in range(60)
        for k in range(i % 4)
    ]
    load_shop(ws, orders=orders, customers=[f"c{i:02d}" for i in range(0, 60, 3)])
    pairs = [(2, 7), (7, 12), (6, 6)]
    for a, b in [(dt.date(2025, x, 28), dt.date(2025, y, 28)) for x, y in pairs]:
        for by in (spend_band, active_90d):
            m = migration(ws.ibis, a, b, by=by)
            assert sum(c.customers for c in m.cells) == m.population
            ids = ibis.union(
                by(ws.ibis, a).select("customer_id"),
                by(ws.ibis, b).select("customer_id"),
                distinct=True,
            )
            assert m.population == ids.count().to_pyarrow().as_py()


def test_bad_labelers(shop):
    def twice(con, as_of):
        t = spend_band(con, as_of)
        return t.union(t.mutate(label=ibis.literal("again")))

    with pytest.raises(ConfigError, match="one row per customer"):
        migration(shop.ibis, F, T, by=twice)
    with pytest.raises(ConfigError, match="customer_id and label"):
        migration(shop.ibis, F, T, by=lambda con, d: spend_band(con, d).rename(band="label"))
    with pytest.raises(ConfigError, match="no column 'rfm'"):
        migration(shop.ibis, F, T, by="rfm")
    with pytest.raises(ConfigError, match="before the first"):
        migration(shop.ibis, T, F, by=spend_band)
