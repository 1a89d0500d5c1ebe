"""The REST API through FastAPI's TestClient, every route, good and bad input.

Expected values come from plain SQL on the stored profile (``profile_snapshot``) or the raw
tables of the same shop, not from the functions the routes call.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
from pathlib import Path

import pytest

from danggol import analytics
from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.pipeline import refresh
from danggol.segments.fields import FIELDS
from danggol.store.workspace import Workspace
from danggol.web import create_app
from danggol.web.state import RefreshJob
from web_client import api_client

AS_OF = dt.date(2025, 6, 30)
TOP = "amount_spent_percentile >= 80"  # the built-in top_spenders, written out again


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("web") / "shop"
    ws = Workspace.init(path)
    ingest_tables(ws, generate_shop(1500, seed=5, end=AS_OF))
    refresh(ws, AS_OF)
    ws.close()
    return path


@pytest.fixture(scope="module")
def client(shop):
    with api_client(create_app(shop), raise_server_exceptions=False) as c:
        yield c


def sql(client, query, params=()):
    """Plain SQL on the app's own connection (DuckDB allows one writer per file)."""
    state = client.app.state.web
    with state.lock:
        return state.ws.duck.execute(query, list(params)).fetchall()


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]


# --------------------------------------------------------------------------------------
# workspace, vocabulary, pickers, docs
# --------------------------------------------------------------------------------------


def test_status_names_the_shop_and_the_last_refresh(client):
    body = client.get("/api/status").json()
    assert body["currency"] == "KRW" and body["lang"] == "ko"
    assert body["as_of"] == AS_OF.isoformat()
    assert (
        body["last_refresh"]["refresh_id"]
        == sql(client, "SELECT max(refresh_id) FROM refreshes")[0][0]
    )


def test_openapi_schema_lists_every_api_route(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    from danggol.web.routes import analytics as a
    from danggol.web.routes import customers, segments, system

    routes = {r.path for m in (a, customers, segments, system) for r in m.router.routes}
    assert routes and routes <= set(paths)


def test_vocabulary_has_every_field_with_its_labels(client):
    body = client.get("/api/vocabulary").json()
    got = {f["name"]: f for f in body["fields"]}
    assert set(got) == set(FIELDS)
    assert got["amount_spent"]["ko"] == FIELDS["amount_spent"].ko
    assert {f["name"] for f in body["functions"]} >= {"products_purchased", "events"}


def test_value_pickers_list_the_shops_own_values_like_sql(client):
    got = client.get("/api/values/customer_regions", params={"limit": 200}).json()
    want = sql(
        client,
        "SELECT region, count(*) FROM customers WHERE region IS NOT NULL AND region <> '' "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    assert [(r["value"], r["count"]) for r in got] == [tuple(w) for w in want]
    tags = client.get("/api/values/customer_tags").json()
    want_tags = sql(
        client,
        "SELECT t, count(*) FROM (SELECT unnest(tags) AS t FROM customers) WHERE t <> '' "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    assert [(r["value"], r["count"]) for r in tags] == [tuple(w) for w in want_tags][:50]
    seoul = client.get("/api/values/customer_regions", params={"q": "서울"}).json()
    assert seoul and all("서울" in r["value"] for r in seoul)
    assert_error(client.get("/api/values/amount_spent"), 400, "bad_request")


def test_newer_field_pickers_list_the_shops_own_values(client):
    # the e-mail domain as customer_email_domain compares it: after the '@', lower-cased
    got = client.get("/api/values/customer_email_domain", params={"limit": 200}).json()
    want = sql(
        client,
        "SELECT lower(trim(split_part(email, '@', 2))) AS d, count(*) FROM customers "
        "WHERE email LIKE '%@%' AND d <> '' GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    assert [(r["value"], r["count"]) for r in got] == [tuple(w) for w in want]
    coupons = client.get("/api/values/coupon_code", params={"limit": 200}).json()
    want = sql(
        client,
        "SELECT coupon_code, count(*) FROM orders WHERE coupon_code <> '' "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    assert [(r["value"], r["count"]) for r in coupons] == [tuple(w) for w in want][:200]
    # columns this shop does not load: an empty list, not an error
    assert client.get("/api/values/companies").json() == []
    assert client.get("/api/values/customer_account_status").json() == []


def test_vocabulary_lists_the_matches_functions_and_the_builder_has_its_words(client):
    from danggol.segments.matches import MATCH_FUNCTIONS

    body = client.get("/api/vocabulary").json()
    got = {m["name"]: m for m in body["matches"]}
    assert set(got) == set(MATCH_FUNCTIONS)
    args = {a["name"]: a for a in got["orders_placed"]["args"]}
    assert args["sum_amount"]["aggregate"] and not args["channel"]["aggregate"]
    assert args["sum_amount"]["ko"] == "합계 금액"
    assert "birth_date" in body["anniversary_dates"]
    # every word key the builder and the pages ask for by name is in both languages
    words = client.get("/api/words").json()
    static = Path(__file__).resolve().parent.parent / "src/danggol/web/static"
    used = set()
    for name in ("builder.js", "app.js"):
        used |= set(re.findall(r'\bt\("([a-z0-9_]+)"', (static / name).read_text("utf-8")))
    assert len(used) > 100
    assert not used - set(words["ko"]), sorted(used - set(words["ko"]))


def test_words_come_in_both_languages_from_one_table(client):
    from danggol.outputs import report_data
    from danggol.web import words

    body = client.get("/api/words").json()
    assert set(body["ko"]) == set(body["en"])
    assert not set(words.UI) & set(report_data.LABELS)  # a key is defined once
    assert body["ko"]["revenue"] == report_data.LABELS["revenue"]["ko"]  # the report's word
    assert body["values"]["gender"]["male"] == {"ko": "남성", "en": "Male"}
    assert body["values"]["event"]["cart_add"]["ko"] == "장바구니 담기"


def test_category_picker_counts_like_sql(client):
    got = client.get("/api/catalog/categories", params={"limit": 100}).json()
    want = sql(
        client,
        "SELECT category, count(DISTINCT product_id) FROM order_items WHERE category IS NOT NULL GROUP BY 1",
    )
    assert {r["category"]: r["products"] for r in got} == dict(want)


def test_product_picker_searches_ids_and_names(client):
    pid, name = sql(client, "SELECT product_id, product_name FROM order_items LIMIT 1")[0]
    by_name = client.get("/api/catalog/products", params={"q": name[:3]}).json()
    assert by_name and all(
        name[:3].lower() in (r["product_name"] or "").lower()
        or name[:3].lower() in r["product_id"].lower()
        for r in by_name
    )
    assert pid in {
        r["product_id"] for r in client.get("/api/catalog/products", params={"q": pid}).json()
    }
    assert_error(client.get("/api/catalog/shoes"), 422, "invalid_input")


# --------------------------------------------------------------------------------------
# ad-hoc queries
# --------------------------------------------------------------------------------------


def test_count_of_a_query_and_of_a_tree_match_sql(client):
    want = sql(
        client,
        "SELECT count(*) FROM profile_snapshot WHERE number_of_orders >= 2 "
        "AND NOT (refunds > 0 OR amount_spent < 50000)",
    )[0][0]
    query = "number_of_orders >= 2 AND NOT (refunds > 0 OR amount_spent < 50000)"
    tree = {
        "all": ["number_of_orders >= 2", {"not": {"any": ["refunds > 0", "amount_spent < 50000"]}}]
    }
    a = client.post("/api/query/count", json={"query": query}).json()
    b = client.post("/api/query/count", json={"where": tree}).json()
    assert a["count"] == b["count"] == want
    assert a["query"] == b["query"]


def test_bad_query_gives_the_parse_error_with_position_caret_and_suggestion(client):
    err = assert_error(
        client.post(
            "/api/query/count", json={"query": "number_of_orders >= 2 AND amount_spnt > 5"}
        ),
        400,
        "bad_segment",
    )
    assert err["position"] == len("number_of_orders >= 2 AND ")
    assert err["suggestion"] == "amount_spent"
    assert err["caret"].splitlines()[1] == " " * err["position"] + "^"
    assert_error(client.post("/api/query/count", json={}), 400, "bad_segment")
    assert_error(
        client.post("/api/query/count", json={"query": "a", "where": "b"}), 400, "bad_segment"
    )
    assert_error(client.post("/api/query/count", content=b"not json"), 422, "invalid_input")


def test_the_cli_count_answers_what_danggol_segment_count_prints(client, shop):
    """``POST /api/cli/count`` (what ``segment count`` asks a running server): a name or a
    query, ``--param``, the CLI's --json fields; an error in the CLI's --json shape, marked."""
    where = str(Path(shop).resolve())
    want = sql(client, "SELECT count(*) FROM profile_snapshot WHERE amount_spent_percentile >= 80")
    got = client.post(
        "/api/cli/count",
        params={"as_of": AS_OF.isoformat()},
        json={"target": "top_spenders", "workspace": where},
    )
    assert got.status_code == 200, got.text
    assert got.json() == {
        "count": want[0][0],
        "as_of": AS_OF.isoformat(),
        "segment": "top_spenders",
        "query": TOP,
        "universe": "known_customers",
        "warnings": [],
    }
    assert list(got.json()) == ["count", "as_of", "segment", "query", "universe", "warnings"]
    bad = client.post(
        "/api/cli/count",
        json={"target": "number_of_orders >= 2 AND amount_spnt > 5", "workspace": where},
    )
    err = assert_error(bad, 400, "bad_segment")
    assert bad.headers["x-danggol-error"] == "1"  # the CLI raises it as its own
    # the whole query over its caret, as the CLI prints it (the API's windowed caret is not)
    assert err["caret"] == "number_of_orders >= 2 AND amount_spnt > 5\n" + " " * 26 + "^"
    assert err["suggestion"] == "amount_spent"
    param = client.post(
        "/api/cli/count",
        json={"target": "number_of_orders >= 2", "params": {"x": 1}, "workspace": where},
    )
    assert "--param" in assert_error(param, 400, "bad_segment")["message"]
    other = client.post("/api/cli/count", json={"target": "regulars", "workspace": "/elsewhere"})
    assert "x-danggol-error" not in other.headers  # not the CLI's error: it counts itself
    assert_error(other, 409, "other_workspace")


def test_preview_counts_and_lists_the_first_members(client):
    body = client.post(
        "/api/query/preview",
        json={
            "query": "number_of_orders >= 10",
            "fields": ["customer_id", "number_of_orders"],
            "page_size": 5,
        },
    ).json()
    want = sql(
        client,
        "SELECT customer_id, number_of_orders FROM profile_snapshot WHERE number_of_orders >= 10 ORDER BY 1",
    )
    assert body["count"] == len(want)
    assert [(r["customer_id"], r["number_of_orders"]) for r in body["rows"]] == want[:5]
    sorted_page = client.post(
        "/api/query/preview",
        json={
            "query": "number_of_orders >= 10",
            "fields": ["number_of_orders"],
            "sort": "number_of_orders",
            "order": "desc",
            "page": 2,
            "page_size": 4,
        },
    ).json()
    ranked = sorted(want, key=lambda r: (-r[1], r[0]))
    assert [(r["customer_id"], r["number_of_orders"]) for r in sorted_page["rows"]] == ranked[4:8]
    assert sorted_page["pages"] == -(-len(want) // 4)


def test_parse_and_format_keep_query_and_tree_in_sync(client):
    query = "number_of_orders >= 2 AND (refunds > 0 OR NOT gender = 'male')"
    parsed = client.post("/api/query/parse", json={"query": query}, params={"lang": "en"}).json()
    assert parsed["where"]["all"][0] == "number_of_orders >= 2"
    back = client.post("/api/query/format", json={"where": parsed["where"]}).json()
    assert back["query"] == parsed["query"]
    assert any("number of orders" in line for line in parsed["words"])
    err = assert_error(
        client.post("/api/query/format", json={"where": {"every": []}}), 400, "bad_segment"
    )
    assert "all" in err["message"]


# --------------------------------------------------------------------------------------
# segments
# --------------------------------------------------------------------------------------


def test_segment_list_has_sizes_and_revenue_shares_like_sql(client):
    items = {s["name"]: s for s in client.get("/api/segments").json()}
    top = items["top_spenders"]
    n, revenue = sql(
        client, f"SELECT count(*), sum(amount_spent) FROM profile_snapshot WHERE {TOP}"
    )[0]
    total = sql(client, "SELECT sum(amount_spent) FROM profile_snapshot")[0][0]
    assert top["size"] == n
    assert top["revenue_share"] == pytest.approx(revenue / total)
    assert top["builtin"] and top["goal"] == "loyalty" and top["query"] == TOP
    needs = [s for s in items.values() if s["needs"]]
    assert needs and all(s["size"] is None for s in needs)


def test_segment_crud_from_query_and_tree(client):
    tree = {"all": ["number_of_orders >= 3", {"not": "refunds > 0"}]}
    body = {
        "name": "web_regulars",
        "where": tree,
        "title": {"ko": "단골", "en": "Regulars"},
        "goal": "loyalty",
    }
    created = client.post("/api/segments", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["query"] == "number_of_orders >= 3 AND NOT (refunds > 0)"
    assert_error(client.post("/api/segments", json=body), 409, "segment_exists")  # exists already
    want = sql(
        client,
        "SELECT count(*) FROM profile_snapshot WHERE number_of_orders >= 3 AND NOT (refunds > 0)",
    )[0][0]
    detail = client.get("/api/segments/web_regulars").json()
    assert detail["size"] == want and detail["title"]["ko"] == "단골"
    assert "web_regulars" in {s["name"] for s in client.get("/api/segments").json()}

    updated = client.put(
        "/api/segments/web_regulars", json={"query": "number_of_orders >= 4", "goal": "loyalty"}
    )
    assert updated.status_code == 200 and updated.json()["query"] == "number_of_orders >= 4"
    want = sql(client, "SELECT count(*) FROM profile_snapshot WHERE number_of_orders >= 4")[0][0]
    assert client.get("/api/segments/web_regulars").json()["size"] == want

    assert client.delete("/api/segments/web_regulars").status_code == 204
    assert_error(client.get("/api/segments/web_regulars"), 404, "not_found")
    assert_error(client.delete("/api/segments/web_regulars"), 404, "not_found")
    assert_error(client.delete("/api/segments/top_spenders"), 400, "bad_segment")  # built-in


def test_a_built_in_is_never_replaced_but_copied_with_its_parameters(client, shop):
    builtin = (shop / "segments" / "cross_sell.yaml").exists()
    assert not builtin  # no shop copy to begin with
    for method in ("post", "put"):
        call = getattr(client, method)
        url = "/api/segments" if method == "post" else "/api/segments/cross_sell"
        body = {"name": "cross_sell", "query": "number_of_orders >= 2", "replace": True}
        if method == "put":
            body.pop("name"), body.pop("replace")
        assert_error(call(url, json=body), 400, "builtin_segment")
    assert not (shop / "segments" / "cross_sell.yaml").exists()
    a, b = (
        r[0]
        for r in sql(
            client,
            "SELECT product_id FROM order_items GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2",
        )
    )
    made = client.post(
        "/api/segments/cross_sell/copy",
        json={"name": "xs_two", "params": {"product_a": a, "product_b": b}},
    )
    assert made.status_code == 201, made.text
    assert made.json()["params"]["product_a"] == a and not made.json()["builtin"]
    # bought a in the last 3 months and not b, by plain SQL on the raw tables
    want = sql(
        client,
        """
        WITH bought AS (
          SELECT DISTINCT o.customer_id, i.product_id FROM orders o JOIN order_items i USING (order_id)
          WHERE o.status IN ('paid', 'partially_refunded')
            AND o.order_date > DATE '2025-06-30' - INTERVAL 3 MONTH AND o.order_date <= DATE '2025-06-30')
        SELECT count(*) FROM (SELECT customer_id FROM bought WHERE product_id = ?
                              EXCEPT SELECT customer_id FROM bought WHERE product_id = ?)
        """,
        [a, b],
    )[0][0]
    assert client.get("/api/segments/xs_two").json()["size"] == want
    assert client.get("/api/segments/cross_sell").json()["needs"] == ["product_a", "product_b"]
    assert_error(
        client.post("/api/segments/cross_sell/copy", json={"name": "xs_two", "params": {}}),
        400,
        "bad_segment",
    )
    assert_error(
        client.post(
            "/api/segments/cross_sell/copy", json={"name": "xs_three", "params": {"product_a": a}}
        ),
        400,
        "bad_segment",
    )
    assert client.delete("/api/segments/xs_two").status_code == 204


def test_bad_segment_input(client):
    assert_error(
        client.post("/api/segments", json={"name": "Bad Name", "query": "refunds > 0"}),
        400,
        "bad_request",
    )
    err = assert_error(
        client.post("/api/segments", json={"name": "typo", "query": "refundz > 0"}),
        400,
        "bad_segment",
    )
    assert err["suggestion"] == "refunds" and err["position"] == 0
    assert_error(client.post("/api/segments", json={"query": "refunds > 0"}), 422, "invalid_input")
    assert_error(client.put("/api/segments/nope", json={"query": "refunds > 0"}), 404, "not_found")
    err = assert_error(client.get("/api/segments/top_spender"), 404, "not_found")
    assert err["suggestion"] == "top_spenders"


def test_members_are_paged_sorted_and_searched_like_sql(client):
    want = sql(
        client,
        f"SELECT customer_id, amount_spent FROM profile_snapshot WHERE {TOP} ORDER BY amount_spent DESC, customer_id",
    )
    page2 = client.get(
        "/api/segments/top_spenders/members",
        params={
            "fields": "customer_id,amount_spent,customer_countries",
            "sort": "amount_spent",
            "order": "desc",
            "page": 2,
            "page_size": 7,
        },
    ).json()
    assert page2["total"] == len(want) and page2["pages"] == -(-len(want) // 7)
    assert [(r["customer_id"], r["amount_spent"]) for r in page2["rows"]] == want[7:14]
    assert page2["fields"] == ["customer_id", "amount_spent", "customer_countries"]
    needle = want[0][0][-3:]
    found = client.get(
        "/api/segments/top_spenders/members", params={"search": needle, "page_size": 500}
    ).json()
    # the id, the name, the e-mail or the phone's digits (personal data is not guarded here)
    matching = sql(
        client,
        f"""SELECT p.customer_id FROM profile_snapshot p LEFT JOIN customers c USING (customer_id)
        WHERE {TOP} AND (contains(lower(p.customer_id), ?) OR contains(lower(coalesce(c.name, '')), ?)
          OR contains(lower(coalesce(c.email, '')), ?)
          OR contains(regexp_replace(coalesce(c.phone, ''), '[^0-9]', '', 'g'), ?))""",
        [needle] * 4,
    )
    assert sorted(r["customer_id"] for r in found["rows"]) == sorted(c for (c,) in matching)
    assert any(needle not in c.lower() for (c,) in matching)  # the phone search did find more
    by_name = client.get(
        "/api/segments/top_spenders/members",
        params={"search": "김", "fields": "customer_id,name", "page_size": 500},
    ).json()
    named_kim = sql(
        client,
        f"SELECT count(*) FROM profile_snapshot p JOIN customers c USING (customer_id) "
        f"WHERE {TOP} AND c.name LIKE '%김%'",
    )[0][0]
    assert by_name["total"] == named_kim > 0
    assert all("김" in r["name"] for r in by_name["rows"])


def test_members_bad_input(client):
    total = sql(client, f"SELECT count(*) FROM profile_snapshot WHERE {TOP}")[0][0]
    err = assert_error(
        client.get(
            "/api/segments/top_spenders/members", params={"page": total + 1, "page_size": 1}
        ),
        404,
        "not_found",
    )
    assert f"last page ({total})" in err["message"]
    assert_error(
        client.get("/api/segments/top_spenders/members", params={"page": 0}), 422, "invalid_input"
    )
    assert_error(
        client.get("/api/segments/top_spenders/members", params={"page_size": 501}),
        422,
        "invalid_input",
    )
    assert_error(
        client.get("/api/segments/top_spenders/members", params={"fields": "shoe_size"}),
        400,
        "bad_request",
    )
    assert_error(client.get("/api/segments/nope/members"), 404, "not_found")
    err = assert_error(
        client.get("/api/segments/top_spenders/members", params={"as_of": "June"}),
        400,
        "bad_date",
    )
    assert "as_of" in err["message"] and "--" not in err["message"]  # no command-line words


def test_export_streams_every_member_as_csv(client):
    r = client.get(
        "/api/segments/top_spenders/export", params={"fields": "customer_id,email,amount_spent"}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    want = sql(
        client,
        f"SELECT p.customer_id, c.email FROM profile_snapshot p LEFT JOIN customers c USING (customer_id) WHERE {TOP} ORDER BY 1",
    )
    assert rows[0] == ["customer_id", "email", "amount_spent"]
    assert [(r[0], r[1] or None) for r in rows[1:]] == want
    assert_error(client.get("/api/segments/nope/export"), 404, "not_found")


def test_sql_view(client):
    body = client.get("/api/segments/top_spenders/sql", params={"dialect": "postgres"}).json()
    assert body["dialect"] == "postgres" and "amount_spent" in body["sql"]
    got = sql(
        client,
        f"SELECT count(*) FROM ({client.get('/api/segments/top_spenders/sql').json()['sql']})",
    )[0][0]
    assert got == sql(client, f"SELECT count(*) FROM profile_snapshot WHERE {TOP}")[0][0]
    assert_error(
        client.get("/api/segments/top_spenders/sql", params={"dialect": "cobol"}),
        400,
        "bad_segment",
    )


# --------------------------------------------------------------------------------------
# customers
# --------------------------------------------------------------------------------------


def test_customer_detail_matches_the_raw_tables(client):
    cid = sql(client, f"SELECT customer_id FROM profile_snapshot WHERE {TOP} ORDER BY 1 LIMIT 1")[
        0
    ][0]
    body = client.get(f"/api/customers/{cid}").json()
    spent, grade, stage = sql(
        client,
        "SELECT amount_spent, grade, lifecycle_stage FROM profile_snapshot WHERE customer_id = ?",
        [cid],
    )[0]
    assert body["profile"]["amount_spent"] == spent and body["profile"]["grade"] == grade
    assert body["profile"]["lifecycle_stage"] == stage
    orders = sql(
        client,
        "SELECT order_id FROM orders WHERE customer_id = ? AND order_date <= ?",
        [cid, AS_OF],
    )
    assert sorted(o["order_id"] for o in body["orders"]) == sorted(o for (o,) in orders)
    stamps = [o["ordered_at"] for o in body["orders"]]
    assert stamps == sorted(stamps, reverse=True)
    events = sql(
        client,
        "SELECT count(*) FROM events WHERE customer_id = ? AND event_date <= ?",
        [cid, AS_OF],
    )[0][0]
    assert len(body["events"]) == min(events, 200)
    names = {s["name"] for s in body["segments"]}
    assert "top_spenders" in names  # chosen by the built-in's own condition, written out again
    # the refunded_customers built-in: refunds > 0, by SQL on the profile
    refunds = sql(client, "SELECT refunds FROM profile_snapshot WHERE customer_id = ?", [cid])
    assert ("refunded_customers" in names) == (refunds[0][0] > 0)
    assert "email" not in (body["contact"] or {}) or body["contact_guarded"] is False
    assert_error(client.get("/api/customers/nobody"), 404, "not_found")


def test_explain_says_why_in_or_out(client):
    inside, outside = (
        sql(client, f"SELECT customer_id FROM profile_snapshot WHERE {cond} ORDER BY 1 LIMIT 1")[0][
            0
        ]
        for cond in (TOP, f"NOT ({TOP}) AND amount_spent_percentile IS NOT NULL")
    )
    yes = client.get(f"/api/customers/{inside}/explain/top_spenders", params={"lang": "en"}).json()
    no = client.get(f"/api/customers/{outside}/explain/top_spenders").json()
    assert yes["in_segment"] is True and no["in_segment"] is False
    pct = sql(
        client,
        "SELECT amount_spent_percentile FROM profile_snapshot WHERE customer_id = ?",
        [outside],
    )[0][0]
    assert no["tree"]["held"] is False and no["tree"]["value"] == pytest.approx(pct, abs=1e-3)
    assert_error(client.get(f"/api/customers/{inside}/explain/nope"), 404, "not_found")
    assert_error(client.get("/api/customers/nobody/explain/top_spenders"), 404, "not_found")
    assert_error(
        client.get(f"/api/customers/{inside}/explain/top_spenders", params={"lang": "fr"}),
        422,
        "invalid_input",
    )


# --------------------------------------------------------------------------------------
# analytics and predictions
# --------------------------------------------------------------------------------------


def test_overview_headline_and_grid_match_sql(client):
    body = client.get("/api/overview").json()
    customers = sql(client, "SELECT count(*) FROM customers")[0][0]
    buyers, revenue, repeat = sql(
        client,
        "SELECT count(*), sum(s), count(*) FILTER (WHERE n > 1) FROM (SELECT customer_id, "
        "sum(total - coalesce(refunded_amount, 0)) AS s, count(*) AS n FROM orders "
        "WHERE status IN ('paid', 'partially_refunded') AND order_date <= ? GROUP BY 1)",
        [AS_OF],
    )[0]
    s = body["summary"]
    assert s["customers"] == customers and s["buyers"] == buyers
    assert s["revenue"] == pytest.approx(revenue) and s["repeat_rate"] == pytest.approx(
        repeat / buyers
    )
    assert sum(c["customers"] for c in body["rfm"]["cells"]) == buyers
    cells = dict(
        ((r, f), n)
        for r, f, n in sql(
            client,
            "SELECT r_score, fm_score, count(*) FROM profile_snapshot WHERE r_score IS NOT NULL GROUP BY 1, 2",
        )
    )
    assert {(c["r"], c["fm"]): c["customers"] for c in body["rfm"]["cells"]} == cells
    # the funnel counts the known customers (issue 17/19: one denominator), not visitors
    stages = dict(
        sql(
            client,
            "SELECT lifecycle_stage, count(*) FROM profile_snapshot WHERE known_customer GROUP BY 1",
        )
    )
    assert {f["stage"]: f["customers"] for f in body["funnel"] if f["customers"]} == stages
    assert body["concentration"]["buyers"] == buyers
    assert client.get("/api/analytics/rfm").json() == body["rfm"]


def test_analytics_routes(client):
    deadline = time.monotonic() + 60
    answer = client.get("/api/analytics/lifecycle", params={"months": 2})
    while answer.status_code == 202 and time.monotonic() < deadline:  # computed in the background
        assert answer.json() == {"state": "computing"}
        time.sleep(0.1)
        answer = client.get("/api/analytics/lifecycle", params={"months": 2})
    assert answer.status_code == 200, answer.text
    life = answer.json()
    dates = sorted({r["as_of"] for r in life["rows"]})
    assert dates[-1] == AS_OF.isoformat() and len(dates) == 2
    last = {r["stage"]: r["customers"] for r in life["rows"] if r["as_of"] == dates[-1]}
    assert sum(last.values()) == sql(client, "SELECT count(*) FROM profile_snapshot")[0][0]

    conc = client.get("/api/analytics/concentration").json()
    assert conc["revenue"] == pytest.approx(
        sql(client, "SELECT sum(amount_spent) FROM profile_snapshot")[0][0]
    )

    mig = client.get(
        "/api/analytics/migration", params={"from": "2025-03-31", "by": "lifecycle_stage"}
    ).json()
    assert mig["date_from"] == "2025-03-31" and mig["date_to"] == AS_OF.isoformat()
    assert sum(c["customers"] for c in mig["cells"]) == mig["population"]
    assert_error(
        client.get("/api/analytics/migration", params={"by": "shoe"}), 422, "invalid_input"
    )

    co = client.get("/api/analytics/cohorts", params={"period": "quarter"}).json()
    buyers = sql(client, "SELECT count(*) FROM profile_snapshot WHERE number_of_orders > 0")[0][0]
    assert sum(co["sizes"]) == buyers

    aff = client.get("/api/analytics/affinity", params={"top": 3}).json()
    assert len(aff["pairs"]) <= 3 and aff["orders"] > 0

    what = client.get("/api/analytics/whatif", params={"repeat": 10, "vip": 5}).json()
    assert what["repeat_conversions"] == 10 and what["vip_conversions"] == 5
    assert_error(client.get("/api/analytics/whatif", params={"repeat": -1}), 422, "invalid_input")


def test_backtest_is_cached(client):
    t = time.perf_counter()
    first = client.get("/api/predictions/backtest", params={"horizon_days": 60})
    cold = time.perf_counter() - t
    assert first.status_code == 200, first.text
    t = time.perf_counter()
    again = client.get("/api/predictions/backtest", params={"horizon_days": 60}).json()
    assert again == first.json() and time.perf_counter() - t < cold
    body = first.json()
    assert body["cutoff"] == (AS_OF - dt.timedelta(days=60)).isoformat()
    actual = sql(
        client,
        # purchase days (orders on one day count once) of the customers who bought before the cutoff day
        "SELECT count(DISTINCT (customer_id, order_date)) FROM orders WHERE status IN ('paid', 'partially_refunded') AND order_date > ? AND order_date <= ? "
        "AND customer_id IN (SELECT customer_id FROM orders WHERE status IN ('paid', 'partially_refunded') AND order_date < ?)",
        [AS_OF - dt.timedelta(days=60), AS_OF, AS_OF - dt.timedelta(days=60)],
    )[0][0]
    assert body["actual_total"] == actual
    assert_error(
        client.get("/api/predictions/backtest", params={"model": "magic"}), 422, "invalid_input"
    )


def test_prediction_diagnostics_route(client):
    """/api/predictions/diagnostics: the purchase model the last refresh used, and holdout counts
    that plain SQL on the same store gives; typed in the OpenAPI schema."""
    r = client.get("/api/predictions/diagnostics")
    assert r.status_code == 200, r.text
    body = r.json()
    cut = AS_OF - dt.timedelta(days=90)
    bought = "status IN ('paid', 'partially_refunded')"
    (run,) = sql(
        client, "SELECT run FROM prediction_runs ORDER BY as_of DESC, recorded_at DESC LIMIT 1"
    )[0]
    assert body["model"] == json.loads(run)["model"] and body["cutoff"] == cut.isoformat()
    customers = sql(
        client,
        f"SELECT count(DISTINCT customer_id) FROM orders WHERE {bought} AND order_date < ?",
        [cut],
    )[0][0]
    assert body["customers"] == customers
    assert sum(g["customers"] for g in body["conditional_expectations"]) == customers
    assert sum(b["customers"] for b in body["calibration"]) == customers
    weekly = sql(
        client,
        # purchase days of the customers who bought before the cutoff day, per 7 days after it
        f"SELECT (order_date - ?::DATE + 6) // 7 AS week, count(DISTINCT (customer_id, order_date)) "
        f"FROM orders WHERE {bought} AND order_date > ? AND order_date <= ? AND customer_id IN "
        f"(SELECT customer_id FROM orders WHERE {bought} AND order_date < ?) GROUP BY 1 ORDER BY 1",
        [cut, cut, AS_OF, cut],
    )
    assert [(t["period"], t["actual"]) for t in body["tracking"]] == weekly
    assert body["tracking"][-1]["end"] == AS_OF.isoformat()
    assert body["tracking"][-1]["cumulative_actual"] == body["actual_total"]
    matrix = body["p_alive_matrix"]
    assert len(matrix["p_alive"]) == len(matrix["recency"]) == 11
    assert all(len(row) == len(matrix["frequency"]) for row in matrix["p_alive"])
    schema = client.get("/openapi.json").json()
    op = schema["paths"]["/api/predictions/diagnostics"]["get"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/PredictionDiagnostics")
    assert_error(
        client.get("/api/predictions/diagnostics", params={"model": "magic"}), 422, "invalid_input"
    )


def test_predictions_show_the_profile_prediction_columns(client):
    """The refresh stores the prediction fields; the page lists the highest predicted CLV first
    and the customer page shows the stored values."""
    body = client.get("/api/predictions", params={"limit": 5, "as_of": AS_OF.isoformat()}).json()
    stored = {r[0] for r in sql(client, "DESCRIBE profile_snapshot")}
    assert "p_alive" in body["columns"] and set(body["columns"]) <= stored
    assert body["sorted_by"] == "predicted_clv"
    want = sql(
        client,
        "SELECT customer_id FROM profile_snapshot WHERE predicted_clv IS NOT NULL "
        "ORDER BY predicted_clv DESC, customer_id LIMIT 5",
    )
    assert [r["customer_id"] for r in body["rows"]] == [c for (c,) in want]
    cid = want[0][0]
    got = client.get(f"/api/customers/{cid}").json()["predictions"]
    stored_p = sql(client, "SELECT p_alive FROM profile_snapshot WHERE customer_id = ?", [cid])
    assert got["p_alive"] == pytest.approx(stored_p[0][0])


# --------------------------------------------------------------------------------------
# refresh, errors, tokens
# --------------------------------------------------------------------------------------


def test_refresh_runs_in_the_background_and_reports_its_state(client):
    client.post("/api/segments", json={"name": "web_refreshed", "query": "refunds > 0"})
    try:
        started = client.post("/api/refresh", params={"as_of": AS_OF.isoformat()})
        assert started.status_code == 202 and started.json()["state"] in ("running", "done")
        deadline = time.monotonic() + 60
        status = client.get("/api/refresh").json()
        while status["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
            status = client.get("/api/refresh").json()
        assert status["state"] == "done", status
        sizes = {s["segment"]: s["size"] for s in status["result"]["segments"]}
        assert (
            sizes["web_refreshed"]
            == sql(client, "SELECT count(*) FROM profile_snapshot WHERE refunds > 0")[0][0]
        )
        trend = client.get("/api/segments/web_refreshed").json()["trend"]
        assert trend[-1]["size"] == sizes["web_refreshed"]
    finally:
        client.delete("/api/segments/web_refreshed")
    assert_error(client.post("/api/refresh", params={"as_of": "yesterday"}), 400, "bad_date")
    client.app.state.web.job = RefreshJob("running")
    try:
        assert_error(client.post("/api/refresh"), 409, "conflict")
    finally:
        client.app.state.web.job = RefreshJob()


def test_unexpected_errors_have_the_shape_and_no_stack_trace(client, monkeypatch):
    from danggol.web import dashboard

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(dashboard, "vocabulary", boom)
    err = assert_error(client.get("/api/vocabulary"), 500, "internal_error")
    assert "secret" not in err["message"]
    assert_error(client.get("/api/no/such/route"), 404, "not_found")
    assert_error(client.delete("/api/status"), 405, "method_not_allowed")


def test_token_guards_every_page_and_route(shop):
    with api_client(create_app(shop, token="s3cret")) as c:
        for url in ("/", "/api/status", "/api/segments", "/openapi.json", "/static/app.js"):
            assert_error(c.get(url), 401, "unauthorized")
        assert_error(
            c.get("/api/status", headers={"Authorization": "Bearer wrong"}), 401, "unauthorized"
        )
        assert c.get("/api/status", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/api/status", headers={"X-Danggol-Token": "s3cret"}).status_code == 200
        first = c.get("/", params={"token": "s3cret"})  # the first visit sets a cookie
        assert first.status_code == 200 and "danggol_token" in first.headers["set-cookie"]
        assert c.get("/api/status").status_code == 200  # the cookie is sent from now on


def test_personal_data_needs_the_token_even_locally(shop):
    with api_client(create_app(shop, token="s3cret", protect="personal")) as c:
        assert c.get("/api/status").status_code == 200  # open on 127.0.0.1
        url = "/api/segments/top_spenders/export"
        assert c.get(url, params={"fields": "customer_id,amount_spent"}).status_code == 200
        for fields in ("customer_id,email", "phone", "name"):
            err = assert_error(c.get(url, params={"fields": fields}), 401, "unauthorized")
            assert "personal data" in err["message"]
        assert_error(
            c.get("/api/segments/top_spenders/members", params={"fields": "email"}),
            401,
            "unauthorized",
        )
        assert_error(
            c.post("/api/query/preview", json={"query": TOP, "fields": ["phone"]}),
            401,
            "unauthorized",
        )
        ok = c.get(
            url, params={"fields": "customer_id,email"}, headers={"Authorization": "Bearer s3cret"}
        )
        assert ok.status_code == 200
        assert next(csv.reader(io.StringIO(ok.content.decode("utf-8-sig")))) == [
            "customer_id",
            "email",
        ]


def test_prewarm_computes_the_first_pages_in_the_background(shop):
    with api_client(create_app(shop, prewarm=True)) as c:
        state = c.app.state.web
        for thread in list(state.warming.values()):
            thread.join(120)
        assert {key[0] for key in state.cache} >= {"overview", "segments", "lifecycle"}
        answer = c.get("/api/analytics/lifecycle")  # ready: no 202
        assert answer.status_code == 200 and answer.json()["rows"]
        assert (
            c.get("/api/overview").json()["summary"]["customers"]
            == sql(c, "SELECT count(*) FROM customers")[0][0]
        )


def test_workspace_missing_fails_fast(tmp_path):
    from danggol.errors import WorkspaceError

    with pytest.raises(WorkspaceError):
        create_app(tmp_path / "nothing")


def test_analytics_match_the_library(client):
    # the route is thin: its JSON is the library's result for the same date
    got = client.get("/api/analytics/cohorts").json()
    state = client.app.state.web
    with state.lock:
        want = analytics.cohorts(state.ws.ibis, AS_OF).to_dict()
    assert got == want


def test_the_page_and_its_assets_ship_inside_the_package(client):
    from pathlib import Path

    assets = []
    for url in ("/", "/docs"):
        page = client.get(url)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert not re.search(r"https?://", page.text), url
        assets += re.findall(r'(?:src|href)="(static/[^"]+)"', page.text)
    static = Path(__file__).parent.parent / "src" / "danggol" / "web" / "static"
    assert {a.removeprefix("static/") for a in assets} == {
        p.name for p in static.iterdir() if p.suffix in (".js", ".css")
    }
    for asset in assets:
        r = client.get("/" + asset)
        assert r.status_code == 200, asset
        # nothing is fetched from elsewhere: no absolute URL to load, no CSS import
        assert not re.search(r"""(src|href|fetch\()\s*=?\s*["'`]https?:""", r.text), asset
        assert "@import" not in r.text and "url(" not in r.text, asset


@pytest.mark.last
def test_every_api_route_is_called(request, shop):
    """Every (method, route) of the app was reached by a request of this session's API tests
    — recorded by the route the app's router matched (tests/web_client.py), not by the test
    files' text. conftest.py runs this test last; it needs every test of this file to have run."""
    from web_client import CALLED, api_operations

    ran = {i.originalname for i in request.session.items if i.path == request.node.path}
    if not _tests_here(request) <= ran:
        pytest.skip("only part of test_web_api.py ran: the routes it calls were not all called")
    app = create_app(shop)
    try:
        missing = sorted(api_operations(app) - CALLED)
    finally:
        app.state.web.close()
    assert len(api_operations(app)) >= 29
    assert not missing, f"routes no test reached: {missing}"


def _tests_here(request) -> set[str]:
    """The test functions this file defines, but those of the slow tier when it is not run."""
    import inspect

    module = request.module
    slow_excluded = "not slow" in (request.config.option.markexpr or "")
    return {
        name
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("test_")
        and fn.__module__ == module.__name__
        and not (slow_excluded and any(m.name == "slow" for m in getattr(fn, "pytestmark", [])))
    }


# --------------------------------------------------------------------------------------
# activation: destination exports and campaigns
# --------------------------------------------------------------------------------------


def test_destination_exports_say_what_they_left_out(client):
    """The sms list holds only opted-in customers with a mobile, as the CLI's does."""
    got = client.get("/api/segments/top_spenders/export/sms", params={"as_of": AS_OF.isoformat()})
    assert got.status_code == 200, got.text
    summary = json.loads(got.headers["x-danggol-export"])
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert summary["written"] == len(rows) and summary["format"] == "sms"
    members = sql(
        client,
        "SELECT count(*) FROM profile_snapshot WHERE amount_spent_percentile >= 80",
    )[0][0]
    assert summary["members"] == members
    assert summary["written"] + sum(summary["left_out"].values()) == members
    opted_out = sql(
        client,
        "SELECT count(*) FROM profile_snapshot p JOIN customers c USING (customer_id) "
        "WHERE p.amount_spent_percentile >= 80 AND NOT coalesce(c.marketing_opt_in, false)",
    )[0][0]
    assert sum(v for k, v in summary["left_out"].items() if "opt" in k) == opted_out
    assert rows and all(re.fullmatch(r"010-\d{4}-\d{4}", r["phone"]) for r in rows)
    assert_error(client.get("/api/segments/nope/export/sms"), 404, "not_found")
    assert_error(client.get("/api/segments/top_spenders/export/pdf"), 422, "invalid_input")


def test_campaign_create_list_report(client):
    made = client.post(
        "/api/campaigns",
        json={"name": "web_winback", "segment": "top_spenders", "as_of": "2025-05-31"},
    )
    assert made.status_code == 201, made.text
    campaign = made.json()
    size = sql(client, "SELECT count(*) FROM campaign_members WHERE campaign = 'web_winback'")[0][0]
    holdout = sql(
        client,
        "SELECT count(*) FROM campaign_members WHERE campaign = 'web_winback' AND holdout",
    )[0][0]
    assert campaign["holdout"] == holdout == round(0.1 * size)
    assert [c["name"] for c in client.get("/api/campaigns").json()] == ["web_winback"]
    report = client.get("/api/campaigns/web_winback/report").json()
    assert report["treated"]["customers"] == size - holdout
    assert report["holdout"]["customers"] == holdout
    assert_error(client.get("/api/campaigns/nope/report"), 404, "not_found")
