"""Fuzzed input files: every file ends in a clear error or in rows loaded, updated or
quarantined with a reason — never a crash, never a half-written store.

Hypothesis writes CSV (several encodings, BOMs, ragged rows, quoted line breaks, huge
fields), JSON Lines (any JSON value, nested objects) and Parquet (typed columns) files of
orders, customers, order lines and events, with values drawn from good and hostile ones
(mixed date formats, non-numeric totals, duplicate ids, SQL-looking text, control
characters). After each load the invariants are checked against the store itself:

* ``read = loaded + updated + duplicates + quarantined`` for every table and in ``ingest_log``;
* ``read`` is the number of data rows (lines or records) the file has;
* the table grows by exactly ``loaded`` rows, the quarantine holds ``quarantined`` entries of
  the file, each with a reason;
* a file that cannot be read as a whole raises a :class:`DanggolError` and leaves the store
  exactly as it was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from danggol.errors import DanggolError
from danggol.ingest.load import ingest_files
from danggol.store.workspace import Workspace

#: examples per test in the fast tier; the slow tier runs many more (FUZZ_EXAMPLES env var)
FAST = int(os.environ.get("DANGGOL_FUZZ_EXAMPLES", "25"))
SLOW = int(os.environ.get("DANGGOL_FUZZ_SLOW_EXAMPLES", "400"))
TABLES = ("customers", "orders", "order_items", "events", "quarantine", "ingest_log")

HOSTILE = [
    "",
    " ",
    "'",
    '"',
    "''; DROP TABLE orders; --",
    "\\",
    "\x00",
    "\x1b[31m",
    "NULL",
    "null",
    "NaN",
    "inf",
    "-0",
    "1e309",
    "9" * 40,
    "１２３",  # full-width digits
    "₩12,000원",
    "$1,234.50",
    "1.234,56",
    "-5",
    "0",
    "2024-02-30",
    "2024-13-01",
    "0000-00-00",
    "2024-01-15T10:23:45+09:00",
    "2024/01/15 10:23",
    "15/01/2024",
    "01/15/2024",
    "2024.01.15",
    "20240115",
    "Jan 15 2024",
    "2024-01-15 25:61:61",
    "paid",
    "결제완료",
    "환불",
    "unknown-status",
    "김민지",
    "😀" * 3,
    "\u202e",
    "a\nb",
    "a,b",
    "a\r\nb",
    "x" * 5000,
]

text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30))
#: ids from a small pool, so duplicates (in a file and against the store) are common
ids = st.one_of(st.sampled_from(["A1", "A2", "A3", "B1", " A1 ", "a1"]), text)
dates = st.one_of(
    st.dates().map(str),
    st.datetimes().map(lambda d: d.strftime("%Y/%m/%d %H:%M")),
    st.datetimes().map(lambda d: d.isoformat() + "+09:00"),
    st.sampled_from(HOSTILE),
)
money = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(HOSTILE),
)

COLUMNS = {
    "orders": {
        "order_id": ids,
        "customer_id": ids,
        "ordered_at": dates,
        "total": money,
        "status": text,
        "refunded_amount": money,
        "discount": money,
    },
    "customers": {
        "customer_id": ids,
        "email": text,
        "gender": text,
        "birth_date": dates,
        "country": text,
        "signup_at": dates,
        "marketing_opt_in": text,
        "tags": text,
    },
    "order_items": {
        "order_id": ids,
        "product_id": ids,
        "quantity": money,
        "unit_price": money,
        "line_no": money,
    },
    "events": {
        "customer_id": ids,
        "event": text,
        "occurred_at": dates,
        "value": money,
        "properties": st.one_of(text, st.just('{"a": 1}'), st.just("[1,2]")),
    },
}


@st.composite
def rows_for(draw: st.DrawFn, table: str) -> tuple[list[str], list[list[str]]]:
    spec = COLUMNS[table]
    # a subset of the columns, always with the required ones most of the time
    header = [c for c in spec if draw(st.booleans()) or c in ("order_id", "customer_id")]
    rows = draw(st.lists(st.tuples(*[spec[c] for c in header]).map(list), min_size=0, max_size=12))
    return header, rows


def _snapshot(ws: Workspace) -> dict[str, list[tuple]]:
    return {t: sorted(map(repr, ws.duck.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}


def _counts(ws: Workspace) -> dict[str, int]:
    return {t: ws.count(t) for t in TABLES}


def _check_load(ws: Workspace, table: str, path: Path, expected_rows: int | None) -> None:
    """Load ``path`` and check the invariants against the store."""
    before = _snapshot(ws)
    counts = _counts(ws)
    try:
        result = ingest_files(ws, table, [path])
    except DanggolError as exc:
        assert str(exc).strip(), "an error must say what went wrong"
        assert _snapshot(ws) == before, "a refused file must leave the store as it was"
        return
    part = result.tables[table]
    assert part.read == part.loaded + part.updated + part.duplicates + part.quarantined
    assert result.read == (result.loaded + result.updated + result.duplicates + result.quarantined)
    if expected_rows is not None:
        assert part.read == expected_rows
    grown = ws.count(table) - counts[table]
    if table == "order_items":  # a file's lines of an order replace the stored lines of it
        assert grown <= part.loaded + part.updated
    else:
        assert grown == part.loaded
    source = str(path.resolve())
    entries = ws.duck.execute(
        "SELECT count(*), count(*) FILTER (WHERE reason IS NULL OR reason = '') "
        "FROM quarantine WHERE source_file = ? AND table_name = ?",
        [source, table],
    ).fetchall()[0]
    assert entries == (part.quarantined, 0)
    logged = ws.duck.execute(
        "SELECT rows_read, loaded, updated, quarantined FROM ingest_log WHERE batch_id = ?",
        [result.batch_id],
    ).fetchall()
    assert logged == [(part.read, part.loaded, part.updated, part.quarantined)]


class Shop:
    """One workspace reused across the examples of a test (a fresh one costs a DuckDB file)."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="danggol-fuzz-")
        self.ws = Workspace.init(Path(self.dir.name) / "shop")
        self.n = 0

    def path(self, suffix: str) -> Path:
        self.n += 1
        return Path(self.dir.name) / f"in{self.n}{suffix}"

    def close(self) -> None:
        self.ws.close()
        self.dir.cleanup()


@pytest.fixture(scope="module")
def shop():
    s = Shop()
    yield s
    s.close()


def _csv_bytes(header, rows, encoding, ragged, line_end):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=line_end)
    writer.writerow(header)
    for i, row in enumerate(rows):
        writer.writerow([*row, "extra"] if i in ragged else row)
    return buf.getvalue().encode(encoding, errors="replace")


ENCODINGS = ["utf-8", "utf-8-sig", "cp949", "utf-16", "latin-1"]


def _csv_case(shop, table, data, encoding, ragged, line_end):
    header, rows = data
    raw = _csv_bytes(header, rows, encoding, set(ragged), line_end)
    path = shop.path(".csv")
    path.write_bytes(raw)
    # the number of data rows is known only when the file decodes as the writer meant it
    # and no value holds a line break (then a row is one line)
    _check_load(shop.ws, table, path, None)


def _fuzz_csv(max_examples):
    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        table=st.sampled_from(list(COLUMNS)),
        data=st.data(),
        encoding=st.sampled_from(ENCODINGS),
        ragged=st.lists(st.integers(0, 11), max_size=3),
        line_end=st.sampled_from(["\n", "\r\n", "\r"]),
    )
    def run(shop, table, data, encoding, ragged, line_end):
        _csv_case(shop, table, data.draw(rows_for(table)), encoding, ragged, line_end)

    return run


def _fuzz_jsonl(max_examples):
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | text,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=6,
    )

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        table=st.sampled_from(list(COLUMNS)),
        data=st.data(),
        garbage=st.lists(st.sampled_from(["{", "[1]", "nul", '"x"', "{}"]), max_size=2),
    )
    def run(shop, table, data, garbage):
        header, rows = data.draw(rows_for(table))
        lines = []
        for row in rows:
            record = dict(zip(header, row, strict=True))
            for key in list(record):  # some values typed: numbers, nested objects
                if data.draw(st.booleans()):
                    record[key] = data.draw(json_values)
            lines.append(json.dumps(record, ensure_ascii=data.draw(st.booleans())))
        lines += garbage
        path = shop.path(".jsonl")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        expected = sum(1 for line in lines if line.strip())
        _check_load(shop.ws, table, path, expected if lines else None)

    return run


def _fuzz_parquet(max_examples):
    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(table=st.sampled_from(list(COLUMNS)), data=st.data())
    def run(shop, table, data):
        header, rows = data.draw(rows_for(table))
        arrays = {}
        for i, name in enumerate(header):
            values = [r[i] for r in rows]
            kind = data.draw(st.sampled_from(["text", "int", "float", "ts", "bool"]))
            if kind == "int":
                values = [data.draw(st.integers(-(2**63), 2**63 - 1)) for _ in rows]
            elif kind == "float":
                values = [data.draw(st.floats()) for _ in rows]
            elif kind == "ts":
                values = [data.draw(st.datetimes() | st.none()) for _ in rows]
            elif kind == "bool":
                values = [data.draw(st.booleans() | st.none()) for _ in rows]
            arrays[name] = pa.array(values)
        path = shop.path(".parquet")
        pq.write_table(pa.table(arrays) if arrays else pa.table({"x": pa.array([])}), path)
        _check_load(shop.ws, table, path, len(rows) if arrays else None)

    return run


test_fuzzed_csv_files = _fuzz_csv(FAST)
test_fuzzed_jsonl_files = _fuzz_jsonl(FAST)
test_fuzzed_parquet_files = _fuzz_parquet(FAST)
test_fuzzed_csv_files_long = pytest.mark.slow(_fuzz_csv(SLOW))
test_fuzzed_jsonl_files_long = pytest.mark.slow(_fuzz_jsonl(SLOW))
test_fuzzed_parquet_files_long = pytest.mark.slow(_fuzz_parquet(SLOW))
