"""Dependencies of the routes, as named ``Annotated`` aliases."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from pydantic import BeforeValidator

from danggol.segments.service import CONTACT_FIELDS
from danggol.web.errors import WebError
from danggol.web.state import WebState, parse_day

TOKEN_COOKIE = "danggol_token"
TOKEN_HEADER = "X-Danggol-Token"


def get_state(request: Request) -> WebState:
    return request.app.state.web


State = Annotated[WebState, Depends(get_state)]


def _day(name: str) -> BeforeValidator:
    """A date parameter read by the API's one date parser (:func:`parse_day`: a wrong date is a
    400 ``bad_date`` naming the parameter); an empty one is not given."""

    def read(value: object) -> object:
        if value == "":
            return None
        return parse_day(value, name) if isinstance(value, str) else value

    return BeforeValidator(read)


AsOf = Annotated[
    dt.date | None,
    _day("as_of"),
    Query(
        description="YYYY-MM-DD; default: the last refresh's date (else the as_of of danggol.toml, else today)"
    ),
]
DateFrom = Annotated[
    dt.date | None,
    _day("from"),
    Query(alias="from", description="YYYY-MM-DD; default: a month before 'to'"),
]
DateTo = Annotated[
    dt.date | None,
    _day("to"),
    Query(alias="to", description="YYYY-MM-DD; default: as as_of"),
]
Cutoff = Annotated[
    dt.date | None,
    _day("cutoff"),
    Query(
        description="YYYY-MM-DD: the model learns up to here; default: horizon_days before as_of"
    ),
]
Lang = Annotated[Literal["ko", "en"], Query(description="language of the words")]
Fields = Annotated[
    str,
    Query(description="comma-separated fields: query names, profile columns, name/email/phone"),
]


def presented_token(request: Request) -> str | None:
    """The token a request carries: Authorization: Bearer, X-Danggol-Token, the cookie the
    page sets, or ?token= (for the first visit)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return (
        request.headers.get(TOKEN_HEADER)
        or request.cookies.get(TOKEN_COOKIE)
        or request.query_params.get("token")
    )


def token_ok(request: Request, token: str) -> bool:
    given = presented_token(request)
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def split_fields(text: str) -> list[str]:
    return [f.strip() for f in text.split(",") if f.strip()]


def personal_ok(request: Request, state: WebState) -> bool:
    """Whether this request may see personal data (always, unless the app guards it and the
    request lacks the token)."""
    if state.protect != "personal" or state.token is None:
        return True
    return token_ok(request, state.token)


def check_personal(request: Request, state: WebState, fields: list[str]) -> None:
    """Name, email and phone — shown, or used as the sort key (?sort=email orders the members
    by their addresses, which pages of answers reveal) — need the token when the app guards
    personal data."""
    sort = request.query_params.get("sort")
    asked = {*fields, sort} if sort is not None else set(fields)
    personal = sorted(asked & set(CONTACT_FIELDS))
    if not personal or state.protect != "personal" or state.token is None:
        return
    if not token_ok(request, state.token):
        raise WebError(
            401,
            "unauthorized",
            f"the field(s) {', '.join(personal)} are personal data: send the access token "
            "(Authorization: Bearer TOKEN)",
        )
