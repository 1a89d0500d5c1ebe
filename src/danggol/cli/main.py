"""The ``danggol`` command. Thin: parse, call one library function, format the result.

The root app is composed here from the command modules (``add_typer``); a command module imports
only ``cli/options.py`` (never this module), so the imports run one way: main → commands →
options. Every command imports the library inside its body: ``danggol --help`` and the start of
every command load no engine (tests/test_cli_start.py, bench/bench_start.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from danggol.cli import activation, analytics, commands, predict, report, scores, segments, serve
from danggol.cli.options import CliContext, WorkspaceOpt, err, out, print_json
from danggol.errors import DanggolError, error_info

app = typer.Typer(
    name="danggol",
    help="danggol (단골): customer segmentation for online shops.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# the order of the help's list: the foundation, segments, scores, analyses, outputs, activation
app.add_typer(commands.app)
app.add_typer(segments.segment_app, name="segment")
app.add_typer(segments.app)
app.add_typer(scores.app)
app.add_typer(scores.lifecycle_app, name="lifecycle")
app.add_typer(scores.grades_app, name="grades")
app.add_typer(analytics.analytics_app, name="analytics")
app.add_typer(report.app)
app.add_typer(predict.predict_app, name="predict")
app.add_typer(serve.app)
app.add_typer(activation.app)
app.add_typer(activation.webhooks_app, name="webhooks")
app.add_typer(activation.campaign_app, name="campaign")
app.add_typer(activation.schedule_app, name="schedule")


def _show_version(value: bool) -> None:
    if value:
        from danggol import __version__

        out.print(f"danggol {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    """danggol (단골): customer segmentation for online shops."""
    ctx.obj = CliContext(workspace=Path(workspace) if workspace is not None else None)


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


if __name__ == "__main__":
    run()
