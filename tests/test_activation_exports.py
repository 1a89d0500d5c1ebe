"""Segment exports: BOM, phone and e-mail normalisation, SHA-256 against known values, opt-out."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib

import pyarrow.parquet as pq
import pytest

from danggol.activation import contacts
from danggol.activation.exports import OPTED_OUT, export_segment
from danggol.errors import ConfigError
from danggol.ingest.load import ingest_files

DAY = dt.date(2025, 6, 30)
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def shop(ws, write_csv):
    customers = write_csv(
        "customers.csv",
        ["customer_id", "name", "email", "phone", "marketing_opt_in", "tags"],
        [
            ["c1", "김민지", "  Kim.MinJi@Example.COM ", "010-1234-5678", "true", "VIP;new"],
            ["c2", "이서준", "seojun@example.com", "+82 10-9876-5432", "true", ""],
            ["c3", "박지우", "jiwoo@example.com", "01055556666", "false", ""],  # opted out
            ["c4", "최하늘", "not-an-email", "02-123-4567", "true", ""],  # landline, bad e-mail
            ["c5", "정다은", "", "82-10-1111-2222", "true", ""],  # no e-mail
        ],
    )
    orders = write_csv(
        "orders.csv",
        ["order_id", "customer_id", "ordered_at", "total"],
        [
            ["o1", "c1", "2025-06-01", 30_000],
            ["o2", "c2", "2025-06-02", 20_000],
            ["o3", "c3", "2025-06-03", 10_000],
            ["o4", "c4", "2025-06-04", 10_000],
            ["o5", "c5", "2025-06-05", 10_000],
            ["o6", "c1", "2025-06-10", 10_000],
        ],
    )
    items = write_csv(
        "items.csv",
        ["order_id", "product_id", "product_name", "category", "quantity"],
        [
            ["o1", "P1", "토너", "skin", 2],
            ["o1", "P2", "세럼", "skin", 1],
            ["o2", "P1", "토너", "skin", 1],
            ["o2", "P2", "세럼", "skin", 1],
            ["o3", "P1", "토너", "skin", 1],
            ["o3", "P3", "크림", "skin", 1],
            ["o4", "P3", "크림", "skin", 1],
            ["o5", "P2", "세럼", "skin", 1],
            ["o6", "P1", "토너", "skin", 1],
        ],
    )
    ingest_files(ws, "customers", [customers])
    ingest_files(ws, "orders", [orders])
    ingest_files(ws, "order_items", [items])
    return ws


BUYERS = "number_of_orders >= 1"


def read_csv(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


# -- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "010-1234-5678",
        "01012345678",
        "010 1234 5678",
        "010.1234.5678",
        "+82 10-1234-5678",
        "+82 010-1234-5678",
        "+82 (0)10 1234 5678",
        "82-10-1234-5678",
        "821012345678",
        "0082-10-1234-5678",
    ],
)
def test_every_korean_way_of_writing_a_mobile_gives_one_form(raw):
    assert contacts.mobile(raw) == "010-1234-5678"
    assert contacts.e164(raw) == "+821012345678"


def test_old_three_digit_middle_and_invalid_phones():
    assert contacts.mobile("011-123-4567") == "011-123-4567"
    assert contacts.e164("0111234567") == "+82111234567"
    for raw in ("02-123-4567", "010-123-456", "+1 415 555 0100", "1012345678", "010-1234-567a"):
        with pytest.raises(contacts.ContactError, match="not a Korean mobile"):
            contacts.mobile(raw)
    for raw in ("", "  ", None):
        with pytest.raises(contacts.ContactError, match="no phone"):
            contacts.mobile(raw)


def test_sha256_matches_the_published_test_vector():
    # FIPS 180-2, appendix B.1: SHA-256("abc")
    assert (
        contacts.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


# -- formats ---------------------------------------------------------------------------------


def test_csv_has_a_bom_and_every_member(shop, tmp_path):
    out = tmp_path / "buyers.csv"
    result = export_segment(shop, BUYERS, "csv", out, as_of=DAY, fields=["customer_id", "name"])
    raw = out.read_bytes()
    assert raw.startswith(BOM)
    assert raw[3:].decode("utf-8").splitlines()[1] == '"c1","김민지"'
    # a data file, not a marketing list: the opted-out c3 is in it
    assert [r["customer_id"] for r in read_csv(out)] == ["c1", "c2", "c3", "c4", "c5"]
    assert result.written == 5 and result.left_out == {}


def test_parquet_keeps_the_chosen_fields(shop, tmp_path):
    out = tmp_path / "buyers.parquet"
    fields = ["customer_id", "amount_spent", "email", "tags"]
    export_segment(shop, BUYERS, "parquet", out, as_of=DAY, fields=fields)
    table = pq.read_table(out)
    assert table.column_names == fields
    assert table.column("amount_spent").to_pylist() == [40_000, 20_000, 10_000, 10_000, 10_000]
    assert table.column("tags").to_pylist()[0] == ["vip", "new"]  # a list, as stored


def test_csv_writes_tags_joined_and_esp_takes_extra_fields(shop, tmp_path):
    out = tmp_path / "tags.csv"
    export_segment(shop, BUYERS, "csv", out, as_of=DAY, fields=["customer_id", "tags"])
    assert read_csv(out)[0] == {"customer_id": "c1", "tags": "vip;new"}
    esp = tmp_path / "esp.csv"
    export_segment(shop, BUYERS, "esp", esp, as_of=DAY, fields=["number_of_orders"])
    rows = read_csv(esp)
    assert [(r["customer_id"], r["number_of_orders"]) for r in rows] == [("c1", "2"), ("c2", "1")]


def test_sms_list_only_opted_in_korean_mobiles_in_one_format(shop, tmp_path):
    out = tmp_path / "sms.csv"
    result = export_segment(shop, BUYERS, "sms", out, as_of=DAY)
    assert out.read_bytes().startswith(BOM)
    rows = read_csv(out)
    assert [(r["customer_id"], r["phone"]) for r in rows] == [
        ("c1", "010-1234-5678"),
        ("c2", "010-9876-5432"),
        ("c5", "010-1111-2222"),
    ]
    assert result.members == 5
    assert result.left_out == {OPTED_OUT: 1, contacts.BAD_PHONE: 1}  # c3; c4 (02-…)


def test_include_opted_out_on_request(shop, tmp_path):
    out = tmp_path / "sms.csv"
    result = export_segment(shop, BUYERS, "sms", out, as_of=DAY, include_opted_out=True)
    assert [r["customer_id"] for r in read_csv(out)] == ["c1", "c2", "c3", "c5"]
    assert result.left_out == {contacts.BAD_PHONE: 1}


def test_esp_merge_fields(shop, tmp_path):
    out = tmp_path / "esp.csv"
    result = export_segment(shop, BUYERS, "esp", out, as_of=DAY)
    rows = {r["customer_id"]: r for r in read_csv(out)}
    assert sorted(rows) == ["c1", "c2"]  # c3 opted out, c4 bad e-mail, c5 none
    assert result.left_out == {OPTED_OUT: 1, contacts.BAD_EMAIL: 1, contacts.NO_EMAIL: 1}
    c1 = rows["c1"]
    assert c1["email"] == "kim.minji@example.com" and c1["name"] == "김민지"
    # c1's last purchase is o6 (06-10): 토너 (P1). 6 orders with lines; P1 in 4, P2 in 3, P3 in 2.
    # Bought with P1: P2 in o1, o2 (lift 2·6/(4·3) = 1.0); P3 in o3 (1·6/(4·2) = 0.75).
    # c1 already has P2, so the recommendation is P3 (크림).
    assert c1["last_product"] == "토너" and c1["recommended_product"] == "크림"
    assert c1["favourite_category"] == "skin"
    # c2's last line is o2's P2 (세럼; same order, later line). With P2: only P1, which c2 has
    c2 = rows["c2"]
    assert c2["last_product"] == "세럼" and c2["recommended_product"] == ""


@pytest.mark.parametrize(
    ("platform", "email_col", "phone_col", "phones"),
    [
        ("google", "Email", "Phone", ("+821012345678", "+821098765432", "+821011112222")),
        ("meta", "email", "phone", ("821012345678", "821098765432", "821011112222")),
    ],
)
def test_ads_list_is_hashed_after_normalising(
    shop, tmp_path, platform, email_col, phone_col, phones
):
    out = tmp_path / "ads.csv"
    result = export_segment(shop, BUYERS, "ads", out, as_of=DAY, platform=platform)
    raw = out.read_bytes()
    assert not raw.startswith(BOM)
    text = raw.decode("ascii")  # nothing but hex digits and the header
    for clear in ("example", "010", "@", "김"):
        assert clear not in text
    rows = read_csv(out)
    assert list(rows[0]) == [email_col, phone_col]

    def h(s: str) -> str:
        return hashlib.sha256(s.encode()).hexdigest()

    # written out by hand: '  Kim.MinJi@Example.COM ' trimmed and lower-cased
    expected = [
        (h("kim.minji@example.com"), h(phones[0])),
        (h("seojun@example.com"), h(phones[1])),
        ("", h(phones[2])),  # c5: no e-mail, phone only
    ]
    assert [(r[email_col], r[phone_col]) for r in rows] == expected
    # c4: both unusable (bad e-mail and a landline) → left out with both reasons
    assert result.left_out == {
        OPTED_OUT: 1,
        f"{contacts.BAD_EMAIL} and {contacts.BAD_PHONE}": 1,
    }


def test_ads_refuse_clear_text_fields_and_unknown_fields_are_named(shop, tmp_path):
    with pytest.raises(ConfigError, match="nothing in clear text"):
        export_segment(shop, BUYERS, "ads", tmp_path / "a.csv", as_of=DAY, fields=["email"])
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['shoe_size'\]"):
        export_segment(shop, BUYERS, "csv", tmp_path / "a.csv", as_of=DAY, fields=["shoe_size"])
    assert not (tmp_path / "a.csv").exists()


def test_an_empty_segment_writes_a_header(shop, tmp_path):
    out = tmp_path / "none.csv"
    result = export_segment(shop, "number_of_orders >= 99", "sms", out, as_of=DAY)
    assert result.written == 0
    assert out.read_bytes() == BOM + b'"customer_id","phone","name"\n'


# -- issue 14 item 5: formula injection ----------------------------------------------------------
#: the cells of the report (OWASP "CSV Injection"), each as a customer's name and tag
FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "+SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.fixture
def hostile(ws, write_csv):
    rows = [
        [f"h{i}", name, f"h{i}@example.com", f"010-1234-{5670 + i}", "true", name]
        for i, name in enumerate(FORMULAS)
    ]
    rows.append(["h9", "김-민지", "h9@example.com", "010-9999-0000", "true", "VIP"])
    customers = write_csv(
        "customers.csv", ["customer_id", "name", "email", "phone", "marketing_opt_in", "tags"], rows
    )
    orders = write_csv(
        "orders.csv",
        ["order_id", "customer_id", "ordered_at", "total"],
        [[f"o{i}", f"h{i}", "2025-06-01", 10_000] for i in [*range(len(FORMULAS)), 9]],
    )
    ingest_files(ws, "customers", [customers])
    ingest_files(ws, "orders", [orders])
    return ws


def _by_id(path) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {r["customer_id"]: r for r in csv.DictReader(f)}


def test_formula_cells_get_a_leading_quote_in_csv_esp_and_sms(hostile, tmp_path):
    """Names and tags such as ``=HYPERLINK(…)`` were written unchanged: Excel runs them. Each
    text cell that starts with = + - @ tab or CR now starts with ``'`` (OWASP); numbers,
    phones (``010-…``) and a dash inside a name are left alone."""
    want = {f"h{i}": "'" + name for i, name in enumerate(FORMULAS)}  # by hand: a quote in front
    want["h9"] = "김-민지"
    written = {}
    for fmt, fields in (
        ("csv", ["customer_id", "name", "tags", "amount_spent"]),
        ("esp", None),
        ("sms", None),
    ):
        out = tmp_path / f"{fmt}.csv"
        export_segment(hostile, BUYERS, fmt, out, as_of=DAY, fields=fields)
        written[fmt] = rows = _by_id(out)
        assert {k: r["name"] for k, r in rows.items()} == want, fmt
    csv_rows = written["csv"]
    # tags are stored lower-case, split at commas (ingest): each cell starts with the quote
    for i, name in enumerate(FORMULAS):
        assert csv_rows[f"h{i}"]["tags"][:2] == "'" + name[0], csv_rows[f"h{i}"]
    assert csv_rows["h9"]["tags"] == "vip"
    assert {r["amount_spent"] for r in csv_rows.values()} == {"10000"}
    assert written["sms"]["h1"]["phone"] == "010-1234-5671"
    # asked for: the cells as they came
    out = tmp_path / "raw.csv"
    export_segment(
        hostile, BUYERS, "csv", out, as_of=DAY, fields=["customer_id", "name"], keep_formulas=True
    )
    assert {k: r["name"] for k, r in _by_id(out).items() if k != "h9"} == {
        f"h{i}": name for i, name in enumerate(FORMULAS)
    }


def test_a_negative_number_is_not_a_formula(tmp_path):
    import pyarrow as pa

    from danggol.outputs.files import write_table

    table = pa.table({"label": ["-5", "ok"], "amount": [-5000, 3], "ratio": [-0.5, 1.0]})
    out = tmp_path / "n.csv"
    write_table(table, "csv", out)
    with open(out, newline="") as f:
        assert list(csv.reader(f)) == [
            ["label", "amount", "ratio"],
            ["'-5", "-5000", "-0.5"],
            ["ok", "3", "1"],
        ]


def test_the_api_exports_neutralise_formulas_too(hostile, tmp_path):
    import io

    from danggol.segments import service
    from danggol.segments.definition import Segment
    from danggol.web import create_app
    from web_client import api_client

    service.registry(hostile).save(Segment(name="buyers", query=BUYERS))
    path = hostile.path
    hostile.close()
    app = create_app(path)
    with api_client(app) as c:
        for url, params in (
            ("/api/segments/buyers/export/csv", {"fields": "customer_id,name"}),
            ("/api/segments/buyers/export/esp", {"include_opted_out": "true"}),
            ("/api/segments/buyers/export", {"fields": "customer_id,name"}),
        ):
            r = c.get(url, params={"as_of": DAY.isoformat(), **params})
            assert r.status_code == 200, r.text
            rows = {
                row["customer_id"]: row
                for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline=""))
            }
            assert rows and all(
                rows[k]["name"] == "'" + FORMULAS[int(k[1])] for k in rows if k != "h9"
            ), url
    app.state.web.close()
