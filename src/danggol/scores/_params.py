"""Declarative parameter checks for the score estimators (scikit-learn's ``_parameter_constraints``).

Each estimator lists its parameters once, as rows of ``Param``; ``validate`` runs the table at
``fit`` and raises one :class:`~danggol.errors.ConfigError` per bad value, worded the same way
everywhere: "The 'bins' parameter of RFM must be an int in the range [2, 10] or a list of
thresholds. Got 1 instead."
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from danggol.errors import ConfigError


@dataclass(frozen=True)
class Param:
    """One parameter: its name, a predicate, and what the predicate accepts in words."""

    name: str
    accepts: Callable[[Any], bool]
    expected: str


def validate(owner: str, table: tuple[Param, ...], values: Mapping[str, Any]) -> None:
    """Check ``values`` against ``table``; the first bad value raises ConfigError."""
    for param in table:
        value = values[param.name]
        if not param.accepts(value):
            raise ConfigError(
                f"The '{param.name}' parameter of {owner} must be {param.expected}. "
                f"Got {value!r} instead."
            )


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def int_in(low: int, high: float) -> Callable[[Any], bool]:
    """An int in [low, high] (``high`` may be ``math.inf``)."""
    return lambda v: is_int(v) and low <= v <= high


def number_in(low: float, high: float, *, low_open: bool = False) -> Callable[[Any], bool]:
    """A finite number in [low, high], or (low, high] with ``low_open``."""

    def accepts(v: Any) -> bool:
        if not is_number(v) or v > high:
            return False
        return v > low if low_open else v >= low

    return accepts


def optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or check(v)


def one_of(*choices: object) -> Callable[[Any], bool]:
    return lambda v: v in choices
