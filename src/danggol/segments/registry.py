"""Where segment definitions live: the built-in library and the workspace's ``segments/``.

A saved segment is one YAML file, ``segments/NAME.yaml`` in the workspace, reviewable in git.
A saved segment with a built-in's name overrides it (a shop's tuned copy).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml
from pydantic import ValidationError

from danggol.errors import SegmentError, UnknownSegmentError
from danggol.segments import nodes as n
from danggol.segments.definition import Segment
from danggol.segments.fields import suggest
from danggol.segments.nodes import Node

LIBRARY = Path(__file__).parent / "library"


def load_file(path: Path, *, builtin: bool = False) -> Segment:
    """Read one segment YAML/JSON file; errors name the file and the setting."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SegmentError(f"cannot read the segment file: {exc.strerror}", file=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise SegmentError(
            f"not UTF-8 text (byte {exc.start} cannot be decoded): save the file as UTF-8",
            file=str(path),
        ) from exc
    except yaml.YAMLError as exc:
        raise SegmentError(f"not valid YAML: {exc}", file=str(path)) from exc
    if not isinstance(data, dict):
        raise SegmentError(
            "a segment file is a YAML object with name, title, query …", file=str(path)
        )
    odd = [k for k in data if not isinstance(k, str)]
    if odd:
        raise SegmentError(
            f"every setting name is text (name, title, query …); got {odd[0]!r}: quote it or "
            "remove it",
            file=str(path),
        )
    data.setdefault("name", path.stem)
    data["builtin"] = builtin
    try:
        segment = Segment(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'segment'}: {e['msg']}" for e in exc.errors()
        )
        raise SegmentError(problems, file=str(path)) from exc
    segment.file = str(path)
    return segment


def builtin_segments() -> dict[str, Segment]:
    return {p.stem: load_file(p, builtin=True) for p in sorted(LIBRARY.glob("*.yaml"))}


class Registry:
    """Built-in and saved segments of one workspace."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def saved(self) -> dict[str, Segment]:
        if self.folder is None or not self.folder.is_dir():
            return {}
        files = sorted(
            [*self.folder.glob("*.yaml"), *self.folder.glob("*.yml"), *self.folder.glob("*.json")]
        )
        return {p.stem: load_file(p) for p in files}

    def all(self) -> dict[str, Segment]:
        return {**builtin_segments(), **self.saved()}

    def get(self, name: str) -> Segment:
        segments = self.all()
        if name not in segments:
            raise UnknownSegmentError(
                f"unknown segment '{name}'; 'danggol segment list' shows them",
                suggestion=suggest(name, tuple(segments)),
            )
        return segments[name]

    def tree(self, name: str) -> Node:
        return self.get(name).tree()

    def save(self, segment: Segment, *, overwrite: bool = False) -> Path:
        if self.folder is None:
            raise SegmentError("this workspace has no segments folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{segment.name}.yaml"
        if path.exists() and not overwrite:
            raise SegmentError(
                f"a segment named '{segment.name}' is already saved; pass --replace to overwrite it"
            )
        segment.tree()  # never save a segment that does not parse
        self.check_no_loop(segment)
        data = segment.model_dump(
            exclude={"builtin", "file"}, exclude_none=True, exclude_defaults=False
        )
        if not data.get("params"):
            data.pop("params", None)
        if not data.get("required_params"):
            data.pop("required_params", None)
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=self.folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        return path

    def check_no_loop(self, segment: Segment) -> None:
        """Refuse a segment that reaches itself through ``in_segment`` (directly or through
        others): it could never be evaluated, and every refresh would stop at it. The error
        shows the loop, ``a → b → a``. Segments that are missing or cannot be read yet are
        passed over here (counting them says what is wrong)."""
        segments = {**self.all(), segment.name: segment}

        def refs(name: str) -> list[str]:
            try:
                tree = segments[name].tree()
            except (SegmentError, KeyError):
                return []
            found = []
            for call in n.calls(tree):
                arg = call.arg("")
                if call.name == "in_segment" and isinstance(arg, n.Value):
                    found.append(str(arg.value))
            return found

        # depth-first with an explicit stack (no recursion: chains may be long)
        stack: list[tuple[str, list[str]]] = [(segment.name, [segment.name])]
        done: set[str] = set()
        while stack:
            name, path = stack.pop()
            for ref in refs(name):
                if ref == segment.name:
                    chain = " → ".join([*path, ref])
                    raise SegmentError(
                        f"segment '{segment.name}' would refer to itself: {chain}; "
                        "remove one of the in_segment(…) references"
                    )
                if ref not in done and ref in segments:
                    done.add(ref)
                    stack.append((ref, [*path, ref]))

    def delete(self, name: str) -> None:
        saved = self.saved()
        if name not in saved:
            if name in builtin_segments():
                raise SegmentError(f"'{name}' is a built-in segment and cannot be deleted")
            raise UnknownSegmentError(
                f"no saved segment named '{name}'", suggestion=suggest(name, tuple(saved))
            )
        Path(saved[name].file or "").unlink()
