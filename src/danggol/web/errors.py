"""One JSON error shape for every error: ``{"error": {"code", "message", ...}}``.

danggol's own errors keep their details (a query error its position, a caret line and the
suggestion); validation errors name the parameter; anything unexpected becomes a plain 500
without a stack trace (it is logged on the server).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from danggol.errors import (
    ConfigError,
    DanggolError,
    SegmentError,
    StoreBusyError,
    TooLittleDataError,
    WorkspaceError,
)

log = logging.getLogger("danggol.web")

#: HTTP status → the error code the body carries when nothing more precise is known
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    500: "internal_error",
    503: "busy",
}


class WebError(DanggolError):
    """An error the web layer raises itself (a missing token, a busy refresh)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


#: the most characters of a message (or of the query around an error) an answer carries: a
#: huge input is never echoed back in full
MESSAGE_LIMIT = 500
#: characters of the query shown on each side of an error's position
CARET_WINDOW = 60


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text``, cut to ``limit`` characters with a note of how many were left out.

    >>> clip("x" * 10, 4)
    'xxxx… (6 more characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": clip(message),
            **{k: clip(v) if isinstance(v, str) else v for k, v in extra.items() if v is not None},
        }
    }


def caret_line(query: str, position: int) -> str:
    """The query around ``position`` (at most :data:`CARET_WINDOW` characters each side) and a
    caret under the position.

    >>> print(caret_line("a >= 1 AND b ??", 13))
    a >= 1 AND b ??
                 ^
    """
    start = max(0, position - CARET_WINDOW)
    end = position + CARET_WINDOW
    before = ("…" if start else "") + query[start:position]
    shown = before + query[position:end] + ("…" if end < len(query) else "")
    return f"{shown}\n{' ' * len(before)}^"


def danggol_error(exc: DanggolError) -> tuple[int, dict[str, Any]]:
    """The status and body for one of danggol's errors."""
    if isinstance(exc, WebError):
        return exc.status, error_body(exc.code, exc.message)
    if isinstance(exc, SegmentError):
        status = 404 if isinstance(exc, LookupError) else 400
        caret = None
        if exc.query is not None and exc.position is not None and "\n" not in exc.query:
            caret = caret_line(exc.query, exc.position)
        return status, error_body(
            "not_found" if status == 404 else "bad_segment",
            exc.message,
            position=exc.position,
            caret=caret,
            suggestion=exc.suggestion,
            path=exc.path,
        )
    if isinstance(exc, LookupError):
        return 404, error_body("not_found", str(exc))
    if isinstance(exc, StoreBusyError):
        return 503, error_body("busy", str(exc))
    if isinstance(exc, TooLittleDataError):  # not the caller's mistake: said in both languages
        return 400, error_body("too_little_data", str(exc), message_ko=exc.ko)
    if isinstance(exc, ConfigError):
        return 400, error_body("bad_request", str(exc))
    if isinstance(exc, WorkspaceError):
        return 500, error_body("workspace_error", str(exc))
    return 400, error_body("bad_request", str(exc))


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    @app.exception_handler(DanggolError)
    async def _danggol(request: Request, exc: DanggolError) -> JSONResponse:
        status, body = danggol_error(exc)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path"))
            problems.append(f"{where or 'request'}: {e.get('msg')}")
        return JSONResponse(
            error_body("invalid_input", "; ".join(problems) or "invalid request"),
            status_code=422,
        )

    @app.exception_handler(ValidationError)
    async def _model(request: Request, exc: ValidationError) -> JSONResponse:
        # a definition the library's models reject (a segment's name, goal …)
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(error_body("bad_request", problems), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 413:
            message = (
                f"the request body is larger than {request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)} "
                "bytes, the most this server reads (max_body_bytes in the [web] section of "
                "danggol.toml)"
            )
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal_error", "an unexpected error happened; see the server's log"),
            status_code=500,
        )
