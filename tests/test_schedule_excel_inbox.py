"""The scheduled run reads an inbox as a Korean shop fills it: the SmartStore order download is
an .xlsx (its native format), and while the manager has it open in Excel, Excel keeps an owner
file ``~$<name>.xlsx`` beside it — which is not a workbook and must not be read.

The download: the SmartStore header (tests/test_ingest_platforms.py cites its source), a title
row above the table, Korean Excel date-times; the expected orders are summed here by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter

from danggol.activation import schedule
from danggol.store.workspace import Workspace
from test_ingest_platforms import SMARTSTORE_HEADER

AS_OF = dt.date(2025, 6, 30)
# (상품주문번호, 주문번호, 구매자ID, 결제일 as Korean Excel writes it, 최종 상품별 총 주문금액, 주문상태)
LINES = [
    ("2025060100001001", "2025060100001", "kimmin**", "2025-06-01 오후 2:15", 39000, "구매확정"),
    ("2025060100001002", "2025060100001", "kimmin**", "2025-06-01 오후 2:15", 38000, "배송완료"),
    ("2025060200002003", "2025060200002", "leeso**", "2025-06-02 오전 9:30", 10000, "배송완료"),
]


def smartstore_xlsx(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("주문조회")
    sheet.write(0, 0, "주문통합검색 (2025.06.01 ~ 2025.06.30)")
    sheet.write_row(2, 0, SMARTSTORE_HEADER)
    for r, (line, order, buyer, paid, amount, status) in enumerate(LINES, start=3):
        row = {
            "상품주문번호": line,
            "주문번호": order,
            "구매자ID": buyer,
            "결제일": paid,
            "최종 상품별 총 주문금액": amount,
            "주문상태": status,
            "상품번호": "P" + line[-1],
            "수량": 1,
        }
        for c, header in enumerate(SMARTSTORE_HEADER):
            value = row.get(header)
            if isinstance(value, int):
                sheet.write_number(r, c, value)
            elif value:
                sheet.write_string(r, c, value)
    book.close()
    return path


def test_an_xlsx_download_in_the_inbox_is_loaded_and_excels_owner_file_is_not(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "inbox" / "orders"
    folder.mkdir(parents=True)
    smartstore_xlsx(folder / "스마트스토어_주문조회.xlsx")
    # what Excel leaves while the workbook is open (a small binary file, not a workbook)
    (folder / "~$스마트스토어_주문조회.xlsx").write_bytes(b"\x0bkim manager" + b"\x00" * 150)
    ws = Workspace.init(tmp_path / "shop")

    first = schedule.run(ws, AS_OF, inbox=tmp_path / "inbox", preset="smartstore")

    assert first.status == "ok", first.error
    assert [Path(f).name for f in first.files] == ["스마트스토어_주문조회.xlsx"]
    totals: dict[str, int] = {}
    for _, order, _, _, amount, _ in LINES:
        totals[order] = totals.get(order, 0) + amount
    stored = dict(ws.duck.execute("SELECT order_id, total FROM orders").fetchall())
    assert stored == totals  # 2025060100001: 39,000 + 38,000
    again = schedule.run(ws, AS_OF, inbox=tmp_path / "inbox", preset="smartstore")
    assert again.status == "ok" and again.files == []
