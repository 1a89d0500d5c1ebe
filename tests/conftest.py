"""Shared fixtures: a fresh workspace and a helper that writes small input files."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from danggol.store.workspace import Workspace


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``last`` run after every other (whatever reordered them before): the
    route-coverage check reads what the session's other tests did."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """An empty workspace in Asia/Seoul / KRW."""
    workspace = Workspace.init(tmp_path / "shop", timezone="Asia/Seoul", currency="KRW")
    yield workspace
    workspace.close()


@pytest.fixture
def write_csv(tmp_path: Path):
    """write_csv(name, header, rows, encoding='utf-8') -> Path of a new CSV file."""

    def write(
        name: str,
        header: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        encoding: str = "utf-8",
    ) -> Path:
        path = tmp_path / name
        with path.open("w", encoding=encoding, newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        return path

    return write
