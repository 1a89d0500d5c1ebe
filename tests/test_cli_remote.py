"""``danggol segment count`` asks a running ``danggol serve`` of the same workspace (issue 16,
cli/remote.py): the same output and exit code as counting in its own process, without loading
the engine; a stale or foreign announcement is ignored.

Expected counts come from plain SQL over the raw tables (``orders``), not from the functions
the CLI or the route call; "it was routed" is shown by what the CLI process loaded (a count
computed without Ibis and DuckDB in the process can only be the server's).
"""

from __future__ import annotations

import datetime as dt
import http.client
import http.server
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from danggol.cli import remote
from danggol.demo import generate_shop
from danggol.errors import (
    BackendError,
    ConfigError,
    DanggolError,
    InputFileError,
    NotFoundError,
    SegmentError,
    StoreBusyError,
    StoreCorruptError,
    UnknownCustomerError,
    UnknownSegmentError,
    WorkspaceError,
    error_from_info,
    error_info,
)
from danggol.ingest.load import ingest_tables
from danggol.segments.answers import count_answer
from danggol.segments.definition import Segment
from danggol.segments.service import registry
from danggol.store.workspace import Workspace
from web_server import free_port, running_app

SRC = Path(__file__).parent.parent / "src"
AS_OF = dt.date(2025, 6, 30)
#: what a routed count must not load (the whole point: the server has them)
ENGINE = {"ibis", "duckdb", "pydantic", "pyarrow", "sqlglot", "httpx", "fastapi"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """A demo shop, not refreshed (the case a fresh CLI process is slowest at), with a saved
    segment."""
    path = tmp_path_factory.mktemp("remote") / "shop"
    ws = Workspace.init(path)
    ingest_tables(ws, generate_shop(400, seed=11, end=AS_OF))
    registry(ws).save(Segment(name="regulars", query="number_of_orders >= 2"))
    ws.close()
    return path


@pytest.fixture
def copy(shop: Path, tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(shop, target)
    return target


def regulars_by_sql(path: Path, day: dt.date = AS_OF) -> int:
    """Customers with two or more purchases (paid or partly refunded orders) up to ``day``,
    from the raw orders: ``number_of_orders >= 2`` written by hand."""
    with duckdb.connect(str(path / "store.duckdb"), read_only=True) as con:
        row = con.execute(
            "SELECT count(*) FROM (SELECT customer_id FROM orders WHERE status IN "
            "('paid', 'partially_refunded') AND order_date <= ? GROUP BY customer_id "
            "HAVING count(*) >= 2)",
            [day],
        ).fetchone()
    assert row is not None
    return int(row[0])


# -- the errors a server answers are the CLI's own --------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        SegmentError(
            "unknown field 'numbr_of_orders'",
            query="numbr_of_orders >= 2",
            position=0,
            suggestion="number_of_orders",
        ),
        SegmentError("bad value", query="a >= 1\nAND b", position=7, path="0.1", file="x.yaml"),
        SegmentError("needs the parameter(s) product_a", file="/lib/cross_sell.yaml"),
        UnknownSegmentError("unknown segment 'lapsd'", suggestion="lapsed"),
        UnknownSegmentError("unknown segment 'nope'"),
        UnknownCustomerError("no customer 'C1'", query="C1", position=0),
        NotFoundError("no such thing"),
        StoreBusyError("the store is being written by pid 12"),
        WorkspaceError("/x is not a danggol workspace"),
        StoreCorruptError("the store is corrupt"),
        ConfigError("--param applies to a saved or built-in segment, not to a query"),
        InputFileError("not a CSV"),
        BackendError("cannot reach the engine"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_error_rebuilt_from_its_info_prints_and_serialises_the_same(error: DanggolError):
    info = json.loads(json.dumps(error_info(error)))  # as it crosses the wire
    rebuilt = error_from_info(info)
    assert rebuilt is not None
    assert str(rebuilt) == str(error)  # what the CLI prints after "error:"
    assert error_info(rebuilt) == error_info(error)  # what --json prints


@pytest.mark.parametrize(
    "info", [{}, {"code": "unauthorized", "message": "token"}, {"code": 1, "message": "x"}]
)
def test_an_error_shape_the_cli_does_not_make_is_not_rebuilt(info):
    assert error_from_info(info) is None


# -- the announcement -------------------------------------------------------------------------


def test_an_announcement_is_used_only_while_it_holds(tmp_path: Path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "danggol.toml").write_text("[workspace]\n", encoding="utf-8")
    file = folder / remote.ANNOUNCE_FILE
    assert remote.announced(folder) is None  # no file

    data = remote.announce(folder, "0.0.0.0", 8765, "s3cret", remote.settings_stamp(folder))
    assert stat.S_IMODE(file.stat().st_mode) == 0o600  # it may hold the token
    assert data["connect"] == "127.0.0.1" and data["pid"] == os.getpid()
    assert remote.announced(folder) == data == json.loads(file.read_text(encoding="utf-8"))
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]  # written atomically

    copied = tmp_path / "copied"  # a copied workspace carries the file along: not its server
    shutil.copytree(folder, copied)
    assert remote.announced(copied) is None

    st = (folder / "danggol.toml").stat()  # settings edited after the server read them
    os.utime(folder / "danggol.toml", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert remote.announced(folder) is None
    os.utime(folder / "danggol.toml", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert remote.announced(folder) == data

    for key, value in [("version", "0.0.0-other"), ("package", "/elsewhere/danggol")]:
        file.write_text(json.dumps({**data, key: value}), encoding="utf-8")
        assert remote.announced(folder) is None, key

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    file.write_text(json.dumps({**data, "pid": int(gone.stdout)}), encoding="utf-8")
    assert remote.announced(folder) is None  # the server was killed: its pid is gone

    file.write_text("{not json", encoding="utf-8")
    assert remote.announced(folder) is None

    file.write_text(json.dumps({**data, "pid": os.getpid() + 1}), encoding="utf-8")
    remote.withdraw(folder)  # another server's announcement stays
    assert file.exists()
    remote.announce(folder, "127.0.0.1", 8765, None, remote.settings_stamp(folder))
    remote.withdraw(folder)
    assert not file.exists()


# -- the client against the app, in this process ---------------------------------------------


@pytest.fixture
def served(copy: Path) -> Iterator[Path]:
    """``copy`` served by the app in a thread, announced as ``danggol serve`` announces."""
    with running_app(copy) as base:
        port = int(base.rstrip("/").rsplit(":", 1)[1])
        remote.announce(copy, "127.0.0.1", port, None, remote.settings_stamp(copy))
        try:
            yield copy
        finally:
            remote.withdraw(copy)


def test_the_server_answers_what_the_cli_would_compute(served: Path, capsys):
    with Workspace.open(served) as ws:
        for target, params, day in [
            ("regulars", {}, AS_OF),
            ("number_of_orders >= 2", {}, AS_OF),
            ("cross_sell", {"product_a": "P0001", "product_b": "P0002"}, AS_OF),
            ("number_of_orders >= 1 AND last_order_date < -5m", {}, None),  # the CLI's default
        ]:
            query = {"as_of": day.isoformat()} if day else {}
            got = remote.ask(served, {"target": target, "params": params}, query)
            assert got == count_answer(ws, target, params, day), target
            assert set(got) == remote.ANSWER_KEYS  # what the client takes for an answer
    got = remote.ask(served, {"target": "regulars", "params": {}}, {"as_of": "2025-06-30"})
    assert got is not None and got["count"] == regulars_by_sql(served) > 0
    assert got["segment"] == "regulars" and got["query"] == "number_of_orders >= 2"
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("target", "params"),
    [
        ("numbr_of_orders >= 2", {}),  # a typo: position, caret, suggestion
        ("lapsd", {}),  # an unknown segment
        ("cross_sell", {}),  # a built-in without its parameters
        ("number_of_orders >= 2", {"x": 1}),  # --param on a query
    ],
)
def test_an_error_the_server_meets_is_raised_as_the_cli_raises_it(served: Path, target, params):
    with Workspace.open(served) as ws, pytest.raises(DanggolError) as here:
        count_answer(ws, target, params, AS_OF)
    with pytest.raises(DanggolError) as there:
        remote.ask(served, {"target": target, "params": params}, {"as_of": "2025-06-30"})
    assert str(there.value) == str(here.value)
    assert error_info(there.value) == error_info(here.value)


def test_a_stale_announcement_is_ignored_quietly(copy: Path, capsys):
    # this process is alive, but nothing listens on the port it names
    remote.announce(copy, "127.0.0.1", free_port(), None, remote.settings_stamp(copy))
    assert remote.ask(copy, {"target": "regulars", "params": {}}, {}) is None
    assert capsys.readouterr().err == ""


def test_a_server_that_answers_no_count_is_noted_and_counted_here(copy: Path, capsys):
    class Broken(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(500)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"Internal Server Error")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        remote.announce(copy, "127.0.0.1", port, None, remote.settings_stamp(copy))
        assert remote.ask(copy, {"target": "regulars", "params": {}}, {}) is None
    finally:
        server.shutdown()
        server.server_close()
    assert f"port {port}) gave HTTP 500, not JSON; counted in this process" in " ".join(
        capsys.readouterr().err.split()
    )


# -- real processes: danggol serve, the CLI, a load and a refresh, a kill ---------------------

CLI = "from danggol.cli.main import run; run()"
#: the CLI, writing the top-level modules it loaded to $PROBE when it exits
PROBED = (
    "import atexit, json, os, sys\n"
    "atexit.register(lambda: open(os.environ['PROBE'], 'w').write(json.dumps(sorted("
    "{m.split('.')[0] for m in sys.modules}))))\n" + CLI
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DANGGOL_LOCAL", "DANGGOL_TOKEN")}
    return {**env, "PYTHONPATH": str(SRC), "NO_COLOR": "1", "COLUMNS": "200", **extra}


def _cli(path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """The CLI on ``path``; its result and the modules it loaded."""
    probe = path.parent / f"probe-{time.monotonic_ns()}.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBED, "-w", str(path), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(PROBE=str(probe), **env),
    )
    loaded = set(json.loads(probe.read_text(encoding="utf-8")))
    probe.unlink()
    return done, loaded


def _serve(path: Path, host: str, **env: str) -> subprocess.Popen[str]:
    """``danggol serve`` in its own process, once it answers and has announced itself."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "-w", str(path), "serve", "--host", host, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(**env),
    )
    token = env.get("DANGGOL_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            got = httpx.get(f"http://{host}:{port}/api/status", headers=headers, timeout=5)
            if got.status_code == 200 and (path / remote.ANNOUNCE_FILE).exists():
                return proc
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "serve did not start"
        time.sleep(0.2)


#: (arguments of `segment count`) each run routed and with --local
CASES = [
    ("number_of_orders >= 2 AND last_order_date >= -90d", "--as-of", "2025-06-30"),
    (
        "events(name: 'cart_add', date: -30d) >= 1 AND number_of_orders(date: -30d) = 0",
        "--as-of",
        "2025-06-30",
    ),
    ("regulars", "--as-of", "2025-05-31"),  # a saved segment, another date
    (
        "cross_sell",
        "--param",
        "product_a=P0001",
        "--param",
        "product_b=P0002",
        "--as-of",
        "2025-06-30",
    ),
    ("number_of_orders >= 1 AND last_order_date < -5m",),  # the CLI's default date
    ("products_purchased MATCHES (id = 'P9999')", "--as-of", "2025-06-30"),  # a warning
    ("numbr_of_orders >= 2", "--as-of", "2025-06-30"),  # a typo: exit 2
    ("lapsd",),  # an unknown segment: exit 2
    ("cross_sell",),  # a built-in without its parameters: exit 2
    ("regulars", "--as-of", "2025-02-30"),  # a bad date: exit 2, said by the client itself
]


def _same_as_local(path: Path, args: tuple[str, ...]) -> tuple[str, int]:
    """Run ``segment count ARGS`` routed and with --local; both print the same. Returns the
    routed stdout and exit code."""
    routed, loaded = _cli(path, "segment", "count", *args)
    local, loaded_here = _cli(path, "segment", "count", *args, "--local")
    assert (routed.stdout, routed.stderr, routed.returncode) == (
        local.stdout,
        local.stderr,
        local.returncode,
    ), args
    assert not loaded & ENGINE, (args, sorted(loaded & ENGINE))  # the server counted
    if local.returncode == 0:
        assert "ibis" in loaded_here and "duckdb" in loaded_here  # and --local did here
    return routed.stdout, routed.returncode


def _late_orders(path: Path) -> tuple[Path, int]:
    """A Korean admin export (the `korean` preset's headers: 주문번호, 주문일시, 회원아이디,
    결제금액, 주문상태, 상품번호, 수량; CP949 as Excel saves it): 30 new members with two
    delivered orders each — one of two product lines — and 5 with one delivered and one
    cancelled order. Returns the file and how many become regulars (two purchases): 30."""
    rows = ["주문번호,주문일시,회원아이디,결제금액,주문상태,상품번호,수량"]
    for i in range(30):
        rows.append(f"K{i}A,2025-06-20 10:00,K{i:03d},39000,배송완료,P0001,1")
        rows.append(f"K{i}A,2025-06-20 10:00,K{i:03d},39000,배송완료,P0002,2")
        rows.append(f"K{i}B,2025-06-25 14:30,K{i:03d},12000,구매확정,P0003,1")
    for i in range(30, 35):
        rows.append(f"K{i}A,2025-06-21 09:00,K{i:03d},20000,배송완료,P0001,1")
        rows.append(f"K{i}B,2025-06-22 09:00,K{i:03d},20000,취소완료,P0001,1")
    file = path.parent / "late_orders.csv"
    file.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp949"))
    return file, 30


@pytest.mark.slow
def test_counts_asked_of_a_running_server(copy: Path):
    """Issue 16: with `danggol serve` running, `segment count` prints what it prints alone
    (text and --json, errors and exit codes), loading no engine; after a CLI load and a CLI
    refresh the server's next count shows them; killed, its announcement is ignored; the next
    serve replaces it; stopped cleanly, it removes it."""
    file = copy / remote.ANNOUNCE_FILE
    # on 127.0.0.2 (loopback, but not a name web_access trusts) the server guards every call
    server = _serve(copy, "127.0.0.2", DANGGOL_TOKEN="t0ken-for-the-cli")
    try:
        announced = json.loads(file.read_text(encoding="utf-8"))
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert announced["pid"] == server.pid and announced["token"] == "t0ken-for-the-cli"
        conn = http.client.HTTPConnection("127.0.0.2", announced["port"], timeout=30)
        conn.request("POST", remote.COUNT_ROUTE, "{}", {"Content-Type": "application/json"})
        assert conn.getresponse().status == 401  # the token in the file is what lets it in
        conn.close()

        outputs = {}
        for args in CASES:
            for form in ((), ("--json",)):
                outputs[(args, form)] = _same_as_local(copy, (*args, *form))
        may = regulars_by_sql(copy, dt.date(2025, 5, 31))
        assert outputs[(CASES[2], ())] == (f"{may:,} customers as of 2025-05-31\n", 0)
        assert [outputs[(c, ("--json",))][1] for c in CASES[-4:]] == [2, 2, 2, 2]
        opted_out, loaded = _cli(copy, "segment", "count", "regulars", DANGGOL_LOCAL="1")
        assert opted_out.returncode == 0 and "ibis" in loaded  # DANGGOL_LOCAL=1 counts here

        # a CLI load while the server runs: its very next count sees the new orders
        before = regulars_by_sql(copy)
        orders, new_regulars = _late_orders(copy)
        load, _ = _cli(copy, "ingest", "orders", str(orders), "--preset", "korean")
        assert load.returncode == 0, load.stderr
        assert regulars_by_sql(copy) == before + new_regulars
        args = ("regulars", "--as-of", "2025-06-30", "--json")
        out, _ = _same_as_local(copy, args)
        assert json.loads(out)["count"] == before + new_regulars
        refresh, _ = _cli(copy, "refresh", "--as-of", "2025-06-30")
        assert refresh.returncode == 0, refresh.stderr
        out, _ = _same_as_local(copy, args)  # now from the stored profile
        assert json.loads(out)["count"] == before + new_regulars
        # a segment saved by the CLI while the server runs is known to its next count
        saved, _ = _cli(copy, "segment", "save", "late_buyers", "--query", "number_of_orders >= 3")
        assert saved.returncode == 0, saved.stderr
        out, _ = _same_as_local(copy, ("late_buyers", "--as-of", "2025-06-30", "--json"))
        assert json.loads(out)["segment"] == "late_buyers"
    finally:
        server.send_signal(signal.SIGKILL)
        server.communicate(timeout=60)

    # killed: the file stays, naming a dead process; the CLI counts alone, saying nothing
    assert json.loads(file.read_text(encoding="utf-8"))["pid"] == server.pid
    alone, loaded = _cli(copy, "segment", "count", *args)
    assert alone.returncode == 0 and alone.stderr == "" and "ibis" in loaded
    assert json.loads(alone.stdout)["count"] == before + new_regulars

    # the next serve (127.0.0.1, no token) replaces the file; stopped cleanly, it removes it
    server = _serve(copy, "127.0.0.1")
    try:
        announced = json.loads(file.read_text(encoding="utf-8"))
        assert announced["pid"] == server.pid and announced["token"] is None
        assert _same_as_local(copy, args)[0] == alone.stdout
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    assert "Traceback" not in err, err
    assert not file.exists()
