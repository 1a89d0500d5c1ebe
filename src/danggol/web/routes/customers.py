"""One customer: profile, scores, predictions, timeline, segments and why in or out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from danggol.outputs import dashboard
from danggol.web.deps import AsOf, Lang, State

router = APIRouter(prefix="/api/customers", tags=["customers"])


@router.get("/{customer_id}", summary="Profile, scores, predictions, orders, events, segments")
def customer(state: State, customer_id: str, as_of: AsOf = None) -> dict[str, Any]:
    return state.run(dashboard.customer_detail, customer_id, state.as_of(as_of))


@router.get("/{customer_id}/explain/{segment}", summary="Why the customer is in or out")
def explain(
    state: State, customer_id: str, segment: str, as_of: AsOf = None, lang: Lang = "ko"
) -> dict[str, Any]:
    return state.run(dashboard.why, segment, customer_id, state.as_of(as_of), lang)
