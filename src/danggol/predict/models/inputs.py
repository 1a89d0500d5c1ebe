"""The inputs every model checks: a summary table's columns, (frequency, recency, T), weights;
and identical rows merged into weights before a fit."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from danggol.errors import ConfigError

FloatArray = NDArray[np.float64]


def _column(table: Any, name: str) -> FloatArray:
    """Column ``name`` of a pyarrow Table, a pandas DataFrame or a mapping, as float64."""
    try:
        col = table[name]
    except (KeyError, TypeError, IndexError):
        raise ConfigError(
            f"the summary table must have a column {name!r}; got columns "
            f"{list(getattr(table, 'column_names', None) or getattr(table, 'columns', []))}"
        ) from None
    if hasattr(col, "to_numpy") and not isinstance(col, np.ndarray):
        try:
            col = col.to_numpy(zero_copy_only=False)
        except TypeError:
            col = col.to_numpy()
    return np.asarray(col, dtype=np.float64)


def _as_array(name: str, value: ArrayLike) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be numbers; got {type(value).__name__}") from None
    if arr.ndim > 1:
        raise ConfigError(f"{name} must be one-dimensional; got shape {arr.shape}")
    arr = np.atleast_1d(arr)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ConfigError(
            f"{name} must be finite numbers; got {float(arr[bad][0])!r} at row {int(np.argmax(bad))}"
        )
    return arr


def _first_bad(name: str, mask: NDArray[np.bool_], expected: str, values: FloatArray) -> None:
    if mask.any():
        i = int(np.argmax(mask))
        raise ConfigError(
            f"{name} must be {expected}; got {float(values[i])!r} at row {i} "
            f"({int(mask.sum())} bad row(s) in all)"
        )


def check_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate (frequency, recency, T) and broadcast them to one length.

    frequency: whole numbers ≥ 0; recency: 0 ≤ recency ≤ T, and 0 when frequency is 0;
    T > 0. Raises :class:`ConfigError` naming the first bad row.
    """
    x, tx, t = (
        _as_array(n, v) for n, v in (("frequency", frequency), ("recency", recency), ("T", T))
    )
    try:
        x, tx, t = np.broadcast_arrays(x, tx, t)
    except ValueError:
        raise ConfigError(
            f"frequency, recency and T must have the same length; got {x.size}, {tx.size}, {t.size}"
        ) from None
    _first_bad("frequency", (x < 0) | (x != np.floor(x)), "a whole number >= 0", x)
    _first_bad("recency", tx < 0, ">= 0", tx)
    _first_bad("T", t <= 0, "> 0 (time from the first purchase to the end of the period)", t)
    over = tx > t * (1 + 1e-12)
    if over.any():
        i = int(np.argmax(over))
        raise ConfigError(
            f"recency must be <= T (the last purchase cannot come after the end of the period); "
            f"got recency {float(tx[i])!r} > T {float(t[i])!r} at row {i}"
        )
    _first_bad(
        "recency",
        (x == 0) & (tx != 0),
        "0 for a customer without repeat purchases (frequency 0)",
        tx,
    )
    return x.astype(np.float64), np.minimum(tx, t).astype(np.float64), t.astype(np.float64)


def aggregate_rows(
    columns: tuple[FloatArray, ...], weights: FloatArray | None
) -> tuple[tuple[FloatArray, ...], FloatArray]:
    """Merge identical rows into one with a weight (the number of customers, or Σ weights).

    The rows come out sorted by the first column, then the second, … Each column gets
    integer codes (a whole-number column such as the frequency is its own code, others are
    ranked with ``np.unique``), the codes make one int64 key per row and a plain sort of the
    keys finds the groups: far faster than ``np.unique(axis=0)``. -0.0 and 0.0 are one value.
    """
    n = columns[0].size
    key = np.zeros(n, dtype=np.int64)
    decode: list[tuple[int, FloatArray | None]] = []
    for col in columns:
        col = col + 0.0  # -0.0 → 0.0
        low, high = (float(col.min()), float(col.max())) if n else (0.0, 0.0)
        if low >= 0 and high < 2**31 and bool((col == np.floor(col)).all()):
            size, codes, uniq = int(high) + 1, col.astype(np.int64), None
        else:
            # non-negative floats sort like their bit patterns, and int64 sorts faster
            ranked = col.view(np.int64) if low >= 0 else col
            found, inverse = np.unique(ranked, return_inverse=True)
            size, codes = max(found.size, 1), inverse.ravel()
            uniq = np.asarray(found.view(np.float64) if low >= 0 else found, dtype=np.float64)
        if key.max(initial=0) > (np.iinfo(np.int64).max - size) // size:
            return _aggregate_rows_slow(columns, weights)
        key = key * size + codes
        decode.append((size, uniq))
    ordered = np.sort(key)
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    keys = ordered[new]
    if weights is None:
        w = np.diff(np.append(np.flatnonzero(new), n)).astype(np.float64)
    else:
        w = np.bincount(np.searchsorted(keys, key), weights=weights, minlength=keys.size).astype(
            np.float64
        )
    out = []
    rest = keys
    for size, uniq in reversed(decode):
        rest, codes = np.divmod(rest, size)
        out.append(codes.astype(np.float64) if uniq is None else uniq[codes])
    return tuple(reversed(out)), w


def _aggregate_rows_slow(
    columns: tuple[FloatArray, ...], weights: FloatArray | None
) -> tuple[tuple[FloatArray, ...], FloatArray]:
    stacked = np.column_stack(columns)
    unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    if weights is None:
        w = counts.astype(np.float64)
    else:
        w = np.bincount(inverse.ravel(), weights=weights, minlength=len(unique)).astype(np.float64)
    return tuple(unique[:, j].copy() for j in range(unique.shape[1])), w


def _check_weights(weights: ArrayLike | None, n: int) -> FloatArray | None:
    if weights is None:
        return None
    w = np.broadcast_to(_as_array("weights", weights), (n,)).astype(np.float64)
    _first_bad("weights", w < 0, ">= 0 (how many customers a row stands for)", w)
    if w.sum() <= 0:
        raise ConfigError("weights must not all be 0: at least one customer is needed to fit")
    return w
