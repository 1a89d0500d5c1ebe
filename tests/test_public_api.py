"""The curated public API: `__all__` is sorted, complete and every name resolves."""

from __future__ import annotations

import doctest

import danggol


def test_all_is_sorted_and_resolves():
    assert list(danggol.__all__) == sorted(danggol.__all__, key=lambda n: (n.upper() != n, n))
    for name in danggol.__all__:
        assert getattr(danggol, name) is not None, name


def test_every_public_name_is_listed():
    public = {
        n
        for n, v in vars(danggol).items()
        if not n.startswith("_")
        and getattr(v, "__module__", "").startswith("danggol")
        and not isinstance(v, type(danggol))
    }
    assert public <= set(danggol.__all__), public - set(danggol.__all__)


def test_package_docstring_runs():
    failures, tried = doctest.testmod(danggol)
    assert tried > 0 and failures == 0
