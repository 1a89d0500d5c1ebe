"""The workspace, the builder's vocabulary and pickers, and refresh (run and status)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from danggol import __version__
from danggol.outputs import dashboard
from danggol.profile import as_of_date
from danggol.web.deps import AsOf, State
from danggol.web.state import parse_day

router = APIRouter(prefix="/api", tags=["workspace"])


@router.get("/status", summary="The workspace: shop, currency, language, last refresh")
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
        "personal_data_needs_token": state.protect == "personal" and state.token is not None,
    }


@router.get("/vocabulary", summary="Fields, functions, operators and goals of the builder")
def vocabulary(state: State) -> dict[str, Any]:
    return state.run(dashboard.vocabulary)


@router.get("/catalog/{kind}", summary="Products or categories matching a search (pickers)")
def catalog(
    state: State,
    kind: Literal["products", "categories"],
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    return state.cached("catalog", dashboard.catalog, kind, q, limit)


@router.post("/refresh", status_code=202, summary="Start a refresh in the background")
def start_refresh(state: State, as_of: AsOf = None) -> JSONResponse:
    day = as_of_date(
        parse_day(as_of, "as_of") if as_of else None, state.ws.config
    )  # default: danggol.toml's as_of, else today, as 'danggol refresh'
    return JSONResponse(state.start_refresh(day).to_dict(), status_code=202)


@router.get("/refresh", summary="The state of the last refresh started here")
def refresh_status(state: State) -> dict[str, Any]:
    return state.job.to_dict()
