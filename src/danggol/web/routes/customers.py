"""One customer: profile, scores, predictions, timeline, segments and why in or out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from danggol.web import dashboard, people
from danggol.web import models as m
from danggol.web.deps import AsOf, Lang, State, personal_ok

router = APIRouter(
    prefix="/api/customers", tags=["customers"], responses=m.errors(*m.COMMON_ERRORS)
)


@router.get(
    "/{customer_id}",
    summary="Profile, scores, predictions, orders, events, segments",
    response_model=m.CustomerOut,
    responses=m.errors(404, 422),
)
def customer(
    request: Request, state: State, customer_id: str, as_of: AsOf = None
) -> dict[str, Any]:
    """Contact (name, e-mail, phone) only with the token when personal data is guarded;
    ``segments``: every segment the customer is in on that date, computed now."""
    personal = personal_ok(request, state)
    return state.run(people.customer_card, customer_id, state.as_of(as_of), personal=personal)


@router.get(
    "/{customer_id}/explain/{segment}",
    summary="Why the customer is in or out",
    response_model=m.ExplainOut,
    responses=m.errors(404, 422),
)
def explain(
    state: State, customer_id: str, segment: str, as_of: AsOf = None, lang: Lang = "ko"
) -> dict[str, Any]:
    return state.run(dashboard.why, segment, customer_id, state.as_of(as_of), lang)
