"""Docs that stay true: every CLI command, query field, function and built-in segment is documented."""

from __future__ import annotations

from pathlib import Path

from danggol.cli.main import command_paths
from danggol.segments.fields import FIELDS, FUNCTIONS
from danggol.segments.registry import builtin_segments

ROOT = Path(__file__).parent.parent
DOCS = "\n".join(
    p.read_text(encoding="utf-8")
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
)


def command_names() -> list[str]:
    return [" ".join(path) for path in command_paths()]


def test_every_cli_command_is_documented():
    # documented = shown as a command line: 'danggol segment count …' or '… -w DIR segment count …'
    undocumented = [
        c for c in command_names() if f" {c} " not in DOCS and f"danggol {c}\n" not in DOCS
    ]
    assert not undocumented, f"commands missing from README/docs: {undocumented}"


def test_every_field_function_and_builtin_is_documented():
    text = DOCS
    missing = [f for f in [*FIELDS, *FUNCTIONS, *builtin_segments()] if f"`{f}`" not in text]
    assert not missing, f"not in docs/segments.md: {missing}"


def test_quick_start_has_exactly_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line for line in block.strip().splitlines() if line.strip()]
    assert len(lines) == 2 and "danggol demo" in lines[0] and "pytest" in lines[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert lines[1].strip() in ci
