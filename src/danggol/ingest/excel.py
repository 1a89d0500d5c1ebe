"""Read Excel workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) as pieces of text columns.

Read with fastexcel (Rust's calamine, as python-calamine, but handing the sheet over as Arrow
columns instead of one Python object per cell): one reader for every Excel format, the old
binary .xls included, without formulas being evaluated or macros run, and about twice as
fast as python-calamine's row iterator (docs/benchmarks.md, issue 15). calamine holds one
sheet's cells in memory while it is read (not the whole workbook; strings are shared; it has
no lazy row reader: calamine issue #27, python-calamine issue #42); the text columns are
then handed on ``EXCEL_ROWS`` rows at a time.

Cells become the text a CSV export of the sheet would hold: a date cell its ISO form
(``2025-06-01 14:15:00``: local time in the workspace zone, like any naive time), a whole
number without ``.0``, a boolean true/false. The header row is the first of the top rows
that fills at least half as many cells as the fullest of them (title rows above the table,
as some admin exports have, are skipped), or the row given with ``--header-row N`` (the
row number Excel shows). Each data row keeps its Excel row number as its line; blank rows
are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from danggol.errors import InputFileError
from danggol.ingest.readers import RawFile

#: data rows handed on as one piece of text columns at a time
EXCEL_ROWS = 100_000
#: how many top rows are looked at to find the header row
HEADER_SCAN = 30


def _open(path: Path) -> Any:
    import fastexcel

    try:
        return fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own errors for a bad zip or workbook
        raise InputFileError(
            f"{path} is not a readable Excel workbook ({type(exc).__name__}: {exc}). Save it "
            "again from Excel as .xlsx, or export the sheet as CSV."
        ) from exc


def sheet_names(path: Path) -> list[str]:
    return list(_open(path).sheet_names)


def _sheet_columns(book: Any, sheet: str, source: str) -> list[pa.Array]:
    """Every column of the sheet as text, row i being Excel row i + 1 (none: an empty sheet)."""
    try:
        batch = book.load_sheet(sheet, header_row=None, skip_rows=0, dtypes="string", eager=True)
    except Exception as exc:
        raise InputFileError(
            f"{source} could not be read ({type(exc).__name__}: {exc}). Save it again from "
            "Excel as .xlsx, or export the sheet as CSV."
        ) from exc
    return [c.cast(pa.string()) for c in batch.columns]


def excel_chunks(
    path: Path, *, sheet: str | None = None, header_row: int | None = None
) -> Iterator[RawFile]:
    """The rows of one sheet (the first by default), as pieces of ``EXCEL_ROWS`` rows."""
    book = _open(path)
    names = list(book.sheet_names)
    if not names:
        raise InputFileError(f"{path} has no sheets")
    if sheet is None:
        sheet = names[0]
    elif sheet not in names:
        raise InputFileError(
            f"{path} has no sheet {sheet!r}; its sheets are {names}. Name one with --sheet."
        )
    source = f"{path}#{sheet}"
    columns = _sheet_columns(book, sheet, source)
    del book  # the reader's copy of the sheet goes with it
    height = len(columns[0]) if columns else 0
    top = _rows(columns, 0, min(height, HEADER_SCAN))
    at = _header_index(top, header_row, source)
    if at is None:
        raise InputFileError(f"{source} is empty: no header row with column names")
    names_row = _header_names(top[at], source, at + 1)
    width = len(names_row)
    data = [c.slice(at + 1) for c in columns[:width]]
    data += [pa.nulls(height - at - 1, pa.string())] * (width - len(data))
    del columns
    filled = _filled_rows(data)
    lines = np.flatnonzero(filled) + (at + 2)  # row index i is Excel row i + 1
    yielded = False
    for start in range(0, len(data[0]), EXCEL_ROWS):
        piece = [c.slice(start, EXCEL_ROWS) for c in data]
        keep = filled[start : start + EXCEL_ROWS]
        if not keep.all():
            mask = pa.array(keep)
            piece = [c.filter(mask) for c in piece]
        piece_lines = lines[(lines >= start + at + 2) & (lines < start + at + 2 + EXCEL_ROWS)]
        table = pa.table({n: _empty_for_null(c) for n, c in zip(names_row, piece, strict=True)})
        if table.num_rows or not yielded:
            yielded = True
            yield RawFile(source, "excel", None, table, piece_lines)
    if not yielded:
        empty = pa.table({n: pa.array([], pa.string()) for n in names_row})
        yield RawFile(source, "excel", None, empty, np.arange(1, 1))


def _empty_for_null(column: pa.Array) -> pa.Array:
    """``column`` with '' for every empty cell. When the empty cells take no bytes (as
    fastexcel writes them), that is the same offsets and bytes without the validity bitmap —
    no copy (``fill_null`` copies every value: 0.14 s of CPU per million rows of 60 columns)."""
    if column.null_count == 0:
        return column
    if column.type == pa.string():
        _, offsets, data = column.buffers()
        at = np.frombuffer(offsets, dtype=np.int32)[column.offset : column.offset + len(column) + 1]
        filled = pc.sum(pc.binary_length(column)).as_py() or 0
        if data is not None and int(at[-1]) - int(at[0]) == filled:
            return pa.Array.from_buffers(
                pa.string(), len(column), [None, offsets, data], null_count=0, offset=column.offset
            )
    return column.fill_null("")


def _rows(columns: list[pa.Array], start: int, stop: int) -> list[list[str]]:
    """Rows ``start``..``stop`` as lists of text ('' for an empty cell)."""
    values = [c.slice(start, stop - start).fill_null("").to_pylist() for c in columns]
    return [list(row) for row in zip(*values, strict=True)] if values else []


def _filled_rows(columns: list[pa.Array]) -> np.ndarray:
    """Whether each row has at least one cell that is not empty."""
    if not columns:
        return np.zeros(0, dtype=bool)
    any_value: pa.Array | None = None
    for c in columns:
        has = pc.fill_null(pc.not_equal(c, ""), False)
        any_value = has if any_value is None else pc.or_(any_value, has)
    return np.asarray(any_value, dtype=bool)


def _filled(row: list[str]) -> int:
    return len(row) - row.count("")


def _header_index(top: list[list[str]], header_row: int | None, source: str) -> int | None:
    if header_row is not None:
        at = header_row - 1
        if header_row < 1 or not 0 <= at < len(top) or not _filled(top[at]):
            raise InputFileError(
                f"{source}: row {header_row} is not a header row (empty or outside the first "
                f"{HEADER_SCAN} rows of the sheet)"
            )
        return at
    counts = [_filled(r) for r in top]
    if not counts or max(counts) == 0:
        return None
    need = max(2, (max(counts) + 1) // 2) if max(counts) > 1 else 1
    return next(i for i, n in enumerate(counts) if n >= need)


def _header_names(row: list[str], source: str, excel_row: int) -> list[str]:
    names = [v.strip() for v in row]
    while names and not names[-1]:
        names.pop()  # the sheet's used range may run past the table
    names = [n or f"column {i + 1}" for i, n in enumerate(names)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputFileError(
            f"{source}: the header (row {excel_row}) repeats {dupes}; each column needs its "
            "own name"
        )
    return names
