"""Fuzzed definition files: segment YAML and ``--mapping`` YAML.

Any document — random YAML values, near-miss segment and mapping files with wrong types,
unknown keys, hostile strings, broken YAML and undecodable bytes — either loads or raises
the one error of its kind (:class:`SegmentError` naming the file, :class:`MappingError`
naming the file), never anything else. The query language itself is fuzzed in
``test_segment_parse.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from danggol.errors import MappingError, SegmentError
from danggol.ingest.load import resolve_mapping
from danggol.ingest.mapping import load_mapping
from danggol.schema import TABLES
from danggol.segments.registry import load_file

EXAMPLES = int(os.environ.get("DANGGOL_FUZZ_EXAMPLES", "60"))

words = st.one_of(
    st.sampled_from(
        [
            "number_of_orders >= 2",
            "amount_spent > -1",
            "'; DROP TABLE orders; --",
            "../../etc/passwd",
            "in_segment('x')",
            "products_purchased(id: 'A') >= 1",
            "null",
            "",
            "regulars",
            "paid",
            "order_id",
            "Order No",
            "%Y-%m-%d",
            "%Q",
        ]
    ),
    st.text(max_size=20),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), words)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=8,
)

segment_docs = st.fixed_dictionaries(
    {},
    optional={
        "name": words,
        "title": st.one_of(values, st.dictionaries(st.sampled_from(["ko", "en", "fr"]), words)),
        "description": values,
        "goal": st.one_of(st.sampled_from(["retention", "vip", "other", "nope"]), values),
        "query": st.one_of(words, values),
        "where": values,
        "params": st.one_of(st.dictionaries(words, scalars, max_size=2), values),
        "required_params": values,
        "extra": values,
    },
)

columns = st.sampled_from([c for t in TABLES.values() for c in t.input_names] + ["nope"])
mapping_docs = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "columns": st.one_of(
                st.dictionaries(columns, st.one_of(words, st.lists(words, max_size=3))), values
            ),
            "values": st.one_of(
                st.dictionaries(columns, st.dictionaries(words, words, max_size=3)), values
            ),
            "group": st.one_of(st.booleans(), values),
            "date_formats": st.one_of(st.lists(words, max_size=3), values),
            "name": values,
        },
    ),
    st.fixed_dictionaries(
        {"tables": st.dictionaries(st.sampled_from([*TABLES, "purchases"]), values, max_size=2)}
    ),
    values,
)

raw_texts = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["a: [", "{x: 1", "- - -", "? ? ?", "!!python/object:os.system ls", "&a *b"]),
)


@contextmanager
def _written(doc: object, raw: str | None, mangle: int) -> Iterator[Path]:
    """The fuzzed file in a temporary folder, removed afterwards (each example its own)."""
    folder = Path(tempfile.mkdtemp(prefix="danggol-fuzz-def-"))
    try:
        yield _write(folder, doc, raw, mangle)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write(folder: Path, doc: object, raw: str | None, mangle: int) -> Path:
    path = folder / "fuzzed.yaml"
    if raw is not None:
        path.write_text(raw, encoding="utf-8")
    else:
        text = yaml.safe_dump(doc, allow_unicode=True)
        data = text.encode()
        if mangle == 1:
            data = b"\xff\xfe" + data  # not UTF-8
        elif mangle == 2:
            data = data[: len(data) // 2]  # cut in half
        path.write_bytes(data)
    return path


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(doc=segment_docs, raw=st.none() | raw_texts, mangle=st.integers(0, 2))
def test_fuzzed_segment_files_load_or_raise_a_segment_error(doc, raw, mangle):
    with _written(doc, raw, mangle) as path:
        try:
            segment = load_file(path)
            segment.tree()  # a loaded definition must also give a tree or a SegmentError
        except SegmentError as exc:
            assert exc.file == str(path) or str(path) in str(exc)


@SETTINGS
@given(doc=mapping_docs, raw=st.none() | raw_texts, mangle=st.integers(0, 2))
def test_fuzzed_mapping_files_load_or_raise_a_mapping_error(doc, raw, mangle):
    with _written(doc, raw, mangle) as path:
        try:
            load_mapping(path, "orders")
            merged, _ = resolve_mapping("orders", mapping=path)  # merged with the plain mapping
            assert "orders" in merged.tables
        except MappingError as exc:
            assert str(path) in str(exc)


# -- found by the fuzz tests above ----------------------------------------------------------------
def test_a_segment_or_mapping_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    """Both raised a bare UnicodeDecodeError (a traceback in the CLI; one stray file broke
    'segment list'); now each is the error of its kind, naming the file (found and fixed)."""
    path = tmp_path / "cp949.yaml"
    path.write_bytes("query: number_of_orders >= 2\ntitle: {ko: 단골}\n".encode("cp949"))
    with pytest.raises(SegmentError, match="UTF-8") as info:
        load_file(path)
    assert info.value.file == str(path)
    with pytest.raises(MappingError, match="UTF-8") as mapping_info:
        load_mapping(path, "orders")
    assert str(path) in str(mapping_info.value)


def test_a_segment_file_with_a_non_text_key_is_a_segment_error(tmp_path):
    """Found by the fuzzer in CI: a YAML key such as `1:` or `null:` reached Segment(**data)
    as a non-string keyword (TypeError)."""
    path = tmp_path / "odd.yaml"
    path.write_text("query: refunds > 0\n1: x\n", encoding="utf-8")
    with pytest.raises(SegmentError, match="every setting name is text"):
        load_file(path)
