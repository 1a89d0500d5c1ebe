"""What a Korean shop manager reads in the terminal after loading an unchanged Cafe24 export:
Korean words where the command speaks Korean (``--lang ko``, the default), amounts in won
without decimals, codes by their names, and help texts that keep every word.

The export is CP949, one row per item with the order total repeated (header as
tests/test_ingest_platforms.py cites it). Expected figures are summed here from the rows.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from danggol.cli.main import app
from test_ingest_platforms import CAFE24_HEADER

runner = CliRunner()
# (order, ordered at, member id, order total, status, item, amount)
ROWS = [
    ("20250601-0000011", "2025-06-01 14:15:00", "hong01", "15,000", "배송완료", "A", "10,000"),
    ("20250601-0000011", "2025-06-01 14:15:00", "hong01", "15,000", "배송완료", "B", "5,000"),
    ("20250602-0000012", "2025-06-02 오전 9:05", "hong01", "28,000", "구매확정", "A", "28,000"),
    ("20250603-0000013", "2025-06-03 10:00:00", "yoon22", "30,000", "취소완료", "B", "30,000"),
]
AS_OF = "2025-06-30"


def _won(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("korean")
    path = root / "cafe24_orders.csv"
    with path.open("w", encoding="cp949", newline="") as f:
        w = csv.writer(f)
        w.writerow(CAFE24_HEADER)
        for order, when, member, total, status, item, amount in ROWS:
            row = {
                "주문번호": order,
                "주문일시": when,
                "주문자ID": member,
                "총 결제금액(KRW)": total,
                "주문 상태": status,
                "상품품목코드": item,
                "주문상품명": f"상품{item}",
                "수량": "1",
                "판매가": amount,
                "상품구매금액(KRW)": amount,
            }
            w.writerow([row.get(h, "") for h in CAFE24_HEADER])
    ws = root / "shop"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    done = runner.invoke(app, ["-w", str(ws), "ingest", "orders", str(path), "--preset", "cafe24"])
    assert done.exit_code == 0, done.output
    return ws


def explain(ws: Path, query: str, customer: str, *lang: str) -> str:
    done = runner.invoke(
        app,
        [
            "-w",
            str(ws),
            "segment",
            "explain",
            query,
            "--customer",
            customer,
            "--as-of",
            AS_OF,
            *lang,
        ],
        env={"COLUMNS": "200"},
    )
    assert done.exit_code == 0, done.output
    return done.output


def test_explain_speaks_korean_with_won_and_names(shop: Path) -> None:
    # hong01's purchases: each order's total once (15,000 + 28,000); yoon22's only order is
    # cancelled, so nothing spent and no last order date
    spent = {"hong01": _won("15,000") + _won("28,000"), "yoon22": 0}
    query = "amount_spent >= 50000 OR last_order_date > -7d OR rfm_group = 'loyal'"
    for customer, amount in spent.items():
        text = explain(shop, query, customer)
        assert text.startswith(f"고객 {customer} · 기준일 {AS_OF}: 제외"), text
        assert "하나 이상 만족" in text
        assert f"값: ₩{amount:,}, 비교 기준: ₩50,000" in text, text
        # no English word of the explanation, no float, no Python None
        assert not re.search(r"\b(value|compared with|customer|as of|ANY|ALL|None)\b", text)
        assert not re.search(r"\d\.0\b", text), text
        assert "비교 기준: 우수 단골" in text  # the RFM group by its name, not 'loyal'
    assert "최근 구매일" in explain(shop, query, "yoon22") and "값: 없음" in explain(
        shop, query, "yoon22"
    )


def test_explain_in_english_keeps_english_and_the_same_amounts(shop: Path) -> None:
    text = explain(shop, "amount_spent >= 50000", "hong01", "--lang", "en")
    assert text.startswith(f"customer hong01 as of {AS_OF}: OUT"), text
    assert "value: ₩43,000, compared with: ₩50,000" in text, text


def test_serve_help_keeps_the_settings_section_name() -> None:
    # Rich markup would eat '[web]' (the danggol.toml section the option's setting lives in)
    done = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "300"})
    assert done.exit_code == 0
    assert "allowed_hosts in [web] of danggol.toml" in re.sub(r"\s+", " ", done.output)


def test_quarantine_reasons_stay_readable_on_a_narrow_terminal(tmp_path: Path) -> None:
    # a two-item Cafe24 order whose second item row (file line 3) has a quantity 'abc'
    path = tmp_path / "cafe24_orders.csv"
    items = [("A", "1", "10,000"), ("B", "abc", "5,000")]
    with path.open("w", encoding="cp949", newline="") as f:
        w = csv.writer(f)
        w.writerow(CAFE24_HEADER)
        for item, quantity, amount in items:
            row = {
                "주문번호": "20250601-0000011",
                "주문일시": "2025-06-01 14:15:00",
                "주문자ID": "hong01",
                "총 결제금액(KRW)": "15,000",
                "주문 상태": "배송완료",
                "상품품목코드": item,
                "수량": quantity,
                "판매가": amount,
                "상품구매금액(KRW)": amount,
            }
            w.writerow([row.get(h, "") for h in CAFE24_HEADER])
    ws = tmp_path / "shop"
    runner.invoke(app, ["init", str(ws)])
    runner.invoke(app, ["-w", str(ws), "ingest", "orders", str(path), "--preset", "cafe24"])
    bad = "cannot read quantity 'abc' as a whole number"

    # a terminal 40 cells wider than the file's path (the one column never cut)
    columns = str(len(str(path)) + 40)
    narrow = runner.invoke(app, ["-w", str(ws), "quarantine"], env={"COLUMNS": columns})
    assert narrow.exit_code == 0, narrow.output
    said = re.sub(r"\s+", " ", narrow.output)
    # each reason whole (not folded into a 10-cell column between borders), and all three rows
    assert said.count(bad) == 3, narrow.output
    assert "its item row line 3 is bad" in said, narrow.output

    columns = str(len(str(path)) + 100)
    wide = runner.invoke(app, ["-w", str(ws), "quarantine"], env={"COLUMNS": columns})
    # a table whose reasons read from the left, and whose line numbers line up on the right
    assert re.search(rf"│ {re.escape(bad)} +│", wide.output), wide.output
    assert re.search(r"│ +3 │", wide.output), wide.output


def test_predict_show_speaks_korean_for_a_shop_too_young_to_predict(shop: Path) -> None:
    done = runner.invoke(app, ["-w", str(shop), "refresh", "--as-of", AS_OF])
    assert done.exit_code == 0, done.output
    # by hand from ROWS: a purchase is an order that is not cancelled (each order once)
    orders = {(order, member) for order, _, member, _, status, _, _ in ROWS if status != "취소완료"}
    purchases = Counter(member for _, member in orders)
    buyers, repeat = len(purchases), sum(n >= 2 for n in purchases.values())

    ko = runner.invoke(app, ["-w", str(shop), "predict", "show"], env={"COLUMNS": "250"})
    assert ko.exit_code == 0, ko.output
    text = re.sub(r"\s+", " ", ko.output)
    assert text.startswith(" 예측 (최근 갱신)") or text.startswith("예측 (최근 갱신)"), text
    assert "상태 │ 데이터 부족: 예측하지 않음 (too_little_data)" in text, text
    assert f"이유 │ 구매 고객 {buyers}명, 재구매 고객 {repeat}명입니다." in text, text
    assert "설정 enabled │ 예" in text and f"학습한 고객 수 │ {buyers}" in text, text
    for english in ("as of", "status", "why", "customers fitted", "repeat buyers", "True"):
        assert f"│ {english} " not in text, english

    en = runner.invoke(app, ["-w", str(shop), "predict", "show", "--lang", "en"])
    assert "not enough history" in en.output and "customers fitted" in en.output


@pytest.mark.parametrize(
    "command",
    [
        ["profile", "--as-of", AS_OF],
        ["segment", "members", "number_of_orders >= 1", "--as-of", AS_OF],
        ["quarantine"],
        ["report", "--as-of", AS_OF, "--no-diagnostics"],
    ],
    ids=["profile", "members", "quarantine", "report"],
)
def test_an_out_file_the_manager_already_has_is_kept(
    shop: Path, tmp_path: Path, command: list[str]
) -> None:
    # last month's list, annotated in Excel: a second run must not replace it without asking
    mine = tmp_path / "고객목록.csv"
    kept = "\ufeffcustomer_id,메모\nhong01,VIP 전화 완료\n".encode()
    mine.write_bytes(kept)
    run = [*command, "--out", str(mine)]
    refused = runner.invoke(app, ["-w", str(shop), *run])
    assert refused.exit_code != 0
    said = f"{refused.output} {refused.exception}"  # the error, as run() prints it
    assert "exists" in said and "--overwrite" in said, said
    assert mine.read_bytes() == kept
    replaced = runner.invoke(app, ["-w", str(shop), *run, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert mine.read_bytes() != kept


def test_asking_members_for_names_says_where_names_are(shop: Path) -> None:
    done = runner.invoke(
        app,
        ["-w", str(shop), "segment", "members", "number_of_orders >= 1", "--as-of", AS_OF,
         "--fields", "customer_id,name,phone"],
    )  # fmt: skip
    said = f"{done.output} {done.exception}"
    assert done.exit_code != 0
    assert "unknown field(s) ['name', 'phone']" in said, said
    command = "danggol export 'number_of_orders >= 1' --format csv --fields customer_id,name,phone"
    assert command in said, said
    # and that command does write them: hong01 (the only buyer; yoon22's order is cancelled)
    out = shop.parent / "names.csv"
    export = runner.invoke(
        app,
        ["-w", str(shop), "export", "number_of_orders >= 1", "--format", "csv",
         "--fields", "customer_id,name,phone", "--out", str(out), "--as-of", AS_OF],
    )  # fmt: skip
    assert export.exit_code == 0, export.output
    assert out.read_text(encoding="utf-8-sig").splitlines()[0] == '"customer_id","name","phone"'
