"""Activation: marketing exports of a segment, and campaigns with their holdout report."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from danggol.activation import campaigns, exports
from danggol.segments import service
from danggol.segments.service import CONTACT_FIELDS
from danggol.web import dashboard
from danggol.web import models as m
from danggol.web.deps import AsOf, State, check_personal, split_fields
from danggol.web.state import parse_day

router = APIRouter(prefix="/api", tags=["activation"], responses=m.errors(*m.COMMON_ERRORS))

Format = Literal["csv", "parquet", "esp", "sms", "ads"]
MEDIA = {"parquet": "application/vnd.apache.parquet"}


@router.get(
    "/segments/{name}/export/{fmt}",
    summary="Members for a destination: csv, parquet, esp, sms (opted-in mobiles), ads (hashed)",
    responses=m.errors(404, 422),
)
def export_for(
    request: Request,
    state: State,
    name: str,
    fmt: Format,
    as_of: AsOf = None,
    fields: Annotated[str | None, Query(description="comma-separated; default per format")] = None,
    include_opted_out: bool = False,
    platform: Literal["google", "meta"] = "google",
) -> FileResponse:
    """The file of ``danggol export``; what was left out and why is in the
    ``X-Danggol-Export`` header (JSON)."""
    chosen = split_fields(fields) if fields else None
    # the destination formats carry contact data (hashed for ads); a data file carries the
    # fields asked for, or the export's defaults (which include name, email and phone)
    shown = chosen or list(exports.DEFAULT_FIELDS) if fmt in ("csv", "parquet") else CONTACT_FIELDS
    check_personal(request, state, list(shown))
    day = state.as_of(as_of)
    state.run(service.named, name)  # a saved or built-in segment (404 otherwise), not a query
    folder = Path(tempfile.mkdtemp(prefix="danggol-export-"))
    suffix = "parquet" if fmt == "parquet" else "csv"
    out = folder / f"{name}-{fmt}-{day}.{suffix}"
    result = state.run(
        exports.export_segment,
        name,
        fmt,
        out,
        as_of=day,
        fields=chosen,
        include_opted_out=include_opted_out,
        platform=platform,
    )
    summary = {k: v for k, v in result.to_dict().items() if k != "out"}
    return FileResponse(
        out,
        media_type=MEDIA.get(fmt, "text/csv; charset=utf-8"),
        filename=out.name,
        headers={"X-Danggol-Export": json.dumps(summary, default=str, ensure_ascii=True)},
        background=BackgroundTask(_remove, folder),
    )


def _remove(folder: Path) -> None:
    for file in folder.iterdir():
        file.unlink(missing_ok=True)
    folder.rmdir()


class CampaignIn(BaseModel):
    name: str = Field(examples=["winback_june"])
    segment: str = Field(examples=["conversion_cycle_due"])
    as_of: str | None = Field(None, description="YYYY-MM-DD; default: the last refresh's date")
    kpi: str = Field("conversion_rate", examples=["conversion_rate", "revenue_per_customer"])
    goal: str | None = None
    holdout_share: float = Field(0.1, ge=0, lt=1)
    seed: int = 0
    window_days: int = Field(30, ge=1, le=730)
    params: dict[str, Any] = Field(default_factory=dict)


@router.get(
    "/campaigns",
    summary="Campaigns: segment snapshot, goal, KPI, holdout, window",
    response_model=list[m.CampaignOut],
)
def list_campaigns(state: State) -> list[dict[str, Any]]:
    return [c.to_dict() for c in state.run(campaigns.campaigns)]


@router.post(
    "/campaigns",
    status_code=201,
    summary="Create a campaign (the holdout is drawn now)",
    response_model=m.CampaignOut,
    responses=m.errors(404, 409, 413, 422),
)
def create_campaign(state: State, body: CampaignIn) -> dict[str, Any]:
    day = parse_day(body.as_of, "as_of") if body.as_of else state.as_of(None)
    campaign = state.run(
        campaigns.create_campaign,
        body.name,
        body.segment,
        as_of=day,
        kpi=body.kpi,
        goal=body.goal,
        holdout_share=body.holdout_share,
        seed=body.seed,
        window_days=body.window_days,
        params=body.params or None,
    )
    return campaign.to_dict()


@router.get(
    "/campaigns/{name}/report",
    summary="Treated vs holdout: uplift, interval, p-value",
    response_model=m.CampaignReportOut,
    responses=m.errors(404, 422),
)
def campaign_report(
    state: State, name: str, confidence: Annotated[float, Query(gt=0, lt=1)] = 0.95
) -> dict[str, Any]:
    return state.run(dashboard.campaign_summary, name, confidence)
