"""The TestClient every API test uses: it talks to the app as ``http://127.0.0.1`` (the Host
the app answers to) and records which route each request reached.

The record (:data:`CALLED`, METHOD and route template such as ``GET
/api/segments/{name}/members``) is taken from the route the app's router matched — not from
the test's text — and only for requests that reached a route (a request refused by the token
or the Host check reached none). ``test_web_api.py::test_every_api_route_is_called`` checks it
at the end of the session.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

#: (METHOD, route template) of every request that reached an API route in this session
CALLED: set[tuple[str, str]] = set()
BASE_URL = "http://127.0.0.1"


class _Record:
    """ASGI middleware: after the app answered, note the route its router matched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        route = scope.get("route") if scope["type"] == "http" else None
        if isinstance(route, APIRoute):
            CALLED.add((scope["method"], route.path))


def api_client(app: FastAPI, **kwargs: Any) -> TestClient:
    """A TestClient for ``app`` on http://127.0.0.1 that records the routes it reaches."""
    if not getattr(app.state, "recorded", False):
        app.add_middleware(_Record)  # type: ignore[arg-type]
        app.state.recorded = True
    return TestClient(app, base_url=kwargs.pop("base_url", BASE_URL), **kwargs)


def api_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, route template) of every API route the app serves: its OpenAPI schema, which
    lists the routes of every included router (``app.routes`` nests them)."""
    return {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete") and path.startswith("/api/")
    }
