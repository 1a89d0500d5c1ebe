"""Read CSV, Parquet and JSON Lines files into Arrow tables of text, with line numbers.

Every data row keeps the line it came from so a quarantined row can be found in the
source file. Rows the file format itself cannot read (a CSV row with too many or too
few fields, a JSON line that is not an object) come back as ``rejects`` with a reason;
they are quarantined by the loader, never dropped.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from danggol.errors import InputFileError

FORMATS = ("csv", "parquet", "jsonl")
#: encodings tried in order when none is given; CP949 is a superset of EUC-KR
AUTO_ENCODINGS = ("utf-8", "cp949")


@dataclass
class Reject:
    line: int
    reason: str
    text: str


@dataclass
class RawFile:
    """One input file as text columns under its own headers."""

    path: str
    format: str
    encoding: str | None
    table: pa.Table
    #: 1-based line (CSV, JSONL) or row (Parquet) number of each row of ``table``
    lines: np.ndarray
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.rejects)


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if ".jsonl" in suffixes or ".ndjson" in suffixes or ".json" in suffixes:
        return "jsonl"
    if ".csv" in suffixes or ".tsv" in suffixes or ".txt" in suffixes:
        return "csv"
    raise InputFileError(
        f"cannot tell the format of {path.name}: expected a name ending in .csv, .tsv, .txt, "
        ".parquet or .jsonl (JSON Lines). Rename the file or convert it."
    )


def decode_bytes(data: bytes, encoding: str | None, path: str) -> tuple[str, str]:
    """Decode file bytes; return (text, encoding used). A BOM wins over everything."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    candidates = (encoding,) if encoding else AUTO_ENCODINGS
    for enc in candidates:
        try:
            return data.decode(enc, errors="strict"), enc
        except LookupError as exc:
            raise InputFileError(
                f"unknown encoding {enc!r}: use a Python codec name such as utf-8, cp949 or euc-kr"
            ) from exc
        except UnicodeDecodeError as exc:
            if encoding:
                raise InputFileError(
                    f"{path} is not valid {enc}: byte {exc.start} cannot be decoded ({exc.reason}). "
                    "Check the file's encoding and pass it with --encoding."
                ) from exc
    raise InputFileError(
        f"{path} is neither UTF-8 nor CP949/EUC-KR text. Pass its encoding with --encoding "
        "(for example --encoding latin-1)."
    )


def read_file(path: str | Path, *, encoding: str | None = None, fmt: str | None = None) -> RawFile:
    """Read one input file; raise InputFileError when the file as a whole cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"no file at {path}: give the path of a CSV, Parquet or JSONL file")
    fmt = fmt or detect_format(path)
    if fmt == "parquet":
        return _read_parquet(path)
    text, used = decode_bytes(path.read_bytes(), encoding, str(path))
    if fmt == "jsonl":
        return _read_jsonl(path, text, used)
    return _read_csv(path, text, used)


def _read_parquet(path: Path) -> RawFile:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{path} is not a readable Parquet file: {exc}") from exc
    return RawFile(str(path), "parquet", None, table, np.arange(1, table.num_rows + 1))


def _header(text: str, delimiter: str, path: Path) -> list[str]:
    try:
        first = next(
            csv.reader(io.StringIO(text[: text.find("\n") + 1 or None]), delimiter=delimiter), []
        )
    except csv.Error as exc:
        raise InputFileError(f"{path}: the header row is not valid CSV ({exc})") from exc
    names = [h.strip() for h in first]
    if not names or all(not n for n in names):
        raise InputFileError(f"{path} has no header row: the first line must name the columns")
    blank = [i + 1 for i, n in enumerate(names) if not n]
    if blank:
        raise InputFileError(f"{path}: header column(s) {blank} have no name; name every column")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputFileError(f"{path}: the header repeats {dupes}; each column needs its own name")
    return names


def _read_csv(path: Path, text: str, encoding: str) -> RawFile:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    if "\r" in text and "\n" not in text:  # old Mac (Excel) line endings
        text = text.replace("\r", "\n")
    names = _header(text, delimiter, path)
    data = text.encode("utf-8")
    fast = _read_csv_fast(data, names, delimiter)
    if fast is not None:
        return RawFile(str(path), "csv", encoding, fast, np.arange(2, fast.num_rows + 2))
    return _read_csv_exact(path, text, names, delimiter, encoding)


def _read_csv_fast(data: bytes, names: list[str], delimiter: str) -> pa.Table | None:
    """Arrow's multi-threaded reader, used when every row is exactly one line.

    Returns None when line numbers could not be told exactly (a row Arrow had to skip,
    a blank line, a value with a line break): the exact reader then takes over.
    """
    problems: list[object] = []

    def on_invalid(row: object) -> str:
        problems.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None
    newlines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if problems or table.num_rows != newlines - 1:
        return None
    return table


def _read_csv_exact(
    path: Path, text: str, names: list[str], delimiter: str, encoding: str
) -> RawFile:
    # the csv module refuses a field over 128 KiB by default; a value can be as long as the file
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)
    columns: list[list[str]] = [[] for _ in names]
    lines: list[int] = []
    rejects: list[Reject] = []
    start = reader.line_num + 1
    try:
        for row in reader:
            if row and len(row) == len(names):
                for col, value in zip(columns, row, strict=True):
                    col.append(value)
                lines.append(start)
            elif row:
                rejects.append(
                    Reject(
                        start,
                        f"row has {len(row)} fields but the header has {len(names)}",
                        delimiter.join(row)[:1000],
                    )
                )
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputFileError(f"{path}, line {reader.line_num}: not valid CSV ({exc})") from exc
    table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)})
    return RawFile(str(path), "csv", encoding, table, np.asarray(lines, dtype=np.int64), rejects)


def _read_jsonl(path: Path, text: str, encoding: str) -> RawFile:
    records: list[dict[str, object]] = []
    lines: list[int] = []
    rejects: list[Reject] = []
    # only \n ends a line: str.splitlines() would also split on U+2028 inside JSON strings
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            rejects.append(
                Reject(number, f"not valid JSON ({exc.msg} at column {exc.colno})", line[:1000])
            )
            continue
        if not isinstance(value, dict):
            rejects.append(Reject(number, "a JSON line must be an object {...}", line[:1000]))
            continue
        records.append(value)
        lines.append(number)
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    table = pa.table(
        {n: pa.array([_as_text(r.get(n)) for r in records], pa.string()) for n in names}
    )
    if not names and not rejects:
        raise InputFileError(f"{path} has no JSON objects: expected one JSON object per line")
    return RawFile(str(path), "jsonl", encoding, table, np.asarray(lines, dtype=np.int64), rejects)


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
