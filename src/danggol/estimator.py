"""The estimator base every model shares (scikit-learn's ``BaseEstimator`` contract).

``__init__`` stores the parameters only; ``fit`` validates them against the class's declarative
table ``_parameters`` (scikit-learn's ``_parameter_constraints``), learns the attributes ending
in ``_`` and returns ``self``. :class:`Estimator` gives every model the same
:meth:`~Estimator.get_params`, :meth:`~Estimator.set_params`, ``repr`` and validation, worded
the same way everywhere: "The 'bins' parameter of RFM must be an int in the range [2, 10] or a
list of thresholds. Got 1 instead."

>>> class Smoother(Estimator):
...     _parameters = (Param("alpha", number_in(0, 1), "a number in the range [0, 1]"),)
...
...     def __init__(self, alpha=0.5):
...         self.alpha = alpha
>>> Smoother()
Smoother(alpha=0.5)
>>> Smoother().set_params(alpha=2).validate_params()
Traceback (most recent call last):
...
danggol.errors.ConfigError: The 'alpha' parameter of Smoother must be a number in the range [0, 1]. Got 2 instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from danggol.errors import ConfigError

__all__ = [
    "Estimator",
    "Param",
    "int_in",
    "is_int",
    "is_number",
    "number_in",
    "one_of",
    "optional",
    "validate",
]


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


class Estimator:
    """Parameters from the class's ``_parameters`` table: read, changed, shown and checked
    the same way in every model."""

    _parameters: ClassVar[tuple[Param, ...]] = ()

    def get_params(self) -> dict[str, Any]:
        """The parameters, in the table's order."""
        return {p.name: getattr(self, p.name) for p in self._parameters}

    def set_params(self, **params: Any) -> Self:
        """Change parameters (checked at the next ``fit``); an unknown name is refused."""
        known = [p.name for p in self._parameters]
        for name, value in params.items():
            if name not in known:
                raise ConfigError(
                    f"{type(self).__name__} has no parameter {name!r}; "
                    f"its parameters are: {', '.join(known)}"
                )
            setattr(self, name, value)
        return self

    def validate_params(self) -> None:
        """Check every parameter against the table; the first bad one raises ConfigError."""
        validate(type(self).__name__, self._parameters, self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


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
