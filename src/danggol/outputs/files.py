"""Write a table expression to CSV, Parquet or JSON Lines — atomically.

A file is written beside its destination and renamed into place, so a crash never leaves
a half-written file behind. CSV is UTF-8 with a BOM when ``excel=True`` (Excel in Korea
then reads 한글 right); list columns (tags) are written ``;``-separated in CSV.
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

from danggol.errors import ConfigError

FORMATS = ("csv", "parquet", "json")


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
) -> int:
    """Write ``expr`` as ``fmt`` to ``out`` (stdout when None, not for parquet); return rows."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and out is None:
        raise ConfigError("parquet is a binary format: give a file with --out FILE.parquet")
    table = expr if isinstance(expr, pa.Table) else to_arrow(expr)
    if out is None:
        _write(table, fmt, sys.stdout.buffer, excel=excel)
        sys.stdout.flush()
        return table.num_rows
    with atomic_file(out) as sink:
        _write(table, fmt, sink, excel=excel)
    return table.num_rows


@contextmanager
def atomic_file(out: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file written beside ``out`` and renamed into place when the block ends without
    an error (else removed): readers never see half a file. It gets the usual permissions."""
    path = Path(out)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"cannot write {path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as sink:
            yield sink
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
