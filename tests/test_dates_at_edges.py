"""Dates are parsed at the edges, each edge in its own words; the library takes ``dt.date``.

Before: the API answered a bad ``?from=`` or ``?cutoff=`` with the CLI's "--as-of takes a date",
and ``danggol demo --end 2025-13-01`` printed a raw traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from danggol.config import WorkspaceConfig
from danggol.errors import ConfigError
from danggol.profile import as_of_date
from danggol.store.workspace import Workspace
from danggol.web import create_app
from web_client import api_client

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("dates") / "shop"
    Workspace.init(path).close()
    with api_client(create_app(path), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/analytics/migration?from=2025-13-01", "from"),
        ("/api/analytics/migration?to=soon", "to"),
        ("/api/predictions/backtest?cutoff=30/09/2025", "cutoff"),
        ("/api/overview?as_of=2025-02-30", "as_of"),
    ],
)
def test_api_names_its_own_parameter(client, url, name):
    response = client.get(url)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert message.startswith(f"'{name}' is a date as YYYY-MM-DD"), message
    assert "--" not in message  # no CLI option words in an API answer


def test_library_takes_a_date_and_says_so_without_cli_words():
    config = WorkspaceConfig(as_of="2025-05-31")
    assert as_of_date(dt.date(2025, 6, 30), config) == dt.date(2025, 6, 30)
    assert as_of_date(None, config) == dt.date(2025, 5, 31)
    with pytest.raises(ConfigError, match=r"as_of must be a date") as info:
        as_of_date("2025-06-30", config)  # type: ignore[arg-type]
    assert "--" not in str(info.value)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    env.pop("DANGGOL_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-c", "from danggol.cli.main import run; run()", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )


def test_demo_with_a_bad_end_is_a_clear_error(tmp_path):
    done = _cli("demo", str(tmp_path / "demo"), "--end", "2025-13-01", cwd=tmp_path)
    assert done.returncode == 2
    assert "--end takes a date as YYYY-MM-DD" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "demo").exists()  # nothing made before the input was checked


@pytest.mark.parametrize(
    ("day", "said"),
    [
        ("2025-02-30", "--as-of takes a date as YYYY-MM-DD"),
        ("0001-01-01", "--as-of takes a date from 1900-01-01 to 2999-12-31; got '0001-01-01'"),
    ],
)
def test_cli_names_its_option(tmp_path, day, said):
    Workspace.init(tmp_path / "shop").close()
    done = _cli(
        "-w",
        str(tmp_path / "shop"),
        "segment",
        "count",
        "top_spenders",
        "--as-of",
        day,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert said in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "url",
    [
        # found by the long API fuzz: the backtest's cutoff (as_of − 90 days) left the calendar
        # and the route answered 500 OverflowError
        "/api/predictions/diagnostics?as_of=0001-01-01",
        "/api/predictions/backtest?as_of=0001-01-01",
        "/api/analytics/migration?to=0001-01-01",
        "/api/overview?as_of=9999-12-31",
    ],
)
def test_api_refuses_a_day_off_the_shops_calendar(client, url):
    response = client.get(url)
    assert response.status_code == 400, response.text
    body = response.json()["error"]
    assert body["code"] == "bad_date"
    assert "from 1900-01-01 to 2999-12-31" in body["message"], body["message"]


def test_a_day_offset_off_the_calendar_is_a_config_error():
    from danggol.dates import shift

    assert shift(dt.date(2025, 3, 1), -2, "w") == dt.date(2025, 2, 15)
    with pytest.raises(ConfigError, match=r"the offset -90d from 0001-01-01 leaves the calendar"):
        shift(dt.date(1, 1, 1), -90, "d")
