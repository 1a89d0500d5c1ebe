"""The shop's own spellings of a typed value: a case-insensitive test that compares exactly.

Text comparisons in segments ignore case (``operators.py``): ``products_purchased MATCHES
(id = 'p0234')`` finds the lines of ``P0234``. Written as ``LOWER(product_id) =
LOWER('p0234')`` that lowers every order line's id, and DuckDB can neither push the test into
its table scan nor estimate how few lines pass it, so it joins the orders the slow way round.
On the embedded store a row test of a catalogue column (:data:`SPELLED`: product ids,
categories, event names) looks up instead the column's distinct values whose lower-case form
equals the typed value's — ``P0234`` alone in most shops, ``P0234`` and ``p0234`` in a shop
whose exports disagree — and compares exactly with them (``product_id IN ('P0234')``): the
same rows, as a test the scan applies on its dictionary. Both sides are lowered by the engine
(DuckDB's ``lower`` and Python's differ on a few letters, ``İ``).

The distinct values are listed once per store a connection reads: a published store is
read-only and never changes under its connection (``store/workspace.py``), so the list is kept
for as long as the connection lives; a writer's copy is listed again by each compiler.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence

import ibis

from danggol.store.backends import capabilities

#: (MATCHES rows source, argument) → (table, column) whose values a row test names: few
#: distinct values (a catalogue's), listed cheaply from the store
SPELLED: dict[tuple[str, str], tuple[str, str]] = {
    ("products", "id"): ("order_items", "product_id"),
    ("products", "category"): ("order_items", "category"),
    ("events", "name"): ("events", "event"),
}
#: a column with more distinct values than this is no catalogue: compared with LOWER as before
MAX_VALUES = 100_000

#: lower-cased value → the column's distinct values of that lower-case form
Spellings = dict[str, tuple[str, ...]]

_lock = threading.Lock()
_listed: weakref.WeakKeyDictionary[object, dict[tuple[str, str], Spellings | None]] = (
    weakref.WeakKeyDictionary()
)


def listing(con: ibis.BaseBackend, table: str, column: str) -> Spellings | None:
    """Every distinct value of ``table.column`` by its lower-case form, or None when the
    engine is not the embedded DuckDB store or the column has more than :data:`MAX_VALUES`
    values (then the caller compares with LOWER)."""
    if not capabilities(con).embedded_store:
        return None
    duck = con.con
    fixed = duck.execute(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    keep = bool(fixed and fixed[0])  # a published store never changes under its connection
    if keep:
        with _lock:
            known = _listed.get(duck, {})
            if (table, column) in known:
                return known[(table, column)]
    rows = duck.execute(
        f'SELECT lower(v), list(v ORDER BY v) FROM (SELECT DISTINCT "{column}" AS v '
        f'FROM "{table}" WHERE "{column}" IS NOT NULL LIMIT {MAX_VALUES + 1}) GROUP BY 1'
    ).fetchall()
    values: Spellings = {str(k): tuple(v) for k, v in rows}
    found = values if sum(len(v) for v in values.values()) <= MAX_VALUES else None
    if keep:
        with _lock:
            _listed.setdefault(duck, {})[(table, column)] = found
    return found


def spellings(
    con: ibis.BaseBackend, table: str, column: str, values: Sequence[str]
) -> tuple[str, ...] | None:
    """The values of ``table.column`` equal to one of ``values`` ignoring case (none: an
    empty tuple), or None when they cannot be listed (:func:`listing`)."""
    listed = listing(con, table, column)
    if listed is None:
        return None
    row = con.con.execute("SELECT [lower(x) FOR x IN ?::VARCHAR[]]", [list(values)]).fetchone()
    lowered: list[str] = row[0] if row else []
    return tuple(dict.fromkeys(s for key in lowered for s in listed.get(key, ())))


__all__ = ["MAX_VALUES", "SPELLED", "listing", "spellings"]
