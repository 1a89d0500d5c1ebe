"""VIP sub-segments: k-means on five standardised features, each cluster named in words a
marketer uses.

Features (:func:`vip_features`, one row per customer with a purchase by the end of ``as_of``):

* ``aov`` — amount_spent / number_of_orders (the profile's ``aov``);
* ``frequency`` — number_of_orders;
* ``tenure_days`` — as_of − first purchase day;
* ``recency_days`` — days_since_last_order;
* ``spend_trend`` — (recent − previous) / (recent + previous), where *recent* is the spend
  (total − refunded) in (as_of − 90, as_of] and *previous* in (as_of − 180, as_of − 90]; 0 when
  both are 0. It runs from −1 (spent before, nothing lately) to +1 (all spend in the last 90
  days), so a new customer's trend is +1 rather than an unbounded ratio over nothing.

Fitting (:class:`VIPClusters`): the four positive features are put on a log scale (``log1p``),
the trend is kept as it is, and all five are standardised (``StandardScaler``: z-scores among the
customers fitted). k-means (``n_init`` restarts, fixed ``random_state``) runs for every k of
``k_range``; the k with the highest silhouette wins (ties: the smaller k). Above
``silhouette_sample`` customers the silhouette is computed on a sample drawn with the same
``random_state``. Clusters are numbered by size, largest first.

Naming rule. A cluster's centroid, in z-scores, gives each name a score:

==================  ==========  ===================  ================================================
key                 한국어      English              score of the centroid z
==================  ==========  ===================  ================================================
new_big_spender     신규 큰손   new big spender      min(z_aov, −z_tenure)
rising              떠오르는 VIP rising VIP          min(−z_tenure, z_trend)
long_time_steady    오랜 단골   long-time steady     min(z_tenure, z_frequency, −z_recency)
fading              이탈 조짐   fading               max(z_recency, −z_trend)
high_aov            고액 구매   high AOV             z_aov
frequent_buyer      자주 구매   frequent buyer       z_frequency
==================  ==========  ===================  ================================================

The names are handed out in this order (the specific, two- and three-part descriptions before
the one-feature ones): each goes to the cluster not yet named with the highest score, if that
score is at least ``NAME_THRESHOLD`` (0.3 standard deviations); on a tie the lower cluster
number (the larger cluster) wins. A cluster left without a name is ``typical`` "일반 VIP" /
"typical VIPs" (``typical_2``, "일반 VIP 2", … when there are several, by cluster number), so
every name is unique.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from danggol.dates import check_date
from danggol.errors import ConfigError
from danggol.estimator import Estimator, Param, int_in
from danggol.predict.supervised import purchase_windows, single_threaded
from danggol.profile import customer_profile

#: the clustering features, in order; the first four are put on a log scale
FEATURES = ("aov", "frequency", "tenure_days", "recency_days", "spend_trend")
LOG_FEATURES = FEATURES[:4]
TREND_DAYS = 90
#: a name needs its score to reach this many standard deviations
NAME_THRESHOLD = 0.3


@dataclass(frozen=True)
class ClusterName:
    key: str
    ko: str
    en: str
    #: the centroid's z-scores (by feature) → how well the name fits
    score: Callable[[dict[str, float]], float]


NAMES: tuple[ClusterName, ...] = (
    ClusterName(
        "new_big_spender",
        "신규 큰손",
        "new big spender",
        lambda z: min(z["aov"], -z["tenure_days"]),
    ),
    ClusterName(
        "rising",
        "떠오르는 VIP",
        "rising VIP",
        lambda z: min(-z["tenure_days"], z["spend_trend"]),
    ),
    ClusterName(
        "long_time_steady",
        "오랜 단골",
        "long-time steady",
        lambda z: min(z["tenure_days"], z["frequency"], -z["recency_days"]),
    ),
    ClusterName(
        "fading", "이탈 조짐", "fading", lambda z: max(z["recency_days"], -z["spend_trend"])
    ),
    ClusterName("high_aov", "고액 구매", "high AOV", lambda z: z["aov"]),
    ClusterName("frequent_buyer", "자주 구매", "frequent buyer", lambda z: z["frequency"]),
)
TYPICAL = ClusterName("typical", "일반 VIP", "typical VIPs", lambda z: 0.0)


def vip_features(
    con: ibis.BaseBackend,
    as_of: Any,
    customers: ir.Table | Sequence[str] | None = None,
    *,
    profile: ir.Table | None = None,
) -> ir.Table:
    """``customer_id`` and the five features of the module docstring, for the buyers by the
    end of ``as_of`` — only ``customers`` when given (a table with ``customer_id``, such as a
    segment's members, or a list of ids). Ordered by customer_id. ``profile``: a stored profile
    as of the same date to read aov, orders and dates from (else computed)."""
    as_of = check_date("as_of", as_of)
    if profile is None:
        profile = customer_profile(con, as_of, events=[])
    buyers = profile.filter(profile.number_of_orders > 0)
    if isinstance(customers, ir.Table):
        buyers = buyers.semi_join(customers.select("customer_id"), "customer_id")
    elif customers is not None:
        buyers = buyers.filter(buyers.customer_id.isin([str(c) for c in customers]))
    windows = purchase_windows(con, as_of, (TREND_DAYS, 2 * TREND_DAYS))
    t = buyers.left_join(windows, "customer_id").drop("customer_id_right")
    recent = t[f"spent_{TREND_DAYS}d"].fill_null(0.0)
    previous = t[f"spent_{2 * TREND_DAYS}d"].fill_null(0.0) - recent
    both = recent + previous
    return t.select(
        "customer_id",
        aov=t.aov.cast("float64"),
        frequency=t.number_of_orders.cast("float64"),
        tenure_days=ibis.date(as_of).delta(t.first_order_date, unit="day").cast("float64"),
        recency_days=t.days_since_last_order.cast("float64"),
        spend_trend=(both > 0).ifelse((recent - previous) / both, 0.0),
    ).order_by("customer_id")


def _as_arrow(table: Any) -> pa.Table:
    if isinstance(table, ir.Table):
        return table.to_pyarrow()
    if isinstance(table, pa.Table):
        return table
    if hasattr(table, "to_arrow"):  # polars
        return table.to_arrow()
    try:
        return pa.Table.from_pandas(table, preserve_index=False)
    except (TypeError, AttributeError):
        raise ConfigError(
            f"a VIP feature table is an Ibis, pyarrow or pandas table; got {type(table).__name__}"
        ) from None


def _matrix(table: Any) -> tuple[pa.Table, np.ndarray]:
    table = _as_arrow(table)
    missing = [c for c in ("customer_id", *FEATURES) if c not in table.column_names]
    if missing:
        raise ConfigError(
            f"the VIP feature table lacks {', '.join(missing)}; build it with vip_features(...)"
            f" (columns: customer_id, {', '.join(FEATURES)})"
        )
    x = np.column_stack(
        [np.asarray(table.column(c).to_numpy(zero_copy_only=False), float) for c in FEATURES]
    )
    bad = ~np.isfinite(x).all(axis=1) | (x[:, :4] < 0).any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        values = dict(zip(FEATURES, x[row].tolist(), strict=True))
        raise ConfigError(
            f"VIP features must be finite and, except spend_trend, >= 0; customer "
            f"{table.column('customer_id')[row].as_py()!r} has {values}"
        )
    return table, x


def _transform(x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.log1p(x[:, :4]), x[:, 4:]])


class VIPClusters(Estimator):
    """k-means sub-segments of VIP customers, each with a marketer's name.

    ``fit(table)`` takes :func:`vip_features`' columns; learned: ``k_``, ``silhouettes_``
    ({k: silhouette}), ``silhouette_`` (the chosen k's), ``scaler_``, ``kmeans_``, ``cluster_centers_`` (z-scores, by cluster
    number), ``names_`` (one :class:`ClusterName` per cluster), ``sizes_``, ``n_customers_``.
    """

    _parameters = (
        Param(
            "k_range",
            lambda v: (
                isinstance(v, tuple | list)
                and len(v) == 2
                and all(int_in(2, 10)(k) for k in v)
                and v[0] <= v[1]
            ),
            "a pair (k_min, k_max) of ints with 2 <= k_min <= k_max <= 10",
        ),
        Param("random_state", int_in(0, 2**32 - 1), "an int in the range [0, 2**32 - 1]"),
        Param("n_init", int_in(1, 100), "an int in the range [1, 100]"),
        Param(
            "min_customers",
            lambda v: v is None or int_in(2, math.inf)(v),
            "None (10 per cluster at k_max) or an int in the range [2, inf)",
        ),
        Param("silhouette_sample", int_in(100, math.inf), "an int in the range [100, inf)"),
    )

    def __init__(
        self,
        k_range: tuple[int, int] = (2, 6),
        *,
        random_state: int = 0,
        n_init: int = 10,
        min_customers: int | None = None,
        silhouette_sample: int = 5000,
    ) -> None:
        self.k_range = k_range
        self.random_state = random_state
        self.n_init = n_init
        self.min_customers = min_customers
        self.silhouette_sample = silhouette_sample

    def fit(self, table: Any) -> VIPClusters:
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score
        from sklearn.preprocessing import StandardScaler

        self.validate_params()
        k_min, k_max = self.k_range
        least = 10 * k_max if self.min_customers is None else self.min_customers
        _, x = _matrix(table)
        n = x.shape[0]
        if n < least:
            raise ConfigError(
                f"too few VIPs to cluster: {n} customers (need at least {least}, 10 per cluster "
                f"at k = {k_max}); widen the VIP definition or lower k_range"
            )
        scaler = StandardScaler().fit(_transform(x))
        z = scaler.transform(_transform(x))
        distinct = np.unique(z, axis=0).shape[0]
        if distinct < k_min:
            raise ConfigError(
                f"too few different VIPs to cluster: {distinct} distinct feature rows for "
                f"k_range {tuple(self.k_range)}; the VIPs are too alike to split"
            )
        sample = self.silhouette_sample if n > self.silhouette_sample else None
        fits: dict[int, Any] = {}
        silhouettes: dict[int, float] = {}
        for k in range(k_min, min(k_max, distinct) + 1):
            km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state)
            with single_threaded():
                km.fit(z)
            fits[k] = km
            silhouettes[k] = float(
                silhouette_score(z, km.labels_, sample_size=sample, random_state=self.random_state)
            )
        best = max(silhouettes, key=lambda k: (silhouettes[k], -k))
        km = fits[best]
        sizes = np.bincount(km.labels_, minlength=best)
        # number clusters by size (largest first), then by centroid, so labels do not depend
        # on k-means' internal numbering
        order = sorted(range(best), key=lambda c: (-sizes[c], tuple(km.cluster_centers_[c])))
        self._number = np.empty(best, dtype=int)
        self._number[order] = np.arange(best)
        self.scaler_ = scaler
        self.kmeans_ = km
        self.k_ = best
        self.silhouettes_ = silhouettes
        self.silhouette_ = silhouettes[best]
        self.cluster_centers_ = km.cluster_centers_[order]
        self.sizes_ = sizes[order]
        self.n_customers_ = n
        self.names_ = name_clusters(self.cluster_centers_)
        return self

    def _fitted(self) -> None:
        if getattr(self, "kmeans_", None) is None:
            raise ConfigError(f"this {type(self).__name__} is not fitted yet: call fit(table)")

    def predict(self, table: Any) -> np.ndarray:
        """The cluster number (0 = the largest at fit) of every row of ``table``."""
        self._fitted()
        _, x = _matrix(table)
        if x.shape[0] == 0:
            return np.zeros(0, dtype=int)
        with single_threaded():
            nearest = self.kmeans_.predict(self.scaler_.transform(_transform(x)))
        return self._number[nearest]

    def assign(self, table: Any) -> pa.Table:
        """``customer_id`` and ``vip_cluster`` (the cluster's key, like ``fading``)."""
        arrow, _ = _matrix(table)
        keys = [self.names_[c].key for c in self.predict(arrow)]
        return pa.table({"customer_id": arrow.column("customer_id"), "vip_cluster": keys})

    def describe(self) -> list[dict[str, Any]]:
        """Per cluster: number, key, Korean and English names, size, share, the centroid in
        original units (the centre in log space mapped back: a geometric-mean-like figure) and
        its z-scores."""
        self._fitted()
        back = self.scaler_.inverse_transform(self.cluster_centers_)
        back[:, :4] = np.expm1(back[:, :4])
        rows = []
        for c, name in enumerate(self.names_):
            rows.append(
                {
                    "cluster": c,
                    "key": name.key,
                    "name_ko": name.ko,
                    "name_en": name.en,
                    "size": int(self.sizes_[c]),
                    "share": float(self.sizes_[c] / self.n_customers_),
                    "centroid": dict(zip(FEATURES, back[c].tolist(), strict=True)),
                    "z": dict(zip(FEATURES, self.cluster_centers_[c].tolist(), strict=True)),
                }
            )
        return rows


def name_clusters(centers: np.ndarray) -> list[ClusterName]:
    """The naming rule of the module docstring, on centroids in z-scores (rows by cluster)."""
    zs = [dict(zip(FEATURES, row.tolist(), strict=True)) for row in centers]
    names: list[ClusterName | None] = [None] * len(zs)
    for candidate in NAMES:
        free = [c for c in range(len(zs)) if names[c] is None]
        if not free:
            break
        scores = [candidate.score(zs[c]) for c in free]
        best = int(np.argmax(scores))  # the first (lowest-numbered) of equal scores
        if scores[best] >= NAME_THRESHOLD:
            names[free[best]] = candidate
    typical = 0
    out: list[ClusterName] = []
    for name in names:
        if name is None:
            typical += 1
            suffix = "" if typical == 1 else f"_{typical}"
            label = "" if typical == 1 else f" {typical}"
            name = ClusterName(
                TYPICAL.key + suffix, TYPICAL.ko + label, TYPICAL.en + label, TYPICAL.score
            )
        out.append(name)
    return out
