"""What one running app holds: the workspace, a lock around its store, a cache keyed on the
store's state, the access rules and the background refresh.

The app reads the published store (read-only, :mod:`danggol.store.workspace`) and moves to a
newer one when another process — a CLI load, ``schedule run``, or this app's own refresh —
publishes it (``Workspace.follow`` before each use): no restart, and a request sees one
complete store. The app's refresh runs as the workspace's writer on its own connection, so
requests keep being answered from the last published store meanwhile."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from danggol import pipeline
from danggol.dates import read_day
from danggol.errors import DanggolError
from danggol.profile import as_of_date
from danggol.store.workspace import Workspace
from danggol.web import dashboard
from danggol.web.errors import WebError, danggol_error, log

T = TypeVar("T")
#: how many computed answers the cache keeps (the oldest go first)
CACHE_SIZE = 128


@dataclass
class RefreshJob:
    """The state of the background refresh: idle, running, done or failed."""

    state: str = "idle"
    as_of: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "as_of": self.as_of,
            "seconds": None
            if self.started_at is None
            else round((self.finished_at or time.monotonic()) - self.started_at, 3),
            "result": self.result,
            "error": self.error,
        }


def parse_day(text: str, name: str = "as_of") -> dt.date:
    """A date parameter of the API (YYYY-MM-DD), parsed here at the edge: the error names the
    parameter, not a command-line option."""
    try:
        return read_day(text)
    except ValueError as exc:
        raise WebError(400, "bad_date", f"'{name}' is {exc}") from None


class WebState:
    """One workspace behind a lock: DuckDB's connection serves one query at a time."""

    def __init__(self, path: Path, token: str | None, protect: str, prewarm: bool = False) -> None:
        self._ws = Workspace.open(path)
        self.prewarming = prewarm
        self.token = token
        self.protect = protect
        self.lock = threading.RLock()
        self.cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.job = RefreshJob()
        #: keys being computed in the background, each with its thread
        self.warming: dict[tuple[Any, ...], threading.Thread] = {}
        self.readers: set[Workspace] = set()
        self.closing = False

    @property
    def ws(self) -> Workspace:
        """The workspace on the newest published store (moved to under the lock, so no request
        is mid-query on the connection it replaces)."""
        with self.lock:
            self._ws.follow()
            return self._ws

    def close(self) -> None:
        job = self.job.thread
        if job is not None:
            job.join()
        self.closing = True  # background work stops: no waiting minutes for it at Ctrl+C
        deadline = time.monotonic() + 30
        for thread in list(self.warming.values()):
            while thread.is_alive() and time.monotonic() < deadline:
                for reader in list(self.readers):
                    with contextlib.suppress(Exception):
                        reader.duck.interrupt()
                thread.join(timeout=0.1)
        with self.lock:
            self._ws.close()

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a library function with the workspace (the newest published store), holding
        the lock."""
        with self.lock:
            return fn(self.ws, *args, **kwargs)

    def cached(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        """Like :meth:`run`, remembering the answer until the store changes (a refresh, a load,
        a saved segment). An answer being computed in the background is waited for."""
        with self.lock:
            key = self._key(self.ws, name, args)
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
            thread = self.warming.get(key)
        if thread is not None:
            thread.join()
        with self.lock:
            if key in self.cache:
                return self.cache[key]
            value = fn(self.ws, *args)
            self._remember(key, value)
            return value

    def prewarm(self) -> None:
        """Compute the slow answers of the first pages in the background (after the start and
        after each refresh), so that the first visitor does not wait for them."""
        if not self.prewarming:
            return
        day = self.as_of(None)
        self.warm("overview", dashboard.overview, day)
        self.warm("segments", dashboard.segment_list, day)
        self.warm("lifecycle", dashboard.lifecycle_over_time, day, 6)

    def _key(self, ws: Workspace, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (name, args, (), dashboard.state_key(ws))

    def _remember(self, key: tuple[Any, ...], value: Any) -> None:
        self.cache[key] = value
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)

    def reader(self) -> Workspace:
        """The workspace on a cursor of its own (the newest published store; one DuckDB
        instance, one memory limit): slow reads run there, in the background, without holding
        the lock every other request waits for."""
        with self.lock:
            return self.ws.cursor()

    def warm(self, name: str, fn: Callable[..., Any], *args: Any) -> Any | None:
        """The cached answer if there is one; else start computing it in the background (on
        its own connection) and return None — the route answers "computing" (202)."""
        with self.lock:
            key = self._key(self.ws, name, args)
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
            if key in self.warming:
                return None

            def work() -> None:
                reader = self.reader()
                self.readers.add(reader)
                try:
                    value = fn(reader, *args)
                    with self.lock:
                        self._remember(key, value)
                except Exception:  # the next request starts it again; the log says why
                    if not self.closing:
                        log.exception("computing %s in the background failed", name)
                finally:
                    self.readers.discard(reader)
                    reader.close()
                    with self.lock:
                        self.warming.pop(key, None)

            thread = threading.Thread(target=work, name=f"danggol-{name}", daemon=True)
            self.warming[key] = thread
            thread.start()
            return None

    def as_of(self, given: dt.date | None) -> dt.date:
        """The date asked, else the last refresh's (its stored profile is fast), else the workspace's as_of or today."""
        if given is not None:  # parsed at the edge (deps.AsOf)
            return given
        with self.lock:
            stored = dashboard.stored_as_of(self.ws)
        return stored or as_of_date(None, self.ws.config)

    def start_refresh(self, as_of: dt.date) -> RefreshJob:
        if self.job.state == "running":
            raise WebError(409, "conflict", "a refresh is already running; wait for it to finish")
        self.job = RefreshJob("running", as_of.isoformat(), time.monotonic())
        job = self.job

        def work() -> None:
            try:
                # the workspace's writer, on a connection of its own: requests keep reading
                # the published store until the refresh publishes the new one
                with Workspace(self.ws.path, self.ws.config) as writer:
                    result = pipeline.refresh(writer, as_of)
                job.result, job.state = result.to_dict(), "done"
            except DanggolError as exc:
                job.error, job.state = danggol_error(exc)[1]["error"], "failed"
            except Exception:  # reported in the status (and the log), never raised in a thread
                log.exception("the refresh failed")
                job.error = {"code": "internal_error", "message": "the refresh failed; see the log"}
                job.state = "failed"
            finally:
                job.finished_at = time.monotonic()
            if job.state == "done":
                self.prewarm()

        job.thread = threading.Thread(target=work, name="danggol-refresh", daemon=True)
        job.thread.start()
        return job
