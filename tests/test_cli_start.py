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
#: and what --help needs no more than the engines: pydantic (Typer 0.29 coerces every option
#: through pydantic, hence typer<0.29 in pyproject.toml)
HELP_HEAVY = (*HEAVY, "pydantic")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nsys.stdout.write(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted({m.split(".")[0] for m in _modules_after(code)} & set(heavy))


def _run_code(argv: list[str]) -> str:
    return (
        "import sys\nfrom danggol.cli.main import app\n"
        f"try:\n    app({argv!r}, prog_name='danggol')\nexcept SystemExit:\n    pass"
    )


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
        ["lifecycle", "shares", "--help"],  # its group's callback runs before the --help
    ],
)
def test_help_loads_no_heavy_package(argv):
    assert _loaded_after(_run_code(argv), HELP_HEAVY) == []


def test_the_client_of_a_running_server_loads_no_heavy_package():
    """A count asked of a running ``danggol serve`` (cli/remote.py) imports only the standard
    library beside the CLI: no engine, no pydantic, no httpx (tests/test_cli_remote.py runs it
    against a real server)."""
    code = "import danggol.cli.segments, danggol.cli.remote"
    assert _loaded_after(code, (*HELP_HEAVY, "httpx", "sqlglot")) == []


def test_a_command_loads_only_its_own_module():
    cli = {m for m in _modules_after(_run_code(["segment", "count", "--help"]))}
    assert {m for m in cli if m.startswith("danggol.cli.")} == {
        "danggol.cli.main",
        "danggol.cli.options",
        "danggol.cli.segments",
    }


def test_the_command_table_names_every_command_once():
    """cli/main.py's COMMANDS (what the lazy root loads) lists every command of every module,
    and the root's help lists each with the first paragraph of the help its own --help shows,
    on one line (a docstring's line breaks showed as breaks mid-sentence)."""
    import inspect

    import typer.main

    from danggol.cli.main import COMMANDS, LazyRoot, _help, _summary, _typer_app, app

    merged = {module for module, attr in COMMANDS.values() if attr == "app"}
    defined = []
    for module in sorted(merged):
        sub = _typer_app(next(n for n, (m, a) in COMMANDS.items() if (m, a) == (module, "app")))
        defined += [i.name or i.callback.__name__ for i in sub.registered_commands]
    listed = [n for n, (_, attr) in COMMANDS.items() if attr == "app"]
    assert sorted(defined) == sorted(listed)
    root = typer.main.get_command(app)
    assert isinstance(root, LazyRoot)
    with typer.Context(root) as ctx:
        for name in COMMANDS:
            built = root.get_command(ctx, name)
            assert built is not None and built.name == name
            assert inspect.cleandoc(built.help or "") == inspect.cleandoc(_help(name))
            assert "\n" not in _summary(name) and _summary(name)
    # a docstring whose first sentence spans two source lines, read by hand
    assert _summary("backup") == (
        "Copy the workspace (store, danggol.toml, saved segments) into a new folder, with a "
        "manifest of row counts and checksums."
    )


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
