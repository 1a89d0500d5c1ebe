"""The workspace, the builder's vocabulary and pickers, and refresh (run and status)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from danggol import __version__
from danggol.profile import as_of_date
from danggol.web import dashboard, people, words
from danggol.web import models as m
from danggol.web.deps import AsOf, State

router = APIRouter(prefix="/api", tags=["workspace"], responses=m.errors(*m.COMMON_ERRORS))


@router.get(
    "/status",
    summary="The workspace: shop, currency, language, last refresh",
    response_model=m.StatusOut,
)
def status(state: State) -> dict[str, Any]:
    cfg = state.ws.config
    with state.lock:
        refresh = dashboard.last_refresh(state.ws)
        columns = dashboard.profile_columns(state.ws)
    return {
        "version": __version__,
        "shop_name": cfg.shop_name,
        "currency": cfg.currency,
        "timezone": cfg.timezone,
        "lang": "ko" if cfg.currency == "KRW" else "en",
        "as_of": state.as_of(None).isoformat(),
        "last_refresh": refresh,
        "refresh": state.job.to_dict(),
        "predictions": [c for c in dashboard.PREDICTION_COLUMNS if c in columns],
        # what a share of customers is of (the builder's "% of customers")
        "customers": state.cached("share_base", dashboard.share_base, state.as_of(None)),
        "personal_data_needs_token": state.protect == "personal" and state.token is not None,
    }


@router.get(
    "/vocabulary",
    summary="Fields, functions, operators and goals of the builder",
    response_model=m.VocabularyOut,
)
def vocabulary(state: State) -> dict[str, Any]:
    return state.run(dashboard.vocabulary)


@router.get(
    "/catalog/{kind}",
    summary="Products or categories matching a search (pickers)",
    response_model=list[m.ProductOut | m.CategoryOut],
    responses=m.errors(422),
)
def catalog(
    state: State,
    kind: Literal["products", "categories"],
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    return state.cached("catalog", dashboard.catalog, kind, q, limit)


@router.get(
    "/words",
    summary="Every word of the dashboard and the names of coded values",
    response_model=m.WordsOut,
)
def ui_words() -> dict[str, Any]:
    """``ko`` and ``en``: the page's words (one table with the report's); ``values``: the
    names of coded values by column (gender, channels, statuses, events, stages …)."""
    return {
        **words.ui_words(),
        "values": words.value_words(),
        "export_reasons": words.EXPORT_REASONS,
    }


@router.get(
    "/values/{field}",
    summary="The shop's own values of a field (pickers)",
    response_model=list[m.ValueCountOut],
    responses=m.errors(422),
)
def field_values(
    state: State,
    field: str,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    return state.cached("values", people.field_values, field, q, limit)


@router.post(
    "/refresh",
    status_code=202,
    summary="Start a refresh in the background",
    response_model=m.RefreshJobOut,
    responses=m.errors(409, 422),
)
def start_refresh(state: State, as_of: AsOf = None) -> JSONResponse:
    # default: danggol.toml's as_of, else today, as 'danggol refresh'
    day = as_of or as_of_date(None, state.ws.config)
    return JSONResponse(state.start_refresh(day).to_dict(), status_code=202)


@router.get(
    "/refresh", summary="The state of the last refresh started here", response_model=m.RefreshJobOut
)
def refresh_status(state: State) -> dict[str, Any]:
    return state.job.to_dict()
