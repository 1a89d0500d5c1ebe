"""Excel input through the CLI (sheets, header rows), the counts on screen and in --json, and
the CSV files a user opens in Excel (profile, quarantine) written with a BOM."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json

import pytest
import xlsxwriter
from typer.testing import CliRunner

from danggol.cli.main import app
from danggol.errors import InputFileError
from danggol.ingest.load import ingest_files
from danggol.store.workspace import Workspace

HEADER = ["주문번호", "회원아이디", "주문일시", "결제금액", "주문상태", "상품번호", "수량"]


def book(path, sheets: dict[str, list[list[object]]]):
    wb = xlsxwriter.Workbook(str(path))
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for name, rows in sheets.items():
        sheet = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value, when)
                elif value is not None:
                    sheet.write(r, c, value)
    wb.close()
    return path


ORDERS = [
    HEADER,
    ["A1", "kim", dt.datetime(2025, 6, 1, 14, 15), 15000, "배송완료", "P1", 1],
    ["A1", "kim", dt.datetime(2025, 6, 1, 14, 15), 15000, "배송완료", "P2", 2],
    ["A2", "lee", "2025-06-02 오후 3:00", "9,900", "구매확정", "P1", 1],
    ["A2", "lee", "2025-06-02 오후 3:00", "9,900", "구매확정", "P1", 1],  # an exact repeat
    ["A3", "park", 45811.5, 5000, "취소", "P3", 1],  # a date typed as its serial number
]


def run(ws_path, *args):
    return CliRunner().invoke(app, ["-w", str(ws_path), *args])


def test_cli_reads_the_named_sheet_below_a_title_and_counts_add_up(tmp_path):
    path = book(
        tmp_path / "orders.xlsx",
        {"안내": [["이 파일은 주문 내역입니다"]], "주문": [["주문 내역 2025-06"], [], *ORDERS]},
    )
    ws = Workspace.init(tmp_path / "shop")
    ws.close()

    result = run(ws.path, "ingest", "orders", str(path), "--preset", "korean", "--sheet", "주문",
                 "--json")  # fmt: skip

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for t in data["tables"].values():
        assert t["read"] == t["loaded"] + t["updated"] + t["duplicates"] + t["quarantined"]
    assert (
        data["read"] == data["loaded"] + data["updated"] + data["duplicates"] + data["quarantined"]
    )
    assert data["tables"]["order_items"]["duplicates"] == 1
    assert data["duplicate_rows"] == [
        {"file": f"{path.resolve()}#주문", "line": 7, "same_as": "line 6"}
    ]
    with Workspace.open(ws.path) as again:
        got = again.duck.execute(
            "SELECT order_id, customer_id, total, status, ordered_at FROM orders ORDER BY 1"
        ).fetchall()
    utc = dt.timedelta(hours=9)
    assert got == [
        ("A1", "kim", 15000.0, "paid", dt.datetime(2025, 6, 1, 14, 15) - utc),
        ("A2", "lee", 9900.0, "paid", dt.datetime(2025, 6, 2, 15, 0) - utc),
        ("A3", "park", 5000.0, "cancelled", dt.datetime(2025, 6, 3, 12, 0) - utc),
    ]
    screen = run(ws.path, "ingest", "orders", str(path), "--preset", "korean", "--sheet", "주문")
    assert screen.exit_code == 0, screen.output
    assert "duplicates" in screen.stdout and "counted once" in screen.stdout


def test_header_row_can_be_named(tmp_path):
    rows = [["주문 목록"], ["기간: 6월"], ["합계", "", "", 30000], *ORDERS[:3]]
    path = book(tmp_path / "o.xlsx", {"Sheet1": rows})
    ws = Workspace.init(tmp_path / "shop")
    # found by itself: the third row (합계) is short, the fourth is the header
    first = ingest_files(ws, "orders", [path], preset="korean")
    assert first.tables["orders"].loaded == 1
    with pytest.raises(InputFileError, match=r"missing required column.*기간: 6월"):
        ingest_files(ws, "orders", [path], preset="korean", header_row=2)
    named = ingest_files(ws, "orders", [path], preset="korean", header_row=4)
    assert named.tables["orders"].unchanged == 1


def test_excel_errors_say_what_to_do(tmp_path, write_csv):
    path = book(tmp_path / "o.xlsx", {"Sheet1": ORDERS})
    ws = Workspace.init(tmp_path / "shop")
    with pytest.raises(InputFileError, match=r"no sheet 'Orders'.*\['Sheet1'\].*--sheet"):
        ingest_files(ws, "orders", [path], preset="korean", sheet="Orders")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip at all")
    with pytest.raises(InputFileError, match="not a readable Excel workbook"):
        ingest_files(ws, "orders", [broken], preset="korean")
    csv_file = write_csv("o.csv", ["order_id"], [["1"]])
    with pytest.raises(InputFileError, match="--sheet and --header-row are for Excel files"):
        ingest_files(ws, "orders", [csv_file], sheet="x")


def test_profile_and_quarantine_files_open_in_excel_with_a_bom(tmp_path, write_csv):
    ws = Workspace.init(tmp_path / "shop")
    rows = [["O1", "김민지", "2025-06-01", "1000"], ["O2", "이준호", "someday", "1000"]]
    ingest_files(ws, "orders", [write_csv("o.csv", ["order_id", "customer_id", "ordered_at",
                                                    "total"], rows)])  # fmt: skip
    ws.close()
    profile = tmp_path / "profile.csv"
    assert run(ws.path, "profile", "--as-of", "2025-06-30", "--out", str(profile)).exit_code == 0
    held = tmp_path / "quarantine.csv"
    assert run(ws.path, "quarantine", "--out", str(held)).exit_code == 0
    for path, word in ((profile, "김민지"), (held, "someday")):
        data = path.read_bytes()
        assert data.startswith(codecs.BOM_UTF8)
        assert word in data.decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(held.read_bytes().decode("utf-8-sig"))))
    assert (row["line"], row["table"]) == ("3", "orders") and "someday" in row["reason"]
    # to the screen (a pipe) no BOM
    out = run(ws.path, "profile", "--as-of", "2025-06-30")
    assert not out.stdout.startswith("\ufeff")
