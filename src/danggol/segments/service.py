"""What the edges (CLI, API) call for segments: resolve, count, members, SQL, explain.

A *target* is a saved or built-in segment name, or a query typed on the spot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import sqlglot

from danggol.errors import SegmentError
from danggol.predict.customers import field_specs as prediction_fields
from danggol.predict.customers import profile_with_predictions
from danggol.profile import customer_profile
from danggol.scores import add_scores
from danggol.segments.compile import Compiler
from danggol.segments.definition import NAME_RE, Segment
from danggol.segments.nodes import Node, field_names
from danggol.segments.parse import parse_query, to_query
from danggol.segments.registry import Registry
from danggol.store.workspace import Workspace

DIALECTS = ("duckdb", "postgres", "bigquery", "snowflake", "spark", "databricks", "trino", "mysql")
#: dialects whose Ibis compiler needs the engine's package (pyspark): translated by sqlglot
TRANSPILED = ("spark", "databricks")
PREDICTION_FIELDS = {spec.name for spec in prediction_fields()}


@dataclass(frozen=True)
class Target:
    tree: Node
    segment: Segment | None = None

    @property
    def query(self) -> str:
        return to_query(self.tree)

    @property
    def name(self) -> str | None:
        return self.segment.name if self.segment else None


def registry(ws: Workspace) -> Registry:
    return Registry(ws.path / "segments")


def target(ws: Workspace, text: str, params: dict[str, Any] | None = None) -> Target:
    """A segment name (saved or built-in) or a query."""
    reg = registry(ws)
    stripped = text.strip()
    if NAME_RE.fullmatch(stripped) and stripped in reg.all():
        segment = reg.get(stripped)
        if params:
            segment = segment.with_params(**params)
        return Target(segment.tree(), segment)
    if params:
        raise SegmentError("--param applies to a saved or built-in segment, not to a query")
    return Target(parse_query(text))


def compiler(ws: Workspace, as_of: dt.date) -> Compiler:
    return Compiler(
        ws.ibis,
        as_of,
        base=lambda: profile_with_predictions(ws.ibis, as_of, ws.config.predictions),
        resolver=registry(ws).tree,
    )


def members(ws: Workspace, tgt: Target, as_of: dt.date) -> ir.Table:
    return compiler(ws, as_of).members(tgt.tree)


def count(ws: Workspace, tgt: Target, as_of: dt.date) -> int:
    expr = members(ws, tgt, as_of)
    return int(expr.count().to_pyarrow().as_py())


def to_sql(ws: Workspace, tgt: Target, as_of: dt.date, dialect: str = "duckdb") -> str:
    if dialect not in DIALECTS:
        raise SegmentError(f"unknown SQL dialect '{dialect}'; choose one of {', '.join(DIALECTS)}")
    predicted = [f for f in field_names(tgt.tree) if f in PREDICTION_FIELDS]
    if predicted:
        raise SegmentError(
            f"{', '.join(predicted)} {'is a prediction' if len(predicted) == 1 else 'are predictions'}"
            " made in Python at refresh, not SQL: this segment has no portable SQL. Count it or "
            "list its members with danggol (they read the stored profile), or export the members"
        )
    # the full expression (not the materialised profile), so the SQL runs on any engine
    full = Compiler(
        ws.ibis,
        as_of,
        base=lambda: add_scores(ws.ibis, customer_profile(ws.ibis, as_of), as_of),
        resolver=registry(ws).tree,
    )
    expr = full.members(tgt.tree).select("customer_id")
    if dialect in TRANSPILED:
        # no Ibis compiler without the engine's own package: sqlglot translates DuckDB's SQL
        duck_sql = str(ibis.to_sql(expr, dialect="duckdb"))
        return ";\n".join(sqlglot.transpile(duck_sql, read="duckdb", write=dialect, pretty=True))
    return str(ibis.to_sql(expr, dialect=dialect))
