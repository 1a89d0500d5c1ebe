"""``create_app(workspace_path, token=None)``: the FastAPI app of one workspace.

The API lives under ``/api`` (its OpenAPI schema at ``/openapi.json``, browsable at
``/docs`` — a page of the package, not Swagger UI from a CDN); the dashboard is one page (``/``) with its scripts and styles in ``/static``,
all shipped inside the package — nothing is fetched from the internet.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from danggol import __version__
from danggol.web import errors
from danggol.web.deps import TOKEN_COOKIE, presented_token, token_ok
from danggol.web.guards import MAX_BODY_BYTES, Guard, allowed_hosts
from danggol.web.routes import activation, analytics, customers, segments, system
from danggol.web.state import WebState

STATIC = Path(__file__).parent / "static"


def create_app(
    workspace_path: str | os.PathLike[str],
    token: str | None = None,
    *,
    protect: Literal["all", "personal"] = "all",
    prewarm: bool = False,
    host: str = "127.0.0.1",
    extra_hosts: Iterable[str] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The app serving one workspace.

    ``token`` guards every page and API call (``protect="all"``), or only the exports of
    personal data — name, email, phone — (``protect="personal"``, what ``danggol serve``
    uses on 127.0.0.1 when a token is set). ``config.web_access`` decides for a host.
    ``prewarm`` computes the first pages' slow answers in the background at the start and after
    each refresh (``danggol serve`` does).

    Every request passes :class:`danggol.web.guards.Guard` first: its ``Host`` is one of
    127.0.0.1, localhost, [::1], ``host`` (the address the server is bound to) and
    ``extra_hosts`` (else 400); a write (POST/PUT/PATCH/DELETE) comes from this origin with a
    JSON body (else 403/415) and, when a token is set, carries it; a body is at most
    ``max_body_bytes`` (else 413).
    """
    state = WebState(Path(workspace_path), token, protect, prewarm)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.prewarm()
        yield
        state.close()

    app = FastAPI(
        title="danggol",
        version=__version__,
        summary="Customer segments, scores, analytics and predictions of one shop.",
        lifespan=lifespan,
        # Swagger UI and ReDoc load from a CDN: /docs is the package's own page instead
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = state
    errors.install(app)

    @app.middleware("http")
    async def no_nul(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # a NUL character ends the SQL text the engine reads: no path or query value may carry one
        if "\x00" in request.url.path or any("\x00" in v for v in request.query_params.values()):
            body = errors.error_body("bad_request", "the request contains a NUL character (\\0)")
            return JSONResponse(body, status_code=400)
        return await call_next(request)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if state.token is None or state.protect != "all":
            return await call_next(request)
        if not token_ok(request, state.token):
            status = 401
            body = errors.error_body(
                "unauthorized",
                "this dashboard needs its access token: open /?token=TOKEN once, or send "
                "Authorization: Bearer TOKEN",
            )
            return JSONResponse(body, status_code=status, headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    @app.middleware("http")
    async def remember_token(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # the first visit's ?token= becomes a cookie the page's own calls then carry (also when
        # only personal data and writes need it)
        response = await call_next(request)
        given = request.query_params.get("token")
        if (
            state.token is not None
            and given
            and token_ok(request, state.token)
            and presented_token(request) == given
        ):
            response.set_cookie(TOKEN_COOKIE, state.token, httponly=True, samesite="strict")
        return response

    app.add_middleware(
        Guard,
        hosts=allowed_hosts(host, extra_hosts),
        token_ok=None
        if state.token is None
        else (lambda scope: token_ok(Request(scope), state.token or "")),
        max_body_bytes=max_body_bytes,
    )

    for module in (system, segments, customers, analytics, activation):
        # a streamed body past the limit is 413 as it arrives (FastAPI's own limit, per route,
        # inside the Guard, which refuses an announced one before reading it)
        app.include_router(module.router, max_body_size=max_body_bytes)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(STATIC / "api.html", headers={"Cache-Control": "no-cache"})

    return app
