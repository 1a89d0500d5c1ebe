"""Workspace settings that reach the engine: the embedded store's memory limit."""

from __future__ import annotations

import pytest

from danggol.errors import ConfigError
from danggol.store.workspace import Workspace


def limit_bytes(ws: Workspace) -> float:
    text = ws.duck.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    number, unit = text.split()
    return float(number) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit]


def test_the_default_bounds_the_store_to_3_gb(ws):
    assert ws.config.memory_limit == "3GB"
    # DuckDB prints the limit rounded down to 0.1 GiB
    assert limit_bytes(ws) == pytest.approx(3e9, rel=0.04)


def test_memory_limit_from_danggol_toml(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    ws.close()
    (ws.path / "danggol.toml").write_text('[workspace]\nmemory_limit = "512MB"\n', encoding="utf-8")
    ws = Workspace.open(ws.path)
    assert limit_bytes(ws) == pytest.approx(512e6, rel=0.01)
    ws.close()
    (ws.path / "danggol.toml").write_text('[workspace]\nmemory_limit = "lots"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="memory_limit is a size such as '3GB'"):
        Workspace.open(ws.path)


def test_a_retired_prediction_setting_warns_and_is_ignored(tmp_path):
    Workspace.init(tmp_path / "old").close()
    toml = tmp_path / "old" / "danggol.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text.replace("[predictions]\n", "[predictions]\nvip_quantile = 0.25\n"), encoding="utf-8"
    )
    with pytest.warns(UserWarning, match="vip_quantile is no longer used"):
        ws = Workspace.open(tmp_path / "old")
    try:
        assert not hasattr(ws.config.predictions, "vip_quantile")
    finally:
        ws.close()
    # any other unknown setting is still an error
    toml.write_text(
        text.replace("[predictions]\n", "[predictions]\nvip_share = 1\n"), encoding="utf-8"
    )
    with pytest.raises(ConfigError):
        Workspace.open(tmp_path / "old")


def test_as_of_in_danggol_toml_is_the_default_day(tmp_path):
    import datetime as dt

    from danggol.profile import as_of_date

    ws = Workspace.init(tmp_path / "shop", timezone="Pacific/Kiritimati")  # UTC+14
    ws.close()
    assert ws.config.as_of == ""
    assert as_of_date(None, ws.config) == dt.datetime.now(dt.UTC).astimezone(ws.config.zone).date()
    toml = ws.path / "danggol.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('as_of = ""', 'as_of = "2024-02-29"'), encoding="utf-8")
    with Workspace.open(ws.path) as opened:
        assert as_of_date(None, opened.config) == dt.date(2024, 2, 29)
        assert as_of_date(dt.date(2023, 1, 1), opened.config) == dt.date(2023, 1, 1)  # given wins
    toml.write_text(text.replace('as_of = ""', 'as_of = "2024-02-30"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"as_of is a date such as '2025-06-30'.*'2024-02-30'"):
        Workspace.open(ws.path)


@pytest.mark.parametrize(
    "name",
    [
        "a\nb",
        'say "hi"',
        "back\\slash",
        "tab\there",
        "단골 상점 '1호'",
        "cr\rlf\r\n",
        "\x01\x7f",
        "#not a comment",
        "][",
    ],
)
def test_any_shop_name_is_written_as_valid_toml_and_read_back(tmp_path, name):
    """Issue 20 item 9: the hand-written TOML writer wrote shop_name="a\\nb" as a raw line break
    inside a basic string — invalid TOML, so the workspace could not be opened again."""
    Workspace.init(tmp_path / "shop", shop_name=name).close()
    with Workspace.open(tmp_path / "shop") as ws:
        assert ws.config.shop_name == name
