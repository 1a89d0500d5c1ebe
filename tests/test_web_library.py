"""The library functions behind the web routes, called directly."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from danggol.config import WebConfig, read_web_config, web_access
from danggol.errors import ConfigError, NotFoundError
from danggol.ingest.load import ingest_tables
from danggol.segments import service
from danggol.segments.parse import parse_query
from danggol.store.workspace import Workspace
from danggol.web.dashboard import clean


def test_web_access_by_host_and_settings():
    assert web_access("127.0.0.1", WebConfig(), None) == (None, "all")
    assert web_access("localhost", WebConfig(token="t"), None) == ("t", "personal")
    assert web_access("127.0.0.1", WebConfig(token="t", personal_data_token=False), None) == (
        None,
        "all",
    )
    assert web_access("0.0.0.0", WebConfig(), "env") == ("env", "all")
    assert web_access("0.0.0.0", WebConfig(token="file"), "env") == ("env", "all")
    with pytest.raises(ConfigError, match="DANGGOL_TOKEN"):
        web_access("0.0.0.0", WebConfig(), None)


def test_web_section_is_optional_and_checked(tmp_path):
    path = tmp_path / "danggol.toml"
    assert read_web_config(path) == WebConfig()
    path.write_text('[workspace]\ncurrency = "KRW"\n[web]\ntoken = "x"\n', encoding="utf-8")
    assert read_web_config(path).token == "x"
    path.write_text("[web]\ntokn = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"web\.tokn"):
        read_web_config(path)


def test_clean_makes_nan_and_dates_json_safe():
    assert clean({"a": [math.nan, dt.date(2025, 1, 2)], "b": 1.5}) == {
        "a": [None, "2025-01-02"],
        "b": 1.5,
    }


@pytest.fixture
def tiny(ws: Workspace) -> Workspace:
    import pyarrow as pa

    ingest_tables(
        ws,
        {
            "customers": pa.table(
                {
                    "customer_id": ["a1", "a2", "b3", "b4", "c5"],
                    "email": ["x@a", None, "y@b", None, None],
                }
            ),
            "orders": pa.table(
                {
                    "order_id": ["o1", "o2", "o3", "o4"],
                    "customer_id": ["a1", "a1", "b3", "c5"],
                    "ordered_at": ["2025-01-01 10:00:00"] * 4,
                    "total": [100.0, 50.0, 300.0, 20.0],
                }
            ),
        },
    )
    return ws


def test_member_page_sorts_searches_and_pages(tiny):
    day = dt.date(2025, 6, 30)
    tgt = service.Target(parse_query("number_of_orders >= 1"))
    page = service.member_page(
        tiny,
        tgt,
        day,
        fields=["amount_spent", "email"],
        sort="amount_spent",
        descending=True,
        page_size=2,
    )
    assert page.total == 3 and page.pages == 2
    assert page.rows == [
        {"customer_id": "b3", "amount_spent": 300.0, "email": "y@b"},
        {"customer_id": "a1", "amount_spent": 150.0, "email": "x@a"},
    ]
    last = service.member_page(
        tiny, tgt, day, fields=[], sort="amount_spent", descending=True, page=2, page_size=2
    )
    assert last.rows == [{"customer_id": "c5"}]
    found = service.member_page(tiny, tgt, day, fields=[], search="A")
    assert [r["customer_id"] for r in found.rows] == ["a1"]
    with pytest.raises(NotFoundError, match="last page"):
        service.member_page(tiny, tgt, day, fields=[], page=3, page_size=2)
    with pytest.raises(ConfigError, match="unknown field"):
        service.member_page(tiny, tgt, day, fields=["shoe_size"])


def test_serve_refuses_another_host_without_a_token(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from danggol.cli.main import app

    Workspace.init(tmp_path / "shop").close()
    monkeypatch.delenv("DANGGOL_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["-w", str(tmp_path / "shop"), "serve", "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError) and "access token" in str(result.exception)


def test_demo_serve_refreshes_then_serves_on_localhost(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import danggol.cli.serve
    from danggol.cli.main import app

    calls = []
    monkeypatch.setattr(danggol.cli.serve, "serve_workspace", lambda *a: calls.append(a))
    folder = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", str(folder), "--customers", "300", "--serve", "--port", "9999"]
    )
    assert result.exit_code == 0, result.output
    assert calls == [(folder, "127.0.0.1", 9999)]
    with Workspace.open(folder) as ws:
        assert ws.duck.execute("SELECT count(*) FROM refreshes").fetchall()[0][0] == 1
        assert ws.duck.execute("SELECT count(*) FROM profile_snapshot").fetchall()[0][0] >= 300
