"""VIP sub-segments: planted groups are found and named as a reader of their centres would
name them; the features from the store on a hand-computed fixture; the errors."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pyarrow as pa
import pytest

from danggol.errors import ConfigError
from danggol.ingest.load import ingest_tables
from danggol.predict.clusters import FEATURES, VIPClusters, name_clusters, vip_features

#: planted groups: centre (aov won, orders, tenure days, recency days, trend) and the name a
#: marketer reading the centre gives it
PLANTED = {
    "long_time_steady": (50_000, 25, 1000, 10, 0.0),  # years of frequent, recent orders
    "new_big_spender": (900_000, 2, 40, 10, 1.0),  # arrived a month ago, big baskets
    "fading": (60_000, 6, 700, 250, -1.0),  # no order for eight months
    "high_aov": (1_200_000, 4, 500, 40, 0.0),  # the biggest baskets, otherwise middling
}


def planted_table(groups: dict[str, tuple], size: int = 60, seed: int = 1) -> pa.Table:
    """``size`` customers per group, each feature spread ±15% (the trend ±0.1) around the centre."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {"customer_id": [], "group": [], **{f: [] for f in FEATURES}}
    for g, (aov, freq, tenure, recency, trend) in groups.items():
        cols["customer_id"] += [f"{g}-{i}" for i in range(size)]
        cols["group"] += [g] * size
        cols["aov"] += list(aov * rng.lognormal(0, 0.15, size))
        cols["frequency"] += list(np.maximum(1, np.round(freq * rng.lognormal(0, 0.1, size))))
        cols["tenure_days"] += list(tenure * rng.lognormal(0, 0.15, size))
        cols["recency_days"] += list(recency * rng.lognormal(0, 0.15, size))
        cols["spend_trend"] += list(np.clip(trend + rng.normal(0, 0.1, size), -1, 1))
    return pa.table(cols)


def rule_on_centres(groups: dict[str, tuple]) -> dict[str, str]:
    """The naming rule, written out plainly, on the planted centres (equal group sizes, so the
    z-scores are the centres' own, on the log scale for the first four features)."""
    names = list(groups)
    raw = np.array([groups[g] for g in names], dtype=float)
    x = np.column_stack([np.log1p(raw[:, :4]), raw[:, 4]])
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)  # a constant feature is 0, as in sklearn
    aov, freq, tenure, recency, trend = z.T
    rules = [
        ("new_big_spender", np.minimum(aov, -tenure)),
        ("rising", np.minimum(-tenure, trend)),
        ("long_time_steady", np.minimum(np.minimum(tenure, freq), -recency)),
        ("fading", np.maximum(recency, -trend)),
        ("high_aov", aov),
        ("frequent_buyer", freq),
    ]
    got: dict[str, str] = {}
    for key, score in rules:
        free = [i for i in range(len(names)) if names[i] not in got]
        if free:
            best = max(free, key=lambda i: score[i])
            if score[best] >= 0.3:
                got[names[best]] = key
    return {g: got.get(g, "typical") for g in names}


def test_planted_groups_are_found_and_named():
    table = planted_table(PLANTED)
    model = VIPClusters(k_range=(2, 6)).fit(table)
    assert model.k_ == 4 and model.k_ == max(model.silhouettes_, key=model.silhouettes_.get)
    assert model.silhouette_ == model.silhouettes_[4] > 0.7  # well separated: near 1
    assert sorted(model.silhouettes_) == [2, 3, 4, 5, 6]

    # every planted group is one cluster, and the rule names it as the reader does
    reading = {g: g for g in PLANTED}
    assert rule_on_centres(PLANTED) == reading
    keys = model.assign(table).column("vip_cluster").to_pylist()
    assert keys == table.column("group").to_pylist()

    # describe: sizes, names, and centres back in original units (geometric means of ±15%
    # spreads: within 10% of the planted centres)
    rows = {r["key"]: r for r in model.describe()}
    assert set(rows) == set(PLANTED)
    for key, centre in PLANTED.items():
        row = rows[key]
        assert row["size"] == 60 and row["share"] == pytest.approx(0.25)
        for feature, value in zip(FEATURES[:4], centre[:4], strict=True):
            assert row["centroid"][feature] == pytest.approx(value, rel=0.1), (key, feature)
        assert row["centroid"]["spend_trend"] == pytest.approx(centre[4], abs=0.1)
    assert rows["new_big_spender"]["name_ko"] == "신규 큰손"
    assert rows["long_time_steady"]["name_en"] == "long-time steady"


def test_a_middling_group_is_typical_and_names_are_unique():
    groups = {
        "frequent_buyer": (30_000, 40, 600, 20, 0.0),
        "high_aov": (1_000_000, 3, 600, 20, 0.0),
        "typical": (150_000, 8, 600, 20, 0.0),
    }
    table = planted_table(groups, seed=2)
    for i, f in enumerate(FEATURES[2:], start=4):  # only AOV and frequency tell them apart
        table = table.set_column(
            i, f, pa.array([groups["typical"][i - 2]] * table.num_rows, pa.float64())
        )
    model = VIPClusters(k_range=(2, 5)).fit(table)
    assert model.k_ == 3
    assert rule_on_centres(groups) == {g: g for g in groups}
    assert (
        model.assign(table).column("vip_cluster").to_pylist() == table.column("group").to_pylist()
    )
    # equal sizes: clusters are numbered by centroid, z_aov first (30k, 150k, 1M)
    assert [r["name_ko"] for r in model.describe()] == ["자주 구매", "일반 VIP", "고액 구매"]


def test_naming_rule_on_hand_made_centres():
    def centre(**z: float) -> list[float]:
        return [z.get(f, 0.0) for f in FEATURES]

    # two equally fading clusters: the lower number wins the name, the other is typical;
    # a third with nothing 0.3 standard deviations off is typical too (numbered)
    names = name_clusters(
        np.array([centre(recency_days=1.0), centre(recency_days=1.0), centre(aov=0.25)])
    )
    assert [n.key for n in names] == ["fading", "typical", "typical_2"]
    assert [n.ko for n in names] == ["이탈 조짐", "일반 VIP", "일반 VIP 2"]
    # a new cluster with big baskets is a new big spender before it is high AOV: the
    # two-part description comes first, and the next-highest AOV takes high AOV
    names = name_clusters(
        np.array([centre(aov=2.0), centre(aov=1.0, tenure_days=-1.5), centre(frequency=0.6)])
    )
    assert [n.key for n in names] == ["high_aov", "new_big_spender", "frequent_buyer"]
    # new with a rising trend (and an ordinary basket) is a rising VIP
    assert (
        name_clusters(np.array([centre(tenure_days=-0.9, spend_trend=0.7), centre()]))[0].key
        == "rising"
    )
    # a falling spend trend alone is enough for fading
    assert name_clusters(np.array([centre(spend_trend=-0.7), centre()]))[0].key == "fading"


def test_fits_are_deterministic_and_ignore_row_order():
    table = planted_table(PLANTED, seed=3)
    a, b = VIPClusters().fit(table), VIPClusters().fit(table)
    assert a.describe() == b.describe() and a.silhouettes_ == b.silhouettes_
    np.testing.assert_array_equal(a.predict(table), b.predict(table))
    shuffled = table.take(np.random.default_rng(0).permutation(table.num_rows))
    c = VIPClusters().fit(shuffled)
    by_id = dict(zip(*c.assign(shuffled).to_pydict().values(), strict=True))
    assert [by_id[i] for i in table.column("customer_id").to_pylist()] == a.assign(table).column(
        "vip_cluster"
    ).to_pylist()
    assert [r["key"] for r in c.describe()] == [r["key"] for r in a.describe()]


def test_too_few_or_bad_vips_are_clear_errors():
    table = planted_table(PLANTED, size=14)  # 56 customers
    with pytest.raises(ConfigError, match="too few VIPs to cluster: 56 customers"):
        VIPClusters(k_range=(2, 6)).fit(table)
    assert VIPClusters(k_range=(2, 5)).fit(table).k_ == 4  # 50 needed
    same = pa.table(
        {"customer_id": [str(i) for i in range(80)], **{f: [1.0] * 80 for f in FEATURES}}
    )
    with pytest.raises(ConfigError, match="too alike to split"):
        VIPClusters().fit(same)
    with pytest.raises(ConfigError, match="The 'k_range' parameter of VIPClusters"):
        VIPClusters(k_range=(1, 4)).fit(table)
    with pytest.raises(ConfigError, match="lacks spend_trend"):
        VIPClusters().fit(table.drop_columns(["spend_trend"]))
    negative = table.set_column(2, "aov", pa.array([-1.0] * table.num_rows))
    with pytest.raises(ConfigError, match="finite and, except spend_trend, >= 0"):
        VIPClusters(k_range=(2, 3)).fit(negative)
    with pytest.raises(ConfigError, match="not fitted yet"):
        VIPClusters().describe()


def test_vip_features_from_the_store(ws):
    as_of = dt.date(2025, 6, 30)
    orders = [  # (customer, date, total, status)
        ("A", "2025-01-10", 100.0, "paid"),
        ("A", "2025-05-01", 300.0, "paid"),
        ("A", "2025-06-20", 200.0, "paid"),
        ("B", "2024-01-01", 50.0, "paid"),
        ("C", "2025-02-01", 80.0, "paid"),
        ("C", "2025-06-01", 1000.0, "refunded"),  # not a purchase
        ("D", "2025-07-05", 70.0, "paid"),  # after as_of
    ]
    ingest_tables(
        ws,
        {
            "orders": pa.table(
                {
                    "order_id": [str(i) for i in range(len(orders))],
                    "customer_id": [o[0] for o in orders],
                    "ordered_at": [o[1] for o in orders],
                    "total": [o[2] for o in orders],
                    "status": [o[3] for o in orders],
                }
            )
        },
    )
    days = lambda d: (as_of - dt.date.fromisoformat(d)).days  # noqa: E731
    expected = {
        # recent (after 2025-04-01) 500, previous (2025-01-01 .. 2025-04-01] 100
        "A": (200.0, 3.0, days("2025-01-10"), 10.0, (500 - 100) / 600),
        "B": (50.0, 1.0, days("2024-01-01"), days("2024-01-01"), 0.0),
        "C": (80.0, 1.0, days("2025-02-01"), days("2025-02-01"), -1.0),
    }
    got = vip_features(ws.ibis, as_of).to_pyarrow().to_pylist()
    assert [r["customer_id"] for r in got] == sorted(expected)
    for row in got:
        assert tuple(row[f] for f in FEATURES) == pytest.approx(expected[row["customer_id"]])
    only = vip_features(ws.ibis, as_of, ["A", "C", "D"]).to_pyarrow()
    assert only.column("customer_id").to_pylist() == ["A", "C"]
    members = ibis.memtable(pa.table({"customer_id": ["B"]}))
    assert vip_features(ws.ibis, as_of, members).to_pyarrow().column("customer_id").to_pylist() == [
        "B"
    ]
