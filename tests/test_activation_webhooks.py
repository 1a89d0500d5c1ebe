"""Webhooks against a real local HTTP server: signature, retry after a 500, dead letter,
no duplicate applied after a crash between the POST and the store's update."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from danggol import pipeline
from danggol.activation import webhooks
from danggol.errors import ConfigError
from danggol.ingest.load import ingest_files
from danggol.segments import service
from danggol.segments.definition import Segment

SECRET = "test-secret"
D1, D2 = dt.date(2025, 6, 1), dt.date(2025, 6, 30)


@dataclass
class Receiver:
    """What a receiver that honours Idempotency-Key saw and applied."""

    url: str = ""
    #: per path: how many of the first requests answer 500
    fail_first: dict[str, int] = field(default_factory=dict)
    #: per path: seconds to wait after applying, before answering
    delay: dict[str, float] = field(default_factory=dict)
    requests: list[dict[str, object]] = field(default_factory=list)
    applied: dict[str, dict[str, object]] = field(default_factory=dict)
    #: per path: answer 302 with this Location
    redirect: dict[str, str] = field(default_factory=dict)
    gets: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            key = self.headers["Idempotency-Key"]
            with state.lock:
                seen = sum(1 for r in state.requests if r["path"] == self.path)
                state.requests.append(
                    {
                        "path": self.path,
                        "key": key,
                        "signature": self.headers[webhooks.SIGNATURE_HEADER],
                        "body": body,
                        "at": time.monotonic(),
                    }
                )
                failing = seen < state.fail_first.get(self.path, 0)
                if not failing and key not in state.applied:  # apply each key once
                    state.applied[key] = json.loads(body)
            time.sleep(state.delay.get(self.path, 0.0))
            if self.path in state.redirect:
                self.send_response(302)
                self.send_header("Location", state.redirect[self.path])
            else:
                self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # what a client following a 302 sends: no body, no batch
            with state.lock:
                state.gets.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def allow_private_urls(ws, allowed: bool = True) -> None:
    """The receivers here listen on 127.0.0.1, a loopback address webhooks refuse unless
    danggol.toml allows it (issue 14 item 9)."""
    config = ws.path / "danggol.toml"
    text = config.read_text(encoding="utf-8").split("\n[webhooks]\n", 1)[0]
    config.write_text(
        f"{text}\n[webhooks]\nallow_private_urls = {str(allowed).lower()}\n", encoding="utf-8"
    )


@pytest.fixture
def shop(ws, write_csv):
    orders = write_csv(
        "orders.csv",
        ["order_id", "customer_id", "ordered_at", "total"],
        [
            ["o1", "c1", "2025-05-20", 100_000],
            ["o2", "c1", "2025-06-20", 20_000],
            ["o3", "c2", "2025-05-25", 30_000],
            ["o4", "c3", "2025-06-25", 5_000],
        ],
    )
    ingest_files(ws, "orders", [orders])
    reg = service.registry(ws)
    reg.save(Segment(name="recent", query="last_order_date >= -10d"))
    reg.save(Segment(name="big", query="amount_spent >= 50000"))
    allow_private_urls(ws)
    return ws


def outbox(ws) -> list[tuple[str, str, int]]:
    return ws.duck.execute(
        "SELECT delivery_id, status, attempts FROM webhook_outbox ORDER BY delivery_id"
    ).fetchall()


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"segment":"vip"}'
    header = webhooks.sign(SECRET, body, 1_750_000_000)
    # computed independently: HMAC-SHA256(secret, "1750000000." + body)
    mac = hmac.new(SECRET.encode(), b"1750000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1750000000,v1={mac}"
    assert webhooks.verify_signature(SECRET, header, body, now=1_750_000_100)
    assert not webhooks.verify_signature("other", header, body, now=1_750_000_100)
    assert not webhooks.verify_signature(SECRET, header, body + b" ", now=1_750_000_100)
    assert not webhooks.verify_signature(SECRET, header, body, now=1_750_000_301)  # too old
    assert not webhooks.verify_signature(SECRET, "v1=abc", body)


def test_changes_are_delivered_signed_and_enqueued_once(shop, receiver):
    webhooks.add_endpoint(shop, "crm", receiver.url + "/crm", secret=SECRET, batch_size=1)
    pipeline.refresh(shop, D1)  # recent: +c2; big: +c1
    pipeline.refresh(shop, D2)  # recent: +c1, +c3, -c2
    assert webhooks.enqueue(shop) == 5  # batch_size 1: one customer per batch
    assert webhooks.enqueue(shop) == 0  # a re-run cannot enqueue twice
    result = webhooks.send(shop)
    assert (result.delivered, result.failed, result.pending) == (5, 0, 0)
    bodies = []
    for req in receiver.requests:
        assert webhooks.verify_signature(SECRET, str(req["signature"]), req["body"])
        body = json.loads(req["body"])
        assert body["delivery_id"] == req["key"]
        bodies.append((body["refresh_id"], body["segment"], body["entered"], body["left"]))
    assert sorted(bodies) == sorted(
        [
            (1, "big", ["c1"], []),
            (1, "recent", ["c2"], []),
            (2, "recent", ["c1"], []),
            (2, "recent", ["c3"], []),
            (2, "recent", [], ["c2"]),
        ]
    )
    assert {s for _, s, _ in outbox(shop)} == {"delivered"}
    assert webhooks.send(shop).delivered == 0  # nothing sent twice


def test_segment_filter_and_only_refreshes_after_the_endpoint(shop, receiver):
    pipeline.refresh(shop, D1)
    webhooks.add_endpoint(shop, "big-only", receiver.url, secret=SECRET, segments=["big"])
    pipeline.refresh(shop, D2)  # big unchanged, recent changed → nothing for this endpoint
    assert webhooks.enqueue(shop) == 0
    with shop.transaction() as con:  # writes go through the workspace's writer
        con.execute("INSERT INTO customers (customer_id) VALUES ('c9')")
        con.execute(
            "INSERT INTO orders (order_id, customer_id, ordered_at, order_date, total, status) "
            "VALUES ('o9', 'c9', '2025-07-01', '2025-07-01', 90000, 'paid')"
        )
    pipeline.refresh(shop, dt.date(2025, 7, 2))
    assert webhooks.enqueue(shop) == 1
    webhooks.send(shop)
    (body,) = receiver.applied.values()
    assert (body["refresh_id"], body["segment"], body["entered"]) == (3, "big", ["c9"])


def test_a_500_is_retried_with_backoff_then_delivered(shop, receiver):
    receiver.fail_first["/flaky"] = 3
    webhooks.add_endpoint(shop, "flaky", receiver.url + "/flaky", secret=SECRET)
    pipeline.refresh(shop, D1)
    assert webhooks.enqueue(shop) == 2  # big and recent, one batch each
    result = webhooks.send(shop, base_delay=0.2)
    assert (result.delivered, result.failed) == (2, 0)
    # requests 1–3 get a 500: pass 1 big ✗ recent ✗; after 0.2 s big ✗ recent ✓; after 0.4 s big ✓
    keys = [r["key"] for r in receiver.requests]
    big, recent = "1:big:flaky:1", "1:recent:flaky:1"
    assert keys == [big, recent, big, recent, big]
    assert sorted(receiver.applied) == [big, recent]
    assert outbox(shop) == [(big, "delivered", 3), (recent, "delivered", 2)]
    at = [float(r["at"]) for r in receiver.requests if r["key"] == big]
    assert at[1] - at[0] >= 0.2 and at[2] - at[1] >= 0.4  # base × 2^(attempts − 1)


def test_repeated_failure_ends_in_the_dead_letter(shop, receiver):
    receiver.fail_first["/down"] = 1000
    webhooks.add_endpoint(shop, "down", receiver.url + "/down", secret=SECRET)
    pipeline.refresh(shop, D1)
    webhooks.enqueue(shop)
    result = webhooks.send(shop, max_attempts=3, base_delay=0.01)
    assert (result.delivered, result.failed, result.pending) == (0, 2, 0)
    assert len(receiver.requests) == 6  # 3 attempts × 2 deliveries
    assert not receiver.applied
    status = webhooks.status(shop)
    assert status["endpoints"] == [{"endpoint": "down", "pending": 0, "delivered": 0, "failed": 2}]
    assert [(d["attempts"], d["last_error"]) for d in status["dead_letters"]] == [
        (3, "HTTP 500"),
        (3, "HTTP 500"),
    ]
    # once the receiver is back, the dead letters can be sent again: nothing is lost
    receiver.fail_first["/down"] = 0
    assert webhooks.retry_failed(shop) == 2
    assert webhooks.send(shop).delivered == 2 and len(receiver.applied) == 2


def test_unreachable_url_counts_as_a_failure(shop):
    webhooks.add_endpoint(shop, "nowhere", "http://127.0.0.1:9/hook", secret=SECRET)
    pipeline.refresh(shop, D1)
    webhooks.enqueue(shop)
    result = webhooks.send(shop, max_attempts=1, timeout=2)
    assert result.failed == 2
    assert all("Error" in d["last_error"] for d in webhooks.status(shop)["dead_letters"])


def test_crash_between_send_and_record_sends_the_same_key_applied_once(shop, receiver, monkeypatch):
    webhooks.add_endpoint(shop, "crm", receiver.url, secret=SECRET)
    pipeline.refresh(shop, D1)
    webhooks.enqueue(shop)
    real = webhooks._record_delivered
    crashes = []

    def crash_once(ws, key):
        if not crashes:
            crashes.append(key)
            raise KeyboardInterrupt("killed after the POST, before the store's update")
        real(ws, key)

    monkeypatch.setattr(webhooks, "_record_delivered", crash_once)
    with pytest.raises(KeyboardInterrupt):
        webhooks.send(shop)
    assert [s for _, s, _ in outbox(shop)] == ["pending", "pending"]
    assert len(receiver.requests) == 1
    result = webhooks.send(shop)  # the next run
    assert result.delivered == 2
    keys = [r["key"] for r in receiver.requests]
    assert keys.count(crashes[0]) == 2  # sent twice …
    assert len(receiver.applied) == 2  # … applied once
    assert [s for _, s, _ in outbox(shop)] == ["delivered", "delivered"]


def test_endpoint_checks(shop, receiver):
    with pytest.raises(ConfigError, match="http:// or https://"):
        webhooks.add_endpoint(shop, "x", "ftp://example.com")
    ep = webhooks.add_endpoint(shop, "x", receiver.url)
    assert len(ep.secret) == 64
    with pytest.raises(ConfigError, match="exists"):
        webhooks.add_endpoint(shop, "x", receiver.url)
    webhooks.remove_endpoint(shop, "x")
    with pytest.raises(ConfigError, match="no webhook named 'x'"):
        webhooks.remove_endpoint(shop, "x")


def test_delivery_killed_at_random_moments_loses_and_doubles_nothing(shop, receiver):
    """`danggol webhooks send` in its own process, SIGKILLed at random moments while it
    delivers (the receiver answers slowly, so kills land between a POST and its record); each
    re-run resumes. In the end every batch is delivered and applied exactly once by a receiver
    that honours the key, and a kill never broke the store."""
    import os
    import random
    import signal
    import subprocess
    import sys
    from pathlib import Path

    webhooks.add_endpoint(shop, "crm", receiver.url + "/slow", secret=SECRET, batch_size=1)
    pipeline.refresh(shop, D1)
    pipeline.refresh(shop, D2)
    assert webhooks.enqueue(shop) == 5
    want = {r[0] for r in outbox(shop)}
    path = str(shop.path)
    shop.close()  # the CLI opens the store itself

    receiver.delay["/slow"] = 0.4  # applied, then a slow answer: a window for the kill
    src = str(Path(__file__).parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [sys.executable, "-c", "from danggol.cli.main import run; run()", "-w", path]
    rng = random.Random(7)
    kills = 0
    for _ in range(4):
        proc = subprocess.Popen(
            [*cmd, "webhooks", "send", "--no-wait"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 2.5))  # interpreter start-up, then deliveries
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    done = subprocess.run([*cmd, "webhooks", "send"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ws = type(shop).open(path)
    try:
        rows = outbox(ws)
        assert {r[0] for r in rows} == want and all(r[1] == "delivered" for r in rows)
    finally:
        ws.close()
    # applied once each; resent keys (a kill between POST and record) carry the same body
    assert set(receiver.applied) == want
    sent: dict[str, bytes] = {}
    for req in receiver.requests:
        assert sent.setdefault(str(req["key"]), req["body"]) == req["body"]
    assert kills >= 1


# -- issue 14: redirects and non-public addresses --------------------------------------------------


def test_a_redirect_is_a_failure_never_a_delivery(shop, receiver):
    """Item 4: a receiver answering 302 got a body-less GET at the new URL (urllib follows
    redirects) and the batch was marked delivered — lost. A 3xx is now a failure, retried,
    then a dead letter naming the redirect; nothing is sent to the Location."""
    receiver.redirect["/moved"] = receiver.url + "/new-place"
    webhooks.add_endpoint(shop, "moved", receiver.url + "/moved", secret=SECRET)
    pipeline.refresh(shop, D1)
    assert webhooks.enqueue(shop) == 2
    result = webhooks.send(shop, max_attempts=2, base_delay=0.01)
    assert (result.delivered, result.failed) == (0, 2)
    assert receiver.gets == []  # the redirect was not followed
    assert [r["path"] for r in receiver.requests] == ["/moved"] * 4  # 2 attempts × 2 batches
    assert {s for _, s, _ in outbox(shop)} == {"failed"}
    for dead in webhooks.status(shop)["dead_letters"]:
        assert dead["last_error"].startswith(
            "HTTP 302: a redirect to " + receiver.url + "/new-place"
        )
    # pointed at the place that answers the POST, the same batches are delivered
    with shop.transaction() as con:  # writes go through the workspace's writer
        con.execute("UPDATE webhook_endpoints SET url = ? WHERE name = 'moved'", [receiver.url])
    assert webhooks.retry_failed(shop) == 2
    assert webhooks.send(shop).delivered == 2 and len(receiver.applied) == 2


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service (link-local)
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",  # a name: its resolved address is checked
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://100.64.0.1/hook",  # shared address space (carrier-grade NAT)
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://2130706433/hook",  # 127.0.0.1 written as one number
    ],
)
def test_webhooks_to_non_public_addresses_are_refused_unless_allowed(shop, url):
    """Item 9: webhook URLs could point at link-local / private / loopback addresses."""
    allow_private_urls(shop, False)
    with pytest.raises(webhooks.PrivateAddressError, match="allow_private_urls"):
        webhooks.add_endpoint(shop, "inside", url)
    assert webhooks.endpoints(shop) == []
    allow_private_urls(shop, True)
    assert webhooks.add_endpoint(shop, "inside", url).url == url


def test_a_private_address_is_checked_again_at_each_send(shop, receiver, monkeypatch):
    """An endpoint added while allowed (or a name that resolved to a public address then and to
    127.0.0.1 now: DNS rebinding) is refused when sending: a failure with the reason, nothing
    reaches the receiver."""
    webhooks.add_endpoint(shop, "crm", receiver.url, secret=SECRET)
    pipeline.refresh(shop, D1)
    webhooks.enqueue(shop)
    allow_private_urls(shop, False)
    result = webhooks.send(shop, max_attempts=1)
    assert (result.delivered, result.failed) == (0, 2)
    assert receiver.requests == []
    errors = {d["last_error"] for d in webhooks.status(shop)["dead_letters"]}
    assert len(errors) == 1 and "PrivateAddressError" in errors.pop()
    # the check before the connection says public (a rebinding name), the connection reaches
    # 127.0.0.1: the connected peer is checked, and refused before anything is sent
    real = webhooks.socket.getaddrinfo
    calls = []

    def rebinding(host, port, *args, **kwargs):
        calls.append(host)
        if len(calls) == 1:
            return [
                (
                    webhooks.socket.AF_INET,
                    webhooks.socket.SOCK_STREAM,
                    6,
                    "",
                    ("93.184.215.14", port),
                )
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", rebinding)
    assert webhooks.retry_failed(shop) == 2
    result = webhooks.send(shop, max_attempts=1)
    assert result.failed == 2 and receiver.requests == [] and len(calls) >= 2
