"""Small numpy/Arrow helpers the demo generator shares: fixed-width strings, numbered ids,
weighted choices and per-segment ranks and sums."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from danggol.demo.vocabularies import US_PER_MINUTE

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
