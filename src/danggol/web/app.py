"""``create_app(workspace_path, token=None)``: the FastAPI app of one workspace.

The API lives under ``/api`` (its OpenAPI schema at ``/openapi.json``, browsable at
``/docs`` — a page of the package, not Swagger UI from a CDN); the dashboard is one page (``/``) with its scripts and styles in ``/static``,
all shipped inside the package — nothing is fetched from the internet.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from danggol import __version__
from danggol.web import errors
from danggol.web.deps import TOKEN_COOKIE, presented_token, token_ok
from danggol.web.routes import activation, analytics, customers, segments, system
from danggol.web.state import WebState

STATIC = Path(__file__).parent / "static"


def create_app(
    workspace_path: str | os.PathLike[str],
    token: str | None = None,
    *,
    protect: Literal["all", "personal"] = "all",
    prewarm: bool = False,
) -> FastAPI:
    """The app serving one workspace.

    ``token`` guards every page and API call (``protect="all"``), or only the exports of
    personal data — name, email, phone — (``protect="personal"``, what ``danggol serve``
    uses on 127.0.0.1 when a token is set). ``config.web_access`` decides for a host.
    ``prewarm`` computes the first pages' slow answers in the background at the start and after
    each refresh (``danggol serve`` does).
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
        response = await call_next(request)
        if request.query_params.get("token") and presented_token(
            request
        ) == request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, state.token, httponly=True, samesite="strict")
        return response

    for module in (system, segments, customers, analytics, activation):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(STATIC / "api.html", headers={"Cache-Control": "no-cache"})

    return app
