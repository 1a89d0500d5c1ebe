"""``danggol predict fit`` and ``danggol predict backtest`` on CDNOW, as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from compare import same
from danggol.cli.main import app
from danggol.cli.predict import parse_horizon
from danggol.errors import ConfigError
from danggol.ingest.load import ingest_tables
from danggol.predict.backtest import backtest

runner = CliRunner()
SAMPLE = Path(__file__).parent / "data" / "cdnow" / "CDNOW_sample.txt"


@pytest.fixture
def shop(ws):
    if not SAMPLE.exists():
        pytest.fail(
            f"CDNOW sample not found at {SAMPLE} (tests/data/cdnow is part of the repository)"
        )
    rows = [line.split() for line in SAMPLE.read_text().splitlines()]
    orders = pa.table(
        {
            "order_id": [str(i) for i in range(len(rows))],
            "customer_id": [r[0] for r in rows],
            "ordered_at": [f"{r[2][:4]}-{r[2][4:6]}-{r[2][6:]}" for r in rows],
            "total": pa.array([float(r[4]) for r in rows], pa.float64()),
        }
    )
    ingest_tables(ws, {"orders": orders})
    expected = backtest(ws.ibis, cutoff=dt.date(1997, 9, 30), horizon_days=273).to_dict()
    path = str(ws.path)
    ws.close()  # the CLI opens the store itself
    return path, expected


def run(ws: str, *args: str) -> str:
    result = runner.invoke(app, ["-w", ws, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_fit_reproduces_the_published_bgnbd_parameters(shop):
    ws, _ = shop
    args = ("predict", "fit", "--model", "bgnbd", "--as-of", "1997-09-30", "--time-unit", "week")
    got = json.loads(run(ws, *args, "--json"))
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert got["params"] == pytest.approx(published, abs=6e-4)
    assert got["customers"] == 2357
    assert got["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)  # FHL (2005)
    assert "alpha" in run(ws, *args)  # table output


def test_fit_gamma_gamma_on_repeat_buyers(shop):
    ws, _ = shop
    got = json.loads(
        run(ws, "predict", "fit", "--model", "gamma_gamma", "--as-of", "1997-09-30", "--json")
    )
    assert got["customers"] == 946
    assert got["params"] == pytest.approx({"p": 6.25, "q": 3.74, "gamma": 15.44}, abs=0.01)


def test_backtest_json_equals_the_library(shop):
    ws, expected = shop
    args = ("predict", "backtest", "--model", "bgnbd", "--cutoff", "1997-09-30")
    got = json.loads(run(ws, *args, "--horizon", "39w", "--time-unit", "week", "--json"))
    for key in ("actual_total", "predicted_total", "mae", "rmse", "correlation", "auc", "brier"):
        assert key in got
    assert same(got, expected)
    text = run(ws, *args, "--horizon", "39w")
    assert "actual_total" in text and "calibration" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "fit", "--model", "nope", "--as-of", "1997-09-30"], "unknown model"),
        (
            [
                "predict",
                "backtest",
                "--model",
                "gamma_gamma",
                "--cutoff",
                "1997-09-30",
                "--horizon",
                "39w",
            ],
            "unknown model",
        ),
        (["predict", "backtest", "--cutoff", "1997-09-30", "--horizon", "39x"], "a horizon is"),
        (["predict", "backtest", "--cutoff", "1998-06-30", "--horizon", "30d"], "too little data"),
        (["predict", "backtest", "--cutoff", "1997-01-05", "--horizon", "30d"], "too little data"),
        (["predict", "backtest", "--cutoff", "30/09/1997", "--horizon", "30d"], "YYYY-MM-DD"),
        (["predict", "fit", "--time-unit", "hour", "--as-of", "1997-09-30"], "--time-unit"),
    ],
)
def test_bad_inputs_are_clear_errors(shop, args, message):
    ws, _ = shop
    result = runner.invoke(app, ["-w", ws, *args])
    assert result.exit_code != 0
    assert message in str(result.exception)


def test_parse_horizon():
    assert [parse_horizon(h) for h in ("39w", "90d", "6m", "1D")] == [273, 90, 180, 1]
    for bad in ("", "39", "w", "0d", "1.5w", "3y"):
        with pytest.raises(ConfigError, match="a horizon is"):
            parse_horizon(bad)
