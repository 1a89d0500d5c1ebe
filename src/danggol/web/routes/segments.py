"""Segments: list, create, update, delete, members, export, SQL; ad-hoc count and preview."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from danggol.errors import ERROR_HEADER, DanggolError, SegmentError, error_info
from danggol.outputs.files import neutralise_formulas
from danggol.segments import service
from danggol.segments.answers import count_answer
from danggol.segments.definition import Segment
from danggol.segments.explain import describe
from danggol.segments.forms import from_dict, to_dict
from danggol.segments.nodes import Node
from danggol.segments.parse import parse_query, to_query
from danggol.web import dashboard, people
from danggol.web import models as m
from danggol.web.deps import (
    AsOf,
    Fields,
    Lang,
    State,
    check_personal,
    personal_ok,
    split_fields,
)
from danggol.web.errors import WebError, danggol_error

router = APIRouter(prefix="/api", tags=["segments"], responses=m.errors(*m.COMMON_ERRORS))

#: how many rows one chunk of a CSV export carries
EXPORT_CHUNK = 10_000


class Condition(BaseModel):
    """A segment condition: the query text, or the tree (``{"all": [...]}`` …)."""

    query: str | None = Field(None, examples=["number_of_orders >= 2 AND last_order_date >= -90d"])
    where: Any = Field(None, examples=[{"all": ["number_of_orders >= 2", {"not": "refunds > 0"}]}])

    def tree(self) -> Node:
        if (self.query is None) == (self.where is None):
            raise SegmentError("give exactly one of 'query' (text) or 'where' (tree)")
        return parse_query(self.query) if self.query is not None else from_dict(self.where)


class SegmentIn(Condition):
    title: dict[str, str] = Field(default_factory=dict, examples=[{"ko": "단골", "en": "Regulars"}])
    description: dict[str, str] = Field(default_factory=dict)
    goal: str = "other"
    params: dict[str, Any] = Field(default_factory=dict)


class SegmentCreate(SegmentIn):
    name: str = Field(examples=["regulars"])
    replace: bool = False


class PreviewIn(Condition):
    fields: list[str] = Field(default_factory=lambda: ["customer_id"])
    sort: str = "customer_id"
    order: Literal["asc", "desc"] = "asc"
    search: str | None = Field(None, max_length=100)
    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=500)


class CliCountIn(BaseModel):
    """What ``danggol segment count`` parsed (cli/remote.py): the target as typed, the
    ``--param`` values, and the workspace it means (a server of another one refuses)."""

    target: str = Field(examples=["lapsed", "number_of_orders >= 2"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"months": 3}])
    workspace: str = Field(examples=["/srv/shop"])


class CopyIn(BaseModel):
    """A new segment from a built-in one: its name, the built-in's parameters, its titles."""

    name: str = Field(examples=["cross_sell_socks_shoes"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"product_a": "P0001"}])
    title: dict[str, str] = Field(default_factory=dict)
    description: dict[str, str] = Field(default_factory=dict)


def _save(state: State, name: str, body: SegmentIn, overwrite: bool) -> dict[str, Any]:
    body.tree()  # a condition that does not parse is never saved
    with state.lock:
        existing = service.registry(state.ws).all().get(name)
    if existing is not None and existing.builtin:
        # the library allows a shop's override on disk; the dashboard never replaces a
        # built-in with one click: it saves a copy under a new name
        raise WebError(
            400,
            "builtin_segment",
            f"'{name}' is a built-in segment and cannot be replaced here: save it under a new "
            "name (copy and edit)",
        )
    if existing is not None and not overwrite:
        raise WebError(
            409, "segment_exists", f"a segment named '{name}' is already saved: choose another name"
        )
    segment = Segment(
        name=name,
        title=body.title,
        description=body.description,
        goal=body.goal,
        params=body.params,
        query=body.query,
        where=body.where,
    )
    with state.lock:
        service.registry(state.ws).save(segment, overwrite=overwrite)
        return dashboard.segment_info(service.registry(state.ws).get(name))


@router.get(
    "/segments",
    summary="Every segment with size, revenue share and size trend",
    response_model=list[m.SegmentListItemOut],
    responses=m.errors(422),
)
def list_segments(state: State, as_of: AsOf = None) -> list[dict[str, Any]]:
    return state.cached("segments", dashboard.segment_list, state.as_of(as_of))


@router.post(
    "/segments",
    status_code=201,
    summary="Save a segment from a query or a tree",
    response_model=m.SegmentInfoOut,
    responses=m.errors(409, 413, 422),
)
def create_segment(state: State, body: SegmentCreate) -> dict[str, Any]:
    return _save(state, body.name, body, body.replace)


@router.get(
    "/segments/{name}",
    summary="One segment: words, size, size over time, movers",
    response_model=m.SegmentDetailOut,
    responses=m.errors(404, 422),
)
def get_segment(state: State, name: str, as_of: AsOf = None) -> dict[str, Any]:
    return state.cached("segment", dashboard.segment_detail, name, state.as_of(as_of))


@router.post(
    "/segments/{name}/copy",
    status_code=201,
    summary="Save a new segment from a built-in one, with its parameters filled in",
    response_model=m.SegmentInfoOut,
    responses=m.errors(404, 409, 413, 422),
)
def copy_segment(state: State, name: str, body: CopyIn) -> dict[str, Any]:
    with state.lock:
        segment = service.derive(
            state.ws,
            name,
            body.name,
            body.params,
            title=body.title or None,
            description=body.description or None,
        )
        return dashboard.segment_info(segment)


@router.put(
    "/segments/{name}",
    summary="Update a saved segment (never a built-in)",
    response_model=m.SegmentInfoOut,
    responses=m.errors(404, 413, 422),
)
def update_segment(state: State, name: str, body: SegmentIn) -> dict[str, Any]:
    state.run(lambda ws: service.registry(ws).get(name))  # 404 for an unknown name
    return _save(state, name, body, True)


@router.delete(
    "/segments/{name}",
    status_code=204,
    summary="Delete a saved segment",
    responses=m.errors(404, 422),
)
def delete_segment(state: State, name: str) -> Response:
    state.run(lambda ws: service.registry(ws).delete(name))
    return Response(status_code=204)


@router.get(
    "/segments/{name}/members",
    summary="Members: paged, sorted, searched, chosen fields",
    response_model=m.MembersOut,
    responses=m.errors(404, 422),
)
def segment_members(
    request: Request,
    state: State,
    name: str,
    as_of: AsOf = None,
    fields: Fields = "customer_id,amount_spent,number_of_orders,last_order_date,rfm_group",
    sort: str = "customer_id",
    order: Literal["asc", "desc"] = "asc",
    search: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    chosen = split_fields(fields)
    check_personal(request, state, chosen)
    day = state.as_of(as_of)
    with state.lock:
        tgt = service.named(state.ws, name)
        result = service.member_page(
            state.ws,
            tgt,
            day,
            fields=chosen,
            sort=sort,
            descending=order == "desc",
            search=search,
            search_contact=personal_ok(request, state),
            page=page,
            page_size=page_size,
        )
    return {
        "segment": name,
        "as_of": day.isoformat(),
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "page_size": result.page_size,
        "fields": result.fields,
        "rows": [{k: dashboard.plain(v) for k, v in r.items()} for r in result.rows],
    }


def _csv_chunks(table: pa.Table) -> Iterator[bytes]:
    """The table as CSV, one chunk per batch of rows (Arrow writes them)."""
    yield "\ufeff".encode()  # a BOM, so that Excel reads 한글 right
    for i, batch in enumerate(table.to_batches(max_chunksize=EXPORT_CHUNK) or [table]):
        sink = io.BytesIO()
        pa_csv.write_csv(batch, sink, pa_csv.WriteOptions(include_header=i == 0))
        yield sink.getvalue()


@router.get(
    "/segments/{name}/export", summary="All members as CSV (streamed)", responses=m.errors(404, 422)
)
def export_segment(
    request: Request,
    state: State,
    name: str,
    as_of: AsOf = None,
    fields: Fields = "customer_id,amount_spent,number_of_orders,last_order_date,rfm_group",
    labels: Annotated[
        Literal["ko", "en"] | None,
        Query(description="headings and coded values in words of this language"),
    ] = None,
) -> StreamingResponse:
    chosen = split_fields(fields)
    check_personal(request, state, chosen)
    day = state.as_of(as_of)
    with state.lock:
        tgt = service.named(state.ws, name)
        table = (
            service.member_fields(state.ws, tgt, day, chosen).order_by("customer_id").to_pyarrow()
        )
    if labels:
        table = people.labelled(table, labels)
    return StreamingResponse(
        _csv_chunks(neutralise_formulas(table)),  # cells like =HYPERLINK(…) get a leading '
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{day}.csv"'},
    )


@router.get(
    "/segments/{name}/sql",
    summary="The segment's SQL for an engine",
    response_model=m.SqlOut,
    responses=m.errors(404, 422),
)
def segment_sql(
    state: State, name: str, as_of: AsOf = None, dialect: str = "duckdb"
) -> dict[str, str]:
    day = state.as_of(as_of)
    with state.lock:
        tgt = service.named(state.ws, name)
        return {"dialect": dialect, "sql": service.to_sql(state.ws, tgt, day, dialect)}


@router.post(
    "/query/count",
    summary="How many customers a query or tree selects",
    response_model=m.CountOut,
    responses=m.errors(404, 413, 422),
)
def count_query(state: State, body: Condition, as_of: AsOf = None) -> dict[str, Any]:
    tree = body.tree()
    day = state.as_of(as_of)
    n = state.cached(
        "count",
        lambda ws, q, d: service.count(ws, service.Target(parse_query(q)), d),
        to_query(tree),
        day,
    )
    universe = service.universe_of(state.ws, service.Target(tree))
    warnings = state.cached(
        "warnings", lambda ws, q: service.value_warnings(ws, tree), to_query(tree)
    )
    return {
        "count": n,
        "as_of": day.isoformat(),
        "query": to_query(tree),
        "universe": universe,
        "warnings": warnings,
    }


@router.post(
    "/cli/count",
    summary="`danggol segment count`, asked of the running server by the CLI",
    response_model=m.CliCountOut,
    responses=m.errors(404, 409, 413, 422),
)
def cli_count(state: State, body: CliCountIn, as_of: AsOf = None) -> dict[str, Any] | JSONResponse:
    """The answer the CLI would compute in its own process (``segments.answers``: a segment's
    name or a query, its parameters, the CLI's default date — the workspace's ``as_of``, else
    today), on the newest published store. An error is answered in the CLI's ``--json`` shape
    (``errors.error_info``, with the file and the whole query line) and marked, so that the CLI
    prints it exactly as it would have."""
    if Path(body.workspace) != state.ws.path.resolve():
        raise WebError(
            409,
            "other_workspace",
            f"this server serves {state.ws.path.resolve()}, not {body.workspace[:200]!r}: run "
            "the command there, or with --local",
        )
    try:
        return state.run(count_answer, body.target, body.params, as_of)
    except DanggolError as exc:
        status, _ = danggol_error(exc)
        return JSONResponse(
            {"error": error_info(exc)}, status_code=status, headers={ERROR_HEADER: "1"}
        )


@router.post(
    "/query/preview",
    summary="Count and members (paged, sorted) of a query or tree",
    response_model=m.PreviewOut,
    responses=m.errors(404, 413, 422),
)
def preview_query(
    request: Request, state: State, body: PreviewIn, as_of: AsOf = None
) -> dict[str, Any]:
    check_personal(request, state, [*body.fields, body.sort])
    tree = body.tree()
    day = state.as_of(as_of)
    with state.lock:
        result = service.member_page(
            state.ws,
            service.Target(tree),
            day,
            fields=body.fields,
            sort=body.sort,
            descending=body.order == "desc",
            search=body.search,
            search_contact=personal_ok(request, state),
            page=body.page,
            page_size=body.page_size,
        )
    return {
        "count": result.total,
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "as_of": day.isoformat(),
        "query": to_query(tree),
        "fields": result.fields,
        "rows": [{k: dashboard.plain(v) for k, v in r.items()} for r in result.rows],
    }


@router.post(
    "/query/parse",
    summary="A query or tree in both forms, with its words",
    response_model=m.ParsedOut,
    responses=m.errors(404, 413, 422),
)
def parse(body: Condition, lang: Lang = "ko") -> dict[str, Any]:
    tree = body.tree()
    return {"query": to_query(tree), "where": to_dict(tree), "words": describe(tree, lang)}


@router.post(
    "/query/format",
    summary="A tree as query text (the builder's sync)",
    response_model=m.QueryTextOut,
    responses=m.errors(413, 422),
)
def format_tree(where: Annotated[Any, Body(embed=True)]) -> dict[str, str]:
    return {"query": to_query(from_dict(where))}
