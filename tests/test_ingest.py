"""Loading files into the store: parsing, quarantine, counts, upserts, errors, transactions."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import danggol.ingest.load as load_mod
from danggol.cli.main import app
from danggol.errors import ConfigError, DanggolError, InputFileError, MappingError
from danggol.ingest.load import ingest_files, ingest_tables
from danggol.store.workspace import Workspace

DATA_TABLES = ("customers", "orders", "order_items", "events")
ALL_TABLES = (*DATA_TABLES, "quarantine", "ingest_log")
ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "total"]


# -- helpers ---------------------------------------------------------------------------------
def fetch(ws: Workspace, sql: str) -> list[tuple]:
    return ws.duck.execute(sql).fetchall()


def table_rows(ws: Workspace, table: str) -> list[tuple]:
    return sorted(fetch(ws, f'SELECT * FROM "{table}"'), key=repr)


def snapshot(ws: Workspace, tables: tuple[str, ...] = ALL_TABLES) -> dict[str, list[tuple]]:
    return {t: table_rows(ws, t) for t in tables}


def quarantine_entries(ws: Workspace) -> list[tuple]:
    """(table, file, line, reason, record) of every quarantined row, in file order."""
    return fetch(
        ws,
        "SELECT table_name, source_file, source_line, reason, record FROM quarantine "
        "ORDER BY table_name, source_file, source_line, reason",
    )


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_orders(ws: Workspace, write_csv, name: str, rows: list[list[object]]):
    return ingest_files(ws, "orders", [write_csv(name, ORDER_HEADER, rows)])


# -- one bad row of each kind: quarantined with file, line and a reason naming the field ------
ORDER_OK = ["O1", "c1", "2025-06-30 09:00", "5000"]
CUSTOMER_OK = ["c1", "c1@example.com"]
# case: (table, header, good row, bad row, words the reason must contain)
BAD_ROWS = {
    "missing required field": (
        "orders",
        ORDER_HEADER,
        ORDER_OK,
        ["", "c2", "2025-06-30 10:00", "1000"],  # (no customer id makes a guest order)
        ["missing", "order_id"],
    ),
    "unparsable date": (
        "orders",
        ORDER_HEADER,
        ORDER_OK,
        ["O2", "c2", "30th of June", "1000"],
        ["ordered_at", "30th of June"],
    ),
    "unparsable number": (
        "orders",
        ORDER_HEADER,
        ORDER_OK,
        ["O2", "c2", "2025-06-30 10:00", "twelve"],
        ["total", "twelve"],
    ),
    "negative total": (
        "orders",
        ORDER_HEADER,
        ORDER_OK,
        ["O2", "c2", "2025-06-30 10:00", "-5000"],
        ["negative", "total"],
    ),
    "refund larger than total": (
        "orders",
        [*ORDER_HEADER, "refunded_amount"],
        [*ORDER_OK, "5000"],
        ["O2", "c2", "2025-06-30 10:00", "10000", "15000"],
        ["refunded_amount", "total"],
    ),
    "unknown status": (
        "orders",
        [*ORDER_HEADER, "status"],
        [*ORDER_OK, "refunded"],
        ["O2", "c2", "2025-06-30 10:00", "10000", "on_hold"],
        ["status", "on_hold"],
    ),
    "invalid boolean": (
        "customers",
        ["customer_id", "email", "marketing_opt_in"],
        [*CUSTOMER_OK, "Y"],
        ["c2", "c2@example.com", "maybe"],
        ["marketing_opt_in", "maybe"],
    ),
    "bad country code": (
        "customers",
        ["customer_id", "email", "country"],
        [*CUSTOMER_OK, "kr"],
        ["c2", "c2@example.com", "Korea"],
        ["country", "Korea"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_row_is_quarantined_with_line_and_reason(ws, write_csv, case):
    table, header, good, bad, fragments = BAD_ROWS[case]
    path = write_csv(f"{table}.csv", header, [good, bad])

    result = ingest_files(ws, table, [path])

    assert (result.read, result.loaded, result.quarantined) == (2, 1, 1)
    assert fetch(ws, f"SELECT {header[0]} FROM {table}") == [(good[0],)]
    [(tbl, source, line, reason, record)] = quarantine_entries(ws)
    assert (tbl, source, line) == (table, str(path), 3)
    for fragment in fragments:
        assert fragment in reason, (fragment, reason)
    assert bad[0] in record  # the row itself is kept, not dropped


def test_order_id_given_twice_with_different_values_quarantines_every_row_of_it(ws, write_csv):
    path = write_csv(
        "orders.csv",
        ORDER_HEADER,
        [
            ["O1", "c1", "2025-06-30 10:00", "1000"],
            ["O2", "c2", "2025-06-30 11:00", "2000"],
            ["O1", "c9", "2025-06-30 12:00", "3000"],
        ],
    )
    result = ingest_files(ws, "orders", [path])
    assert (result.read, result.loaded, result.quarantined, result.duplicates) == (3, 1, 2, 0)
    assert fetch(ws, "SELECT order_id, total FROM orders ORDER BY 1") == [("O2", 2000.0)]
    entries = quarantine_entries(ws)
    assert [(e[1], e[2]) for e in entries] == [(str(path), 2), (str(path), 4)]
    for _, _, _, reason, _ in entries:  # each names both lines and what differs
        assert "order_id 'O1' appears at line 2, line 4" in reason
        assert "customer_id" in reason and "total" in reason and "ordered_at" in reason


def test_exact_repeated_row_is_counted_once_as_a_duplicate(ws, write_csv):
    rows = [["O1", "c1", "2025-06-30 10:00", "1000"], ["O2", "c2", "2025-06-30 11:00", "2000"]]
    path = write_csv("orders.csv", ORDER_HEADER, [*rows, rows[0]])
    result = ingest_files(ws, "orders", [path])
    assert (result.read, result.loaded, result.quarantined, result.duplicates) == (3, 2, 0, 1)
    assert result.read == result.loaded + result.updated + result.duplicates + result.quarantined
    assert result.duplicate_rows == [{"file": str(path), "line": 4, "same_as": "line 2"}]
    assert fetch(ws, "SELECT order_id, total FROM orders ORDER BY 1") == [
        ("O1", 1000.0),
        ("O2", 2000.0),
    ]
    again = ingest_files(ws, "orders", [path])  # re-loading the same file: nothing changes
    assert (again.loaded, again.updated, again.unchanged, again.duplicates) == (0, 2, 2, 1)


def test_order_line_of_an_unknown_order_is_quarantined(ws, write_csv):
    load_orders(ws, write_csv, "orders.csv", [["O1", "c1", "2025-06-30 10:00", "1000"]])
    path = write_csv(
        "items.csv",
        ["order_id", "product_id", "quantity"],
        [["O1", "P1", "1"], ["O9", "P2", "1"]],
    )
    result = ingest_files(ws, "order_items", [path])
    assert (result.read, result.loaded, result.quarantined) == (2, 1, 1)
    assert fetch(ws, "SELECT order_id, product_id FROM order_items") == [("O1", "P1")]
    [(table, source, line, reason, _)] = quarantine_entries(ws)
    assert (table, source, line) == ("order_items", str(path), 3)
    assert "unknown order" in reason and "O9" in reason


def test_csv_row_with_wrong_number_of_fields_is_quarantined(ws, write_csv):
    path = write_csv(
        "orders.csv",
        ORDER_HEADER,
        [
            ["O1", "c1", "2025-06-30 10:00", "1000"],
            ["O2", "c2", "2025-06-30 10:00"],  # one field short
            ["O3", "c3", "2025-06-30 10:00", "3000", "extra"],  # one too many
            ["O4", "c4", "2025-06-30 10:00", "4000"],
        ],
    )
    result = ingest_files(ws, "orders", [path])
    assert (result.read, result.loaded, result.quarantined) == (4, 2, 2)
    assert fetch(ws, "SELECT order_id FROM orders ORDER BY 1") == [("O1",), ("O4",)]
    entries = quarantine_entries(ws)
    assert [(e[1], e[2]) for e in entries] == [(str(path), 3), (str(path), 4)]
    assert "3 fields" in entries[0][3] and "4" in entries[0][3]
    assert "5 fields" in entries[1][3] and "4" in entries[1][3]
    assert "O2" in entries[0][4]


def test_invalid_json_line_is_quarantined(ws, tmp_path):
    path = write_jsonl(
        tmp_path / "events.jsonl",
        [
            '{"customer_id": "c1", "event": "visit", "occurred_at": "2025-06-30 10:00"}',
            '{"customer_id": "c2", "event": "visit", ',
            '{"customer_id": "c3", "event": "cart_add", "occurred_at": "2025-06-30 11:00"}',
        ],
    )
    result = ingest_files(ws, "events", [path])
    assert (result.read, result.loaded, result.quarantined) == (3, 2, 1)
    [(table, source, line, reason, record)] = quarantine_entries(ws)
    assert (table, source, line) == ("events", str(path), 2)
    assert "JSON" in reason
    assert "c2" in record


def test_jsonl_line_numbers_count_only_real_line_breaks(ws, tmp_path):
    # JSON allows U+2028 (LINE SEPARATOR) unescaped inside a string, and json.dumps with
    # ensure_ascii=False writes it so: it is not a line break of a JSON Lines file.
    first = json.dumps(
        {
            "customer_id": "c1",
            "event": "review",
            "occurred_at": "2025-06-30 10:00",
            "properties": {"text": "좋아요\u2028재구매 의사 있음"},
        },
        ensure_ascii=False,
    )
    path = write_jsonl(
        tmp_path / "events.jsonl",
        [first, "not json", '{"customer_id": "c2", "event": "visit", "occurred_at": "2025-06-30"}'],
    )
    result = ingest_files(ws, "events", [path])
    assert (result.read, result.loaded, result.quarantined) == (3, 2, 1)
    assert [(e[2], "JSON" in e[3]) for e in quarantine_entries(ws)] == [(2, True)]


# -- counts, re-ingest, upserts ---------------------------------------------------------------
MIXED_ROWS = [
    ["O1", "c1", "2025-06-30 10:00", "10000"],  # 2 good (already stored: updated)
    ["", "c2", "2025-06-30 10:00", "10000"],  # 3 missing order_id
    ["O3", "c3", "2025-06-30 10:00", "20,000원"],  # 4 good
    ["O4", "c4", "2025-06-30 10:00", "-1"],  # 5 negative total
    ["O5", "c5", "2025-06-30 10:00"],  # 6 too few fields
    ["O6", "c6", "2025-06-31 10:00", "6000"],  # 7 no such day
    ["O7", "c7", "2025-07-01 10:00", "7000"],  # 8 good
]


def test_loaded_updated_quarantined_add_up_to_rows_read(ws, write_csv):
    load_orders(ws, write_csv, "before.csv", [["O1", "c1", "2025-06-30 10:00", "10000"]])
    path = write_csv("mixed.csv", ORDER_HEADER, MIXED_ROWS)

    result = ingest_files(ws, "orders", [path])

    assert result.rows == 7
    assert (result.read, result.loaded, result.updated, result.quarantined) == (7, 2, 1, 4)
    assert result.loaded + result.updated + result.quarantined == result.read
    t = result.tables["orders"]
    assert (t.read, t.loaded, t.updated, t.quarantined) == (7, 2, 1, 4)
    lines = fetch(ws, f"SELECT source_line FROM quarantine WHERE source_file = '{path}' ORDER BY 1")
    assert lines == [(3,), (5,), (6,), (7,)]
    assert fetch(ws, "SELECT order_id, total FROM orders ORDER BY 1") == [
        ("O1", 10000.0),
        ("O3", 20000.0),
        ("O7", 7000.0),
    ]


def test_reingesting_the_same_file_changes_nothing(ws, write_csv):
    load_orders(ws, write_csv, "before.csv", [["O0", "c0", "2025-06-01 10:00", "500"]])
    path = write_csv("mixed.csv", ORDER_HEADER, MIXED_ROWS)
    first = ingest_files(ws, "orders", [path])
    assert (first.loaded, first.updated, first.quarantined) == (3, 0, 4)
    data_before, quarantine_before = snapshot(ws, DATA_TABLES), quarantine_entries(ws)

    second = ingest_files(ws, "orders", [path])

    assert (second.read, second.loaded, second.updated, second.unchanged) == (7, 0, 3, 3)
    assert second.quarantined == 4
    assert snapshot(ws, DATA_TABLES) == data_before
    assert quarantine_entries(ws) == quarantine_before
    assert len(quarantine_before) == 4  # no duplicate entries


def test_changed_order_status_is_updated_but_a_changed_total_is_quarantined(ws, write_csv):
    header = [*ORDER_HEADER, "status"]
    day1 = [["O1", "c1", "2025-06-30 10:00", "10000", "paid"]]
    ingest_files(ws, "orders", [write_csv("day1.csv", header, day1)])
    refunded = [["O1", "c1", "2025-06-30 10:00", "10000", "refunded"]]
    result = ingest_files(ws, "orders", [write_csv("day2.csv", header, refunded)])
    assert (result.loaded, result.updated, result.unchanged) == (0, 1, 0)
    assert fetch(ws, "SELECT status, refunded_amount FROM orders") == [("refunded", 10000.0)]

    other = [["O1", "c2", "2025-06-30 10:00", "12000", "paid"]]
    path = write_csv("day3.csv", header, other)
    changed = ingest_files(ws, "orders", [path])
    assert (changed.loaded, changed.updated, changed.quarantined) == (0, 0, 1)
    [(_, _, line, reason, _)] = quarantine_entries(ws)
    assert line == 2
    assert "already stored" in reason and "customer c1" in reason and "total 10000" in reason
    assert fetch(ws, "SELECT customer_id, total FROM orders") == [("c1", 10000.0)]


def test_file_with_some_columns_keeps_the_other_stored_columns(ws, write_csv):
    full = write_csv(
        "members.csv",
        ["customer_id", "email", "name", "country", "marketing_opt_in", "signup_at", "tags"],
        [
            ["c1", "kim@example.com", "김민지", "KR", "yes", "2025-01-10 09:00", "vip"],
            ["c2", "lee@example.com", "이준호", "KR", "no", "2025-02-01", ""],
        ],
    )
    ingest_files(ws, "customers", [full])
    tags = write_csv(
        "tags.csv", ["customer_id", "tags"], [["c1", "VIP; Newsletter"], ["c3", "new"]]
    )

    result = ingest_files(ws, "customers", [tags])

    assert (result.loaded, result.updated, result.unchanged) == (1, 1, 0)
    rows = fetch(
        ws,
        "SELECT customer_id, email, name, country, marketing_opt_in, signup_at, signup_date, tags "
        "FROM customers ORDER BY 1",
    )
    assert rows == [
        (
            "c1",
            "kim@example.com",
            "김민지",
            "KR",
            True,
            dt.datetime(2025, 1, 10, 0, 0),
            dt.date(2025, 1, 10),
            ["vip", "newsletter"],
        ),
        (
            "c2",
            "lee@example.com",
            "이준호",
            "KR",
            False,
            dt.datetime(2025, 1, 31, 15, 0),
            dt.date(2025, 2, 1),
            None,  # an empty cell is a missing value
        ),
        ("c3", None, None, None, None, None, None, ["new"]),
    ]


def test_order_lines_in_a_file_replace_the_stored_lines_of_that_order(ws, write_csv):
    load_orders(
        ws,
        write_csv,
        "orders.csv",
        [["O1", "c1", "2025-06-30 10:00", "30000"], ["O2", "c2", "2025-06-30 11:00", "9000"]],
    )
    header = ["order_id", "product_id", "quantity", "unit_price"]
    first = [["O1", "P1", "1", "10000"], ["O1", "P2", "1", "10000"], ["O1", "P3", "1", "10000"]]
    ingest_files(
        ws, "order_items", [write_csv("items1.csv", header, [*first, ["O2", "P9", "1", "9000"]])]
    )
    ingest_files(ws, "order_items", [write_csv("items2.csv", header, [["O1", "P4", "2", "15000"]])])

    assert fetch(
        ws,
        "SELECT order_id, line_no, product_id, quantity, unit_price FROM order_items ORDER BY 1, 2",
    ) == [("O1", 1, "P4", 2, 15000.0), ("O2", 1, "P9", 1, 9000.0)]


# -- parsing ------------------------------------------------------------------------------------
TIMESTAMPS = [
    # input, stored UTC, local (KST) order date
    ("2025-06-30 10:00", dt.datetime(2025, 6, 30, 1, 0), dt.date(2025, 6, 30)),
    ("2025-06-30T16:30:00Z", dt.datetime(2025, 6, 30, 16, 30), dt.date(2025, 7, 1)),
    ("2025-06-30", dt.datetime(2025, 6, 29, 15, 0), dt.date(2025, 6, 30)),
    ("2025-06-30T10:00:00+09:00", dt.datetime(2025, 6, 30, 1, 0), dt.date(2025, 6, 30)),
    ("2025-06-30T20:00:00-04:00", dt.datetime(2025, 7, 1, 0, 0), dt.date(2025, 7, 1)),
    ("2024-01-15 10:23:45 +0900", dt.datetime(2024, 1, 15, 1, 23, 45), dt.date(2024, 1, 15)),
    ("2025/06/30", dt.datetime(2025, 6, 29, 15, 0), dt.date(2025, 6, 30)),
    ("2025.06.30 10:00", dt.datetime(2025, 6, 30, 1, 0), dt.date(2025, 6, 30)),
    ("20250630", dt.datetime(2025, 6, 29, 15, 0), dt.date(2025, 6, 30)),
]


def test_timestamps_are_read_in_the_workspace_zone_and_stored_in_utc(ws, write_csv):
    rows = [[f"O{i}", "c1", text, "1000"] for i, (text, _, _) in enumerate(TIMESTAMPS)]
    result = load_orders(ws, write_csv, "orders.csv", rows)
    assert result.quarantined == 0
    stored = dict(
        (r[0], r[1:]) for r in fetch(ws, "SELECT order_id, ordered_at, order_date FROM orders")
    )
    for i, (text, utc, local_date) in enumerate(TIMESTAMPS):
        assert stored[f"O{i}"] == (utc, local_date), text


def test_money_with_separators_and_currency_signs(ws, write_csv):
    result = load_orders(
        ws,
        write_csv,
        "orders.csv",
        [
            ["O1", "c1", "2025-06-30", "12,000원"],
            ["O2", "c1", "2025-06-30", "₩12,000"],
            ["O3", "c1", "2025-06-30", "12000"],
        ],
    )
    assert result.loaded == 3
    assert fetch(ws, "SELECT total FROM orders") == [(12000.0,)] * 3


def test_csv_with_old_mac_line_endings(ws, tmp_path):
    # Excel for Mac's "CSV (Macintosh)" ends lines with a lone CR
    path = tmp_path / "orders.csv"
    path.write_bytes(
        b"order_id,customer_id,ordered_at,total\rO1,c1,2025-06-30,100\rO2,c2,2025-06-30,-1\r"
    )
    result = ingest_files(ws, "orders", [path])
    assert (result.read, result.loaded, result.quarantined) == (2, 1, 1)
    assert [e[2] for e in quarantine_entries(ws)] == [3]


def test_parquet_input_with_typed_columns(ws, tmp_path):
    path = tmp_path / "orders.parquet"
    table = pa.table(
        {
            "order_id": ["O1", "O2", "O3"],
            "customer_id": ["c1", "c2", "c3"],
            "ordered_at": pa.array(
                [dt.datetime(2025, 6, 30, 10, 0), dt.datetime(2025, 6, 30, 23, 30), None],
                pa.timestamp("us"),
            ),
            "total": pa.array([10000, 25000, 5000], pa.int64()),
        }
    )
    pq.write_table(table, path)

    result = ingest_files(ws, "orders", [path])

    assert (result.read, result.loaded, result.quarantined) == (3, 2, 1)
    assert fetch(ws, "SELECT order_id, ordered_at, order_date, total FROM orders ORDER BY 1") == [
        ("O1", dt.datetime(2025, 6, 30, 1, 0), dt.date(2025, 6, 30), 10000.0),
        ("O2", dt.datetime(2025, 6, 30, 14, 30), dt.date(2025, 6, 30), 25000.0),
    ]
    [(_, source, line, reason, _)] = quarantine_entries(ws)
    assert (source, line) == (str(path), 3)
    assert "ordered_at" in reason


def test_jsonl_input_with_numbers_and_booleans(ws, tmp_path):
    path = write_jsonl(
        tmp_path / "customers.jsonl",
        [
            '{"customer_id": "c1", "marketing_opt_in": true, "tags": "vip;new", "country": "KR"}',
            "",
            '{"customer_id": 42, "marketing_opt_in": false, "birth_date": "1990-05-01"}',
        ],
    )
    result = ingest_files(ws, "customers", [path])
    assert (result.read, result.loaded, result.quarantined) == (2, 2, 0)
    assert fetch(
        ws,
        "SELECT customer_id, marketing_opt_in, tags, country, birth_date FROM customers ORDER BY 1",
    ) == [
        ("42", False, None, None, dt.date(1990, 5, 1)),
        ("c1", True, ["vip", "new"], "KR", None),
    ]


def test_ingest_tables_loads_arrow_tables_with_canonical_columns(ws):
    customers = pa.table(
        {
            "customer_id": ["c1", "c2"],
            "marketing_opt_in": [True, False],
            "birth_date": pa.array([dt.date(1990, 5, 1), None], pa.date32()),
            "tags": pa.array([["VIP", "new"], []], pa.list_(pa.string())),
        }
    )
    orders = pa.table(
        {
            "order_id": ["O1", "O2", "O3"],
            "customer_id": ["c1", "c2", "c1"],
            "ordered_at": pa.array(
                [
                    dt.datetime(2025, 6, 30, 16, 30, tzinfo=dt.UTC),
                    dt.datetime(2025, 6, 30, 1, 0, tzinfo=dt.UTC),
                    dt.datetime(2025, 6, 30, 2, 0, tzinfo=dt.UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "total": [15000.0, -1.0, 8000.0],
            "status": ["paid", "paid", "refunded"],
            "refunded_amount": [0.0, 0.0, 8000.0],
        }
    )
    items = pa.table({"order_id": ["O1", "O1"], "product_id": ["P1", "P2"], "quantity": [1, 3]})

    result = ingest_tables(ws, {"order_items": items, "orders": orders, "customers": customers})

    assert {n: (t.loaded, t.quarantined) for n, t in result.tables.items()} == {
        "customers": (2, 0),
        "orders": (2, 1),
        "order_items": (2, 0),
    }
    assert fetch(
        ws,
        "SELECT customer_id, email, birth_date, marketing_opt_in, tags FROM customers ORDER BY 1",
    ) == [
        ("c1", None, dt.date(1990, 5, 1), True, ["vip", "new"]),
        ("c2", None, None, False, []),
    ]
    assert fetch(
        ws,
        "SELECT order_id, ordered_at, order_date, total, status, refunded_amount FROM orders ORDER BY 1",
    ) == [
        ("O1", dt.datetime(2025, 6, 30, 16, 30), dt.date(2025, 7, 1), 15000.0, "paid", 0.0),
        ("O3", dt.datetime(2025, 6, 30, 2, 0), dt.date(2025, 6, 30), 8000.0, "refunded", 8000.0),
    ]
    assert fetch(
        ws, "SELECT order_id, line_no, product_id, quantity FROM order_items ORDER BY 2"
    ) == [
        ("O1", 1, "P1", 1),
        ("O1", 2, "P2", 3),
    ]
    [(table, _, line, reason, _)] = quarantine_entries(ws)
    assert (table, line) == ("orders", 2)
    assert "total" in reason


# -- whole-file errors --------------------------------------------------------------------------
def test_file_without_a_required_column_names_what_is_missing_and_what_was_found(ws, write_csv):
    path = write_csv(
        "export.csv",
        ["Order No", "Buyer", "Order Date", "Amount"],
        [["A1", "b", "2025-06-30", "1"]],
    )
    with pytest.raises(InputFileError) as info:
        ingest_files(ws, "orders", [path])
    message = str(info.value)
    for missing in ("order_id", "customer_id", "ordered_at", "total"):
        assert missing in message
    for found in ("Order No", "Buyer", "Order Date", "Amount"):
        assert found in message
    assert "--mapping" in message or "--preset" in message
    assert ws.count("orders") == 0 and ws.count("quarantine") == 0


def test_file_that_is_missing_only_one_column(ws, write_csv):
    path = write_csv("orders.csv", ["order_id", "customer_id", "total"], [["O1", "c1", "100"]])
    with pytest.raises(InputFileError, match="ordered_at") as info:
        ingest_files(ws, "orders", [path])
    assert "'total'" in str(info.value)  # among the columns found
    assert "'order_id'" in str(info.value)


def _utf16_file(tmp_path: Path) -> Path:
    path = tmp_path / "utf16.csv"
    path.write_bytes(
        "order_id,customer_id,ordered_at,total\nO1,c1,2025-06-30,1000\n".encode("utf-16")
    )
    return path


WHOLE_FILE_ERRORS = [
    pytest.param(
        lambda ws, tmp: ingest_files(ws, "orders", [tmp / "nope.csv"]),
        InputFileError,
        ["<tmp>/nope.csv", "path"],
        id="no such file",
    ),
    pytest.param(
        lambda ws, tmp: ingest_files(ws, "purchases", [tmp / "x.csv"]),
        ConfigError,
        ["purchases", "orders", "customers"],
        id="unknown table",
    ),
    pytest.param(
        lambda ws, tmp: ingest_files(ws, "orders", [tmp / "x.csv"], preset="magento"),
        MappingError,
        ["magento", "smartstore", "cafe24", "shopify", "woocommerce", "korean"],
        id="unknown preset",
    ),
    pytest.param(
        lambda ws, tmp: ingest_files(ws, "orders", [_utf16_file(tmp)]),
        InputFileError,
        ["<tmp>/utf16.csv", "--encoding"],
        id="undetectable encoding",
    ),
    pytest.param(
        lambda ws, tmp: ingest_files(ws, "orders", [_utf16_file(tmp)], encoding="utf-8"),
        InputFileError,
        ["<tmp>/utf16.csv", "utf-8", "--encoding"],
        id="wrong encoding",
    ),
    pytest.param(
        lambda ws, tmp: ingest_files(ws, "orders", [_utf16_file(tmp)], encoding="klingon"),
        InputFileError,
        ["klingon", "cp949"],
        id="unknown encoding name",
    ),
]


@pytest.mark.parametrize(("call", "error", "hints"), WHOLE_FILE_ERRORS)
def test_whole_file_errors_say_what_to_do(ws, tmp_path, call, error, hints):
    with pytest.raises(error) as info:
        call(ws, tmp_path)
    assert isinstance(info.value, DanggolError)
    message = str(info.value).replace(str(tmp_path), "<tmp>")
    for hint in hints:
        assert hint in message, message
    assert snapshot(ws) == {t: [] for t in ALL_TABLES}


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from danggol.cli.main import run; run()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "NO_COLOR": "1",
            "COLUMNS": "80",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
        },
    )


def test_cli_errors_are_one_line_and_exit_code_2(ws, write_csv, tmp_path):
    ws.close()
    bad_header = write_csv("export.csv", ["Order No", "Amount"], [["A1", "1"]])
    cases = [
        (["ingest", "orders", str(tmp_path / "missing.csv")], "missing.csv"),
        (["ingest", "purchases", str(bad_header)], "purchases"),
        (["ingest", "orders", str(bad_header)], "Order No"),
    ]
    for args, needle in cases:
        proc = _run_cli("-w", str(ws.path), *args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = re.sub(r"\x1b\[[0-9;]*m", "", proc.stderr).strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("error: ") and needle in lines[0]
        assert "Traceback" not in proc.stderr + proc.stdout


def test_cli_error_shows_bracketed_names_as_they_are(ws, tmp_path):
    ws.close()
    folder = tmp_path / "exports [old]"
    folder.mkdir()
    path = folder / "orders.csv"
    path.write_text("order_id,customer_id,ordered_at,Total [won]\nO1,c1,2025-06-30,1\n")
    proc = _run_cli("-w", str(ws.path), "ingest", "orders", str(path))
    assert proc.returncode == 2
    assert "exports [old]" in proc.stderr  # the file named as it is
    assert "Total [won]" in proc.stderr  # and the columns it has


# -- CLI --json ---------------------------------------------------------------------------------
def test_cli_ingest_json_counts_add_up(ws, write_csv):
    load_orders(ws, write_csv, "before.csv", [["O1", "c1", "2025-06-30 10:00", "10000"]])
    path = write_csv("mixed.csv", ORDER_HEADER, MIXED_ROWS)
    ws.close()

    result = CliRunner().invoke(app, ["-w", str(ws.path), "ingest", "orders", str(path), "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"read", "loaded", "updated", "quarantined", "unchanged", "tables"} <= set(data)
    assert (data["read"], data["loaded"], data["updated"], data["quarantined"]) == (7, 2, 1, 4)
    assert data["loaded"] + data["updated"] + data["quarantined"] == data["read"]
    orders = data["tables"]["orders"]
    assert orders["loaded"] + orders["updated"] + orders["quarantined"] == orders["read"] == 7
    with Workspace.open(ws.path) as again:
        assert again.count("orders") == 3
        assert again.count("quarantine") == 4


# -- one transaction ----------------------------------------------------------------------------
SHOPIFY_HEADER = ["Name", "Email", "Financial Status", "Total", "Created at", "Lineitem name"]
SHOPIFY_ROWS = [
    ["#1001", "kim@example.com", "paid", "30000.00", "2024-01-15 10:23:45 +0900", "Tote"],
    ["#1001", "kim@example.com", "", "", "2024-01-15 10:23:45 +0900", "Mug"],
    ["#1002", "lee@example.com", "paid", "-5", "2024-01-16 09:00:00 +0900", "Scarf"],
]


def _store_with_history(ws: Workspace, write_csv) -> None:
    """Some earlier loads, so every table (quarantine and log too) has something to lose."""
    ingest_files(
        ws,
        "customers",
        [
            write_csv(
                "members.csv", ["customer_id", "email"], [["kim@example.com", "old@example.com"]]
            )
        ],
    )
    load_orders(
        ws,
        write_csv,
        "old.csv",
        [["#1001", "kim@example.com", "2024-01-01 10:00", "100"], ["X", "", "2024-01-01", "1"]],
    )
    ingest_files(
        ws,
        "order_items",
        [write_csv("old_items.csv", ["order_id", "product_id"], [["#1001", "Old"]])],
    )


def test_a_failure_in_the_middle_of_a_load_leaves_the_store_as_before(ws, write_csv, monkeypatch):
    _store_with_history(ws, write_csv)
    before = snapshot(ws)
    path = write_csv("shopify.csv", SHOPIFY_HEADER, SHOPIFY_ROWS)
    real_upsert = load_mod._upsert
    written = []

    def failing_upsert(con, table, present):
        if table.name == "order_items":
            raise RuntimeError("disk on fire")
        written.append(table.name)
        return real_upsert(con, table, present)

    monkeypatch.setattr(load_mod, "_upsert", failing_upsert)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest_files(ws, "orders", [path], preset="shopify")

    assert written == ["customers", "orders"]
    assert snapshot(ws) == before
    monkeypatch.undo()
    result = ingest_files(ws, "orders", [path], preset="shopify")  # the store still works
    assert result.tables["order_items"].read == 3


def test_a_store_error_in_the_middle_of_a_load_leaves_the_store_as_before(
    ws, write_csv, monkeypatch
):
    _store_with_history(ws, write_csv)
    before = snapshot(ws)
    path = write_csv("shopify.csv", SHOPIFY_HEADER, SHOPIFY_ROWS)
    real_quarantine = load_mod._quarantine

    def broken_quarantine(con, item, batch):
        bad = real_quarantine(con, item, batch)
        if item.table.name == "orders":  # after customers were written and orders quarantined
            con.execute("INSERT INTO no_such_table VALUES (1)")
        return bad

    monkeypatch.setattr(load_mod, "_quarantine", broken_quarantine)
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        ingest_files(ws, "orders", [path], preset="shopify")
    assert snapshot(ws) == before


def test_a_process_killed_in_the_middle_of_a_load_leaves_the_store_as_before(ws, write_csv):
    _store_with_history(ws, write_csv)
    before = snapshot(ws)
    path = write_csv("shopify.csv", SHOPIFY_HEADER, SHOPIFY_ROWS)
    ws.close()
    script = textwrap.dedent(
        """
        import os, sys
        import danggol.ingest.load as load
        from danggol.store.workspace import Workspace

        real = load._upsert

        def dying(con, table, present):
            counts = real(con, table, present)
            os._exit(17)

        load._upsert = dying
        ws = Workspace.open(sys.argv[1])
        load.ingest_files(ws, "orders", [sys.argv[2]], preset="shopify")
        """
    )
    src = str(
        Path(__file__).resolve().parents[1] / "src"
    )  # this tree's code, not an installed copy
    proc = subprocess.run(
        [sys.executable, "-c", script, str(ws.path), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": src},
    )
    assert proc.returncode == 17, proc.stderr

    with Workspace.open(ws.path) as again:
        assert snapshot(again) == before


@pytest.mark.parametrize("zone", ["Asia/Seoul", "America/New_York", "Australia/Lord_Howe"])
def test_utc_times_and_local_dates_equal_duckdbs_timezone(zone):
    """The load reads a UTC time from an instant's epoch microseconds (cheaper than
    ``timezone('UTC', x)``): for every value — DST gaps and overlaps, far dates, ±infinity —
    it must equal what DuckDB's ``timezone`` gives, written out here as the oracle."""
    from danggol.ingest.validate import local_date_expr, parse_expr
    from danggol.schema import TABLES

    column = next(c for c in TABLES["orders"].columns if c.name == "ordered_at")
    texts = [
        "2025-06-01 14:15:09",
        "2024-03-10 02:30:00",  # New York's spring gap
        "2024-11-03 01:30:00",  # New York's autumn overlap
        "2024-10-06 02:15:00",  # Lord Howe's half-hour gap
        "1500-03-01 12:00:00",
        "0001-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "infinity",
        "-infinity",
        None,
    ]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (SELECT unnest(?::VARCHAR[]) AS v)", [texts])
    con.execute("ALTER TABLE t ADD COLUMN ts TIMESTAMP")
    con.execute("UPDATE t SET ts = TRY_CAST(v AS TIMESTAMP)")
    ours = parse_expr(column, "ts", "TIMESTAMP")
    oracle = "timezone('UTC', timezone($tz, ts))"
    rows = con.execute(
        f"SELECT v, CAST({ours} AS VARCHAR), CAST({oracle} AS VARCHAR), "
        f"CAST({local_date_expr('(' + oracle + ')')} AS VARCHAR), "
        f"CAST(CAST(timezone($tz, timezone('UTC', {oracle})) AS DATE) AS VARCHAR) FROM t",
        {"tz": zone},
    ).fetchall()
    assert len(rows) == len(texts)
    for value, got, want, got_day, want_day in rows:
        assert (got, got_day) == (want, want_day), value
    # and the instants are not all the same (the oracle is not trivially NULL)
    assert len({r[2] for r in rows}) == len(texts)
