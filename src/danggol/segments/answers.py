"""What ``danggol segment count`` answers, as plain data.

One function, called by the CLI in its own process and by a running ``danggol serve`` when
the CLI asks it (``POST /api/cli/count``, :mod:`danggol.cli.remote`): both print the same
answer because both compute it here, with the same defaults.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from danggol.profile import as_of_date
from danggol.segments import service
from danggol.store.workspace import Workspace


def count_answer(
    ws: Workspace, target: str, params: dict[str, Any], as_of: dt.date | None
) -> dict[str, Any]:
    """How many customers ``target`` (a saved or built-in segment's name, or a query) holds
    as of ``as_of`` (None: the workspace's ``as_of``, else today in its time zone), with the
    segment's name, the query in its canonical form, the universe it is drawn from and the
    values the shop lacks (``warnings``). Every value is JSON's own (a date as text)."""
    day = as_of_date(as_of, ws.config)
    tgt = service.target(ws, target, params)
    n = service.count(ws, tgt, day)
    return {
        "count": n,
        "as_of": day.isoformat(),
        "segment": tgt.name,
        "query": tgt.query,
        "universe": service.universe_of(ws, tgt),
        "warnings": service.value_warnings(ws, tgt.tree),
    }
