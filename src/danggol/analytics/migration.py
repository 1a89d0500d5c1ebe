"""Migration between two dates: who moved from one label to another (Loyal → At Risk).

A *labeler* gives each customer one label as of a date: any function
``label(con, as_of) -> Table(customer_id, label)``, or the name of a column of the profile
(``favourite_category``) or of the scored profile (``rfm_group``, ``lifecycle_stage``,
``grade``), read with :func:`profile_labeler`.

The population is the union of the customers labelled at either date. A customer labelled
at one date only (not yet a customer at the first, or left out by the labeler), or whose
label is null, counts under :data:`NONE` (``'none'``) on that side, so the matrix counts sum
to the population. A labeler must give at most one row per customer and date; one that
gives more is refused (the counts would no longer add up).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from danggol.errors import ConfigError
from danggol.profile import profile_for
from danggol.scores import scored_profile
from danggol.serial import ToDict

#: label of a customer who has none at a date (absent there, or labelled null)
NONE = "none"

#: ``label(con, as_of)`` → Table(customer_id, label)
Labeler = Callable[[ibis.BaseBackend, dt.date], ir.Table]


def profile_labeler(column: str) -> Labeler:
    """A labeler reading one column (as text) of the customer profile, or of the scored
    profile for a score column (``rfm_group``, ``lifecycle_stage``, ``grade``...)."""

    def label(con: ibis.BaseBackend, as_of: dt.date) -> ir.Table:
        p = profile_for(con, as_of)
        if column not in p.columns:
            p = scored_profile(con, as_of)
        if column not in p.columns:
            raise ConfigError(
                f"the profile has no column '{column}'; use one of {', '.join(p.columns)}"
            )
        return p.select("customer_id", label=p[column].cast("string"))

    label.__name__ = f"profile_{column}"
    return label


@dataclass(frozen=True)
class Cell(ToDict):
    """Customers labelled ``from_label`` at the first date and ``to_label`` at the second."""

    from_label: str
    to_label: str
    customers: int


@dataclass(frozen=True)
class Migration(ToDict):
    """The from × to matrix of customer counts between two dates."""

    date_from: dt.date
    date_to: dt.date
    #: every customer labelled at either date; equals the sum of the cells
    population: int
    #: labels in display order (sorted, 'none' last)
    labels: list[str]
    #: the non-empty cells, largest first
    cells: list[Cell]

    def matrix(self) -> dict[str, dict[str, int]]:
        """``matrix()[from][to]`` = customers, with 0 for empty cells."""
        grid = {a: dict.fromkeys(self.labels, 0) for a in self.labels}
        for cell in self.cells:
            grid[cell.from_label][cell.to_label] = cell.customers
        return grid

    def count(self, from_label: str, to_label: str) -> int:
        return self.matrix().get(from_label, {}).get(to_label, 0)

    @property
    def stayed(self) -> int:
        """Customers with the same label at both dates."""
        return sum(c.customers for c in self.cells if c.from_label == c.to_label)

    @property
    def moved(self) -> int:
        return self.population - self.stayed


def _labels(by: Labeler | str, con: ibis.BaseBackend, as_of: dt.date) -> ir.Table:
    labeler = profile_labeler(by) if isinstance(by, str) else by
    t = labeler(con, as_of)
    missing = {"customer_id", "label"} - set(t.columns)
    if missing:
        raise ConfigError(
            f"a labeler must return a table with columns customer_id and label; "
            f"{getattr(labeler, '__name__', labeler)!r} returned {list(t.columns)}"
        )
    return t.select("customer_id", label=t.label.cast("string"))


def transitions(
    con: ibis.BaseBackend, date_from: dt.date, date_to: dt.date, by: Labeler | str
) -> ir.Table:
    """One row per customer labelled at either date: ``customer_id, from_label, to_label``.

    A side without a label reads :data:`NONE`. Filter it for the movers of one cell, or
    join it onto the profile.
    """
    if date_to < date_from:
        raise ConfigError(
            f"the second date ({date_to}) is before the first ({date_from}); swap them"
        )
    a = _labels(by, con, date_from).rename(from_label="label")
    b = _labels(by, con, date_to).rename(to_label="label")
    joined = a.outer_join(b, a.customer_id == b.customer_id)
    return joined.select(
        customer_id=joined.customer_id.fill_null(joined.customer_id_right),
        from_label=joined.from_label.fill_null(NONE),
        to_label=joined.to_label.fill_null(NONE),
    )


def _sort_key(label: str) -> tuple[bool, str]:
    return (label == NONE, label)


def migration(
    con: ibis.BaseBackend, date_from: dt.date, date_to: dt.date, *, by: Labeler | str
) -> Migration:
    """Count customers by (label at ``date_from``, label at ``date_to``).

    Parameters
    ----------
    con : ibis.BaseBackend
        The Ibis connection of the workspace (``ws.ibis``).
    date_from, date_to : datetime.date
        The two as-of dates (``date_from`` ≤ ``date_to``).
    by : Labeler or str
        ``label(con, as_of) -> Table(customer_id, label)``, or the name of a profile column.

    Returns
    -------
    Migration
        Σ cells = population = |customers labelled at date_from ∪ labelled at date_to|.
    """
    moves = transitions(con, date_from, date_to, by)
    # a customer's first row counts them once: Σ first = the distinct customers (population)
    moves = moves.mutate(first=ibis.row_number().over(group_by=moves.customer_id) == 0)
    grouped = moves.group_by(["from_label", "to_label"]).aggregate(
        customers=moves.count(), distinct=moves.first.sum()
    )
    rows = grouped.to_pyarrow().to_pylist()
    population = sum(int(r["distinct"]) for r in rows)
    total = sum(int(r["customers"]) for r in rows)
    if total != population:
        raise ConfigError(
            f"the labeler gave some customers more than one label at a date "
            f"({total} labelled rows for {population} customers); it must return one row "
            "per customer"
        )
    cells = sorted(
        (Cell(r["from_label"], r["to_label"], int(r["customers"])) for r in rows),
        key=lambda c: (-c.customers, _sort_key(c.from_label), _sort_key(c.to_label)),
    )
    labels = sorted({c.from_label for c in cells} | {c.to_label for c in cells}, key=_sort_key)
    return Migration(date_from, date_to, population, labels, cells)


def movers(
    con: ibis.BaseBackend,
    date_from: dt.date,
    date_to: dt.date,
    from_label: str,
    to_label: str,
    *,
    by: Labeler | str,
) -> pa.Table:
    """The ``customer_id`` s labelled ``from_label`` at ``date_from`` and ``to_label`` at
    ``date_to`` (sorted), e.g. who moved from Loyal to At Risk."""
    moves = transitions(con, date_from, date_to, by)
    chosen = moves.filter(moves.from_label == from_label, moves.to_label == to_label)
    return chosen.select("customer_id").order_by("customer_id").to_pyarrow()
