"""RFM scores and segments, estimator style: ``RFM(bins=5).fit(profile).transform(profile)``.

The three dimensions are read from the customer profile:

* **R** (recency) = ``days_since_last_order``, reversed: fewer days is a higher score;
* **F** (frequency) = ``number_of_orders``;
* **M** (monetary) = ``amount_spent``.

Only customers with at least one purchase (``number_of_orders > 0``) are scored; the others
get null scores and the group ``prospects``.

Scoring rule (identical on every engine, ties never split)
------------------------------------------------------------
Each dimension has ``bins − 1`` ascending thresholds ``t_1 ≤ … ≤ t_{bins−1}`` in the
dimension's own unit (days, orders, money). A value ``x`` scores

    s(x) = 1 + #{k : t_k < x}                (F and M)
    r(x) = bins + 1 − s(x)                   (R: a recent purchase is the best)

so a threshold is the *inclusive upper bound* of its bin (with R thresholds
``[30, 90, 180, 365]``: bought ≤ 30 days ago → 5, 31–90 → 4, …, > 365 → 1). Equal values always
get equal scores, whatever the engine or row order: the score is a ``CASE`` over literal
thresholds, not a row number.

Learned thresholds (``bins`` an int) are quantiles of the values of the customers with a
purchase at fit time, by the *inverted CDF* method (numpy's ``method="inverted_cdf"``, no
interpolation): with the ``n`` values sorted ascending as ``v_1 ≤ … ≤ v_n``,

    t_k = v_j  with  j = ceil(k · n / bins)      for k = 1 … bins − 1

Equivalently, s(x) = 1 + min(bins − 1, floor(bins · b / n)) where ``b`` is the number of
customers whose value is *strictly below* ``x``: the score says which fifth (third, …) of the
customers lies below the value. With heavy ties some scores are skipped: when 60% of the
customers bought once, they all score F = 1 and a customer with two orders scores F = 4.
That is intended — the score keeps its meaning as a position in the distribution. (When
every customer has the same value, nobody is below it: all score F = 1 or M = 1, and R = ``bins``.)

``bins`` may be an int in [2, 10] (quintiles: 5, tertiles: 3), a list of fixed thresholds
(``len + 1`` bins), or a dict keyed by ``'r'``, ``'f'``, ``'m'`` of either; a dimension left
out of the dict is learned with the same number of bins. All three dimensions share one
number of bins.

Segments
--------
``fm_score = floor((f_score + m_score) / 2)``. A segment map (default:
``scores/defaults/rfm_segments.yaml``) names the segment of every (R, FM) cell of a square
grid; it must cover every cell exactly once. When the map's size ``g`` differs from ``bins``,
a score ``s`` is placed on the map's scale by the rounded linear rescaling that keeps both
ends, ``1 + round_half_up((s − 1)(g − 1) / (bins − 1))`` (tertiles 1, 2, 3 → rows 1, 3, 5).

>>> import ibis
>>> profile = ibis.memtable({
...     "customer_id": ["a", "b", "c", "d"],
...     "number_of_orders": [0, 1, 1, 6],
...     "days_since_last_order": [None, 400, 10, 10],
...     "amount_spent": [0.0, 10_000.0, 30_000.0, 900_000.0],
... })
>>> rfm = RFM(bins={"r": [30, 90, 180, 365], "f": [1, 2, 4, 8], "m": [1e4, 5e4, 2e5, 5e5]})
>>> rows = rfm.fit_transform(profile).order_by("customer_id").to_pyarrow().to_pylist()
>>> [(r["customer_id"], r["r_score"], r["f_score"], r["m_score"], r["rfm_group"]) for r in rows]
[('a', None, None, None, 'prospects'), ('b', 1, 1, 1, 'lost'), ('c', 5, 1, 2, 'new'), ('d', 5, 4, 5, 'champions')]
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from danggol.errors import ConfigError
from danggol.estimator import Estimator, Param, int_in, is_number
from danggol.scores._yaml import read_table

if TYPE_CHECKING:  # loaded by what computes: reading the score fields (a count) needs neither
    import numpy as np

#: dimension → the profile column it is scored on
DIMENSIONS: dict[str, str] = {
    "r": "days_since_last_order",
    "f": "number_of_orders",
    "m": "amount_spent",
}
MIN_BINS, MAX_BINS = 2, 10
#: the group of customers without a purchase (not on the grid)
PROSPECTS = "prospects"
DEFAULT_SEGMENT_MAP = Path(__file__).parent / "defaults" / "rfm_segments.yaml"
#: the columns ``RFM.transform`` adds
SCORE_COLUMNS = ("r_score", "f_score", "m_score", "fm_score", "rfm_group")

_KEY = re.compile(r"[a-z][a-z0-9_]*")

BinsSpec = int | list[float]


# --------------------------------------------------------------------------------------
# the segment map
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentMap:
    """A validated square grid: ``cells[(r, fm)]`` is the segment key of that cell."""

    size: int
    cells: dict[tuple[int, int], str]
    #: key → {"ko": …, "en": …, "description": {"ko": …, "en": …}}; includes ``prospects``
    segments: dict[str, dict[str, Any]]
    source: str

    @property
    def keys(self) -> tuple[str, ...]:
        """Every group a customer can be in, in the map's order, ``prospects`` last."""
        return (*(k for k in self.segments if k != PROSPECTS), PROSPECTS)

    def label(self, key: str, lang: str = "ko") -> str:
        """The segment's name in ``lang`` ('ko' or 'en')."""
        return str(self.segments[key][lang])

    def group(self, r: int, fm: int, bins: int) -> str:
        """The segment of scores (r, fm) given on a 1..bins scale."""
        return self.cells[(rescale(r, bins, self.size), rescale(fm, bins, self.size))]


def rescale(score: int, bins: int, size: int) -> int:
    """``score`` on 1..bins placed on 1..size: 1 + round_half_up((s−1)(size−1)/(bins−1))."""
    if bins == size:
        return score
    numerator = 2 * (score - 1) * (size - 1) + (bins - 1)
    return 1 + numerator // (2 * (bins - 1))


def load_segment_map(
    source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
) -> SegmentMap:
    """Read and check a segment map (default: danggol's 5 × 5 map).

    The map has ``grid`` (row R = n … 1 → list of n segment keys for FM = n … 1) and
    ``segments`` (key → ``ko``, ``en`` and an optional ``description``). Every cell must
    name a segment defined under ``segments``, every segment must own at least one cell,
    and ``prospects`` (customers without a purchase) is defined but never on the grid.
    """
    data, where = read_table(DEFAULT_SEGMENT_MAP if source is None else source, "RFM segment map")

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{where}: {message}")

    if set(data) - {"grid", "segments"} or not {"grid", "segments"} <= set(data):
        raise fail(f"the segment map has the keys 'grid' and 'segments'; got {sorted(data)}")
    segments = _check_segments(data["segments"], fail)
    grid = data["grid"]
    if not isinstance(grid, dict) or not grid:
        raise fail("'grid' maps each R score to its row of segment keys, e.g. 5: [champions, …]")
    size = len(grid)
    if not MIN_BINS <= size <= MAX_BINS or set(grid) != set(range(1, size + 1)):
        raise fail(
            f"'grid' needs one row for each R score 1..n (n in [{MIN_BINS}, {MAX_BINS}]); "
            f"got rows {sorted(grid, key=str)}"
        )
    cells: dict[tuple[int, int], str] = {}
    for r in range(size, 0, -1):
        row = grid[r]
        if not isinstance(row, list) or len(row) != size:
            got = len(row) if isinstance(row, list) else repr(row)
            raise fail(
                f"grid row {r} needs {size} cells (FM = {size} … 1, left to right); got {got}"
            )
        for i, key in enumerate(row):
            fm = size - i
            if key == PROSPECTS:
                raise fail(
                    f"cell R={r}, FM={fm}: '{PROSPECTS}' is for customers without a purchase "
                    "and cannot be on the grid"
                )
            if key not in segments:
                raise fail(
                    f"cell R={r}, FM={fm} names '{key}', which is not under 'segments' "
                    f"(defined: {', '.join(segments)})"
                )
            cells[(r, fm)] = key
    unused = [k for k in segments if k != PROSPECTS and k not in cells.values()]
    if unused:
        raise fail(f"segment(s) {', '.join(unused)} own no cell of the grid; use or remove them")
    return SegmentMap(size, cells, segments, where)


def _check_segments(raw: object, fail: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict) or not raw:
        raise fail("'segments' maps each segment key to its labels: champions: {ko: …, en: …}")
    out: dict[str, dict[str, Any]] = {}
    for key, spec in raw.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise fail(f"segment key {key!r} must be lower-case letters, digits and _")
        if not isinstance(spec, dict) or not all(
            isinstance(spec.get(x), str) for x in ("ko", "en")
        ):
            raise fail(f"segment '{key}' needs a Korean and an English name: {{ko: …, en: …}}")
        out[key] = spec
    if PROSPECTS not in out:
        raise fail(f"'segments' must define '{PROSPECTS}' (customers without a purchase)")
    return out


# --------------------------------------------------------------------------------------
# thresholds
# --------------------------------------------------------------------------------------


def quantile_thresholds(values: np.ndarray, bins: int) -> list[Any]:
    """The ``bins − 1`` inverted-CDF quantiles of ``values``: t_k = v_(ceil(k·n/bins))."""
    import numpy as np

    ordered = np.sort(values)
    n = len(ordered)
    return [ordered[-(-k * n // bins) - 1].item() for k in range(1, bins)]


def score_expr(
    value: ir.NumericValue, thresholds: list[Any], *, reverse: bool = False
) -> ir.IntegerValue:
    """1 + #{t < value} as a CASE over literal thresholds (``reverse``: bins + 1 − that)."""
    bins = len(thresholds) + 1
    branches = [(value <= t, bins - k if reverse else k + 1) for k, t in enumerate(thresholds)]
    return ibis.cases(*branches, else_=1 if reverse else bins).cast("int64")


def _bins_ok(value: object) -> bool:
    if isinstance(value, dict):
        return bool(value) and set(value) <= set(DIMENSIONS) and all(map(_dim_ok, value.values()))
    return _dim_ok(value)


def _dim_ok(value: object) -> bool:
    if isinstance(value, list | tuple):
        return MIN_BINS - 1 <= len(value) <= MAX_BINS - 1 and all(map(is_number, value))
    return int_in(MIN_BINS, MAX_BINS)(value)


def _map_ok(value: object) -> bool:
    return value is None or isinstance(value, str | os.PathLike | Mapping | SegmentMap)


def _resolve_bins(bins: Any) -> tuple[int, dict[str, BinsSpec]]:
    """(number of bins, per-dimension int or fixed thresholds) after the type check."""
    given = dict(bins) if isinstance(bins, dict) else dict.fromkeys(DIMENSIONS, bins)
    counts = {d: spec if isinstance(spec, int) else len(spec) + 1 for d, spec in given.items()}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{d}: {c} bins" for d, c in counts.items())
        raise ConfigError(
            "RFM scores R, F and M on one scale, so every dimension needs the same number of "
            f"bins; got {listed}. Give each dimension {max(counts.values()) - 1} thresholds "
            "or the same int."
        )
    n = next(iter(counts.values()))
    specs: dict[str, BinsSpec] = {}
    for dim in DIMENSIONS:
        spec = given.get(dim, n)
        if not isinstance(spec, int):
            spec = [float(t) if isinstance(t, float) else t for t in spec]
            if any(b <= a for a, b in itertools.pairwise(spec)):
                raise ConfigError(
                    f"The thresholds for '{dim}' ({DIMENSIONS[dim]}) must increase strictly; "
                    f"got {spec}."
                )
        specs[dim] = spec
    return n, specs


# --------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------


class RFM(Estimator):
    """RFM scores (1 = worst … ``bins`` = best) and the segment of each customer.

    Parameters
    ----------
    bins : int in [2, 10], list of thresholds, or dict of those keyed by 'r', 'f', 'm'
        5 for quintiles, 3 for tertiles; a list gives fixed, ascending, inclusive upper
        bounds in the dimension's unit (see the module docstring for the exact rule).
    segment_map : path, mapping, SegmentMap or None
        The (R, FM) → segment table; None is danggol's default 5 × 5 map.

    Attributes (after ``fit``)
    --------------------------
    n_bins_ : int
    thresholds_ : dict[str, list]
        ``{'r': [...days], 'f': [...orders], 'm': [...amount]}``, ascending.
    learned_ : dict[str, bool]
        Whether each dimension's thresholds were learned from the profile.
    n_customers_ : int
        Customers with a purchase in the profile given to ``fit``.
    segment_map_ : SegmentMap
    """

    _parameters = (
        Param(
            "bins",
            _bins_ok,
            f"an int in the range [{MIN_BINS}, {MAX_BINS}] or a list of thresholds "
            f"(1 to {MAX_BINS - 1} numbers), alone or in a dict keyed by 'r', 'f', 'm'",
        ),
        Param("segment_map", _map_ok, "a path to a YAML file, a mapping, a SegmentMap or None"),
    )

    def __init__(
        self,
        bins: int | list[float] | dict[str, int | list[float]] = 5,
        *,
        segment_map: str | os.PathLike[str] | Mapping[str, Any] | SegmentMap | None = None,
    ) -> None:
        self.bins = bins
        self.segment_map = segment_map

    # -- fit ------------------------------------------------------------------------------
    def fit(self, profile: ir.Table) -> RFM:
        """Validate the parameters and learn the thresholds from the customers with a purchase."""
        import pyarrow as pa

        self.validate_params()
        n_bins, specs = _resolve_bins(self.bins)
        segment_map = (
            self.segment_map
            if isinstance(self.segment_map, SegmentMap)
            else load_segment_map(self.segment_map)
        )
        _require_columns(profile, [*DIMENSIONS.values()])
        buyers = profile.filter(profile.number_of_orders.fill_null(0) > 0)
        learn = [d for d, spec in specs.items() if isinstance(spec, int)]
        thresholds: dict[str, list[Any]] = {}
        if learn:
            data = buyers.select(*(DIMENSIONS[d] for d in learn)).to_pyarrow()
            n_customers = data.num_rows
            for dim in learn:
                column = data[DIMENSIONS[dim]].drop_null().cast(pa.float64()).to_numpy()
                if len(column) == 0:
                    # no buyer yet (a new shop): nobody is scored, everyone is a prospect
                    thresholds[dim] = [0.0] * (n_bins - 1)
                    continue
                thresholds[dim] = quantile_thresholds(column, n_bins)
        else:
            n_customers = int(buyers.count().to_pyarrow().as_py())
        for dim, spec in specs.items():
            if not isinstance(spec, int):
                thresholds[dim] = list(spec)
        self.n_bins_ = n_bins
        self.thresholds_ = {d: thresholds[d] for d in DIMENSIONS}
        self.learned_ = {d: d in learn for d in DIMENSIONS}
        self.n_customers_ = n_customers
        self.segment_map_ = segment_map
        return self

    # -- transform ------------------------------------------------------------------------
    def transform(self, profile: ir.Table) -> ir.Table:
        """The profile with r_score, f_score, m_score, fm_score (ints) and rfm_group."""
        if not hasattr(self, "thresholds_"):
            raise ConfigError(
                "This RFM instance is not fitted yet. Call 'fit' with a profile before "
                "'transform', or use 'fit_transform'."
            )
        _require_columns(profile, [*DIMENSIONS.values()])
        buyer = profile.number_of_orders.fill_null(0) > 0
        none = ibis.null("int64")
        scores = {}
        for dim, column in DIMENSIONS.items():
            value = profile[column]
            score = score_expr(value, self.thresholds_[dim], reverse=dim == "r")
            scores[f"{dim}_score"] = (buyer & value.notnull()).ifelse(score, none)
        table = profile.mutate(**scores)
        table = table.mutate(fm_score=((table.f_score + table.m_score) // 2).cast("int64"))
        return table.mutate(rfm_group=self._group_expr(table.r_score, table.fm_score, buyer))

    def fit_transform(self, profile: ir.Table) -> ir.Table:
        return self.fit(profile).transform(profile)

    def _group_expr(
        self, r: ir.IntegerValue, fm: ir.IntegerValue, buyer: ir.BooleanValue
    ) -> ir.StringValue:
        """A CASE over the n_bins² cells; a buyer with a missing score falls in no cell → null."""
        bins, smap = self.n_bins_, self.segment_map_
        branches = [
            ((r == i) & (fm == j), smap.group(i, j, bins))
            for i in range(bins, 0, -1)
            for j in range(bins, 0, -1)
        ]
        return ibis.cases((~buyer, PROSPECTS), *branches, else_=ibis.null("string"))

    # -- reading the result ---------------------------------------------------------------
    def group_label(self, key: str, lang: str = "ko") -> str:
        """The name of a group in Korean (``'ko'``) or English (``'en'``)."""
        smap = getattr(self, "segment_map_", None) or (
            self.segment_map
            if isinstance(self.segment_map, SegmentMap)
            else load_segment_map(self.segment_map)
        )
        if key not in smap.segments:
            raise ConfigError(f"unknown RFM group {key!r}; expected one of {', '.join(smap.keys)}")
        return smap.label(key, lang)

    def grid(self) -> dict[tuple[int, int], str]:
        """The fitted (r_score, fm_score) → group table on the 1..n_bins scale."""
        bins = self.n_bins_
        return {
            (i, j): self.segment_map_.group(i, j, bins)
            for i in range(1, bins + 1)
            for j in range(1, bins + 1)
        }


def _require_columns(table: ir.Table, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ConfigError(
            f"the profile lacks the column(s) {', '.join(missing)}; pass the table "
            "danggol.customer_profile(con, as_of) returns (or one with those columns)"
        )


__all__ = [
    "DEFAULT_SEGMENT_MAP",
    "DIMENSIONS",
    "PROSPECTS",
    "RFM",
    "SCORE_COLUMNS",
    "SegmentMap",
    "load_segment_map",
    "quantile_thresholds",
    "rescale",
    "score_expr",
]
