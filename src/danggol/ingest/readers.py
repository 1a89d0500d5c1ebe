"""Read CSV, Parquet and JSON Lines files as Arrow tables of text, with line numbers —
a piece at a time, so a file of any size is read in bounded memory.

:func:`read_chunks` yields a file as pieces (:class:`RawFile`) of about ``CHUNK_BYTES`` of
text or ``PARQUET_ROWS`` rows; a small file is one piece. Every data row keeps the line it
came from so a quarantined row can be found in the source file. Rows the file format itself
cannot read (a CSV row with too many or too few fields, a JSON line that is not an object)
come back as ``rejects`` with a reason; they are quarantined by the loader, never dropped.

Text files are cut only at a line break outside any quoted CSV value, and only when the
encoding never uses byte 0x0A inside a character (UTF-8, CP949/EUC-KR, Latin-1, ...); a file
in another encoding (UTF-16, say) is read whole. The encoding is settled for the whole file
before its first piece is parsed, so every piece is decoded the same way: a file whose first
block has Korean (non-ASCII) text that is valid UTF-8 is UTF-8, and a bad byte further on
stops the load with its offset; otherwise every byte is looked at first.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from danggol.errors import InputFileError

#: encodings tried in order when none is given; CP949 is a superset of EUC-KR
AUTO_ENCODINGS = ("utf-8", "cp949")
#: the text read, decoded and parsed at a time; a larger file is read in pieces
CHUNK_BYTES = 16 << 20
#: the rows of a Parquet file read at a time
PARQUET_ROWS = 1_000_000
#: file name endings read as Excel workbooks (fastexcel, i.e. calamine, reads them all)
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
#: encodings (codecs' names) in which byte 0x0A only ever means a line break
_LINE_SAFE = frozenset(
    {
        "utf-8",
        "utf-8-sig",
        "ascii",
        "cp949",
        "euc_kr",
        "iso8859-1",
        "iso8859-15",
        "cp1252",
        "shift_jis",
        "cp932",
        "euc_jp",
        "gbk",
        "gb18030",
        "big5",
    }
)
#: how much of a file is read at a time to detect its encoding or find its line breaks
_BLOCK = 16 << 20


@dataclass
class Reject:
    line: int
    reason: str
    text: str


@dataclass
class RawFile:
    """One input file — or one piece of it — as text columns under the file's headers."""

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
    if suffixes and suffixes[-1] in EXCEL_SUFFIXES:
        return "excel"
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if ".jsonl" in suffixes or ".ndjson" in suffixes or ".json" in suffixes:
        return "jsonl"
    if ".csv" in suffixes or ".tsv" in suffixes or ".txt" in suffixes:
        return "csv"
    raise InputFileError(
        f"cannot tell the format of {path.name}: expected a name ending in .csv, .tsv, .txt, "
        ".xlsx, .xls, .parquet or .jsonl (JSON Lines). Rename the file or convert it."
    )


def _not_valid(path: str, enc: str, exc: UnicodeDecodeError, offset: int = 0) -> InputFileError:
    if enc == "utf-8-sig":
        return InputFileError(
            f"{path} starts with a UTF-8 byte-order mark but is not UTF-8: byte "
            f"{offset + exc.start} cannot be decoded ({exc.reason}). If it is Korean text saved "
            "as CP949/EUC-KR, pass --encoding cp949 (the mark is then skipped)."
        )
    return InputFileError(
        f"{path} is not valid {enc}: byte {offset + exc.start} cannot be decoded ({exc.reason}). "
        "Check the file's encoding and pass it with --encoding."
    )


def _unknown_encoding(enc: str) -> InputFileError:
    return InputFileError(
        f"unknown encoding {enc!r}: use a Python codec name such as utf-8, cp949 or euc-kr"
    )


def _neither(path: str) -> InputFileError:
    return InputFileError(
        f"{path} is neither UTF-8 nor CP949/EUC-KR text. Pass its encoding with --encoding "
        "(for example --encoding latin-1)."
    )


def decode_bytes(data: bytes, encoding: str | None, path: str) -> tuple[str, str]:
    """Decode file bytes; return (text, encoding used). A BOM wins over the guess, not over
    a given ``encoding`` (a CP949 file with a stray UTF-8 BOM, as some tools write)."""
    if data.startswith(codecs.BOM_UTF8) and not (encoding and not _is_utf8(encoding)):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise _not_valid(path, "utf-8-sig", exc, len(codecs.BOM_UTF8)) from exc
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    candidates = (encoding,) if encoding else AUTO_ENCODINGS
    for enc in candidates:
        try:
            return data.decode(enc, errors="strict"), enc
        except LookupError as exc:
            raise _unknown_encoding(enc) from exc
        except UnicodeDecodeError as exc:
            if encoding:
                raise _not_valid(path, enc, exc) from exc
    raise _neither(path)


def _file_encoding(path: Path, encoding: str | None) -> str:
    """The encoding of a whole file, read a block at a time (a BOM wins over everything);
    with none given, the first of ``AUTO_ENCODINGS`` that decodes every byte."""
    with path.open("rb") as f:
        bom = f.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    if bom and not (encoding and not _is_utf8(encoding)):
        return "utf-8-sig"
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise _unknown_encoding(encoding) from exc
        return encoding  # checked piece by piece as the file is decoded
    if _starts_as_utf8(path):
        return "utf-8"
    for enc in AUTO_ENCODINGS:
        decoder = codecs.getincrementaldecoder(enc)(errors="strict")
        try:
            with path.open("rb") as f:
                while block := f.read(_BLOCK):
                    decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return enc
    raise _neither(str(path))


def _starts_as_utf8(path: Path) -> bool:
    """Whether the file's first block has non-ASCII text that is valid UTF-8: then the file
    is UTF-8 (Korean CP949 text is practically never valid UTF-8 over a whole block), and
    the rest is checked as it is parsed — a bad byte further on stops the load with its
    offset, and --encoding — instead of being looked for in a pass over the whole file."""
    with path.open("rb") as f:
        block = f.read(_BLOCK)
    if block.isascii():
        return False  # nothing told yet: a later non-ASCII byte decides
    try:
        codecs.getincrementaldecoder("utf-8")(errors="strict").decode(block)
    except UnicodeDecodeError:
        return False
    return True


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    except LookupError as exc:
        raise _unknown_encoding(encoding) from exc


def _line_safe(encoding: str) -> bool:
    return codecs.lookup(encoding).name in _LINE_SAFE


def _pieces(f: BinaryIO, size: int, quoted: bool) -> Iterator[bytes]:
    """The file's bytes in pieces of about ``size``, each ending at a line break (the last
    one may not). With ``quoted`` (CSV), a cut is made only where the number of '"' since the
    start of the piece is even, i.e. outside a quoted value that spans lines."""
    rest = b""
    while True:
        block = f.read(size)
        if not block:
            if rest:
                yield rest
            return
        rest += block
        cut = rest.rfind(b"\n")
        if quoted and cut >= 0 and rest.count(b'"', 0, cut) % 2:
            # walk back line by line until the quotes before the cut are balanced
            odd = True
            while cut >= 0 and odd:
                previous = rest.rfind(b"\n", 0, cut)
                odd ^= bool(rest.count(b'"', previous + 1, cut) % 2)
                cut = previous
        if cut < 0:
            continue  # no usable line break yet: read on
        yield rest[: cut + 1]
        rest = rest[cut + 1 :]


def read_chunks(
    path: str | Path,
    *,
    encoding: str | None = None,
    fmt: str | None = None,
    chunk_bytes: int | None = None,
    parquet_rows: int | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
) -> Iterator[RawFile]:
    """Read one input file a piece at a time (``chunk_bytes`` of text, ``parquet_rows``
    rows; by default ``CHUNK_BYTES`` and ``PARQUET_ROWS``); raise InputFileError when the
    file as a whole cannot be read — which may happen after some pieces were yielded: the
    loader's transaction then leaves the store as it was."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    parquet_rows = parquet_rows or PARQUET_ROWS
    path = Path(path)
    if not path.is_file():
        raise InputFileError(
            f"no file at {path}: give the path of a CSV, Excel, Parquet or JSONL file"
        )
    fmt = fmt or detect_format(path)
    if fmt == "excel":
        from danggol.ingest.excel import excel_chunks

        yield from excel_chunks(path, sheet=sheet, header_row=header_row)
        return
    if sheet is not None or header_row is not None:
        raise InputFileError(
            f"--sheet and --header-row are for Excel files; {path.name} is {fmt.upper()}"
        )
    if fmt == "parquet":
        yield from _parquet_chunks(path, parquet_rows)
        return
    if path.stat().st_size > chunk_bytes:
        encoding = _file_encoding(path, encoding)
        if _line_safe(encoding):
            yield from _text_chunks(path, fmt, encoding, chunk_bytes)
            return
        # else a line break may be part of a character (UTF-16): the file is read whole
    text, used = decode_bytes(path.read_bytes(), encoding, str(path))
    yield _read_jsonl(path, text, used) if fmt == "jsonl" else _read_csv(path, text, used)


def _text_chunks(path: Path, fmt: str, encoding: str, chunk_bytes: int) -> Iterator[RawFile]:
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    names: list[str] = []
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    keys: dict[str, None] = {}
    if fmt == "jsonl":  # every piece gets the columns of the whole file, in first-seen order
        keys = _jsonl_keys(path, codec, chunk_bytes)
    first_line, offset = 1, 0
    with path.open("rb") as f:
        if f.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8:  # skipped, whatever the encoding
            offset = len(codecs.BOM_UTF8)
        else:
            f.seek(0)
        for piece in _pieces(f, chunk_bytes, quoted=(fmt == "csv")):
            breaks = piece.count(b"\n")
            if fmt == "jsonl":
                text = _decode(piece, codec, path, encoding, offset)
                yield _read_jsonl(path, text, encoding, first_line=first_line, names=keys)
            else:
                counted: int | None = None
                if codec == "utf-8" and (first_line > 1 or breaks):
                    data, counted = piece, breaks  # Arrow reads UTF-8 as it is (and checks it)
                else:
                    text = _decode(piece, codec, path, encoding, offset)
                    if "\r" in text and "\n" not in text:  # old Mac line endings: one piece
                        text = text.replace("\r", "\n")
                    data = text.encode("utf-8")
                if first_line == 1:
                    first = data[: data.find(b"\n") + 1 or None]
                    names = _header(
                        _decode(first, "utf-8", path, encoding, offset), delimiter, path
                    )
                yield _parse_csv(
                    path,
                    data,
                    names,
                    delimiter,
                    encoding,
                    first_line=first_line,
                    offset=offset,
                    breaks=counted,
                )
            first_line += breaks
            offset += len(piece)


def _decode(data: bytes, codec: str, path: Path, encoding: str, offset: int) -> str:
    try:
        return data.decode(codec, errors="strict")
    except UnicodeDecodeError as exc:
        raise _not_valid(str(path), encoding, exc, offset) from exc


def _jsonl_keys(path: Path, codec: str, chunk_bytes: int) -> dict[str, None]:
    keys: dict[str, None] = {}
    with path.open("rb") as f:
        for piece in _pieces(f, chunk_bytes, quoted=False):
            for line in piece.decode(codec, errors="replace").split("\n"):
                if line.strip():
                    try:
                        value = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(value, dict):
                        keys.update(dict.fromkeys(value))
    return keys


def _parquet_chunks(path: Path, rows: int) -> Iterator[RawFile]:
    try:
        parquet = pq.ParquetFile(path)
        first = 1
        batches = parquet.iter_batches(batch_size=rows)
        for batch in batches:
            table = pa.Table.from_batches([batch])
            yield RawFile(
                str(path), "parquet", None, table, np.arange(first, first + table.num_rows)
            )
            first += table.num_rows
        if first == 1:  # no rows: one empty piece with the file's columns
            empty = parquet.schema_arrow.empty_table()
            yield RawFile(str(path), "parquet", None, empty, np.arange(1, 1))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{path} is not a readable Parquet file: {exc}") from exc


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
    """A whole CSV file already decoded."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    if "\r" in text and "\n" not in text:  # old Mac (Excel) line endings
        text = text.replace("\r", "\n")
    names = _header(text, delimiter, path)
    return _parse_csv(path, text.encode("utf-8"), names, delimiter, encoding, first_line=1)


def _parse_csv(
    path: Path,
    data: bytes,
    names: list[str],
    delimiter: str,
    encoding: str,
    *,
    first_line: int,
    offset: int = 0,
    breaks: int | None = None,
) -> RawFile:
    """The rows of ``data`` (UTF-8), which starts at line ``first_line`` (line 1: the header,
    which is skipped) and byte ``offset`` of the file; ``breaks``: its line breaks, if
    already counted."""
    header = first_line == 1
    fast = _read_csv_fast(data, names, delimiter, header, breaks)
    if fast is not None:
        start = first_line + header
        return RawFile(str(path), "csv", encoding, fast, np.arange(start, start + fast.num_rows))
    text = _decode(data, "utf-8", path, encoding, offset)
    return _read_csv_exact(path, text, names, delimiter, encoding, first_line)


def _read_csv_fast(
    data: bytes, names: list[str], delimiter: str, header: bool = True, breaks: int | None = None
) -> pa.Table | None:
    """Arrow's CSV reader, used when every row is exactly one line.

    Returns None when line numbers could not be told exactly (a row Arrow had to skip,
    a blank line, a value with a line break): the exact reader then takes over.
    """
    problems: list[object] = []

    def on_invalid(row: object) -> str:
        problems.append(row)
        return "skip"

    try:
        # one thread: a piece is at most CHUNK_BYTES, and Arrow's threads cost more CPU than
        # they save on it (1M SmartStore lines, 2 cores: 0.95 s CPU against 1.1-2.3 s, and
        # no slower in wall time; docs/benchmarks.md, issue 15)
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=int(header), use_threads=False
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None
    if breaks is None:
        breaks = data.count(b"\n")
    newlines = breaks + (0 if data.endswith(b"\n") else 1)
    if problems or table.num_rows != newlines - int(header):
        return None
    return table


def _read_csv_exact(
    path: Path, text: str, names: list[str], delimiter: str, encoding: str, first_line: int = 1
) -> RawFile:
    # the csv module refuses a field over 128 KiB by default; a value can be as long as the file
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    if first_line == 1:
        next(reader)
    columns: list[list[str]] = [[] for _ in names]
    lines: list[int] = []
    rejects: list[Reject] = []
    shift = first_line - 1
    start = reader.line_num + 1
    try:
        for row in reader:
            if row and len(row) == len(names):
                for col, value in zip(columns, row, strict=True):
                    col.append(value)
                lines.append(start + shift)
            elif row:
                rejects.append(
                    Reject(
                        start + shift,
                        f"row has {len(row)} fields but the header has {len(names)}",
                        delimiter.join(row)[:1000],
                    )
                )
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputFileError(
            f"{path}, line {reader.line_num + shift}: not valid CSV ({exc})"
        ) from exc
    table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)})
    return RawFile(str(path), "csv", encoding, table, np.asarray(lines, dtype=np.int64), rejects)


def _read_jsonl(
    path: Path,
    text: str,
    encoding: str,
    *,
    first_line: int = 1,
    names: dict[str, None] | None = None,
) -> RawFile:
    """The objects of ``text`` (starting at line ``first_line``), as columns ``names`` (by
    default every key seen, in first-seen order)."""
    records: list[dict[str, object]] = []
    lines: list[int] = []
    rejects: list[Reject] = []
    # only \n ends a line: str.splitlines() would also split on U+2028 inside JSON strings
    for number, line in enumerate(text.split("\n"), start=first_line):
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
    whole = names is None
    if names is None:
        names = {}
        for record in records:
            names.update(dict.fromkeys(record))
    table = pa.table(
        {n: pa.array([_as_text(r.get(n)) for r in records], pa.string()) for n in names}
    )
    if whole and not names and not rejects:
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
