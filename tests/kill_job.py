"""A job of the kill tests, run in-process or as a script that SIGKILLs itself.

``python tests/kill_job.py JOB WORKSPACE KILL_AT [INPUT]`` runs JOB (``refresh``, ``grades``,
``ingest`` — a Shopify export — or ``orders``, a plain orders file) on the workspace, counting
the statements sent to the store, and kills the process with SIGKILL just before statement
KILL_AT (0: never). It prints the count.

``DANGGOL_KILL_PHASE`` kills it instead at a step of publishing the write
(``Workspace.writer``): ``copy`` (half-way through copying the store aside), ``checkpoint``
(after the commit, before the checkpoint), ``publish`` (after the checkpoint, before the
rename), ``renamed`` (after the rename, before the folder's fsync).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from danggol.store import workspace as wsmod

AS_OF = dt.date(2025, 6, 30)


class Counting:
    """The store's DuckDB connection, counting statements; dies just before ``kill_at``."""

    def __init__(self, con: Any, counter: list[int], kill_at: int) -> None:
        self._con, self._counter, self._kill_at = con, counter, kill_at

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def _tick(self) -> None:
        self._counter[0] += 1
        if self._counter[0] == self._kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._tick()
        return self._con.execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        self._tick()
        return self._con.executemany(*args, **kwargs)


@contextmanager
def counting(kill_at: int = 0) -> Iterator[list[int]]:
    counter = [0]
    original = wsmod.Workspace.duck
    wsmod.Workspace.duck = property(lambda self: Counting(self.ibis.con, counter, kill_at))  # type: ignore[method-assign,assignment]
    try:
        yield counter
    finally:
        wsmod.Workspace.duck = original  # type: ignore[method-assign]


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at_phase(phase: str) -> None:
    """Make the writer die at ``phase`` (see the module's doc)."""
    if phase == "copy":

        def half_copy(src: Any, dst: Any) -> None:
            with open(src, "rb") as fin, open(dst, "wb") as fout:
                fout.write(fin.read(os.path.getsize(src) // 2))
            die()

        wsmod.copy_store = half_copy  # type: ignore[assignment]
    elif phase == "checkpoint":
        original_writing = wsmod.writing

        @contextmanager
        def writing_then_die(store: Any) -> Iterator[None]:
            with original_writing(store):
                yield
            if wsmod_phase["committed"]:
                die()

        wsmod_phase = {"committed": False}
        original_tx = wsmod.transaction

        @contextmanager
        def tx(con: Any) -> Iterator[Any]:
            with original_tx(con) as c:
                yield c
            wsmod_phase["committed"] = True

        wsmod.transaction = tx  # type: ignore[assignment]
        wsmod.writing = writing_then_die  # type: ignore[assignment]
    elif phase == "publish":
        wsmod.Workspace._publish = lambda self, private: die()  # type: ignore[method-assign]
    elif phase == "renamed":
        real_replace = os.replace

        def replace_then_die(src: Any, dst: Any) -> None:
            real_replace(src, dst)
            die()

        wsmod.os.replace = replace_then_die  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown phase {phase!r}")


def run(job: str, path: str, input_file: str | None = None) -> None:
    with wsmod.Workspace.open(path) as ws:
        if job == "refresh":
            from danggol.pipeline import refresh

            refresh(ws, AS_OF)
        elif job == "grades":
            from danggol.scores.grades import evaluate_grades

            evaluate_grades(ws, AS_OF)
        elif job == "ingest":
            from danggol.ingest.load import ingest_files

            ingest_files(ws, "orders", [input_file or ""], preset="shopify")
        elif job == "orders":
            from danggol.ingest.load import ingest_files

            ingest_files(ws, "orders", [input_file or ""])
        else:
            raise SystemExit(f"unknown job {job!r}")


if __name__ == "__main__":
    job, path, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if os.environ.get("DANGGOL_KILL_PHASE"):
        kill_at_phase(os.environ["DANGGOL_KILL_PHASE"])
    with counting(kill_at) as counter:
        run(job, path, sys.argv[4] if len(sys.argv) > 4 else None)
    print(json.dumps({"statements": counter[0]}))
