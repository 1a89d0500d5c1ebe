"""A demo workspace: the generated shop in a new (or replaced) workspace, loaded and summarised.

What ``danggol demo`` runs. It sits above the generator (it needs the store, the loader and
the shop summary), so the ``demo`` package does not import it: ``from danggol.demo.workspace
import open_demo_workspace, load_demo``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from danggol.demo.shop import generate_shop
from danggol.errors import ConfigError
from danggol.ingest.load import IngestResult, ingest_tables
from danggol.progress import step
from danggol.store.workspace import Workspace
from danggol.summary import shop_summary

#: the shop name a demo workspace is created with
SHOP_NAME = "danggol demo shop"


@dataclass
class DemoShop:
    """A loaded demo shop: its headline figures, the load's counts and how long each step took."""

    directory: Path
    summary: dict[str, Any]
    ingest: IngestResult
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": str(self.directory),
            **self.summary,
            "ingest": self.ingest.to_dict(),
            **self.timings,
        }


def open_demo_workspace(
    directory: Path, end: dt.date, *, replace: bool = False
) -> tuple[Workspace, str | None]:
    """The workspace for a demo shop whose history ends on ``end`` (created in Asia/Seoul and
    KRW, with ``as_of = end`` — the default of every as-of date), and a note when an existing
    ``danggol.toml`` keeps another ``as_of``. A folder that already holds a shop is refused
    unless ``replace``: then only its store is replaced (danggol.toml and segments stay)."""
    ws = Workspace.init(
        directory,
        timezone="Asia/Seoul",
        currency="KRW",
        shop_name=SHOP_NAME,
        as_of=end.isoformat(),  # its history ends there: the default of every --as-of
    )
    if ws.count("orders") or ws.count("customers"):
        if not replace:
            ws.close()
            raise ConfigError(
                f"{directory} already holds a shop; pass --replace to generate it anew, "
                "or choose another folder"
            )
        ws.close()
        ws.store_path.unlink()
        ws = Workspace.init(directory)
    note = None
    if ws.config.as_of != end.isoformat():
        note = (
            f"note: {directory}/danggol.toml keeps as_of = {ws.config.as_of!r}; set it to "
            f'"{end}" for commands without --as-of to see the shop as generated'
        )
    return ws, note


def load_demo(
    ws: Workspace, directory: Path, customers: int, *, seed: int, end: dt.date
) -> DemoShop:
    """Generate the shop (:func:`~danggol.demo.shop.generate_shop`), load it into ``ws`` and
    summarise it as of ``end``."""
    started = time.perf_counter()
    with step(f"generate {customers:,} customers"):
        shop = generate_shop(customers, seed=seed, end=end)
    generated = time.perf_counter()
    result = ingest_tables(ws, shop, source="demo")
    loaded = time.perf_counter()
    with step("summary"):
        summary = shop_summary(ws, end)
    timings = {
        "generate_s": round(generated - started, 2),
        "load_s": round(loaded - generated, 2),
        "summary_s": round(time.perf_counter() - loaded, 2),
    }
    return DemoShop(directory, summary, result, timings)
