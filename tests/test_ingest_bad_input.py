"""Bad input at ingest (issue 14, items 11–14 and 17; issue 15's dates and guests): each
value is quarantined with the value and the reason, or read as declared — never silently
reinterpreted. Each case failed before the fix it checks."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import danggol.ingest.readers as readers
from danggol.errors import InputFileError
from danggol.ingest.load import ingest_files
from danggol.store.workspace import Workspace

HEADER = ["order_id", "customer_id", "ordered_at", "total"]


def reasons(ws: Workspace) -> dict[int, str]:
    return dict(ws.duck.execute("SELECT source_line, reason FROM quarantine").fetchall())


def totals(ws: Workspace) -> dict[str, float]:
    return dict(ws.duck.execute("SELECT order_id, total FROM orders").fetchall())


# -- 11: non-finite amounts ----------------------------------------------------------------------
NON_FINITE = ["NaN", "inf", "+Infinity", "-inf", "1e309"]


def test_non_finite_amounts_in_csv_are_quarantined(ws, write_csv):
    rows = [[f"O{i}", "c1", "2025-06-30 10:00", v] for i, v in enumerate(NON_FINITE)]
    path = write_csv("o.csv", HEADER, [*rows, ["OK", "c1", "2025-06-30 10:00", "100"]])
    result = ingest_files(ws, "orders", [path])
    assert (result.loaded, result.quarantined) == (1, len(NON_FINITE))
    for line, value in enumerate(NON_FINITE, start=2):
        assert f"'{value}'" in reasons(ws)[line]
    assert totals(ws) == {"OK": 100.0}


def test_non_finite_amounts_in_jsonl_and_parquet_are_quarantined(ws, tmp_path):
    jsonl = tmp_path / "o.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps(
                {"order_id": f"J{i}", "customer_id": "c", "ordered_at": "2025-06-30", "total": v}
            )
            for i, v in enumerate(["NaN", 1e400, "Infinity", 5])
        ),
        encoding="utf-8",
    )
    parquet = tmp_path / "o.parquet"
    pq.write_table(
        pa.table(
            {
                "order_id": ["P1", "P2", "P3"],
                "customer_id": ["c"] * 3,
                "ordered_at": ["2025-06-30"] * 3,
                "total": [math.nan, math.inf, 7.0],
            }
        ),
        parquet,
    )
    ingest_files(ws, "orders", [jsonl])
    ingest_files(ws, "orders", [parquet])
    assert totals(ws) == {"J3": 5.0, "P3": 7.0}
    assert ws.count("quarantine") == 5
    assert all("finite" in r for r in reasons(ws).values())


# -- 12: ambiguous amounts ------------------------------------------------------------------------
def test_ambiguous_amounts_are_quarantined_and_krw_thousands_are_read(ws, write_csv):
    values = {
        "A": "1.000,50",
        "B": "1,5",
        "C": "1.000",
        "D": "15,000",
        "E": "1,234,567.50",
        "F": "12.50",
        "G": "₩15,000",
        "H": "1000.000",
    }
    rows = [[k, "c", "2025-06-30 10:00", v] for k, v in values.items()]
    ingest_files(ws, "orders", [write_csv("o.csv", HEADER, rows)])
    assert totals(ws) == {"D": 15000.0, "E": 1234567.5, "F": 12.5, "G": 15000.0, "H": 1000.0}
    why = reasons(ws)
    for line, key in enumerate(values, start=2):
        if key in "ABC":
            assert "ambiguous total" in why[line] and values[key] in why[line]
            assert 'decimal: ","' in why[line]


def test_a_mapping_may_declare_a_decimal_comma(ws, write_csv, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text('decimal: ","\n', encoding="utf-8")
    values = {"A": "1.000,50", "B": "1,5", "C": "1.000", "D": "2.345.678"}
    rows = [[k, "c", "2025-06-30 10:00", v] for k, v in values.items()]
    ingest_files(ws, "orders", [write_csv("o.csv", HEADER, rows)], mapping=mapping)
    assert totals(ws) == {"A": 1000.5, "B": 1.5, "C": 1000.0, "D": 2345678.0}


# -- 13: explicit UTC / offsets --------------------------------------------------------------------
@pytest.mark.parametrize(
    "text", ["2025-06-30 20:00:00 UTC", "2025-06-30 20:00:00+00:00:00", "2025-06-30T20:00:00Z"]
)
def test_explicit_utc_is_honoured(ws, write_csv, text):
    ingest_files(ws, "orders", [write_csv("o.csv", HEADER, [["O1", "c", text, "1"]])])
    stored = ws.duck.execute("SELECT ordered_at, order_date FROM orders").fetchone()
    # 20:00 UTC is 05:00 the next morning in Seoul
    assert stored == (dt.datetime(2025, 6, 30, 20, 0), dt.date(2025, 7, 1))


# -- 14: dates out of range, day/month order, header collisions, non-scalar ids --------------
@pytest.mark.parametrize("text", ["-2025-06-30", "275760-09-13", "9999-12-31", "1989-12-31"])
def test_implausible_dates_are_quarantined(ws, write_csv, text):
    rows = [["O1", "c", text, "1"], ["O2", "c", "2025-06-30", "1"]]
    result = ingest_files(ws, "orders", [write_csv("o.csv", HEADER, rows)])
    assert (result.loaded, result.quarantined) == (1, 1)
    assert text in reasons(ws)[2]


def test_plausible_range_is_configurable(tmp_path, write_csv):
    ws = Workspace.init(tmp_path / "old-shop")
    (ws.path / "danggol.toml").write_text(
        '[workspace]\ntimezone = "Asia/Seoul"\nearliest_date = "1980-01-01"\n', encoding="utf-8"
    )
    ws.close()
    with Workspace.open(tmp_path / "old-shop") as again:
        rows = [["O1", "c", "1985-03-01", "1"]]
        result = ingest_files(again, "orders", [write_csv("o.csv", HEADER, rows)])
        assert result.loaded == 1


def test_day_month_order_is_read_only_when_declared(ws, write_csv, tmp_path):
    path = write_csv("o.csv", HEADER, [["O1", "c", "06/07/2025", "1"]])
    first = ingest_files(ws, "orders", [path])
    assert first.quarantined == 1
    assert "06/07/2025" in reasons(ws)[2] and "date_formats" in reasons(ws)[2]
    mapping = tmp_path / "dm.yaml"
    mapping.write_text('date_formats: ["%d/%m/%Y"]\n', encoding="utf-8")
    ingest_files(ws, "orders", [path], mapping=mapping)
    assert ws.duck.execute("SELECT order_date FROM orders").fetchone() == (dt.date(2025, 7, 6),)


def test_headers_that_collide_after_normalisation_are_an_error(ws, write_csv):
    path = write_csv("c.csv", ["customer_id", "email", "E-mail"], [["c1", "a@x.kr", "b@x.kr"]])
    with pytest.raises(InputFileError) as info:
        ingest_files(ws, "customers", [path])
    assert "'email' and 'E-mail'" in str(info.value)
    assert ws.count("customers") == 0


def test_files_of_one_load_with_different_columns_are_an_error(ws, write_csv):
    """Two files of one load map different columns onto orders: one clear error naming both
    lists, nothing loaded. Before the one-staging-table load a different number of columns was
    a DuckDB binder error, and the same number of other columns was appended by position: the
    second file's channel ('refunded') became its order's status. The same columns in another
    header order load."""
    a = write_csv("a.csv", HEADER, [["O1", "c1", "2025-06-30 10:00", "100"]])
    b = write_csv("b.csv", [*HEADER, "status"], [["O2", "c2", "2025-06-30 11:00", "200", "paid"]])
    with pytest.raises(InputFileError) as info:
        ingest_files(ws, "orders", [a, b])
    message = str(info.value)
    assert "b.csv" in message and "'status'" in message
    assert "['order_id', 'customer_id', 'ordered_at', 'total']" in message
    assert ws.count("orders") == 0
    s1 = write_csv("s1.csv", [*HEADER, "status"], [["O1", "c1", "2025-06-30 10:00", "100", "paid"]])
    s2 = write_csv(
        "s2.csv", [*HEADER, "channel"], [["O2", "c2", "2025-06-30 11:00", "200", "refunded"]]
    )
    with pytest.raises(InputFileError, match="'channel'"):
        ingest_files(ws, "orders", [s1, s2])
    assert ws.count("orders") == 0
    c = write_csv("c.csv", HEADER[::-1], [["300", "2025-06-30 12:00", "c3", "O3"]])
    result = ingest_files(ws, "orders", [a, c])
    assert result.loaded == 2 and totals(ws) == {"O1": 100.0, "O3": 300.0}


def test_a_json_id_that_is_a_list_is_quarantined(ws, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"customer_id": ["C1"], "email": "a@x.kr"}\n{"customer_id": "C2"}\n', encoding="utf-8"
    )
    result = ingest_files(ws, "customers", [path])
    assert (result.loaded, result.quarantined) == (1, 1)
    assert "list or an object" in reasons(ws)[1]


# -- 17: a UTF-8 BOM before CP949 text --------------------------------------------------------
@pytest.mark.parametrize("chunked", [False, True])
def test_bom_before_cp949_is_a_clear_error_or_read_as_told(ws, tmp_path, monkeypatch, chunked):
    if chunked:
        monkeypatch.setattr(readers, "CHUNK_BYTES", 64)
    text = "주문번호,회원아이디,주문일시,결제금액\n" + "".join(
        f"A{i},김{i},2025-06-30 10:00,1000\n" for i in range(10)
    )
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + text.encode("cp949"))
    with pytest.raises(InputFileError) as info:
        ingest_files(ws, "orders", [path], preset="korean")
    assert "byte-order mark" in str(info.value) and "--encoding cp949" in str(info.value)
    result = ingest_files(ws, "orders", [path], preset="korean", encoding="cp949")
    assert result.tables["orders"].loaded == 10
    assert ws.duck.execute("SELECT customer_id FROM orders WHERE order_id = 'A3'").fetchone() == (
        "김3",
    )


# -- dates as Korean shops write them --------------------------------------------------------------
def test_korean_date_forms_and_excel_serials(ws, write_csv):
    forms = {
        "2025-06-01 오후 2:15": dt.datetime(2025, 6, 1, 14, 15),
        "2025-06-01 오전 12:05:09": dt.datetime(2025, 6, 1, 0, 5, 9),
        "2025.06.02 10:30": dt.datetime(2025, 6, 2, 10, 30),
        "2025.06.02": dt.datetime(2025, 6, 2),
        "2025/06/03 23:59": dt.datetime(2025, 6, 3, 23, 59),
        "20250604": dt.datetime(2025, 6, 4),
        "45813.25": dt.datetime(1899, 12, 30) + dt.timedelta(days=45813.25),
    }
    rows = [[f"O{i}", "c", text, "1"] for i, text in enumerate(forms)]
    rows.append(["BAD", "c", "June 5th", "1"])
    ingest_files(ws, "orders", [write_csv("o.csv", HEADER, rows)])
    seoul = dt.timezone(dt.timedelta(hours=9))
    got = dict(ws.duck.execute("SELECT order_id, ordered_at FROM orders").fetchall())
    for i, local in enumerate(forms.values()):
        utc = local.replace(tzinfo=seoul).astimezone(dt.UTC).replace(tzinfo=None)
        assert got[f"O{i}"] == utc
    why = reasons(ws)[len(rows) + 1]
    assert "'June 5th'" in why and "2025-06-30 오후 2:05" in why and "20250630" in why


# -- guests ----------------------------------------------------------------------------------------
def test_guest_orders_get_stable_ids_or_are_quarantined_when_configured(tmp_path, write_csv):
    header = ["order_id", "customer_id", "email", "phone", "ordered_at", "total"]
    rows = [
        ["G1", "", " Kim@Mail.kr", "", "2025-06-01", "100"],
        ["G2", "", "kim@mail.kr", "010-1111-2222", "2025-06-02", "200"],
        ["G3", "", "", "+82 10 1111 2222", "2025-06-03", "300"],
        ["G4", "", "", "", "2025-06-04", "400"],
    ]
    path = write_csv("guests.csv", header, rows)

    def gid(kind: str, value: str) -> str:
        return "guest:" + hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:16]

    ws = Workspace.init(tmp_path / "load")
    ingest_files(ws, "orders", [path])
    got = dict(ws.duck.execute("SELECT order_id, customer_id FROM orders").fetchall())
    assert got == {
        "G1": gid("email", "kim@mail.kr"),
        "G2": gid("email", "kim@mail.kr"),
        "G3": gid("phone", "01011112222"),
        "G4": gid("order", "G4"),
    }
    ws.close()
    strict = Workspace.init(tmp_path / "strict")
    toml = strict.path / "danggol.toml"
    settings = toml.read_text(encoding="utf-8")
    toml.write_text(
        settings.replace("[workspace]\n", '[workspace]\nguests = "quarantine"\n'), "utf-8"
    )
    strict.close()
    with Workspace.open(tmp_path / "strict") as again:
        result = ingest_files(again, "orders", [path])
        assert (result.loaded, result.quarantined) == (3, 1)
        assert "guests" in reasons(again)[5]
