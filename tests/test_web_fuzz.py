"""Schemathesis against the OpenAPI schema: every operation, with bodies, path parameters and
query strings generated from the schema (valid and invalid ones), must answer without a server
error, with the one JSON error shape on any 4xx, never a stack trace — and the store must still
be whole afterwards (every table readable, the last refresh complete)."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from danggol.demo import generate_shop  # noqa: E402
from danggol.ingest.load import ingest_tables  # noqa: E402
from danggol.pipeline import refresh  # noqa: E402
from danggol.store.workspace import Workspace  # noqa: E402
from danggol.web import create_app  # noqa: E402

AS_OF = dt.date(2025, 6, 30)
FAST = int(os.environ.get("DANGGOL_API_FUZZ_EXAMPLES", "2"))
SLOW = int(os.environ.get("DANGGOL_API_FUZZ_SLOW_EXAMPLES", "100"))
#: operations that fit a model on every new set of parameters: fewer examples
HEAVY = {"/api/predictions/backtest", "/api/refresh"}


@pytest.fixture
def app(tmp_path):
    path = tmp_path / "shop"
    ws = Workspace.init(path)
    ingest_tables(ws, generate_shop(200, seed=2, end=AS_OF))
    refresh(ws, AS_OF)
    ws.close()
    # schemathesis' ASGI client sends Host: testserver (schemathesis/python/asgi.py)
    application = create_app(path, extra_hosts=["testserver"])
    yield application
    application.state.web.close()


def _check(case, response) -> None:
    where = f"{case.method} {case.formatted_path} {case.query} {case.body!r}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
    assert "Traceback" not in response.text, where
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, where
        assert body["error"]["code"] and body["error"]["message"], where


def _fuzz(app, examples: int) -> Counter:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    statuses: Counter = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        n = min(examples, max(1, examples // 10)) if operation.path in HEAVY else examples

        @settings(
            max_examples=n,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:
            response = case.call(timeout=300)  # a busy CI machine: slow is not wrong
            _check(case, response)
            statuses[response.status_code] += 1

        run()
    return statuses


def _store_is_whole(app) -> None:
    state = app.state.web
    deadline = time.monotonic() + 120
    while state.job.state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert state.job.state in ("idle", "done"), state.job.to_dict()
    with state.lock:
        con = state.ws.duck
        for (table,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall():
            con.execute(f'SELECT count(*) FROM "{table}"').fetchall()
        last = con.execute("SELECT max(refresh_id) FROM refreshes").fetchall()[0][0]
        sized = con.execute(
            "SELECT count(DISTINCT segment) FROM segment_sizes WHERE refresh_id = ?", [last]
        ).fetchall()[0][0]
        recorded = con.execute(
            "SELECT segments FROM refreshes WHERE refresh_id = ?", [last]
        ).fetchall()[0][0]
    assert sized == recorded  # the last refresh is complete: every segment it counted is sized


def test_every_operation_of_the_openapi_schema_fuzzed(app):
    statuses = _fuzz(app, FAST)
    assert sum(statuses.values()) >= 29  # every operation ran at least once
    assert any(s >= 400 for s in statuses), "invalid input must have been generated"
    _store_is_whole(app)
    print("API fuzz:", sum(statuses.values()), "cases", dict(sorted(statuses.items())))


@pytest.mark.slow
def test_every_operation_of_the_openapi_schema_fuzzed_long(app):
    statuses = _fuzz(app, SLOW)
    _store_is_whole(app)
    print("API fuzz:", sum(statuses.values()), "cases", dict(sorted(statuses.items())))
