"""The curated public API: `__all__` is sorted, complete and every name resolves."""

from __future__ import annotations

import doctest
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

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


def test_every_public_name_loads_lazily():
    """`import danggol` loads no submodule: each public name is imported on first use (PEP 562),
    and the lazy table names exactly the public API."""
    assert set(danggol._LAZY) == set(danggol.__all__)
    assert "__version__" not in danggol.__all__ and danggol.__version__ == version("danggol")


def test_version_has_one_source():
    """The version lives in pyproject.toml only; the package and `danggol --version` read it."""
    root = Path(__file__).resolve().parents[1]
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    hits = [
        p
        for p in (root / "src").rglob("*.py")
        if re.search(r"^__version__\s*=\s*['\"]", p.read_text(encoding="utf-8"), re.M)
    ]
    assert hits == [], hits
    assert danggol.__version__ == declared["project"]["version"]
