"""Progress of long steps, told to whoever listens — the CLI's progress bar — or to no one.

A base module (like ``errors``): any layer may import it. A long step wraps itself in
:func:`step`; without a listener that costs nothing. An edge that wants to show progress sets a
:class:`Reporter` for the duration of a call with :func:`reporting` (a context variable, so two
threads or two requests never see each other's steps).

>>> seen = []
>>> class Log:
...     def start(self, label, total): seen.append(("start", label, total)); return 1
...     def advance(self, task, amount): seen.append(("advance", amount))
...     def describe(self, task, text): seen.append(("describe", text))
...     def finish(self, task): seen.append(("finish",))
>>> with reporting(Log()):
...     with step("load orders.csv", total=2) as advance:
...         advance(); advance()
>>> seen
[('start', 'load orders.csv', 2), ('advance', 1), ('advance', 1), ('finish',)]
>>> seen.clear()
>>> with reporting(Log()):
...     with step("refresh", total=2):
...         stage("profile"); stage("segments")
>>> seen  # doctest: +NORMALIZE_WHITESPACE
[('start', 'refresh', 2), ('describe', 'refresh · profile'), ('advance', 1),
 ('describe', 'refresh · segments'), ('finish',)]
>>> with step("nobody listens") as advance:
...     advance(5)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

__all__ = ["Reporter", "reporting", "stage", "step", "track"]


class Reporter(Protocol):
    """What listens to steps: one task per step, advanced, described anew, then finished."""

    def start(self, label: str, total: float | None) -> Any: ...

    def advance(self, task: Any, amount: float) -> None: ...

    def describe(self, task: Any, text: str) -> None: ...

    def finish(self, task: Any) -> None: ...


@dataclass
class _Open:
    reporter: Reporter
    task: Any
    label: str
    started: bool = False


_reporter: ContextVar[Reporter | None] = ContextVar("danggol_progress", default=None)
_current: ContextVar[_Open | None] = ContextVar("danggol_progress_step", default=None)


def _nothing(amount: float = 1) -> None:
    return None


@contextmanager
def step(label: str, total: float | None = None) -> Iterator[Callable[..., None]]:
    """One long step (``total`` units when known, else open-ended); yields ``advance(amount=1)``."""
    reporter = _reporter.get()
    if reporter is None:
        yield _nothing
        return
    task = reporter.start(label, total)
    token = _current.set(_Open(reporter, task, label))
    try:
        yield lambda amount=1: reporter.advance(task, amount)
    finally:
        _current.reset(token)
        reporter.finish(task)


def stage(text: str) -> None:
    """Inside a step of N stages: the previous stage is done, ``text`` is under way. One line
    per stage in a pipeline (no indentation to change); nothing without a listener."""
    now = _current.get()
    if now is None:
        return
    if now.started:
        now.reporter.advance(now.task, 1)
    now.started = True
    now.reporter.describe(now.task, f"{now.label} · {text}")


def track(items: Iterable[T], label: str, *, total: int | None = None) -> Iterator[T]:
    """``for path in track(paths, "load"):`` — one unit per item, the item shown as it goes."""
    if _reporter.get() is None:
        yield from items
        return
    if total is None and isinstance(items, Sized):
        total = len(items)
    with step(label, total):
        for item in items:
            stage(getattr(item, "name", None) or str(item))
            yield item
        stage("done")


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Tell the steps of this context (thread, task) to ``reporter``."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)
