"""The ``danggol`` command. Thin: parse, call one library function, format the result."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from danggol.errors import ConfigError, DanggolError, error_info
from danggol.store.workspace import ENV_VAR, Workspace

app = typer.Typer(
    name="danggol",
    help="danggol (단골): customer segmentation for online shops.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("-w", "--workspace", envvar=ENV_VAR, help="workspace folder (default: current)"),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="up to the end of this day (YYYY-MM-DD) in the shop's time zone; default: as_of in danggol.toml, else today",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]


class State:
    workspace: Path | None = None


state = State()


@app.callback()
def main(workspace: WorkspaceOpt = None) -> None:
    """danggol (단골): customer segmentation for online shops."""
    state.workspace = workspace


def open_workspace() -> Workspace:
    return Workspace.open(state.workspace)


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def run() -> None:
    """Entry point: danggol's own errors become one clear line and exit code 2 — with
    ``--json``, the error as JSON on stdout (``{"error": {"code", "message", …}}``, the API's
    shape) so a script reading stdout sees it; usage errors (a missing option, a bad choice)
    are shown by Typer as usual, also with exit code 2."""
    try:
        app()
    except DanggolError as exc:
        if "--json" in sys.argv[1:]:
            print_json({"error": error_info(exc)})
        else:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


def parse_date(text: str, option: str) -> dt.date:
    """A YYYY-MM-DD option value, or a ConfigError naming the option."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{option} takes a date as YYYY-MM-DD; got {text!r}") from None


def rich_table(title: str, rows: list[tuple[object, ...]], headers: tuple[str, ...]) -> RichTable:
    table = RichTable(title=title, title_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="right" if i else "left")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    return table


# Commands register themselves on ``app`` when their modules are imported.
from danggol.cli import commands, segments, scores, analytics, report, predict, serve, activation  # noqa: E402, F401, I001
