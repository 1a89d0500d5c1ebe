"""What every request passes before a route sees it (one ASGI middleware, outermost):

1. **Host** — the ``Host`` header names an allowed host (127.0.0.1, localhost, [::1], the
   address the server is bound to, and ``[web] allowed_hosts`` / ``serve --allowed-host``),
   else 400: a page of another site that re-points its own name at 127.0.0.1 (DNS
   rebinding) cannot read the API.
2. **Cross-site writes** — a state-changing method (POST, PUT, PATCH, DELETE) from another
   origin (``Sec-Fetch-Site: cross-site`` / ``same-site``, or an ``Origin`` that is not the
   ``Host`` asked) is refused with 403, and a body of any type but JSON with 415: an HTML form
   of another site (which can only send form or text bodies) cannot refresh, save or delete.
3. **The token on writes** — when a token is set, every route that changes the workspace
   needs it, even when the pages are open on 127.0.0.1 (``protect="personal"``).

4. **Body size** — a body that announces more than ``max_body_bytes`` (1 MiB by default) is
   refused with 413; one that streams more is stopped by FastAPI's own ``max_body_size``
   (set by ``create_app`` to the same limit).

Each refusal has the one JSON error shape of :mod:`danggol.web.errors`.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

from danggol.web.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the host names a server on this machine always answers to
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
#: the methods that change state: cross-site callers, form bodies and (with a token) callers
#: without it are refused
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: POST routes that only read (a query's count, preview, parse): no token needed on
#: 127.0.0.1, like the GET routes; the cross-site and JSON rules still apply
READ_ONLY_POSTS = frozenset(
    {
        "/api/query/count",
        "/api/query/preview",
        "/api/query/parse",
        "/api/query/format",
        "/api/cli/count",
    }
)
#: 1 MiB: a saved segment's query or tree is a few KiB
MAX_BODY_BYTES = 1 << 20
#: a wildcard address: the server answers on every interface
WILDCARDS = ("0.0.0.0", "::", "")


def host_name(header: str) -> str:
    """The host of a ``Host`` header, without the port, lower-case; IPv6 without brackets.

    >>> host_name("[::1]:8765"), host_name("LocalHost:80"), host_name("example.com")
    ('::1', 'localhost', 'example.com')
    """
    text = header.strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names a server bound to ``bound`` answers to: the loopback names, the bound
    address (unless a wildcard) and ``extra``; ``"*"`` in ``extra`` turns the check off.

    >>> sorted(allowed_hosts("192.168.0.5", ["shop.lan"]))
    ['127.0.0.1', '192.168.0.5', '::1', 'localhost', 'shop.lan']
    """
    names = {*LOOPBACK_NAMES, *(host_name(e) if e != "*" else "*" for e in extra)}
    if bound.strip() not in WILDCARDS:
        names.add(host_name(bound if ":" not in bound or bound.startswith("[") else f"[{bound}]"))
    return frozenset(n for n in names if n)


class Guard:
    """The checks above, in that order, around ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: frozenset[str],
        token_ok: Callable[[Scope], bool] | None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.token_ok = token_ok
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            status, code, message = refusal
            await JSONResponse(error_body(code, message), status_code=status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if "*" not in self.hosts and host_name(host) not in self.hosts:
            shown = host[:100]
            return (
                400,
                "bad_host",
                f"this server answers to {', '.join(sorted(self.hosts))}, not the host "
                f"{shown!r}: open it by one of those names, or add the name to allowed_hosts "
                "in the [web] section of danggol.toml (or 'danggol serve --allowed-host NAME')",
            )
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            # announced: refused before anything is read (a streamed body is counted by
            # FastAPI's max_body_size as it arrives)
            return 413, "too_large", too_large(self.max_body_bytes)
        method = scope["method"]
        if method not in WRITE_METHODS:
            return None
        site = headers.get("sec-fetch-site", "").lower()
        origin = headers.get("origin")
        if site in ("cross-site", "same-site") or (
            origin is not None and not _same_origin(origin, host)
        ):
            return (
                403,
                "forbidden",
                f"a {method} from another site is refused (Origin {str(origin)[:100]!r}, "
                f"Sec-Fetch-Site {site or 'absent'!r}): changes come from this dashboard's own "
                "page or from a client that sends no Origin (curl, scripts)",
            )
        kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind and kind != "application/json" and not kind.endswith("+json"):
            return (
                415,
                "unsupported_media_type",
                f"a {method} body is JSON (Content-Type: application/json); got {kind[:100]!r}",
            )
        path = scope["path"]
        if self.token_ok is not None and path not in READ_ONLY_POSTS and not self.token_ok(scope):
            return (
                401,
                "unauthorized",
                f"{method} {path[:100]} changes the workspace and needs the access token "
                "(Authorization: Bearer TOKEN, or open /?token=TOKEN once)",
            )
        return None


def too_large(limit: object) -> str:
    return (
        f"the request body is larger than {limit} bytes, the most this server reads "
        "(max_body_bytes in the [web] section of danggol.toml)"
    )


def _same_origin(origin: str, host: str) -> bool:
    """Whether an ``Origin`` header names the host (and port) the request was sent to."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # 'null' (a sandboxed page, a file), or garbage
    default = "443" if parts.scheme == "https" else "80"
    return _with_port(parts.netloc, default) == _with_port(host, default)


def _with_port(netloc: str, default: str) -> str:
    text = netloc.strip().lower()
    name = host_name(text)
    tail = text.rsplit("]", 1)[-1] if text.startswith("[") else text[len(name) :]
    port = tail[1:] if tail.startswith(":") else default
    with contextlib.suppress(ValueError):  # an IP address in its one written form
        name = ipaddress.ip_address(name).compressed
    return f"{name}:{port}"
