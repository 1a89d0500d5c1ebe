"""Analytics: overview, RFM grid, lifecycle over time, concentration, migration, cohorts,
affinities, what-if; and the predictions' backtest and its diagnostics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from danggol import analytics
from danggol.dates import shift
from danggol.predict.backtest import MODELS
from danggol.web import dashboard
from danggol.web import models as m
from danggol.web.deps import AsOf, Cutoff, DateFrom, DateTo, State

router = APIRouter(prefix="/api", tags=["analytics"], responses=m.errors(*m.COMMON_ERRORS))


@router.get(
    "/overview",
    summary="Headline figures, RFM grid, lifecycle funnel, concentration",
    response_model=m.OverviewOut,
    responses=m.errors(422),
)
def overview(state: State, as_of: AsOf = None) -> dict[str, Any]:
    return state.cached("overview", dashboard.overview, state.as_of(as_of))


@router.get(
    "/analytics/rfm",
    summary="The RFM grid: customers and revenue per cell",
    response_model=m.RfmGridOut,
    responses=m.errors(422),
)
def rfm(state: State, as_of: AsOf = None) -> dict[str, Any]:
    return state.cached("overview", dashboard.overview, state.as_of(as_of))["rfm"]


@router.get(
    "/analytics/lifecycle",
    summary="Lifecycle stage shares at month-end dates (202 while computed in the background)",
    response_model=m.LifecycleOut,
    responses={
        202: {"description": 'Still computed in the background: {"state": "computing"}'},
        **m.errors(422),
    },
)
def lifecycle(
    state: State, as_of: AsOf = None, months: Annotated[int, Query(ge=1, le=24)] = 6
) -> Any:
    # one profile per date: minutes for a million customers, so never inside a request
    value = state.warm("lifecycle", dashboard.lifecycle_over_time, state.as_of(as_of), months)
    if value is None:
        return JSONResponse({"state": "computing"}, status_code=202)
    return value


@router.get(
    "/analytics/concentration",
    summary="Top shares, Lorenz curve, Gini",
    response_model=m.ConcentrationOut,
    responses=m.errors(422),
)
def concentration(state: State, as_of: AsOf = None) -> dict[str, Any]:
    day = state.as_of(as_of)
    return state.cached(
        "concentration", lambda ws, d: analytics.concentration(ws.ibis, d).to_dict(), day
    )


@router.get(
    "/analytics/migration",
    summary="Customers moving between groups of two dates",
    response_model=m.MigrationOut,
    responses=m.errors(422),
)
def migration(
    state: State,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    by: Literal["rfm_group", "lifecycle_stage", "grade"] = "rfm_group",
) -> dict[str, Any]:
    end = state.as_of(date_to)
    start = date_from or shift(end, -1, "m")
    return state.cached(
        "migration",
        lambda ws, a, b, c: analytics.migration(ws.ibis, a, b, by=c).to_dict(),
        start,
        end,
        by,
    )


@router.get(
    "/analytics/cohorts",
    summary="First-purchase cohorts and their retention",
    response_model=m.CohortsOut,
    responses=m.errors(422),
)
def cohorts(
    state: State, as_of: AsOf = None, period: Literal["month", "quarter", "year"] = "month"
) -> dict[str, Any]:
    day = state.as_of(as_of)
    return state.cached(
        "cohorts", lambda ws, d, p: analytics.cohorts(ws.ibis, d, p).to_dict(), day, period
    )


@router.get(
    "/analytics/affinity",
    summary="Products bought together, with lift",
    response_model=m.AffinityOut,
    responses=m.errors(422),
)
def affinity(
    state: State,
    as_of: AsOf = None,
    top: Annotated[int, Query(ge=1, le=200)] = 20,
    months: Annotated[int | None, Query(ge=1, le=120)] = None,
    min_support: Annotated[float, Query(gt=0, le=1)] = 0.001,
) -> dict[str, Any]:
    day = state.as_of(as_of)
    return state.cached(
        "affinity",
        lambda ws, d, t, m, s: analytics.affinity(
            ws.ibis, d, top=t, months=m, min_support=s
        ).to_dict(),
        day,
        top,
        months,
        min_support,
    )


@router.get(
    "/analytics/whatif",
    summary="Revenue if N one-time buyers repeat and M become VIPs",
    response_model=m.WhatIfOut,
    responses=m.errors(422),
)
def whatif(
    state: State,
    as_of: AsOf = None,
    repeat: Annotated[int, Query(ge=0)] = 0,
    vip: Annotated[int, Query(ge=0)] = 0,
    months: Annotated[int, Query(ge=1, le=120)] = 12,
) -> dict[str, Any]:
    day = state.as_of(as_of)
    return state.run(
        lambda ws: analytics.whatif(
            ws.ibis, day, repeat_conversions=repeat, vip_conversions=vip, months=months
        ).to_dict()
    )


@router.get(
    "/predictions",
    summary="The prediction columns of the profile, top customers first",
    response_model=m.PredictionsOut,
    responses=m.errors(422),
)
def predictions(
    state: State, as_of: AsOf = None, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, Any]:
    return state.cached("predictions", dashboard.predictions, state.as_of(as_of), limit)


@router.get(
    "/predictions/backtest",
    summary="Backtest of the purchase model (cached)",
    response_model=m.BacktestOut,
    responses=m.errors(422),
)
def predictions_backtest(
    state: State,
    as_of: AsOf = None,
    horizon_days: Annotated[int, Query(ge=7, le=730)] = 90,
    cutoff: Cutoff = None,
    model: Literal[tuple(MODELS)] | None = None,  # type: ignore[valid-type]
) -> dict[str, Any]:
    """The model the refresh predicts with ([predictions] model) unless another is asked for."""
    model = model or state.ws.config.predictions.model
    end = state.as_of(as_of)
    cut = cutoff or shift(end, -horizon_days, "d")
    return state.cached("backtest", dashboard.backtest_metrics, cut, horizon_days, model)


class ConditionalExpectation(BaseModel):
    frequency: str = Field(description="repeat purchases before the cutoff: 0, 1, …, '7+'")
    customers: int
    actual_mean: float = Field(description="mean purchase days in the holdout")
    predicted_mean: float = Field(description="mean of the model's E[X(t) | x, t_x, T]")


class TrackingPeriod(BaseModel):
    period: int = Field(description="1, 2, … after the cutoff (one time unit each)")
    end: dt.date = Field(description="the period's last day (the last period may be shorter)")
    actual: int
    predicted: float
    cumulative_actual: int
    cumulative_predicted: float


class CalibrationBin(BaseModel):
    bin: int = Field(description="1 … 10: tenths of the customers by predicted P(repurchase)")
    customers: int
    predicted: float = Field(description="mean predicted P(repurchase)")
    observed: float = Field(description="share that bought in the holdout")


class PAliveMatrix(BaseModel):
    T: float = Field(description="the customer age the grid is drawn for, in time units")
    frequency: list[int]
    recency: list[float]
    p_alive: list[list[float | None]] = Field(
        description="p_alive[i][j]: recency[i] × frequency[j] (null where impossible)"
    )


class PredictionDiagnostics(BaseModel):
    """The purchase model's backtest diagnostics (``predict.diagnostics``)."""

    model: str
    cutoff: dt.date
    horizon_days: int
    time_unit: str
    customers: int
    repurchasers: int
    actual_total: int
    predicted_total: float
    auc: float | None
    brier: float | None
    conditional_expectations: list[ConditionalExpectation]
    tracking: list[TrackingPeriod]
    calibration: list[CalibrationBin]
    p_alive_matrix: PAliveMatrix


@router.get(
    "/predictions/diagnostics",
    summary="The purchase model's diagnostics: conditional expectations, tracking, calibration, "
    "P(alive) matrix (cached with the backtest)",
    responses=m.errors(422),
)
def predictions_diagnostics(
    state: State,
    as_of: AsOf = None,
    horizon_days: Annotated[int, Query(ge=7, le=730)] = 90,
    cutoff: Cutoff = None,
    model: Literal[tuple(MODELS)] | None = None,  # type: ignore[valid-type]
) -> PredictionDiagnostics:
    """The same backtest as ``/predictions/backtest`` (one computation for both)."""
    return PredictionDiagnostics.model_validate(
        predictions_backtest(state, as_of, horizon_days, cutoff, model)
    )
