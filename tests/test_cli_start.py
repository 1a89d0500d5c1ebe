"""The CLI starts light: no engine, no statistics and no web stack at import or for --help.

Each check runs in a fresh interpreter (a subprocess), since this test process has long imported
everything. The speed itself is measured by bench/bench_start.py (docs/benchmarks.md), not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
#: packages a command may load in its body, never at the CLI's start
HEAVY = ("ibis", "duckdb", "scipy", "sklearn", "fastapi", "uvicorn", "numpy", "pyarrow", "yaml")


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\n"
        "sys.stdout.write(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    return sorted(loaded & set(HEAVY))


def test_cli_import_loads_no_heavy_package():
    assert _loaded_after("import danggol.cli.main") == []


def test_package_import_loads_no_heavy_package():
    assert _loaded_after("import danggol") == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["segment", "--help"],
        ["segment", "count", "--help"],
        ["predict", "backtest", "--help"],
        ["campaign", "create", "--help"],
        ["analytics", "cohorts", "--help"],
    ],
)
def test_help_loads_no_heavy_package(argv):
    code = (
        "import sys\nfrom danggol.cli.main import app\n"
        f"try:\n    app({argv!r}, prog_name='danggol')\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code) == []


def test_version_is_the_installed_one():
    from importlib.metadata import version

    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-m", "danggol.cli.main", "--version"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert done.stdout.strip() == f"danggol {version('danggol')}"


def test_workspace_env_var_is_the_stores():
    from danggol.cli.options import ENV_VAR
    from danggol.store.workspace import ENV_VAR as STORE_ENV_VAR

    assert ENV_VAR == STORE_ENV_VAR


def test_choices_are_the_librarys():
    """The help texts' vocabularies (danggol.choices) are the ones the library checks against."""
    from danggol import choices
    from danggol.predict.backtest import MODELS

    assert tuple(MODELS) == choices.BACKTEST_MODELS
