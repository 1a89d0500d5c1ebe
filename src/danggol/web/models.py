"""The shapes of the API's answers, as pydantic models: the OpenAPI schema (``/openapi.json``)
names every route's answer and the one error shape of every error it can give.

Each model declares the fields a route answers with, typed; nested tables whose columns follow
the workspace (profile columns, a segment's fields, the words of the page) stay mappings.
``extra="allow"``: a field added to an answer is passed on (and the layer's test of the routes,
``tests/test_web_schema.py``, names the models to update), never silently dropped.

>>> ErrorOut.model_validate({"error": {"code": "not_found", "message": "no segment"}}).error.code
'not_found'
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

#: a figure that is a whole number in one shop and a fraction in another (money, counts)
Number = int | float


class Out(BaseModel):
    """An answer: the declared fields, and any other the route adds passed on as they are."""

    model_config = ConfigDict(extra="allow")


# -- errors -------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    #: a query error: where in the text, the text around it with a caret, a likely fix, the
    #: condition's path in a tree
    position: int | None = None
    caret: str | None = None
    suggestion: str | None = None
    path: str | None = None
    #: too_little_data (a shop whose history is too short): the message in Korean
    message_ko: str | None = None


class ErrorOut(BaseModel):
    """Every error: ``{"error": {"code", "message", ...}}`` (``web/errors.py``)."""

    error: ErrorDetail


#: what each error status means in this API
ERROR_DESCRIPTIONS = {
    400: "Bad input (bad_request, bad_date, bad_segment, builtin_segment; a NUL character; "
    "too_little_data: the shop's history is too short for a backtest, with message_ko)",
    401: "The access token is missing or wrong (unauthorized)",
    404: "No such segment, customer, campaign or field (not_found)",
    409: "A conflict (segment_exists; a refresh already running; other_workspace)",
    413: "The request body is larger than max_body_bytes (too_large)",
    422: "A parameter or body field of the wrong type or out of range (invalid_input)",
    500: "An unexpected error, logged on the server (internal_error)",
    503: "The workspace is busy with a write (busy)",
}

#: the errors any route can give: a NUL character (400), the token (401), the unexpected (500)
#: and a store busy with a write (503)
COMMON_ERRORS = (400, 401, 500, 503)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route or router: each status with the error model."""
    return {s: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[s]} for s in statuses}


# -- workspace ----------------------------------------------------------------------------------


class RefreshJobOut(Out):
    state: str
    as_of: dt.date | None = None
    seconds: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


class StatusOut(Out):
    version: str
    shop_name: str
    currency: str
    timezone: str
    lang: str
    as_of: dt.date
    last_refresh: dict[str, Any] | None
    refresh: RefreshJobOut
    predictions: list[str]
    customers: int
    personal_data_needs_token: bool


class VocabularyOut(Out):
    fields: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    operators: list[dict[str, Any]]
    goals: list[dict[str, Any]]
    value_labels: dict[str, Any]


class ProductOut(Out):
    """A product of the catalog picker, with its order lines."""

    product_id: str
    product_name: str | None
    category: str | None
    lines: int


class CategoryOut(Out):
    """A category of the catalog picker: its products and order lines."""

    category: str | None
    products: int
    lines: int


class ValueCountOut(Out):
    value: Any
    count: int


class WordsOut(Out):
    ko: dict[str, Any]
    en: dict[str, Any]
    values: dict[str, Any]
    export_reasons: dict[str, Any]


# -- analytics ----------------------------------------------------------------------------------


class RfmGridOut(Out):
    size: int
    cells: list[dict[str, Any]]
    map: list[dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    colors: dict[str, str]
    prospects: int
    prospects_key: str


class ConcentrationOut(Out):
    as_of: dt.date
    buyers: int
    revenue: Number
    tops: list[dict[str, Any]]
    gini: float | None
    lorenz: list[list[float]]


class OverviewOut(Out):
    as_of: dt.date
    shop_name: str
    currency: str
    summary: dict[str, Any]
    rfm: RfmGridOut
    funnel: list[dict[str, Any]]
    concentration: ConcentrationOut


class LifecycleOut(Out):
    stages: list[dict[str, Any]]
    rows: list[dict[str, Any]]


class MigrationOut(Out):
    date_from: dt.date
    date_to: dt.date
    population: int
    labels: list[str]
    cells: list[dict[str, Any]]


class CohortsOut(Out):
    as_of: dt.date
    period: str
    cohorts: list[str]
    sizes: list[int]
    #: one row per cohort, one cell per period since its first purchase (None: not reached)
    customers: list[list[int | None]]
    retention: list[list[float | None]]
    orders: list[list[int | None]]
    revenue: list[list[Number | None]]


class AffinityOut(Out):
    as_of: dt.date
    since: dt.date | None
    orders: int
    customers: int
    min_support: float
    pairs: list[dict[str, Any]]
    sequences: list[dict[str, Any]]


class WhatIfOut(Out):
    as_of: dt.date
    since: dt.date | None
    baseline_revenue: Number
    buyers: int
    one_time_buyers: int
    repeat_buyers: int
    vip_buyers: int
    repeat_conversions: int
    vip_conversions: int
    revenue_change: Number
    projected_revenue: Number


class PredictionsOut(Out):
    as_of: dt.date
    columns: list[str]
    sorted_by: str | None
    averages: dict[str, Any]
    rows: list[dict[str, Any]]
    #: why the last refresh made none (a history too short), in Korean and English
    not_made: dict[str, str] | None = None


class BacktestOut(Out):
    customers: int


# -- segments -----------------------------------------------------------------------------------


class SegmentInfoOut(Out):
    """A segment as saved: names, words, query (``dashboard.segment_info``)."""

    name: str
    title: dict[str, str]
    title_langs: list[str]
    description: dict[str, str]
    goal: str
    goal_title: dict[str, str]
    builtin: bool
    params: dict[str, Any]
    needs: list[str]
    #: None while a built-in still needs its parameters (``needs``)
    query: str | None
    words: dict[str, Any] | None


class SegmentListItemOut(SegmentInfoOut):
    size: int | None
    customer_share: float | None
    revenue: Number | None
    revenue_share: float | None
    trend: list[dict[str, Any]]


class SegmentDetailOut(SegmentInfoOut):
    trend: list[dict[str, Any]]
    last_change: dict[str, Any] | None
    size: int | None
    as_of: dt.date


class MembersOut(Out):
    segment: str
    as_of: dt.date
    total: int
    page: int
    pages: int
    page_size: int
    fields: list[str]
    rows: list[dict[str, Any]]


class SqlOut(Out):
    dialect: str
    sql: str


class CountOut(Out):
    count: int
    as_of: dt.date
    query: str
    universe: str
    warnings: list[Any]


class CliCountOut(Out):
    """``danggol segment count --json``, field for field and in its order."""

    count: int
    as_of: dt.date
    segment: str | None
    query: str
    universe: str
    warnings: list[Any]


class PreviewOut(Out):
    count: int
    total: int
    page: int
    pages: int
    as_of: dt.date
    query: str
    fields: list[str]
    rows: list[dict[str, Any]]


class ParsedOut(Out):
    query: str
    where: Any
    words: list[str]


class QueryTextOut(Out):
    query: str


# -- customers ----------------------------------------------------------------------------------


class CustomerOut(Out):
    customer_id: str
    as_of: dt.date
    profile: dict[str, Any]
    predictions: dict[str, Any]
    orders: list[dict[str, Any]]
    events: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    grades: list[dict[str, Any]]


class ExplainOut(Out):
    customer_id: str
    as_of: dt.date
    in_segment: bool
    in_universe: bool
    tree: dict[str, Any]


# -- activation ---------------------------------------------------------------------------------


class CampaignOut(Out):
    name: str
    segment: str
    query: str
    goal: str
    kpi: str
    as_of: dt.date
    window_start: dt.date
    window_end: dt.date
    holdout_share: float
    seed: int
    treated: int
    holdout: int


class CampaignReportOut(Out):
    campaign: CampaignOut
    data_through: dt.date
    complete: bool
    treated: dict[str, Any]
    holdout: dict[str, Any]
    kpi: dict[str, Any]
    revenue_per_customer: dict[str, Any]
    incremental_revenue: Number | None
    verdict: dict[str, Any]
