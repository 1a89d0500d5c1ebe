"""The what-if calculator on the issue's shop: 3,000 customers, 200 one-time buyers.

The shop, as of 2025-06-30; the period is the last 12 months, 2024-06-30 … 2025-06-30:

    200 one-time buyers   100 × 30,000 and 100 × 60,000 (one order)       mean  45,000
    700 repeat buyers     350 × 2 orders of 40,000, 350 × 3 orders         mean 100,000
    100 VIPs              50 × 4 orders of 45,000, 50 × 5 orders of 44,000 mean 200,000
  1,000 lapsed            one order of 50,000 before the period (2024-03 … 2024-06-29)
  1,000 never bought      known customers; 100 of them with a cancelled order
  -----
  3,000 customers; 1,000 buyers in the period, so the top 10% are ⌈0.1 × 1,000⌉ = 100:
  exactly the VIPs (their lowest, 180,000, is above the repeat buyers' highest, 120,000).

Baseline = 200 × 45,000 + 700 × 100,000 + 100 × 200,000 = 99,000,000.
150 one-time → repeat: 150 × (100,000 − 45,000) =  8,250,000
 50 one-time → VIP:     50 × (200,000 − 45,000) =  7,750,000
Change = 16,000,000 = +16.16% (16 / 99).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analytics_shop import load_shop
from danggol.analytics import whatif
from danggol.errors import ConfigError
from danggol.profile import customer_profile

D = dt.date(2025, 6, 30)


def _day(i: int) -> str:
    """A date in the period, spread over its months (2024-07 … 2025-06)."""
    month = 7 + i % 12
    return f"{2024 + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}-{1 + i % 28:02d}"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from danggol.store.workspace import Workspace

    ws = Workspace.init(tmp_path_factory.mktemp("whatif") / "shop")
    orders = []
    for i in range(200):
        day = "2024-06-30" if i == 0 else _day(i)  # the period's first day counts
        orders.append((f"one{i:04d}", f"one{i:04d}", day, 30_000 if i < 100 else 60_000))
    for i in range(700):
        n = 2 if i < 350 else 3
        orders += [(f"rep{i:04d}-{k}", f"rep{i:04d}", _day(i + 5 * k), 40_000) for k in range(n)]
    for i in range(100):
        n, amount = (4, 45_000) if i < 50 else (5, 44_000)
        orders += [(f"vip{i:04d}-{k}", f"vip{i:04d}", _day(i + 2 * k), amount) for k in range(n)]
    for i in range(1000):
        day = "2024-06-29" if i == 0 else f"2024-{3 + i % 3:02d}-{1 + i % 28:02d}"
        orders.append((f"lap{i:04d}", f"lap{i:04d}", day, 50_000))
    for i in range(100):
        orders.append((f"new{i:04d}-x", f"new{i:04d}", _day(i), 70_000, "cancelled"))
    load_shop(ws, orders=orders, customers=[f"new{i:04d}" for i in range(1000)])
    assert ws.count("orders") == 200 + 350 * 2 + 350 * 3 + 50 * 4 + 50 * 5 + 1000 + 100
    assert customer_profile(ws.ibis, D, events=[]).count().to_pyarrow().as_py() == 3000
    yield ws
    ws.close()


def test_the_issue_example(shop):
    w = whatif(shop.ibis, D, repeat_conversions=150, vip_conversions=50)
    assert w.since == dt.date(2024, 6, 30)
    assert (w.buyers, w.one_time_buyers, w.repeat_buyers, w.vip_buyers) == (1000, 200, 700, 100)
    assert (w.avg_one_time, w.avg_repeat, w.avg_vip) == (45_000.0, 100_000.0, 200_000.0)
    assert w.baseline_revenue == 99_000_000.0
    assert w.repeat_gain == 8_250_000.0
    assert w.vip_gain == 7_750_000.0
    assert w.revenue_change == 16_000_000.0
    assert w.projected_revenue == 115_000_000.0
    assert w.revenue_change_pct == pytest.approx(100 * 16 / 99)  # +16.16%
    assert round(w.revenue_change_pct, 2) == 16.16
    data = w.to_dict()
    json.dumps(data)
    assert data["since"] == "2024-06-30"


def test_a_vip_segment_instead_of_the_top_share(shop):
    o = shop.ibis.table("orders")
    vips = o.filter(o.customer_id.startswith("vip")).select("customer_id")
    w = whatif(shop.ibis, D, repeat_conversions=150, vip_conversions=50, vip_rule=vips)
    assert w.vip_buyers == 100 and w.revenue_change == 16_000_000.0


def test_all_time(shop):
    # the 1,000 lapsed customers become one-time buyers at 50,000; 2,000 buyers, so the top
    # 10% are 200: the 100 VIPs and 100 of the 350 three-order repeat buyers (120,000)
    w = whatif(shop.ibis, D, repeat_conversions=10, months=None)
    assert w.since is None
    assert (w.one_time_buyers, w.repeat_buyers, w.vip_buyers) == (1200, 600, 200)
    assert w.avg_one_time == pytest.approx((9_000_000 + 50_000_000) / 1200)
    assert w.avg_repeat == pytest.approx((350 * 80_000 + 250 * 120_000) / 600)
    assert w.avg_vip == pytest.approx((50 * 180_000 + 50 * 220_000 + 100 * 120_000) / 200)
    assert w.revenue_change == pytest.approx(10 * (w.avg_repeat - w.avg_one_time))
    assert w.baseline_revenue == 99_000_000.0 + 50_000_000.0


def test_nothing_converted(shop):
    w = whatif(shop.ibis, D)
    assert w.revenue_change == 0.0 and w.revenue_change_pct == 0.0


def test_refuses_impossible_conversions(shop):
    with pytest.raises(ConfigError, match="cannot convert 201 one-time buyers"):
        whatif(shop.ibis, D, repeat_conversions=150, vip_conversions=51)
    with pytest.raises(ConfigError, match="repeat_conversions must be a whole number"):
        whatif(shop.ibis, D, repeat_conversions=-1)
    with pytest.raises(ConfigError, match="months must be"):
        whatif(shop.ibis, D, months=0)


def test_no_group_to_convert_to(ws):
    load_shop(ws, orders=[("o1", "c1", "2025-05-01", 10), ("o2", "c2", "2025-05-01", 20)])
    # two one-time buyers; the top 10% of 2 is c2, leaving c1 as the only one-time buyer
    w = whatif(ws.ibis, D, vip_conversions=1)
    assert (w.one_time_buyers, w.vip_buyers, w.revenue_change) == (1, 1, 10.0)
    with pytest.raises(ConfigError, match="no repeat buyers"):
        whatif(ws.ibis, D, repeat_conversions=1)
