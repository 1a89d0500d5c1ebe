"""Who a segment holds (issue 17 §1-2) and the size limits of a tree (issue 14 items 15-16).

The shop is the tiny hand-made one of ``segment_fixtures`` plus a guest: G1 ordered without a
customer record. Worked by hand, as of 2025-03-31:

* known customers (customer record signed up by D, or an order of any status by D):
  C1, C2, C3, C5, C6, C7 and the guest G1; C4 signs up after D; V1 is seen only in events
  (an anonymous visitor) and V2 only after D.
* missing values: C3 has no gender, region or city; C5 no city; C5, C6 no order; G1 no
  customer fields at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from danggol.errors import SegmentError
from danggol.segments import nodes as n
from danggol.segments import service
from danggol.segments.build import field
from danggol.segments.compile import Compiler
from danggol.segments.definition import Segment
from danggol.segments.forms import from_dict
from danggol.segments.parse import parse_query
from danggol.store.workspace import Workspace
from danggol.summary import shop_summary
from danggol.web import create_app, dashboard
from segment_fixtures import TINY_AS_OF, load_rows, load_tiny
from web_client import api_client

SRC = Path(__file__).resolve().parents[1] / "src"
D = TINY_AS_OF

GUEST_ORDERS = (
    ("order_id", "customer_id", "ordered_at", "total", "status"),
    [("G1-1", "G1", "2025-03-05T12:00:00+09:00", "15000", "paid")],
)
GUEST_ITEMS = (
    ("order_id", "product_id", "category", "quantity", "unit_price"),
    [("G1-1", "P1", "의류", "1", "15000")],
)
#: the newer customers columns for some customers (a partial customers file: the other
#: columns stay as loaded) and a catalogue with product tags (P3 and P5 have no row)
ACCOUNTS = (
    ("customer_id", "account_status", "company"),
    [("C1", "ENABLED", "Acme"), ("C2", "invited", ""), ("C5", "", "acme"), ("C7", "DISABLED", "")],
)
PRODUCTS = (
    ("product_id", "tags"),
    [("P1", "basic;cotton"), ("P2", "sale"), ("P4", "sale;food")],
)
KNOWN = {"C1", "C2", "C3", "C5", "C6", "C7", "G1"}
VISITORS = {"V1"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("universe")
    ws = Workspace.init(folder / "shop", timezone="Asia/Seoul")
    load_tiny(ws, folder)
    (folder / "guest").mkdir()
    load_rows(ws, folder / "guest", {"orders": GUEST_ORDERS, "order_items": GUEST_ITEMS})
    (folder / "newer").mkdir()
    load_rows(ws, folder / "newer", {"customers": ACCOUNTS, "products": PRODUCTS})
    ws.close()
    return folder / "shop"


@pytest.fixture
def ws(shop: Path):
    workspace = Workspace.open(shop)
    yield workspace
    workspace.close()


def ids(ws: Workspace, query: str) -> set[str]:
    table = service.members(ws, service.target(ws, query), D)
    return set(table.select("customer_id").to_pyarrow()["customer_id"].to_pylist())


# --------------------------------------------------------------------------------------
# the universe


def test_known_customer_is_a_record_or_an_order(ws):
    profile = service.compiler(ws, D).base
    rows = profile.select("customer_id", "known_customer").to_pyarrow().to_pylist()
    got = {r["customer_id"]: r["known_customer"] for r in rows}
    assert got == {**dict.fromkeys(KNOWN, True), **dict.fromkeys(VISITORS, False)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Shopify's own examples of filters that must not reach anonymous visitors
        ("number_of_orders < 10", KNOWN),
        ("amount_spent < 10.99", {"C5", "C6"}),
        ("customer_tags NOT CONTAINS 'vip'", KNOWN - {"C1"}),
        # the guest is a customer: a buyer of P1
        ("products_purchased(id: 'P1') = true", {"C1", "C2", "G1"}),
        # asked for: the visitors come in
        ("known_customer = false", VISITORS),
        ("known_customer = true", KNOWN),
        ("number_of_orders = 0 AND known_customer IN (true, false)", {"C5", "C6", "V1"}),
        ("events(name: 'cart_add') >= 1", {"C1", "C5"}),
        ("events(name: 'cart_add') >= 1 AND known_customer = false", {"V1"}),
    ],
)
def test_segments_hold_known_customers_unless_asked(ws, query, expected):
    assert ids(ws, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # worked by hand from ACCOUNTS and PRODUCTS: a missing value is in the complement
        ("customer_account_status = 'enabled'", {"C1"}),
        ("customer_account_status != 'ENABLED'", KNOWN - {"C1"}),
        ("companies != 'acme'", KNOWN - {"C1", "C5"}),
        # purchases by D: P2 (sale) by C1 (O2) and C3 (O8), P4 (sale, food) by C7
        ("products_purchased MATCHES (tag = 'sale')", {"C1", "C3", "C7"}),
        # cotton (P1): C1, C2, G1; food (P4): C7
        ("products_purchased NOT MATCHES (tag IN ('cotton', 'food'))", {"C3", "C5", "C6"}),
    ],
)
def test_the_newer_fields_by_hand(ws, query, expected):
    assert ids(ws, query) == expected


def test_in_segment_of_a_visitor_segment_keeps_its_visitors(ws, tmp_path):
    reg = service.registry(ws)
    reg.save(Segment(name="anon", query="known_customer = false"), overwrite=True)
    try:
        assert ids(ws, "in_segment('anon')") == VISITORS
        assert ids(ws, "in_segment('anon') OR customer_regions = '경기도'") == {"V1", "C2", "C7"}
    finally:
        reg.delete("anon")


def test_one_universe_count_everywhere(ws, shop):
    """CLI count, API count, the API overview's total, the shop summary and the library's
    universe function agree (7 known customers, by hand)."""
    assert service.universe_count(ws, D) == len(KNOWN)
    assert shop_summary(ws, D)["customers"] == len(KNOWN)
    assert shop_summary(ws, D)["visitors"] == len(VISITORS)
    assert service.count(ws, service.target(ws, "number_of_orders >= 0"), D) == len(KNOWN)


def run_cli(shop: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    code = "from danggol.cli.main import run; run()"
    return subprocess.run(
        [sys.executable, "-c", code, "-w", str(shop), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_cli_and_api_counts_agree_with_the_overview(shop):
    """A real CLI process and the API (each opens the store itself) give the hand count."""
    cli = run_cli(shop, "segment", "count", "number_of_orders >= 0", "--as-of", str(D), "--json")
    assert cli.returncode == 0, cli.stderr
    cli_count = json.loads(cli.stdout)
    assert cli_count["universe"] == "known_customers"
    with api_client(create_app(shop), raise_server_exceptions=False) as client:
        api = client.post(f"/api/query/count?as_of={D}", json={"query": "number_of_orders >= 0"})
        overview = client.get(f"/api/overview?as_of={D}").json()
        visitors = client.post(
            f"/api/query/count?as_of={D}", json={"query": "known_customer = false"}
        ).json()
    assert cli_count["count"] == api.json()["count"] == overview["summary"]["customers"] == 7
    # the dashboard's other totals divide by the same known customers (issue 19 §5)
    assert sum(stage["customers"] for stage in overview["funnel"]) == 7
    with Workspace.open(shop) as ws:
        assert dashboard.share_base(ws, D) == 7
    assert (visitors["count"], visitors["universe"]) == (1, "every_id")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("products_purchased MATCHES (tag = 'sale')", 3),  # C1, C3, C7 (by hand, above)
        ("customer_account_status != 'ENABLED' AND number_of_orders >= 1", 4),  # C2 C3 C7 G1
        ("events MATCHES (name = 'cart_add', date >= -7d)", 2),  # C1, C5 (C5's at D − 7d)
    ],
)
def test_cli_and_api_count_the_same_members(shop, query, expected):
    """The CLI (a real process) and the API (whose count the builder shows) give the hand
    count, for queries over the newer syntax and fields."""
    cli = run_cli(shop, "segment", "count", query, "--as-of", str(D), "--json")
    assert cli.returncode == 0, cli.stderr
    with api_client(create_app(shop), raise_server_exceptions=False) as client:
        api = client.post(f"/api/query/count?as_of={D}", json={"query": query}).json()
    assert json.loads(cli.stdout)["count"] == api["count"] == expected


def test_a_value_that_names_nothing_runs_and_warns_in_the_cli_and_the_api(shop):
    """Issue 17 §6: 'no product 'P9999' in this shop' — the count still runs (0 for the
    unknown product, the hand count for the rest), the CLI warns on stderr and in --json's
    ``warnings``, the API in its response's ``warnings`` (what the builder shows)."""
    query = "products_purchased MATCHES (id = 'P9999') OR customer_regions = '울릉도'"
    plain = run_cli(shop, "segment", "count", query, "--as-of", str(D))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("0 customers")
    assert "warning: no product 'P9999' in this shop" in plain.stderr
    assert "warning: no region '울릉도' in this shop" in plain.stderr
    as_json = run_cli(shop, "segment", "count", query, "--as-of", str(D), "--json")
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert body["count"] == 0
    assert [(w["kind"], w["value"]) for w in body["warnings"]] == [
        ("product", "P9999"),
        ("region", "울릉도"),
    ]
    assert body["warnings"][0]["ko"] == "이 쇼핑몰에 상품 'P9999' 없음"
    with api_client(create_app(shop), raise_server_exceptions=False) as client:
        api = client.post(f"/api/query/count?as_of={D}", json={"query": query}).json()
        known = client.post(
            f"/api/query/count?as_of={D}", json={"query": "products_purchased MATCHES (id = 'P1')"}
        ).json()
    assert api["count"] == 0 and api["warnings"] == body["warnings"]
    assert known["warnings"] == [] and known["count"] > 0
    quiet = run_cli(shop, "segment", "count", "products_purchased MATCHES (id = 'P1')")
    assert quiet.returncode == 0 and "warning" not in quiet.stderr
    # a member list warns on stderr too; its stdout stays the list (here just the header)
    listed = run_cli(shop, "segment", "members", query, "--as-of", str(D))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == '"customer_id"'
    assert "warning: no product 'P9999' in this shop" in listed.stderr


def test_json_errors_go_to_stdout(shop):
    done = run_cli(shop, "segment", "count", "amount_spend > 5", "--json")
    assert done.returncode == 2
    body = json.loads(done.stdout)
    assert set(body) == {"error"}
    assert body["error"]["code"] == "bad_segment"
    assert body["error"]["suggestion"] == "amount_spent"
    assert body["error"]["position"] == 0
    plain = run_cli(shop, "segment", "count", "amount_spend > 5")
    assert plain.returncode == 2 and plain.stdout == "" and "amount_spent" in plain.stderr


# --------------------------------------------------------------------------------------
# the complement law on random trees over fields with missing values

LEAVES = [
    "customer_regions = '서울특별시'",
    "customer_regions IN ('경기도', '부산광역시')",
    "customer_cities CONTAINS 'a'",
    "customer_cities != 'suwon'",
    "gender = 'female'",
    "gender IS NULL",
    "last_order_date >= -1m",
    "last_order_date NOT BETWEEN 2024-01-01 AND 2024-12-31",
    "amount_spent_percentile < 50",
    "avg_days_between_orders > 30",
    "customer_tags NOT CONTAINS 'newsletter'",
    "signup_date < 2024-06-01",
    "events(name: 'cart_add') >= 1",
    "products_purchased(category: '신발') = true",
    "products_purchased NOT MATCHES (category = '의류', date >= -1m)",
    "orders_placed MATCHES (count >= 2)",
    "orders_placed MATCHES (sum_amount BETWEEN 10000 AND 30000)",
    "customer_regions != '서울'",
    "customer_cities NOT CONTAINS 'nam'",
    "signup_date >= 2024-06-01T00:00:00+09:00",
    # the newer fields and functions (issue 17), most of them missing for most customers
    "customer_account_status = 'enabled'",
    "customer_account_status != 'ENABLED'",
    "customer_account_status IN ('invited', 'disabled')",
    "companies IS NULL",
    "companies != 'acme'",
    "products_purchased MATCHES (tag = 'sale')",
    "products_purchased MATCHES (tag != 'sale', date > -1y)",
    "products_purchased NOT MATCHES (tag IN ('cotton', 'food'))",
    "products_purchased(tag: 'basic') = true",
    "customer_email_domain != 'gmail.com'",
    "abandoned_checkout_date IS NULL",
    "customer_added_date >= 2024-06-01",
    "anniversary(date: 'first_order_date') BETWEEN today AND +60d",
    "events MATCHES (name = 'cart_add', count < 2)",
    "shopify_email.opened NOT MATCHES (activity_id = 1)",
    "last_order_date = yesterday",
]


def _groups(kids: st.SearchStrategy[n.Node]) -> st.SearchStrategy[n.Node]:
    children = st.lists(kids, min_size=2, max_size=3).map(tuple)
    return st.one_of(children.map(n.All), children.map(n.AnyOf), kids.map(n.Not))


def trees() -> st.SearchStrategy[n.Node]:
    leaf = st.sampled_from([parse_query(q) for q in LEAVES])
    return st.recursive(leaf, _groups, max_leaves=6)


_compilers: dict[int, Compiler] = {}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=trees())
def test_complement_law(ws, tree):
    """count(Q) + count(NOT Q) = universe, and Q and NOT Q never share a member."""
    comp = _compilers.get(id(ws))
    if comp is None:  # one profile for every example drawn (the fixture is the same)
        _compilers.clear()
        base = ws.ibis.create_table("_law_profile", service.compiler(ws, D).base, temp=True)
        comp = _compilers[id(ws)] = Compiler(ws.ibis, D, base=base, resolver=None)
    yes = set(comp.members(tree).to_pyarrow()["customer_id"].to_pylist())
    no = set(comp.members(n.Not(tree)).to_pyarrow()["customer_id"].to_pylist())
    assert not yes & no
    assert yes | no == KNOWN


# --------------------------------------------------------------------------------------
# limits: long chains and deep trees (issue 14 item 16), loops (item 15)


def amounts(ws: Workspace) -> dict[str, float]:
    rows = ws.duck.execute(
        "SELECT customer_id, sum(total - coalesce(refunded_amount, 0)) FROM orders "
        "WHERE status IN ('paid', 'partially_refunded') AND order_date <= ? GROUP BY 1",
        [D],
    ).fetchall()
    return {k: float(v) for k, v in rows}


def test_a_thousand_term_or_counts_right(ws):
    """Before: RecursionError (CLI) / 500 (API) at 1,000 terms."""
    spent = amounts(ws)
    values = [3000 * i for i in range(1000)]  # 0, 3000 … 15000, 30000 …
    query = " OR ".join(f"amount_spent = {v}" for v in values)
    want = {c for c in KNOWN if spent.get(c, 0.0) in values}
    assert want and want != KNOWN
    assert ids(ws, query) == want
    chain = " AND ".join(f"amount_spent != {v + 1}" for v in values)
    assert ids(ws, chain) == KNOWN


def test_more_conditions_than_the_limit_is_a_clear_error(ws):
    query = " OR ".join(f"amount_spent = {i}" for i in range(n.MAX_CONDITIONS + 1))
    with pytest.raises(SegmentError, match=f"at most {n.MAX_CONDITIONS}"):
        parse_query(query)
    with pytest.raises(SegmentError, match=f"at most {n.MAX_CONDITIONS}"):
        from_dict({"any": [f"amount_spent = {i}" for i in range(n.MAX_CONDITIONS + 1)]})
    built = n.AnyOf(tuple(parse_query(f"amount_spent = {i}") for i in range(n.MAX_CONDITIONS + 1)))
    with pytest.raises(SegmentError, match=f"at most {n.MAX_CONDITIONS}"):
        service.count(ws, service.Target(built), D)


def test_the_deepest_tree_allowed_runs_and_one_more_is_refused(ws):
    tree: n.Node = parse_query("customer_regions = '경기도'")
    for level in range(n.MAX_DEPTH):
        # alternately OR something never true and AND something always true
        never, always = parse_query(f"amount_spent = -{level + 1}"), parse_query("refunds >= 0")
        tree = n.AnyOf((tree, never)) if level % 2 else n.All((tree, always))
    assert n.size(tree)[0] == n.MAX_DEPTH
    assert ids(ws, service.Target(tree).query) == {"C2", "C7"}
    deeper = n.Not(tree)
    with pytest.raises(SegmentError, match="nested too deeply"):
        service.count(ws, service.Target(deeper), D)
    python_form = field("age") > 1
    for _ in range(5000):  # deeper than Python's recursion limit
        python_form = ~python_form
    with pytest.raises(SegmentError, match="nested too deeply"):
        service.count(ws, service.Target(python_form.node), D)


def test_api_long_chain_and_loop(shop):
    query = " OR ".join(f"amount_spent = {5000 * i}" for i in range(1000))
    with api_client(create_app(shop), raise_server_exceptions=False) as client:
        ok = client.post(f"/api/query/count?as_of={D}", json={"query": query})
        assert ok.status_code == 200, ok.text
        too_many = " OR ".join(f"amount_spent = {i}" for i in range(n.MAX_CONDITIONS + 1))
        refused = client.post(f"/api/query/count?as_of={D}", json={"query": too_many})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_segment"
        deep: object = "customer_regions = '경기도'"
        for level in range(n.MAX_DEPTH):
            deep = (
                {"any": [deep, f"amount_spent = -{level + 1}"]}
                if level % 2
                else {"all": [deep, "refunds >= 0"]}
            )
        answer = client.post(f"/api/query/count?as_of={D}", json={"where": deep})
        assert answer.status_code == 200 and answer.json()["count"] == 2, answer.text
        too_deep = client.post(f"/api/query/count?as_of={D}", json={"where": {"not": deep}})
        assert too_deep.status_code == 400, too_deep.text
        first = client.post("/api/segments", json={"name": "ring_a", "query": "refunds >= 1"})
        assert first.status_code == 201, first.text
        second = client.post(
            "/api/segments", json={"name": "ring_b", "query": "in_segment('ring_a')"}
        )
        assert second.status_code == 201, second.text
        loop = client.put("/api/segments/ring_a", json={"query": "in_segment('ring_b')"})
        assert loop.status_code == 400, loop.text
        assert "ring_a → ring_b → ring_a" in loop.json()["error"]["message"]
        client.delete("/api/segments/ring_b")
        client.delete("/api/segments/ring_a")


def test_a_saved_thousand_term_segment_refreshes(ws):
    """Issue 14 item 15: a 1,000-term OR saved, then every refresh ended in a RecursionError."""
    from danggol.pipeline import refresh

    values = [3000 * i for i in range(1000)]
    query = " OR ".join(f"amount_spent = {v}" for v in values)
    spent = amounts(ws)
    want = {c for c in KNOWN if spent.get(c, 0.0) in values}
    reg = service.registry(ws)
    reg.save(Segment(name="long_or", query=query), overwrite=True)
    try:
        refresh(ws, D)
        rows = ws.duck.execute(
            "SELECT customer_id FROM segment_members WHERE segment = 'long_or'"
        ).fetchall()
        assert {r[0] for r in rows} == want == {"C2", "C5", "C6", "G1"}
    finally:
        reg.delete("long_or")
