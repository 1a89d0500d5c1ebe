"""Write a table expression to CSV, Parquet or JSON Lines — atomically, and never over what
is not the caller's to replace.

A file is written beside its destination and renamed into place, so a crash never leaves
a half-written file behind. CSV is UTF-8 with a BOM when ``excel=True`` (Excel in Korea
then reads 한글 right); list columns (tags) are written ``;``-separated in CSV.

Where a file may go (:func:`check_destination`):

* never onto a danggol workspace's own files — ``danggol.toml``, the store (``store.duckdb``
  and its ``.wal`` and other ``store.duckdb*`` files) or anything in its ``segments/`` folder
  (a folder of the workspace such as ``exports/`` is fine);
* never onto a folder (the error says to name a file in it);
* onto an existing file only when asked (``overwrite=True``; ``danggol export --overwrite``):
  exports refuse to replace a file by default.

Text cells of a CSV that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
are written with a leading ``'`` (OWASP's rule against CSV formula injection: Excel and
LibreOffice would run ``=HYPERLINK(…)`` as a formula), unless ``keep_formulas=True``.
Numbers are numbers: a negative amount is written as it is.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from danggol.config import CONFIG_FILE, STORE_FILE
from danggol.errors import ConfigError

FORMATS = ("csv", "parquet", "json")
#: the first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection")
FORMULA_START = r"^[=+\-@\t\r]"
#: a workspace's own entries (beside the ``store.duckdb*`` files): never an export's target
WORKSPACE_OWN = (CONFIG_FILE, "segments")


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """``table`` with every text cell that starts like a formula prefixed with ``'``.

    >>> t = pa.table({"name": ["=1+1", "-2+3", "김", None, "010-1234"], "n": [-1, 2, 3, 4, 5]})
    >>> neutralise_formulas(t).to_pydict()["name"]
    ["'=1+1", "'-2+3", '김', None, '010-1234']
    >>> neutralise_formulas(t).to_pydict()["n"]
    [-1, 2, 3, 4, 5]
    """
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            column = table.column(i)
            starts = pc.match_substring_regex(column, FORMULA_START)
            quoted = pc.binary_join_element_wise("'", column, "")
            table = table.set_column(i, field.name, pc.if_else(starts, quoted, column))
    return table


def workspace_file(path: Path) -> Path | None:
    """The workspace folder whose own file (settings, store, saved segments) ``path`` is, or
    None. Symbolic links are followed, so a link to the store counts as the store."""
    target = path.resolve()
    for folder in target.parents:
        if not (folder / CONFIG_FILE).is_file():
            continue
        first = target.relative_to(folder).parts[0]
        if first in WORKSPACE_OWN or first.startswith(STORE_FILE):
            return folder
    return None


def check_destination(out: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """``out`` as a Path, if a file may be written there (see the module's rules); else a
    ConfigError that says why and what to do."""
    path = Path(out)
    if path.is_dir():
        raise ConfigError(
            f"{path} is a folder: give the file to write, such as {path / 'export.csv'}"
        )
    workspace = workspace_file(path)
    if workspace is not None:
        raise ConfigError(
            f"{path} is one of the workspace {workspace}'s own files (its settings, store or "
            "saved segments): write the export somewhere else, such as "
            f"{workspace / 'exports' / path.name}"
        )
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} exists: choose another file, or give --overwrite to replace it")
    return path


def _flatten_lists(table: pa.Table) -> pa.Table:
    for i, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            joined = pc.binary_join(table.column(i), ";")
            table = table.set_column(i, field.name, joined)
    return table


def to_arrow(expr: ir.Table) -> pa.Table:
    return expr.to_pyarrow()


def write_table(
    expr: ir.Table | pa.Table,
    fmt: str,
    out: str | os.PathLike[str] | None,
    *,
    excel: bool = False,
    overwrite: bool = True,
    keep_formulas: bool = False,
) -> int:
    """Write ``expr`` as ``fmt`` to ``out`` (stdout when None, not for parquet); return rows.
    ``overwrite=False`` refuses an existing file; text cells of a CSV that start like a formula
    get a leading ``'`` unless ``keep_formulas``."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and out is None:
        raise ConfigError("parquet is a binary format: give a file with --out FILE.parquet")
    if out is not None:
        check_destination(out, overwrite=overwrite)  # before the work, not after it
    table = expr if isinstance(expr, pa.Table) else to_arrow(expr)
    if fmt == "csv" and not keep_formulas:
        table = neutralise_formulas(_flatten_lists(table))
    if out is None:
        _write(table, fmt, sys.stdout.buffer, excel=excel)
        sys.stdout.flush()
        return table.num_rows
    with atomic_file(out, overwrite=overwrite) as sink:
        _write(table, fmt, sink, excel=excel)
    return table.num_rows


@contextmanager
def atomic_file(out: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[BinaryIO]:
    """A binary file written beside ``out`` and renamed into place when the block ends without
    an error (else removed): readers never see half a file. It gets the usual permissions.
    ``out`` is checked first (:func:`check_destination`)."""
    path = check_destination(out, overwrite=overwrite)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"cannot write {path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as sink:
            yield sink
        os.chmod(tmp, file_mode())
        if overwrite:
            os.replace(tmp, path)
        else:
            _place_new(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _place_new(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` only if no file is there: a file that appeared while the
    export was written is not replaced either (a hard link fails on an existing name)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ConfigError(
            f"{path} appeared while the export was written: choose another file, or give "
            "--overwrite to replace it"
        ) from None
    except OSError:  # a file system without hard links: the check before, then the rename
        if path.exists():
            raise ConfigError(f"{path} exists: choose another file, or give --overwrite") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def file_mode() -> int:
    """The mode a new file gets under the current umask (mkstemp's own files are 0600)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _write(table: pa.Table, fmt: str, sink: object, *, excel: bool) -> None:
    if fmt == "parquet":
        pq.write_table(table, sink)
    elif fmt == "csv":
        if excel:
            sink.write("\ufeff".encode())  # type: ignore[attr-defined]
        pacsv.write_csv(_flatten_lists(table), sink)
    else:
        _write_jsonl(table, sink)


def _write_jsonl(table: pa.Table, sink: object) -> None:
    import duckdb

    con = duckdb.connect()
    try:
        con.register("t", table)
        with tempfile.TemporaryDirectory() as folder:
            target = os.path.join(folder, "out.json")
            con.execute(f"COPY t TO '{target}' (FORMAT json)")
            with open(target, "rb") as src:
                while chunk := src.read(1 << 20):
                    sink.write(chunk)  # type: ignore[attr-defined]
    finally:
        con.close()
