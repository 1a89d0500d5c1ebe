"""The CLI asking a running ``danggol serve`` of the same workspace (issue 16).

A fresh ``danggol segment count`` process spends most of its CPU importing Ibis and its DuckDB
backend; a running server has done that once. So:

* ``danggol serve`` **announces** itself in the workspace (:func:`announce`):
  ``.danggol-server.json``, mode 0600, written atomically, with its pid, the address to reach
  it on this machine, danggol's version and package folder, the workspace, the stamp of
  ``danggol.toml`` it read, and the access token when the server guards every call. It
  removes the file when it stops cleanly (:func:`withdraw`); a killed server leaves it.
* ``segment count`` **asks** that server (:func:`ask`, ``POST /api/cli/count``) when the file
  names this workspace, this danggol (same version, same package folder), the same
  ``danggol.toml`` (size and modification time), and a live process. The server answers with
  the same function the CLI would run (``segments.answers.count_answer``), on the newest
  published store; the CLI prints the answer as its own, and re-raises an error the server
  met as the same error (:func:`danggol.errors.error_from_info`), so output and exit code are
  the same.
* Anything else **counts here**: no file, a file of another workspace or danggol, a stale one
  (the pid is gone, the port refuses) — silently; a server that answered with something other
  than a count (an HTTP error, a broken answer, no answer within :data:`ANSWER_TIMEOUT`) — with
  one dim line on stderr. ``--local`` (or ``DANGGOL_LOCAL=1``) never asks.

Light on purpose: the standard library only (``http.client``, not httpx), so a routed count
imports no Ibis, DuckDB, pydantic or pyarrow (tests/test_cli_remote.py).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from danggol.errors import ERROR_HEADER, error_from_info

#: the announcement of a running ``danggol serve``, in its workspace folder
ANNOUNCE_FILE = ".danggol-server.json"
#: the route a routed ``segment count`` asks (web/routes/segments.py: ``cli_count``)
COUNT_ROUTE = "/api/cli/count"
#: what a count's answer holds (segments.answers.count_answer)
ANSWER_KEYS = frozenset({"count", "as_of", "segment", "query", "universe", "warnings"})
#: seconds to wait for the connection (a server on this machine accepts at once)
CONNECT_TIMEOUT = 2.0
#: seconds to wait for the answer: a count on an un-refreshed large shop takes seconds
ANSWER_TIMEOUT = 600.0
#: where a wildcard listener is reached from this machine
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


def settings_stamp(folder: Path) -> list[int]:
    """``danggol.toml``'s modification time (ns) and size: a server answers only while the
    settings it read are the ones on disk (its time zone and ``as_of`` decide a count)."""
    st = (folder / "danggol.toml").stat()
    return [st.st_mtime_ns, st.st_size]


def _package() -> tuple[str, str]:
    from danggol import __version__

    return __version__, str(Path(__file__).resolve().parents[1])


def announce(
    folder: Path, host: str, port: int, token: str | None, settings: list[int]
) -> dict[str, Any]:
    """Write the announcement of this process's server (atomically: a reader sees the old
    file or the new one); returns what it wrote. ``settings`` is :func:`settings_stamp` taken
    before the server read them; ``token`` only when every call needs it."""
    version, package = _package()
    data: dict[str, Any] = {
        "pid": os.getpid(),
        "host": host,
        "port": port,
        "connect": _LOOPBACK.get(host.strip(), host.strip("[]")),
        "version": version,
        "package": package,
        "workspace": str(folder.resolve()),
        "settings": settings,
        "token": token,
    }
    fd, name = tempfile.mkstemp(prefix=".danggol-server-", suffix=".tmp", dir=folder)  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(name, folder / ANNOUNCE_FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return data


def withdraw(folder: Path) -> None:
    """Remove the announcement if it is still this process's (a later ``serve`` of the same
    workspace may have replaced it)."""
    found = _read(folder)
    if found is not None and found.get("pid") == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            (folder / ANNOUNCE_FILE).unlink()


def _read(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / ANNOUNCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def announced(folder: Path) -> dict[str, Any] | None:
    """The server announced in ``folder`` if it may answer for this process: the same
    workspace, danggol and settings, and its process alive. Else None."""
    found = _read(folder)
    if found is None:
        return None
    try:
        same = (
            found["workspace"] == str(folder.resolve())
            and [found["version"], found["package"]] == list(_package())
            and found["settings"] == settings_stamp(folder)
        )
        pid, port = int(found["pid"]), int(found["port"])
    except (KeyError, TypeError, ValueError, OSError):
        return None
    if not same or not isinstance(found.get("connect"), str) or not 0 < port < 65536:
        return None
    if os.name != "posix":  # there os.kill(pid, 0) would end the server; the port tells
        return found
    try:
        os.kill(pid, 0)  # signal 0: is it alive (nothing is sent)
    except ProcessLookupError:
        return None  # killed: its file stays until the next serve replaces it
    except PermissionError:
        pass  # alive, another user's
    return found


def ask(folder: Path, body: dict[str, Any], query: dict[str, str]) -> dict[str, Any] | None:
    """The server's answer to a count (``body`` and ``query`` of :data:`COUNT_ROUTE`), or None
    to count here. An error the server met is raised as the CLI would have raised it."""
    server = announced(folder)
    if server is None:
        return None
    conn = http.client.HTTPConnection(server["connect"], server["port"], timeout=CONNECT_TIMEOUT)
    try:
        try:
            conn.connect()
        except OSError:
            return None  # nothing listens: a stale announcement
        if conn.sock is not None:
            conn.sock.settimeout(ANSWER_TIMEOUT)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if server.get("token"):
            headers["Authorization"] = f"Bearer {server['token']}"
        path = COUNT_ROUTE + ("?" + urlencode(query) if query else "")
        try:
            conn.request(
                "POST", path, json.dumps({**body, "workspace": server["workspace"]}), headers
            )
            response = conn.getresponse()
            status, raw = response.status, response.read()
            marked = response.getheader(ERROR_HEADER) == "1"
        except (OSError, http.client.HTTPException) as exc:
            _unusable(server, f"no answer ({type(exc).__name__})")
            return None
    finally:
        conn.close()
    why = f"HTTP {status}"
    try:
        answer = json.loads(raw)
    except ValueError:
        answer, why = None, f"HTTP {status}, not JSON"
    if status == 200 and isinstance(answer, dict) and set(answer) >= ANSWER_KEYS:
        return answer
    if marked and isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        error = error_from_info(answer["error"])
        if error is not None:
            raise error
    _unusable(server, why)
    return None


def _unusable(server: dict[str, Any], why: str) -> None:
    from danggol.cli.options import err

    err.print(
        f"[dim]the running danggol serve (pid {server['pid']}, port {server['port']}) gave {why}; "
        f"counted in this process[/]",
        highlight=False,
    )
