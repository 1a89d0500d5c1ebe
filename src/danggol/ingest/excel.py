"""Read Excel workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) as pieces of text columns.

Read with python-calamine (Rust's calamine): one reader for every Excel format, the old
binary .xls that SmartStore-era tools still write included, several times faster than
openpyxl, and without formulas being evaluated or macros run. calamine holds one sheet's
cells in memory while it is read (not the whole workbook; strings are shared); rows are
then handed over ``EXCEL_ROWS`` at a time, so the text columns built from them stay small.

Cells become the text a CSV export of the sheet would hold: a date cell its ISO form
(``2025-06-01 14:15:00``: local time in the workspace zone, like any naive time), a whole
number without ``.0``, a boolean true/false. The header row is the first of the top rows
that fills at least half as many cells as the fullest of them (title rows above the table,
as some admin exports have, are skipped), or the row given with ``--header-row N`` (the
row number Excel shows). Each data row keeps its Excel row number as its line.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from danggol.errors import InputFileError
from danggol.ingest.readers import RawFile

#: data rows turned into one piece of text columns at a time
EXCEL_ROWS = 100_000
#: how many top rows are looked at to find the header row
HEADER_SCAN = 30


def _open(path: Path):
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own errors and plain ones for a bad zip
        raise InputFileError(
            f"{path} is not a readable Excel workbook ({type(exc).__name__}: {exc}). Save it "
            "again from Excel as .xlsx, or export the sheet as CSV."
        ) from exc


def sheet_names(path: Path) -> list[str]:
    return list(_open(path).sheet_names)


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
    data = book.get_sheet_by_name(sheet)
    source = f"{path}#{sheet}"
    first_row = data.start[0] + 1 if data.start else 1  # the Excel row of the first cell
    rows = data.iter_rows()
    top: list[list[object]] = []
    for row in rows:
        top.append(row)
        if len(top) >= HEADER_SCAN:
            break
    at = _header_index(top, header_row, first_row, source)
    if at is None:
        raise InputFileError(f"{source} is empty: no header row with column names")
    names_row = _header_names(top[at], source, first_row + at)
    width = len(names_row)
    pending = top[at + 1 :]
    line = first_row + at + 1
    yielded = False
    for piece_rows in _batches(pending, rows):
        table, lines = _piece(piece_rows, names_row, width, line)
        line += len(piece_rows)
        if table.num_rows or not yielded:
            yielded = True
            yield RawFile(source, "excel", None, table, lines)
    if not yielded:
        empty = pa.table({n: pa.array([], pa.string()) for n in names_row})
        yield RawFile(source, "excel", None, empty, np.arange(1, 1))


def _batches(pending: list[list[object]], rows: Iterator[list[object]]) -> Iterator[list]:
    batch = list(pending)
    for row in rows:
        batch.append(row)
        if len(batch) >= EXCEL_ROWS:
            yield batch
            batch = []
    yield batch


def _filled(row: list[object]) -> int:
    # list.count runs in C: a million rows of sixty cells are counted in a blink
    return len(row) - row.count("") - row.count(None)


def _header_index(
    top: list[list[object]], header_row: int | None, first_row: int, source: str
) -> int | None:
    if header_row is not None:
        at = header_row - first_row
        if header_row < 1 or not 0 <= at < len(top) or not _filled(top[at]):
            raise InputFileError(
                f"{source}: row {header_row} is not a header row (empty or outside the first "
                f"{HEADER_SCAN} rows of the table, which starts at row {first_row})"
            )
        return at
    counts = [_filled(r) for r in top]
    if not counts or max(counts) == 0:
        return None
    need = max(2, (max(counts) + 1) // 2) if max(counts) > 1 else 1
    return next(i for i, n in enumerate(counts) if n >= need)


def _header_names(row: list[object], source: str, excel_row: int) -> list[str]:
    names = [_cell_text(v).strip() for v in row]
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


def _piece(
    rows: list[list[object]], names: list[str], width: int, first_line: int
) -> tuple[pa.Table, np.ndarray]:
    """Text columns of the non-blank rows, and the Excel row number of each."""
    keep = [i for i, r in enumerate(rows) if _filled(r)]
    kept = rows if len(keep) == len(rows) else [rows[i] for i in keep]
    # transposed in C (zip), each column then handed to Arrow whole when it is all text
    columns = list(itertools.islice(itertools.zip_longest(*kept, fillvalue=None), width))
    columns += [(None,) * len(kept)] * (width - len(columns))
    lines = np.asarray(keep, dtype=np.int64) + first_line
    arrays = [_text_column(c) for c in columns]
    return pa.table(dict(zip(names, arrays, strict=True))), lines


def _text_column(values: tuple[object, ...]) -> pa.Array:
    try:  # the common case: a column of text cells (calamine gives '' for an empty one)
        return pa.array(values, pa.string(), from_pandas=False).fill_null("")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_cell_text(v) for v in values], pa.string())


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
