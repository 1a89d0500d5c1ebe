"""The layers of docs/internals.md hold in the code: no upward import, no cycle between layers.

The layer picture is read from the docs (the first fenced block of docs/internals.md), so the
picture and this test cannot drift apart: a base line (``base: a, b, …``) and one line of
layers left to right (``a → b, c → d``, the packages of one layer separated by commas).
Every ``import`` and ``from … import`` in ``src/danggol`` is walked with :mod:`ast` — lazy
imports inside functions and ``TYPE_CHECKING`` blocks count too — and each is checked:

* an import of a layer to the right of the importer's is upward, and fails;
* within one layer, the packages must not import each other in a cycle;
* every top-level module or package of ``src/danggol`` has a place in the picture;
* no module imports a private name or module (``_x``) of another package;
* nothing inside the package imports the root package (``danggol/__init__.py``, the public
  API on top of everything), except its ``__version__``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "danggol"
DOCS = ROOT / "docs" / "internals.md"


@dataclass(frozen=True)
class Picture:
    base: frozenset[str]
    #: unit (``profile``, ``segments``, ``store.backends`` …) → layer number, left = 0
    layer: dict[str, int]


def read_picture(text: str) -> Picture:
    block = re.search(r"```\n(.*?)```", text, re.S)
    assert block, "docs/internals.md has no fenced layer picture"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    base_line = next(line for line in lines if line.startswith("base:"))
    arrows = next(line for line in lines if "→" in line)
    base = frozenset(u.strip() for u in base_line.removeprefix("base:").split(","))
    layer = {}
    for number, group in enumerate(arrows.split("→")):
        for unit in group.split(","):
            layer[unit.strip()] = number
    return Picture(base, layer)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = all_modules()


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    names: tuple[str, ...] = ()


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every danggol module ``name`` imports; ``from pkg import sub`` resolves to ``pkg.sub``
    when ``sub`` is a module."""
    found = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [
                Import(name, a.name, node.lineno)
                for a in node.names
                if a.name.split(".")[0] == "danggol"
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "danggol":
                continue
            plain = []
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    found.append(Import(name, sub, node.lineno))
                else:
                    plain.append(alias.name)
            if plain:
                found.append(Import(name, target, node.lineno, tuple(plain)))
    return found


def unit_of(module: str, picture: Picture) -> str | None:
    """The picture's unit a module belongs to: the longest dotted prefix named in it
    (``danggol.store.backends`` → ``store.backends``, ``danggol.store.workspace`` → ``store``)."""
    parts = module.split(".")[1:]
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in picture.base or candidate in picture.layer:
            return candidate
    return None


def layer_of(unit: str, picture: Picture) -> int:
    return -1 if unit in picture.base else picture.layer[unit]


def violations(picture: Picture, modules: dict[str, Path], root: Path = ROOT) -> list[str]:
    problems = []
    same_layer_edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name == "danggol":
            continue  # the public API: on top of everything
        here = unit_of(name, picture)
        if here is None:
            problems.append(f"{name} has no place in the layer picture of docs/internals.md")
            continue
        for imp in imports_of(name, path, modules):
            where = f"{path.relative_to(root)}:{imp.line}"
            if imp.imported == "danggol":
                other = tuple(n for n in imp.names if n != "__version__")
                if other:
                    problems.append(f"{where}: {name} imports {other} from the root package")
                continue
            there = unit_of(imp.imported, picture)
            if there is None:
                problems.append(f"{where}: {imp.imported} has no place in the layer picture")
                continue
            if there == here:
                continue
            private = [n for n in (imp.imported.split(".")[-1], *imp.names) if n.startswith("_")]
            if private:
                problems.append(f"{where}: {name} imports private {private} from {there}")
            ours, theirs = layer_of(here, picture), layer_of(there, picture)
            if theirs > ours and here not in picture.base:
                problems.append(
                    f"{where}: {name} ({here}) imports {imp.imported} ({there}): upward"
                )
            elif here in picture.base and there not in picture.base:
                problems.append(f"{where}: base module {name} imports {imp.imported} ({there})")
            elif theirs == ours:
                same_layer_edges.setdefault(here, set()).add(there)
    problems += [
        f"cycle between the packages of one layer: {' → '.join(c)}"
        for c in cycles(same_layer_edges)
    ]
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found = []
    for start in sorted(edges):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(edges.get(node, ())):
                if nxt == start:
                    found.append([*path, start])
                elif nxt not in path and nxt > start:  # each cycle once, from its least node
                    stack.append((nxt, [*path, nxt]))
    return found


def test_the_code_follows_the_layer_picture():
    picture = read_picture(DOCS.read_text(encoding="utf-8"))
    assert violations(picture, MODULES) == []


def test_every_unit_in_the_picture_exists():
    picture = read_picture(DOCS.read_text(encoding="utf-8"))
    for unit in picture.base | picture.layer.keys():
        path = PACKAGE.joinpath(*unit.split("."))
        assert path.is_dir() or path.with_suffix(".py").is_file(), unit


# -- the checker itself, on small made-up packages ---------------------------------------------

PICTURE = "```\nbase: errors\nstore → profile, summary → segments\n```\n"


def make_package(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    modules = {}
    for rel, text in files.items():
        path = tmp_path / "danggol" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        parts = ["danggol", *Path(rel).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


@pytest.fixture
def fake(tmp_path):
    def check(files: dict[str, str]) -> list[str]:
        return violations(read_picture(PICTURE), make_package(tmp_path, files), tmp_path)

    return check


def test_checker_accepts_imports_to_the_left(fake):
    assert (
        fake(
            {
                "errors.py": "",
                "store/__init__.py": "from danggol.errors import X\n",
                "profile.py": "from danggol.store import y\n",
                "segments/__init__.py": "",
                "segments/history.py": "def f():\n    from danggol import profile\n",
            }
        )
        == []
    )


def test_checker_finds_an_upward_lazy_import(fake):
    problems = fake(
        {
            "errors.py": "",
            "store/__init__.py": "def f():\n    from danggol.segments import history\n",
            "segments/__init__.py": "",
            "segments/history.py": "",
        }
    )
    assert (
        len(problems) == 1
        and "upward" in problems[0]
        and "danggol/store/__init__.py:2" in problems[0]
    )


def test_checker_finds_a_base_module_importing_a_layer(fake):
    problems = fake({"errors.py": "import danggol.profile\n", "profile.py": ""})
    assert len(problems) == 1 and "base module danggol.errors" in problems[0]


def test_checker_finds_a_cycle_within_a_layer(fake):
    problems = fake(
        {
            "errors.py": "",
            "profile.py": "from danggol.summary import s\n",
            "summary.py": "from danggol import profile\n",
        }
    )
    assert problems == ["cycle between the packages of one layer: profile → summary → profile"]


def test_checker_finds_unplaced_modules_and_root_imports(fake):
    problems = fake(
        {
            "errors.py": "",
            "__init__.py": "from danggol.profile import p\n__version__ = '1'\n",
            "profile.py": "from danggol import __version__, refresh\n",
            "extra.py": "",
        }
    )
    assert len(problems) == 2
    assert any("danggol.extra has no place" in p for p in problems)
    assert any("('refresh',) from the root package" in p for p in problems)


def test_checker_finds_a_private_import_across_packages(fake):
    problems = fake(
        {
            "errors.py": "",
            "store/__init__.py": "",
            "store/_util.py": "",
            "store/workspace.py": "from danggol.store._util import x\n",
            "profile.py": "from danggol.store._util import x\nfrom danggol.store import _y\n",
        }
    )
    assert len(problems) == 2 and all("imports private" in p for p in problems)
