"""One way to make data JSON-ready, for every result the library returns.

:func:`jsonable` turns dataclasses, dates and containers into what :func:`json.dumps` takes
(dates and datetimes as ISO text, a NaN or infinite float as null); :class:`ToDict` gives a
result dataclass its ``to_dict()``.

>>> import datetime as dt
>>> from dataclasses import dataclass
>>> @dataclass
... class Size(ToDict):
...     as_of: dt.date
...     share: float
>>> Size(dt.date(2025, 6, 30), float("nan")).to_dict()
{'as_of': '2025-06-30', 'share': None}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

__all__ = ["ToDict", "jsonable"]


def jsonable(value: Any) -> Any:
    """Dataclasses, dates and containers as JSON-ready values (dates as ISO text, NaN and
    infinities as None), all the way down."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class ToDict:
    """Mixin: ``to_dict()`` gives the JSON-ready form of a result dataclass."""

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)
