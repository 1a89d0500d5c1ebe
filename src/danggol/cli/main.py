"""The ``danggol`` command. Thin: parse, call one library function, format the result.

The root group (``LazyRoot``) finds each top-level command in the table ``COMMANDS`` and imports
its module only when that command runs; a command module imports only ``cli/options.py`` (never
this module), so the imports run one way: main → commands → options. Every command imports the
library inside its body: ``danggol --help`` and the start of every command load no engine
(tests/test_cli_start.py; the CPU it costs: bench/bench_start.py, docs/benchmarks.md).
"""

from __future__ import annotations

import inspect
import sys
from difflib import get_close_matches
from importlib import import_module
from pathlib import Path
from typing import Any

import typer
import typer.core
from rich.markup import escape

from danggol.cli.options import CliContext, WorkspaceOpt, err, out, print_json
from danggol.errors import DanggolError, error_info

#: every top-level name → (module in danggol.cli, its Typer app). A name whose app is the
#: module's ``app`` is one of that app's commands; any other app is a group under that name.
#: In the order of the help's list: the foundation, segments, scores, analyses, outputs,
#: activation. A module is imported only when its command runs or the root's help is shown.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("commands", "app"),
    "ingest": ("commands", "app"),
    "quarantine": ("commands", "app"),
    "profile": ("commands", "app"),
    "demo": ("commands", "app"),
    "backup": ("commands", "app"),
    "restore": ("commands", "app"),
    "doctor": ("commands", "app"),
    "segment": ("segments", "segment_app"),
    "refresh": ("segments", "app"),
    "rfm": ("scores", "app"),
    "lifecycle": ("scores", "lifecycle_app"),
    "grades": ("scores", "grades_app"),
    "analytics": ("analytics", "analytics_app"),
    "report": ("report", "app"),
    "predict": ("predict", "predict_app"),
    "serve": ("serve", "app"),
    "export": ("activation", "app"),
    "webhooks": ("activation", "webhooks_app"),
    "campaign": ("activation", "campaign_app"),
    "schedule": ("activation", "schedule_app"),
}


def _typer_app(name: str) -> typer.Typer:
    module, attr = COMMANDS[name]
    found: typer.Typer = getattr(import_module(f"danggol.cli.{module}"), attr)
    return found


def _summary(name: str) -> str:
    """The first paragraph of a top-level name's help, on one line (what the root's help
    lists; a docstring's line breaks would show as breaks mid-sentence)."""
    return " ".join(_help(name).split("\n\n")[0].split())


def _help(name: str) -> str:
    """The help of a top-level name as its own command or group would show it, read from the
    Typer app without building its options."""
    sub = _typer_app(name)
    if COMMANDS[name][1] != "app":  # a group: its Typer(help=...) or its callback's docstring
        if isinstance(sub.info.help, str):
            return sub.info.help
        callback = sub.registered_callback.callback if sub.registered_callback else None
        return inspect.getdoc(callback) or ""
    for info in sub.registered_commands:
        callback = info.callback
        if info.name == name or (callback is not None and callback.__name__ == name):
            return info.help or inspect.getdoc(callback) or ""
    raise KeyError(f"danggol.cli.main.COMMANDS names {name!r}, which its module does not define")


class LazyRoot(typer.core.TyperGroup):
    """The root group, loading each command's module when that command is used (Click's
    "lazily loading subcommands" pattern): ``danggol segment count`` imports and builds only
    cli/segments.py; the root's own help reads each name's help without building the options
    of all 46 commands."""

    _listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        if cmd_name not in COMMANDS:
            return None
        if self._listing:  # only the name and the help, for the root's list of commands
            return typer.core.TyperCommand(name=cmd_name, help=_summary(cmd_name))
        if cmd_name not in self.commands:
            built: Any = typer.main.get_group(_typer_app(cmd_name))
            if COMMANDS[cmd_name][1] != "app":
                built.name = cmd_name
            else:  # one command of the module's app
                built = built.commands[cmd_name]
            self.commands[cmd_name] = built
        return self.commands[cmd_name]

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:  # type: ignore[override]
        if args and not args[0].startswith("-") and args[0] not in COMMANDS:
            matches = get_close_matches(args[0], list(COMMANDS))
            hint = f" Did you mean {', '.join(repr(m) for m in matches)}?" if matches else ""
            ctx.fail(f"No such command {args[0]!r}.{hint}")
        return super().resolve_command(ctx, args)

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="danggol",
    help="danggol (단골): customer segmentation for online shops.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyRoot,
)


def command_paths() -> list[list[str]]:
    """Every command's path (``['segment', 'count']``, ``['init']`` …), building every module:
    for tests, docs and benchmarks that walk the whole CLI."""
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        if isinstance(cmd, typer.core.TyperGroup):
            with typer.Context(cmd) as ctx:
                for name in cmd.list_commands(ctx):
                    walk(cmd.get_command(ctx, name), [*path, name])
        else:
            paths.append(path)

    walk(root, [])
    return paths


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
