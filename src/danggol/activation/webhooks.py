"""Webhooks on segment changes: an outbox in the store, signed POSTs, retries, a dead letter.

After each refresh, :func:`enqueue` turns the customers who entered or left each segment's
current membership (``segment_moves``: a refresh of a date older than the segment's latest
moves nobody, so it announces nothing) into JSON batches, one outbox row per (refresh, segment, endpoint,
batch). Its key, ``refresh_id:segment:endpoint:batch``, is the delivery's *idempotency key*:
enqueueing again adds nothing, and every attempt of a delivery carries the same key.

:func:`send` POSTs each pending batch with

* ``Idempotency-Key: <key>`` — a receiver that applies each key once never applies a batch
  twice, even when a crash between the POST and the store's update makes danggol send it
  again (*at least once* on the wire, *exactly once* for such a receiver);
* ``X-Danggol-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` —
  :func:`verify_signature` is what a receiver runs.

A 2xx answer marks the delivery *delivered*; anything else (another status, a refused
connection, a timeout) is retried after ``base_delay × 2^(attempts−1)`` seconds; after
``max_attempts`` the delivery is *failed* and a row goes to ``webhook_dead_letters`` with the
last error. Nothing is deleted: ``retry_failed`` puts dead letters back in the queue.

A redirect (3xx) is *not* followed — a client that follows a 302 sends a body-less GET to the
new place and would take its 200 for a delivery — it is a failure whose error names the
``Location``. A URL whose host is (or resolves to) a loopback, private, link-local (such as
169.254.169.254, a cloud's metadata service) or other non-public address is refused, when
the endpoint is added and again at each connection (the address actually connected to is
checked, so a name that later resolves elsewhere is caught too), unless ``danggol.toml``
allows it::

    [webhooks]
    allow_private_urls = true
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import re
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict
from urllib.parse import urlsplit

from danggol.config import CONFIG_FILE, WebhookConfig, read_section
from danggol.errors import ConfigError
from danggol.segments.history import ensure_tables as ensure_history
from danggol.serial import ToDict
from danggol.store import tables as store_tables
from danggol.store.workspace import Workspace

#: the webhook tables (declared with every store table in danggol.store.tables)
TABLES = {name: store_tables.columns(name) for name in store_tables.WEBHOOKS}
SIGNATURE_HEADER = "X-Danggol-Signature"
NAME = re.compile(r"[a-z0-9][a-z0-9_\-]*")
STATUSES = ("pending", "delivered", "failed")


def ensure_tables(ws: Workspace) -> None:
    ensure_history(ws.duck)
    store_tables.ensure(ws.duck, store_tables.WEBHOOKS)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# -- signatures -------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Danggol-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, tolerance: float = 300, now: float | None = None
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and its timestamp is within
    ``tolerance`` seconds of ``now`` (a replayed old request fails). For receivers.

    >>> header = sign("s3cret", b'{"a":1}', 1_700_000_000)
    >>> verify_signature("s3cret", header, b'{"a":1}', now=1_700_000_010)
    True
    >>> verify_signature("s3cret", header, b'{"a":2}', now=1_700_000_010)
    False
    """
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


# -- endpoints ----------------------------------------------------------------------------------


@dataclass
class Endpoint(ToDict):
    name: str
    url: str
    segments: list[str] | None
    batch_size: int
    last_refresh: int
    secret: str = field(repr=False, default="")


def add_endpoint(
    ws: Workspace,
    name: str,
    url: str,
    *,
    secret: str | None = None,
    segments: list[str] | None = None,
    batch_size: int = 500,
) -> Endpoint:
    """Register a URL for segment changes from the next refresh on (all segments, or the
    ones named); the secret is generated when not given."""
    if not NAME.fullmatch(name):
        raise ConfigError(f"an endpoint name is lower-case letters, digits, _ and -; got {name!r}")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"a webhook URL starts with http:// or https://; got {url!r}")
    check_url(url, allow_private(ws))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size is a whole number ≥ 1; got {batch_size!r}")
    ensure_tables(ws)
    with ws.transaction() as con:
        if con.execute("SELECT 1 FROM webhook_endpoints WHERE name = ?", [name]).fetchall():
            raise ConfigError(
                f"a webhook named {name!r} exists; remove it first or choose another name"
            )
        last = con.execute("SELECT COALESCE(max(refresh_id), 0) FROM refreshes").fetchall()[0][0]
        endpoint = Endpoint(
            name, url, segments or None, batch_size, int(last), secret or secrets.token_hex(32)
        )
        con.execute(
            "INSERT INTO webhook_endpoints VALUES (?, ?, ?, ?, ?, ?, ?)",
            [name, url, endpoint.secret, endpoint.segments, batch_size, last, _now()],
        )
    return endpoint


def endpoints(ws: Workspace) -> list[Endpoint]:
    ensure_tables(ws)
    rows = ws.duck.execute(
        "SELECT name, url, segments, batch_size, last_refresh, secret "
        "FROM webhook_endpoints ORDER BY name"
    ).fetchall()
    return [Endpoint(r[0], r[1], r[2], int(r[3]), int(r[4]), r[5]) for r in rows]


def remove_endpoint(ws: Workspace, name: str) -> None:
    """Remove an endpoint; its deliveries stay in the outbox (pending ones are not sent)."""
    ensure_tables(ws)
    with ws.transaction() as con:
        gone = con.execute(
            "DELETE FROM webhook_endpoints WHERE name = ? RETURNING name", [name]
        ).fetchall()
    if not gone:
        known = ", ".join(e.name for e in endpoints(ws)) or "none"
        raise ConfigError(f"no webhook named {name!r}; the webhooks are: {known}")


# -- where a webhook may go ----------------------------------------------------------------------


class PrivateAddressError(ConfigError):
    """A webhook URL that leads to a loopback, private, link-local or other non-public
    address, which ``[webhooks] allow_private_urls`` does not allow."""


def allow_private(ws: Workspace) -> bool:
    """``[webhooks] allow_private_urls`` of the workspace's ``danggol.toml``."""
    return read_section(ws.path / CONFIG_FILE, "webhooks", WebhookConfig).allow_private_urls


def public_address(text: str) -> bool:
    """Whether an IP address is a public one (not loopback, private, link-local, shared,
    multicast, reserved or unspecified; an IPv4-mapped IPv6 address counts as its IPv4).

    >>> [public_address(a) for a in ("93.184.215.14", "169.254.169.254", "10.0.0.1", "::1")]
    [True, False, False, False]
    >>> public_address("::ffff:127.0.0.1")
    False
    """
    ip = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, allowed: bool) -> None:
    """Refuse (PrivateAddressError) a URL whose host is, or resolves to, a non-public
    address, unless ``allowed``; every address the name resolves to is checked."""
    if allowed:
        return
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise ConfigError(f"a webhook URL names a host (http://host/path); got {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, ValueError) as exc:
        raise ConfigError(
            f"the webhook host {host!r} cannot be resolved ({exc}); check the URL"
        ) from exc
    for info in infos:
        address = str(info[4][0])
        if not public_address(address):
            raise PrivateAddressError(_private_message(host, address))


def _private_message(host: str, address: str) -> str:
    shown = host if host == address else f"{host} ({address})"
    return (
        f"the webhook host {shown} is a loopback, private, link-local or other non-public "
        "address; danggol sends webhooks only to public addresses unless the [webhooks] "
        "section of danggol.toml says allow_private_urls = true"
    )


# -- outbox ------------------------------------------------------------------------------------


def enqueue(ws: Workspace) -> int:
    """Add the batches of every refresh since each endpoint's last one to the outbox, in one
    transaction; return how many were added. Running it again adds nothing."""
    ensure_tables(ws)
    added = 0
    with ws.transaction() as con:
        for ep in endpoints(ws):
            refreshes = con.execute(
                "SELECT refresh_id, as_of FROM refreshes WHERE refresh_id > ? ORDER BY 1",
                [ep.last_refresh],
            ).fetchall()
            for refresh_id, as_of in refreshes:
                added += _enqueue_refresh(con, ep, int(refresh_id), as_of)
            if refreshes:
                con.execute(
                    "UPDATE webhook_endpoints SET last_refresh = ? WHERE name = ?",
                    [int(refreshes[-1][0]), ep.name],
                )
    return added


def _enqueue_refresh(con: Any, ep: Endpoint, refresh_id: int, as_of: dt.date) -> int:
    rows = con.execute(
        "SELECT segment, change, customer_id FROM segment_moves WHERE refresh_id = ? "
        "AND (? IS NULL OR list_contains(?, segment)) ORDER BY segment, change, customer_id",
        [refresh_id, ep.segments, ep.segments],
    ).fetchall()
    by_segment: dict[str, list[tuple[str, str]]] = {}
    for segment, change, customer in rows:
        by_segment.setdefault(segment, []).append((change, customer))
    added = 0
    now = _now()
    for segment, changes in by_segment.items():
        batches = [changes[i : i + ep.batch_size] for i in range(0, len(changes), ep.batch_size)]
        for number, batch in enumerate(batches, start=1):
            key = f"{refresh_id}:{segment}:{ep.name}:{number}"
            body = json.dumps(
                {
                    "event": "segment.changed",
                    "delivery_id": key,
                    "refresh_id": refresh_id,
                    "as_of": as_of.isoformat(),
                    "segment": segment,
                    "batch": number,
                    "batches": len(batches),
                    "entered": [c for ch, c in batch if ch == "entered"],
                    "left": [c for ch, c in batch if ch == "left"],
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            inserted = con.execute(
                "INSERT INTO webhook_outbox VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, NULL, ?, "
                "NULL) ON CONFLICT DO NOTHING RETURNING 1",
                [key, ep.name, refresh_id, segment, number, body, now, now],
            ).fetchall()
            added += len(inserted)
    return added


# -- sending -------------------------------------------------------------------------------------


@dataclass
class SendResult(ToDict):
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    pending: int = 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is the answer, not a place to go: urllib then raises it as an HTTPError."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _checked(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
    """A connection class that, once connected, refuses a non-public peer address before
    anything is sent (the address actually connected to, whatever the name resolved to)."""

    class Checked(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            address = str(self.sock.getpeername()[0])
            if not public_address(address):
                self.close()
                raise PrivateAddressError(_private_message(str(self.host), address))

    return Checked


class _CheckedHTTP(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_checked(http.client.HTTPConnection), req)


class _CheckedHTTPS(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_checked(http.client.HTTPSConnection), req)


@dataclass
class Reply:
    status: int
    location: str | None = None


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool = False
) -> Reply:
    """POST without following redirects and return the HTTP status (an error status is
    returned, not raised) and, for a redirect, where it pointed. Unless ``allow_private``,
    the URL's addresses are checked first and the connected peer again (PrivateAddressError)."""
    check_url(url, allow_private)
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    proxied = urlsplit(url).scheme in urllib.request.getproxies() and not (
        urllib.request.proxy_bypass(urlsplit(url).hostname or "")
    )
    if not allow_private and not proxied:  # through a proxy, the peer is the proxy
        handlers += [_CheckedHTTP(), _CheckedHTTPS()]
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=timeout) as response:
            return Reply(int(response.status))
    except urllib.error.HTTPError as exc:
        location = exc.headers.get("Location") if exc.headers else None
        exc.close()
        return Reply(int(exc.code), location)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, PrivateAddressError):
            raise exc.reason from None
        raise


class SendOptions(TypedDict, total=False):
    """The tuning keywords of :func:`send` a caller may pass on (``schedule.run``)."""

    max_attempts: int
    base_delay: float
    timeout: float


def send(
    ws: Workspace,
    *,
    max_attempts: int = 5,
    base_delay: float = 2.0,
    timeout: float = 10.0,
    wait: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """Deliver the pending batches that are due. With ``wait``, keep going (sleeping until the
    next retry is due) until every delivery is delivered or failed; else one pass."""
    if max_attempts < 1 or base_delay < 0:
        raise ConfigError("max_attempts is ≥ 1 and base_delay ≥ 0 seconds")
    ensure_tables(ws)
    result = SendResult()
    private = allow_private(ws)
    while True:
        # one write per pass, not per delivery (each write copies the store): a kill in the
        # middle loses the pass's records and its batches are sent again, with the same
        # Idempotency-Key
        with ws.writer("danggol webhooks send"):
            due = _due(ws)
            for row in due:
                _attempt(ws, row, result, max_attempts, base_delay, timeout, private)
        waiting = ws.duck.execute(
            "SELECT min(next_attempt_at), count(*) FROM webhook_outbox o "
            "JOIN webhook_endpoints e ON e.name = o.endpoint WHERE o.status = 'pending'"
        ).fetchall()[0]
        result.pending = int(waiting[1])
        if not wait or not result.pending:
            return result
        if not due:
            sleep(max(0.0, (waiting[0] - _now()).total_seconds()))


def _due(ws: Workspace) -> list[tuple[Any, ...]]:
    return ws.duck.execute(
        "SELECT o.delivery_id, o.body, o.attempts, e.url, e.secret, o.endpoint "
        "FROM webhook_outbox o JOIN webhook_endpoints e ON e.name = o.endpoint "
        "WHERE o.status = 'pending' AND o.next_attempt_at <= ? "
        "ORDER BY o.refresh_id, o.segment, o.endpoint, o.batch_no",
        [_now()],
    ).fetchall()


def _attempt(
    ws: Workspace,
    row: tuple[Any, ...],
    result: SendResult,
    max_attempts: int,
    base_delay: float,
    timeout: float,
    private: bool = False,
) -> None:
    key, body, attempts, url, secret, endpoint = row
    data = body.encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "danggol-webhooks",
        "Idempotency-Key": key,
        SIGNATURE_HEADER: sign(secret, data, int(time.time())),
    }
    try:
        reply = post(url, data, headers, timeout, private)
        error = None if 200 <= reply.status < 300 else f"HTTP {reply.status}"
        if error is not None and 300 <= reply.status < 400:
            error += (
                f": a redirect to {reply.location or 'nowhere'} (not followed: a client "
                "following it would send a GET without the batch); register the URL that "
                "answers the POST itself"
            )
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # refused, unreachable, timed out, bad URL, a non-public address, a broken answer
        error = f"{type(exc).__name__}: {exc}"
    if error is None:
        _record_delivered(ws, key)
        result.delivered += 1
        return
    attempts += 1
    with ws.transaction() as con:
        if attempts >= max_attempts:
            con.execute(
                "UPDATE webhook_outbox SET status = 'failed', attempts = ?, last_error = ? "
                "WHERE delivery_id = ?",
                [attempts, error, key],
            )
            con.execute(
                "INSERT INTO webhook_dead_letters VALUES (?, ?, ?, ?, ?)",
                [key, endpoint, attempts, error, _now()],
            )
            result.failed += 1
        else:
            delay = dt.timedelta(seconds=base_delay * 2 ** (attempts - 1))
            con.execute(
                "UPDATE webhook_outbox SET attempts = ?, last_error = ?, next_attempt_at = ? "
                "WHERE delivery_id = ?",
                [attempts, error, _now() + delay, key],
            )
            result.retried += 1


def _record_delivered(ws: Workspace, key: str) -> None:
    with ws.transaction() as con:
        con.execute(
            "UPDATE webhook_outbox SET status = 'delivered', attempts = attempts + 1, "
            "last_error = NULL, delivered_at = ? WHERE delivery_id = ?",
            [_now(), key],
        )


def retry_failed(ws: Workspace, endpoint: str | None = None) -> int:
    """Put failed deliveries back in the queue (their dead-letter rows stay as a record)."""
    ensure_tables(ws)
    with ws.transaction() as con:
        rows = con.execute(
            "UPDATE webhook_outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
            "WHERE status = 'failed' AND (? IS NULL OR endpoint = ?) RETURNING 1",
            [_now(), endpoint, endpoint],
        ).fetchall()
    return len(rows)


def status(ws: Workspace) -> dict[str, Any]:
    """Deliveries per endpoint and status, and the dead letters (latest first)."""
    ensure_tables(ws)
    counts = ws.duck.execute(
        "SELECT e.name, "
        + ", ".join(f"count(o.delivery_id) FILTER (WHERE o.status = '{s}')" for s in STATUSES)
        + " FROM webhook_endpoints e LEFT JOIN webhook_outbox o ON o.endpoint = e.name "
        "GROUP BY e.name ORDER BY e.name"
    ).fetchall()
    dead = ws.duck.execute(
        "SELECT delivery_id, endpoint, attempts, last_error, failed_at "
        "FROM webhook_dead_letters ORDER BY failed_at DESC, delivery_id LIMIT 100"
    ).fetchall()
    return {
        "endpoints": [
            {"endpoint": r[0], **{s: int(v) for s, v in zip(STATUSES, r[1:], strict=True)}}
            for r in counts
        ],
        "dead_letters": [
            dict(
                zip(
                    ("delivery_id", "endpoint", "attempts", "last_error", "failed_at"),
                    r,
                    strict=True,
                )
            )
            for r in dead
        ],
    }
