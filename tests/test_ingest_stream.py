"""Files read a piece at a time give exactly what reading them whole gives.

A file larger than ``readers.CHUNK_BYTES`` (Parquet: ``PARQUET_ROWS`` rows) is read in
pieces, staged, and checked as one. Here the piece sizes are made tiny so that ordinary test
files are cut in many places — inside quoted values that span lines, between an order's
lines, between a duplicate and its first occurrence, before the only CP949 byte — and the
result is compared with (a) an independent parse of the whole text with Python's csv module
and (b) the same file loaded whole into another workspace. The 10M-row file with bounded
memory is in the slow tier (``test_ten_million_rows_in_bounded_memory``) and in
``bench/bench_ingest_stream.py``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from danggol.errors import InputFileError
from danggol.ingest import load, readers
from danggol.ingest.load import ingest_files
from danggol.ingest.readers import read_chunks
from danggol.store.workspace import Workspace

WHOLE = 1 << 40
FAST = int(os.environ.get("DANGGOL_FUZZ_EXAMPLES", "25"))
SLOW = int(os.environ.get("DANGGOL_FUZZ_SLOW_EXAMPLES", "400"))


def _joined(path: Path, **kwargs) -> tuple[int, dict, list[int], list[tuple], set]:
    """(pieces, columns, lines, rejects, encodings) of ``path`` read with ``kwargs``."""
    pieces = list(read_chunks(path, **kwargs))
    columns: dict[str, list] = {}
    for piece in pieces:
        assert piece.table.column_names == pieces[0].table.column_names
        for name in piece.table.column_names:
            columns.setdefault(name, []).extend(piece.table.column(name).to_pylist())
    lines = [int(n) for p in pieces for n in p.lines]
    rejects = [(r.line, r.reason, r.text) for p in pieces for r in p.rejects]
    return len(pieces), columns, lines, rejects, {p.encoding for p in pieces}


def _plain_csv(text: str, delimiter: str = ",") -> tuple[dict, list[int], list[int]]:
    """Python's csv module over the whole text: the columns, the line each good row starts
    on, the lines of rows with the wrong number of fields."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    names = [h.strip() for h in next(reader)]
    columns: dict[str, list] = {n: [] for n in names}
    good, bad = [], []
    start = reader.line_num + 1
    for row in reader:
        if row and len(row) == len(names):
            for n, v in zip(names, row, strict=True):
                columns[n].append(v)
            good.append(start)
        elif row:
            bad.append(start)
        start = reader.line_num + 1
    return columns, good, bad


# -- the reader: pieces joined = the whole ------------------------------------------------

cell = st.one_of(
    st.sampled_from(["", "a", '"', '""', "a,b", "a\nb", "x\r\ny", "김민지", "결제완료", " ", "'"]),
    st.text(alphabet=st.characters(codec="cp949", exclude_characters="\x00\r"), max_size=12),
)


def _fuzz_pieces(max_examples: int):
    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        width=st.integers(1, 4),
        data=st.data(),
        encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp949"]),
        line_end=st.sampled_from(["\n", "\r\n"]),
        chunk=st.integers(1, 300),
        blank_lines=st.lists(st.integers(0, 30), max_size=3),
    )
    def run(tmp_path_factory, width, data, encoding, line_end, chunk, blank_lines):
        header = [f"c{i}" for i in range(width)]
        rows = data.draw(
            st.lists(
                st.lists(cell, min_size=width, max_size=width)
                | st.lists(cell, min_size=1, max_size=width + 2),  # ragged now and then
                max_size=30,
            )
        )
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator=line_end)
        writer.writerow(header)
        for i, row in enumerate(rows):
            writer.writerow(row)
            if i in blank_lines:
                buf.write(line_end)
        text = buf.getvalue()
        path = tmp_path_factory.mktemp("pieces") / "in.csv"
        path.write_bytes(text.encode(encoding))

        n, columns, lines, rejects, encodings = _joined(path, chunk_bytes=chunk)
        whole = _joined(path, chunk_bytes=WHOLE)
        assert whole[0] == 1
        # the same as the file read whole, whatever the cuts
        assert (columns, lines, rejects) == whole[1:4]
        assert encodings == whole[4]
        # ... and what Python's csv module reads from the whole text as the detection rule
        # decodes it: UTF-8 when every byte is valid UTF-8, else CP949 (a short CP949 file
        # can be valid UTF-8 too — '微' is b"\xda\xb0" — and then reads as UTF-8; see
        # test_cp949_bytes_that_are_valid_utf8_need_the_encoding_given)
        raw = text.encode(encoding)
        try:
            seen = raw.decode("utf-8-sig" if encoding == "utf-8-sig" else "utf-8")
        except UnicodeDecodeError:
            seen = raw.decode("cp949")
        expected, good, bad = _plain_csv(seen)
        assert columns == expected
        assert lines == good
        assert [r[0] for r in rejects] == bad
        longest = max(len(line) for line in raw.split(b"\n"))
        if len(raw) > 2 * chunk and longest < chunk and b'"' not in raw:
            assert n > 1, "a file many times the piece size is read in pieces"

    return run


test_csv_pieces_equal_the_whole_file = _fuzz_pieces(FAST)
test_csv_pieces_equal_the_whole_file_long = pytest.mark.slow(_fuzz_pieces(SLOW))


def test_cp949_bytes_that_are_valid_utf8_need_the_encoding_given(tmp_path):
    # '微' in CP949 is DA B0, which is also the UTF-8 of 'ڰ' (U+06B0): with no encoding
    # given, the file reads as UTF-8 (the first of utf-8, cp949 that decodes every byte);
    # only --encoding cp949 can tell. Found by Hypothesis in CI; real Korean files almost
    # never decode as UTF-8 by chance, but a one-word file can.
    assert "微".encode("cp949") == b"\xda\xb0" and b"\xda\xb0".decode("utf-8") == "\u06b0"
    path = tmp_path / "one.csv"
    path.write_bytes("c0\n微\n".encode("cp949"))
    for chunk in (1, 3, WHOLE):
        _, columns, _, _, encodings = _joined(path, chunk_bytes=chunk)
        assert columns == {"c0": ["\u06b0"]} and encodings == {"utf-8"}
        _, columns, _, _, encodings = _joined(path, chunk_bytes=chunk, encoding="cp949")
        assert columns == {"c0": ["微"]} and encodings == {"cp949"}


def test_a_quoted_value_spanning_the_cut_stays_whole(tmp_path):
    text = 'id,note\n1,"first\nsecond\nthird"\n2,plain\n3,"a ""quoted"" word, and a comma"\n'
    path = tmp_path / "q.csv"
    path.write_text(text, encoding="utf-8")
    for chunk in range(1, len(text) + 2):
        _n, columns, lines, rejects, _ = _joined(path, chunk_bytes=chunk)
        assert columns == {
            "id": ["1", "2", "3"],
            "note": ["first\nsecond\nthird", "plain", 'a "quoted" word, and a comma'],
        }, chunk
        assert lines == [2, 5, 6]
        assert rejects == []


def test_encoding_is_settled_for_the_whole_file_first(tmp_path):
    # ASCII for most of the file; the only non-UTF-8 bytes (CP949 한글) are near the end
    rows = [f"{i},C{i},2024-01-01,{i * 100}" for i in range(200)]
    rows.append("200,김민지,2024-01-01,500")
    data = ("order_id,customer_id,ordered_at,total\n" + "\n".join(rows) + "\n").encode("cp949")
    path = tmp_path / "cp949.csv"
    path.write_bytes(data)
    n, columns, lines, _rejects, encodings = _joined(path, chunk_bytes=256)
    assert n > 5
    assert encodings == {"cp949"}
    assert columns["customer_id"][-1] == "김민지"
    assert lines == list(range(2, 203))

    # with an explicit encoding, a bad byte in a later piece is reported at its place in the
    # file: the byte offset the whole-file decode reports
    with pytest.raises(InputFileError) as whole:
        list(read_chunks(path, encoding="utf-8", chunk_bytes=WHOLE))
    with pytest.raises(InputFileError) as pieces:
        list(read_chunks(path, encoding="utf-8", chunk_bytes=256))
    offset = data.index("김".encode("cp949"))
    assert f"byte {offset} " in str(whole.value)
    assert str(pieces.value) == str(whole.value)

    # with none given and neither encoding fitting, the same message as for a small file
    path.write_bytes(data + b"\xff\xff\n")
    with pytest.raises(InputFileError, match="neither UTF-8 nor CP949"):
        list(read_chunks(path, chunk_bytes=256))
    with pytest.raises(InputFileError, match="unknown encoding"):
        list(read_chunks(path, encoding="no-such-codec", chunk_bytes=256))


def test_a_bom_and_utf16_files(tmp_path):
    text = "customer_id,name\n" + "".join(f"C{i},이름{i}\n" for i in range(100))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    n, columns, lines, _, encodings = _joined(bom, chunk_bytes=100)
    assert n > 5 and encodings == {"utf-8-sig"}
    assert list(columns) == ["customer_id", "name"]  # no BOM in the first header
    assert columns["name"][99] == "이름99" and lines[-1] == 101
    # UTF-16 uses byte 0x0A inside characters: such a file is never cut, and reads the same
    wide = tmp_path / "wide.csv"
    wide.write_bytes(text.encode("utf-16"))
    n16, columns16, lines16, _, _ = _joined(wide, encoding="utf-16", chunk_bytes=100)
    assert n16 == 1 and (columns16, lines16) == (columns, lines)


def test_jsonl_pieces_get_every_column_of_the_file(tmp_path):
    records = [
        {"customer_id": f"C{i}", "event": "view", "occurred_at": "2024-01-01"} for i in range(60)
    ]
    records[55]["value"] = 3  # a key only the last piece has
    lines = [json.dumps(r) for r in records]
    lines[10] = "{not json"
    lines[20] = "[1, 2]"
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    n, columns, got_lines, rejects, _ = _joined(path, chunk_bytes=200)
    assert n > 5
    assert _joined(path, chunk_bytes=WHOLE)[1:4] == (columns, got_lines, rejects)
    assert list(columns) == ["customer_id", "event", "occurred_at", "value"]
    assert columns["value"] == [None] * 53 + ["3"] + [None] * 4
    assert [r[0] for r in rejects] == [11, 21]
    assert got_lines == [i + 1 for i in range(60) if i not in (10, 20)]


def test_parquet_in_row_pieces(tmp_path):
    table = pa.table({"order_id": [f"O{i}" for i in range(25)], "total": list(range(25))})
    path = tmp_path / "o.parquet"
    pq.write_table(table, path, row_group_size=10)
    n, columns, lines, _, _ = _joined(path, parquet_rows=4)
    assert n == 7
    assert columns == table.to_pydict() and lines == list(range(1, 26))
    empty = tmp_path / "empty.parquet"
    pq.write_table(table.slice(0, 0), empty)
    n, columns, lines, _, _ = _joined(empty, parquet_rows=4)
    assert (n, columns, lines) == (1, {"order_id": [], "total": []}, [])


# -- the loader: a file loaded in pieces = the file loaded whole ----------------------------

STORED = {
    "customers": "SELECT * FROM customers",
    "orders": "SELECT * FROM orders",
    "order_items": "SELECT * FROM order_items",
    "events": "SELECT * FROM events",
    "quarantine": "SELECT * EXCLUDE (quarantined_at) FROM quarantine",
    "ingest_log": "SELECT * EXCLUDE (ingested_at) FROM ingest_log",
    "touched": "SELECT * FROM touched_customers",
}


def _stored(ws: Workspace) -> dict[str, list]:
    out = {}
    for name, sql in STORED.items():
        try:
            out[name] = sorted(map(repr, ws.duck.execute(sql).fetchall()))
        except Exception as exc:  # a table a workspace does not have yet
            out[name] = repr(type(exc))
    return out


def _load_both(tmp_path, monkeypatch, steps, chunk=300, rows=7):
    """Run ``steps`` (table, file, options) into a workspace reading files whole and into
    one reading them in tiny pieces; return both results and stores."""
    results = {}
    counted: list[int] = []

    def counting(*args, **kwargs):
        counted.append(0)
        for piece in read_chunks(*args, **kwargs):
            counted[-1] += 1
            yield piece

    monkeypatch.setattr(load, "read_chunks", counting)
    for mode in ("whole", "pieces"):
        monkeypatch.setattr(readers, "CHUNK_BYTES", WHOLE if mode == "whole" else chunk)
        monkeypatch.setattr(readers, "PARQUET_ROWS", 10**9 if mode == "whole" else rows)
        ws = Workspace.init(tmp_path / mode)
        counted.clear()
        try:
            outs = [ingest_files(ws, t, [f], **kw).to_dict() for t, f, kw in steps]
            results[mode] = (outs, _stored(ws))
        finally:
            ws.close()
        if mode == "pieces":
            assert all(n > 1 for n in counted), f"every file is read in pieces: {counted}"
        else:
            assert set(counted) == {1}
    return results["whole"], results["pieces"]


def _orders_csv(path: Path) -> None:
    rows = ["order_id,customer_id,ordered_at,total,status,note"]
    for i in range(40):
        total = "abc" if i == 17 else str(1000 + i)  # a bad value in the middle
        rows.append(f'O{i},C{i % 7},2024-01-{1 + i % 28:02d} 10:00,{total},paid,"n{i}"')
    rows.insert(30, "O3,C3,2024-02-01,999,paid,duplicate of O3")  # its first is pieces back
    rows.insert(12, 'O100,C1,2024-03-01,5,paid,"two\nlines"')
    rows.insert(20, "O101,too,few")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_orders_and_lines_load_the_same_in_pieces(tmp_path, monkeypatch):
    orders = tmp_path / "orders.csv"
    _orders_csv(orders)
    items = tmp_path / "items.csv"
    lines = ["order_id,product_id,quantity,unit_price"]
    for i in range(40):
        for k in range(3):  # three lines per order: the cuts fall between an order's lines
            lines.append(f"O{i},P{k},{1 + k},{100 * (k + 1)}")
    lines.append("O999,P1,1,100")  # an order the store does not have
    items.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # a second file of lines for some orders replaces their stored lines, whole orders only
    again = tmp_path / "items2.csv"
    again.write_text(
        "order_id,product_id,quantity,unit_price\n"
        + "".join(f"O{i},P9,{k + 1},50\n" for i in (1, 2, 3) for k in range(4)),
        encoding="utf-8",
    )
    steps = [("orders", orders, {}), ("order_items", items, {}), ("order_items", again, {})]
    whole, pieces = _load_both(tmp_path, monkeypatch, steps, chunk=120)
    assert pieces == whole
    outs, stored = pieces
    # bad total, O3's two disagreeing rows, ragged
    assert outs[0]["tables"]["orders"]["quarantined"] == 4
    assert outs[0]["read"] == 43
    # O999 is unknown; O17 and O3 were quarantined, so their three lines each are unknown too
    assert outs[1]["tables"]["order_items"]["quarantined"] == 7
    reasons = [r for r in stored["quarantine"] if "appears at" in r]
    assert len(reasons) == 2 and all("O3' appears at line 5, line 34 " in r for r in reasons)
    # the second file's orders have exactly its 4 lines each (O3 is not stored: 4 unknown)
    assert (
        outs[2]["tables"]["order_items"]["loaded"] + outs[2]["tables"]["order_items"]["updated"]
        == 8
    )


def test_a_preset_export_groups_an_order_across_pieces(tmp_path, monkeypatch):
    # a Shopify export: one row per order line, the order's fields on its first row only
    header = (
        "Name,Email,Financial Status,Paid at,Created at,Currency,Subtotal,Total,"
        "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Name"
    )
    rows = [header]
    for i in range(12):
        for k in range(4):
            first = k == 0
            rows.append(
                ",".join(
                    [
                        f"#{1000 + i}",
                        f"buyer{i % 5}@example.com",
                        "paid" if first else "",
                        "2024-05-01 10:00:00 +0900" if first else "",
                        "2024-05-01 10:00:00 +0900",
                        "KRW" if first else "",
                        "40000" if first else "",
                        "43000" if first else "",
                        str(k + 1),
                        f"Item {k}",
                        "10000",
                        f"SKU-{k}",
                        f"Buyer {i % 5}" if first else "",
                    ]
                )
            )
    path = tmp_path / "shopify.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    whole, pieces = _load_both(
        tmp_path, monkeypatch, [("orders", path, {"preset": "shopify"})], chunk=150
    )
    assert pieces == whole
    outs, stored = pieces
    assert outs[0]["tables"]["orders"]["loaded"] == 12
    assert outs[0]["tables"]["order_items"]["loaded"] == 48
    assert outs[0]["tables"]["customers"]["loaded"] == 5
    assert sum(1 for r in stored["orders"] if "43000" in r) == 12


def test_jsonl_and_parquet_load_the_same_in_pieces(tmp_path, monkeypatch):
    events = tmp_path / "events.jsonl"
    records = [
        {
            "customer_id": f"C{i % 9}",
            "event": "Cart Add" if i % 3 else "view",
            "occurred_at": f"2024-01-{1 + i % 28:02d}T10:00:00+09:00",
        }
        for i in range(50)
    ]
    records[44]["value"] = "12.5"
    text = [json.dumps(r, ensure_ascii=False) for r in records]
    text[7] = "{broken"
    events.write_text("\n".join(text) + "\n", encoding="utf-8")
    orders = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table(
            {
                "order_id": [f"O{i}" for i in range(30)] + ["O4"],
                "customer_id": [f"C{i % 9}" for i in range(31)],
                "ordered_at": ["2024-02-01 09:00"] * 31,
                "total": [float(i) for i in range(30)] + [-1.0],
            }
        ),
        orders,
    )
    whole, pieces = _load_both(
        tmp_path, monkeypatch, [("orders", orders, {}), ("events", events, {})], chunk=200, rows=4
    )
    assert pieces == whole
    outs, _ = pieces
    # O4 given twice with different totals (the second one negative): both rows held back
    assert outs[0]["tables"]["orders"]["quarantined"] == 2
    assert outs[1]["tables"]["events"]["read"] == 50
    assert outs[1]["tables"]["events"]["quarantined"] >= 1  # the broken line


def test_a_file_failing_in_a_late_piece_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK_BYTES", 100)
    ws = Workspace.init(tmp_path / "ws")
    try:
        good = tmp_path / "good.csv"
        good.write_text("order_id,customer_id,ordered_at,total\nA,C1,2024-01-01,1\n")
        ingest_files(ws, "orders", [good])
        before = _stored(ws)
        data = b"order_id,customer_id,ordered_at,total\n" + b"".join(
            f"O{i},C{i},2024-01-01,{i}\n".encode() for i in range(100)
        )
        bad = tmp_path / "bad.csv"
        bad.write_bytes(data + b"O999,\xff\xfe,2024-01-01,1\n")  # not UTF-8, nor CP949
        with pytest.raises(InputFileError):
            ingest_files(ws, "orders", [bad], encoding="utf-8")
        assert _stored(ws) == before
        # a second file that cannot be read undoes the first one of the same load
        with pytest.raises(InputFileError):
            ingest_files(ws, "orders", [tmp_path / "good.csv", tmp_path / "missing.csv"])
        assert _stored(ws) == before
        # and the staging tables are gone: the next load works and sees none of them
        ingest_files(ws, "orders", [good])
        staged = ws.duck.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\\_in\\_%' ESCAPE '\\'"
        ).fetchone()[0]
        assert staged == 0
    finally:
        ws.close()


# -- 10M rows ------------------------------------------------------------------------------

TEN_MILLION = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from danggol.ingest.load import ingest_files
    from danggol.store.workspace import Workspace
    ws = Workspace.open(Path(sys.argv[1]))
    result = ingest_files(ws, "orders", [sys.argv[2]]).to_dict()
    bad = ws.duck.execute(
        "SELECT list(source_line ORDER BY source_line) FROM quarantine WHERE table_name = 'orders'"
    ).fetchone()[0]
    ws.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"result": result, "bad_lines": bad, "peak": peak}))
    """
)


@pytest.mark.slow
def test_ten_million_rows_in_bounded_memory(tmp_path):
    """A 10,000,000-row orders CSV (~600 MB) loads with the process's peak memory under
    2 GiB (memory_limit 1GB): a whole-file read alone would hold the file several times."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    from bench_ingest_stream import BAD_EVERY, write_orders

    rows = 10_000_000
    path = tmp_path / "orders.csv"
    planted = write_orders(path, rows, "csv")
    assert path.stat().st_size > 500 * 2**20
    ws = Workspace.init(tmp_path / "ws")
    ws.close()
    toml = tmp_path / "ws" / "danggol.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('memory_limit = "3GB"', 'memory_limit = "1GB"'),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-c", TEN_MILLION, str(tmp_path / "ws"), str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    orders = out["result"]["tables"]["orders"]
    assert orders["read"] == rows
    assert orders["quarantined"] == planted == rows // BAD_EVERY
    assert orders["loaded"] == rows - planted
    # row i (0-based) is on line i + 2; the planted ones are those with (i + 1) % BAD_EVERY == 0
    assert out["bad_lines"] == [k * BAD_EVERY + 1 for k in range(1, planted + 1)]
    assert out["peak"] < 2 * 2**30, f"peak memory {out['peak'] / 2**30:.2f} GiB"


def test_a_file_that_starts_as_korean_utf8_is_utf8_and_a_later_bad_byte_stops_it(
    tmp_path, monkeypatch
):
    # no pass over the whole file to settle the encoding when its first block already has
    # Korean text that is valid UTF-8; a byte further on that is not is reported at its offset
    monkeypatch.setattr(readers, "_BLOCK", 64)
    head = "order_id,customer_id\n" + "".join(f"{i},김민지{i}\n" for i in range(20))
    tail = b"99," + "이서연".encode("cp949") + b"\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes(head.encode("utf-8") + tail)
    good = tmp_path / "good.csv"
    good.write_bytes(head.encode("utf-8"))
    _, columns, lines, _, encodings = _joined(good, chunk_bytes=128)
    assert encodings == {"utf-8"} and columns["customer_id"][3] == "김민지3"
    assert lines == list(range(2, 22))
    with pytest.raises(InputFileError) as error:
        list(read_chunks(path, chunk_bytes=128))
    offset = len(head.encode("utf-8")) + 3
    assert f"is not valid utf-8: byte {offset} " in str(error.value)
    assert "--encoding" in str(error.value)
