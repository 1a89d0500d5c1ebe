"""The API's schema names every answer: each JSON route has a response model and documents the
one error shape (``{"error": {"code", "message"}}``) for the errors it gives; date parameters
are dates in the schema and are parsed by the API's own parser.

The routes are read from the app (``app.routes``), not listed here: a new route without a
model or without its errors fails the test.
"""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.responses import Response
from starlette.routing import Match

from danggol.store.workspace import Workspace
from danggol.web import create_app
from danggol.web.models import ErrorOut
from web_client import api_client, api_operations

#: the path parameters that name something stored: a wrong one is a 404
STORED = ("{name}", "{customer_id}", "{segment}")
DATE_PARAMETERS = {"as_of", "from", "to", "cutoff"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("schema") / "shop"
    Workspace.init(path).close()
    application = create_app(path)
    yield application
    application.state.web.close()


def _walk(routes: list[Any]) -> list[APIRoute]:
    """The API routes under ``routes``: FastAPI nests an included router's routes in an entry
    of its own (``_IncludedRouter.original_router``)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _walk(route.original_router.routes)
    return found


def _api_routes(app: Any) -> list[APIRoute]:
    routes = [r for r in _walk(app.routes) if r.path.startswith("/api")]
    served = {(m, r.path) for r in routes for m in r.methods}
    assert served == api_operations(app)  # every route the schema lists, and no other
    return routes


def _answers_a_file(route: APIRoute) -> bool:
    """A route that answers with a file, a stream or no body (its return annotation is a
    Response class), rather than with JSON."""
    returned = typing.get_type_hints(route.endpoint).get("return")
    return (
        isinstance(returned, type)
        and issubclass(returned, Response)
        and route.path
        != (
            "/api/refresh"  # POST /api/refresh answers JSON (a JSONResponse, for its 202)
        )
    )


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation names (``X``, ``list[X]``, ``list[X | Y]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def test_every_json_route_has_a_response_model(app):
    missing = []
    for route in _api_routes(app):
        methods = ",".join(sorted(route.methods))
        if _answers_a_file(route):
            continue
        models = _models_in(route.response_model)
        if not models or any(m is BaseModel for m in models):
            missing.append(f"{methods} {route.path}: {route.response_model!r}")
    assert not missing, "routes without a response model:\n" + "\n".join(missing)


def test_every_route_documents_its_errors(app):
    problems = []
    for route in _api_routes(app):
        where = f"{','.join(sorted(route.methods))} {route.path}"
        errors = {int(s): v for s, v in route.responses.items() if int(s) >= 400}
        if not errors:
            problems.append(f"{where}: no error response")
        for status, spec in errors.items():
            if spec.get("model") is not ErrorOut:
                problems.append(f"{where}: {status} without the error model")
        if any(p in route.path for p in STORED) and 404 not in errors:
            problems.append(f"{where}: names a stored thing but documents no 404")
        has_input = bool(route.dependant.query_params or route.dependant.path_params)
        if (has_input or route.body_field is not None) and 422 not in errors:
            problems.append(f"{where}: takes input but documents no 422")
    assert not problems, "\n".join(problems)


def test_the_schema_carries_the_error_shape_and_dates(app):
    with api_client(app) as client:
        schema = client.get("/openapi.json").json()
    text = json.dumps(schema)
    # FastAPI's own 422 shape ({"detail": [...]}) is not what the API answers: never documented
    assert "HTTPValidationError" not in text
    assert schema["components"]["schemas"]["ErrorOut"]["required"] == ["error"]
    dates = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorOut", (method, path, status)
            for parameter in operation.get("parameters", []):
                if parameter["name"] in DATE_PARAMETERS:
                    dates += 1
                    kinds = parameter["schema"]["anyOf"]
                    assert {"type": "string", "format": "date"} in kinds, (path, parameter)
    assert dates >= 20  # as_of on most reads, from/to of migration, cutoff of the backtest


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/overview?as_of=2025-02-30", 400),  # a date parameter, through the API's parser
        ("/api/analytics/migration?to=June", 400),
        ("/api/segments/no_such_segment", 404),
        ("/api/analytics/cohorts?period=decade", 422),
        ("/api/predictions?limit=0", 422),
    ],
)
def test_the_errors_answered_are_the_documented_shape(app, url, status):
    with api_client(app, raise_server_exceptions=False) as client:
        response = client.get(url)
    assert response.status_code == status, response.text
    scope = {"type": "http", "path": url.split("?")[0], "method": "GET"}
    route = next(r for r in _api_routes(app) if r.matches(scope)[0] == Match.FULL)
    assert status in route.responses  # documented on the route that answered
    ErrorOut.model_validate(response.json())  # and in the documented shape
