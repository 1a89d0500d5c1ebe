"""The quarantine: rows a load refused, each with its file, line, reason and raw record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from danggol.store.workspace import Workspace


@dataclass
class Quarantine:
    """The latest quarantined rows (newest load first) and how many there are in all."""

    total: int
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "rows": self.rows}


def quarantined(ws: Workspace, limit: int = 20) -> Quarantine:
    """Up to ``limit`` quarantined rows — the latest load's first, then by file and line —
    each as ``table``, ``file``, ``line``, ``reason`` and ``record`` (the raw row as JSON)."""
    rows = ws.duck.execute(
        "SELECT table_name, source_file, source_line, reason, record FROM quarantine "
        "ORDER BY batch_id DESC, source_file, source_line LIMIT ?",
        [limit],
    ).fetchall()
    keys = ("table", "file", "line", "reason", "record")
    return Quarantine(ws.count("quarantine"), [dict(zip(keys, r, strict=True)) for r in rows])


def quarantine_table(ws: Workspace) -> Any:
    """Every quarantined row as an Arrow table (``table``, ``file``, ``line``, ``reason``,
    ``record``), the latest load's first — what ``danggol quarantine --out`` writes."""
    return ws.duck.sql(
        'SELECT table_name AS "table", source_file AS file, source_line AS line, reason, record '
        "FROM quarantine ORDER BY batch_id DESC, file, line"
    ).to_arrow_table()
