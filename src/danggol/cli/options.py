"""What every ``danggol`` command shares: options, the consoles, the edge's parsers and printers.

Light on purpose: this module and every command module import only the standard library, Typer,
Rich and ``danggol.errors`` at start. A command imports the library (Ibis, DuckDB, SciPy …) inside
its body, so ``danggol --help`` and the start of every command stay fast (docs/benchmarks.md,
tests/test_cli_start.py).

The workspace chosen with ``-w`` lives on Typer's context (``ctx.obj``, set by the root callback
in ``cli/main.py``), not in a global: each command takes ``ctx: typer.Context`` and hands it to
:func:`open_workspace` or :func:`workspace_path`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.table import Table as RichTable

from danggol.errors import ConfigError
from danggol.store.paths import ENV_VAR, resolve_path

if TYPE_CHECKING:
    from danggol.config import WorkspaceConfig
    from danggol.store.workspace import Workspace


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
ListFormatOpt = Annotated[
    str, typer.Option("--format", help="table | csv | json (--json is --format json)")
]
LIST_FORMATS = ("table", "csv", "json")
LangOpt = Annotated[str, typer.Option("--lang", help="labels in ko (한국어) or en")]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="replace the --out file if it exists (else refused)")
]
TargetArg = Annotated[
    str, typer.Argument(help="a saved or built-in segment name, or a query in quotes")
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="NAME=VALUE for a segment's parameter (repeatable)"),
]

#: the environment variable of ``--local``
LOCAL_ENV = "DANGGOL_LOCAL"
LocalOpt = Annotated[
    bool,
    typer.Option(
        "--local",
        envvar=LOCAL_ENV,
        help="count in this process, never asking a running 'danggol serve' of the workspace "
        f"(also {LOCAL_ENV}=1)",
    ),
]


@dataclass
class CliContext:
    """What the root callback learned, kept on Typer's context for the command."""

    workspace: Path | None = None


def cli_context(ctx: typer.Context) -> CliContext:
    """The :class:`CliContext` the root callback put on Typer's context."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, CliContext) else CliContext()


def workspace_path(ctx: typer.Context) -> Path:
    """The workspace folder: ``-w``, else $DANGGOL_WORKSPACE, else the current folder
    (``store.paths``: light, so a routed count does not load the engine)."""
    return resolve_path(cli_context(ctx).workspace)


def open_workspace(ctx: typer.Context) -> Workspace:
    """The workspace of ``-w`` (or $DANGGOL_WORKSPACE, or the current folder), opened."""
    from danggol.store.workspace import Workspace

    return Workspace.open(cli_context(ctx).workspace)


def parse_date(text: str, option: str) -> dt.date:
    """A YYYY-MM-DD option value, or a ConfigError naming the option: the CLI's one date parser."""
    from danggol.dates import read_day

    try:
        return read_day(text)
    except ValueError as exc:
        raise ConfigError(f"{option} takes {exc}") from None


def as_of_day(text: str | None, config: WorkspaceConfig) -> dt.date:
    """``--as-of``: the given day, else the workspace's ``as_of``, else today in its time zone."""
    from danggol.profile import as_of_date

    return as_of_date(parse_date(text, "--as-of") if text is not None else None, config)


def check_lang(value: str) -> str:
    if value not in ("ko", "en"):
        raise ConfigError(f"--lang is ko or en; got {value!r}")
    return value


def split_list(text: str, option: str, *, exactly: int | None = None) -> list[str]:
    """``a,b,c`` → ['a', 'b', 'c'] (blanks dropped), optionally exactly ``exactly`` items."""
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not items or (exactly is not None and len(items) != exactly):
        want = f"exactly {exactly} comma-separated values" if exactly else "comma-separated values"
        raise ConfigError(f"{option} takes {want}; got {text!r}")
    return items


def parse_params(values: list[str] | None) -> dict[str, Any]:
    """``--param NAME=VALUE`` (repeatable) → {name: int, float or text}."""
    params: dict[str, Any] = {}
    for item in values or []:
        if "=" not in item:
            raise ConfigError(f"--param takes NAME=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        params[key.strip()] = _number_or_text(raw.strip())
    return params


def _number_or_text(raw: str) -> Any:
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def number(value: float | int | None) -> str:
    """1,234 for whole numbers, 1,234.56 otherwise, '—' for None."""
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


#: ISO 4217 currencies without minor units (amounts are whole: ₩12,000, not ₩12,000.00)
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
CURRENCY_SIGNS = {"KRW": "₩", "JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£"}


def money(value: float | int | None, currency: str = "KRW") -> str:
    """An amount in the shop's currency: separators always, no decimals where the currency has
    none (KRW), never scientific notation.

    >>> money(1234567.8), money(-500, "KRW"), money(1234.5, "USD"), money(None)
    ('₩1,234,568', '-₩500', '$1,234.50', '—')
    """
    if value is None:
        return "—"
    digits = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    sign = CURRENCY_SIGNS.get(currency)
    text = f"{abs(value):,.{digits}f}"
    text = f"{sign}{text}" if sign else f"{text} {currency}"
    return f"-{text}" if round(value, digits) < 0 else text


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


class _BarReporter:
    """Steps of the library (``danggol.progress``) as tasks of one Rich progress display."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def start(self, label: str, total: float | None) -> Any:
        return self.bar.add_task(label, total=total)

    def advance(self, task: Any, amount: float) -> None:
        self.bar.advance(task, amount)

    def describe(self, task: Any, text: str) -> None:
        # drawn at once: a stage shorter than the display's refresh interval is still named
        self.bar.update(task, description=text, refresh=True)

    def finish(self, task: Any) -> None:
        self.bar.update(task, visible=False)


def progress_wanted(json_: bool = False, console: Console | None = None) -> bool:
    """A progress bar only for a person: stderr is a terminal and no --json."""
    return not json_ and (console or err).is_terminal


@contextmanager
def show_progress(json_: bool = False) -> Iterator[None]:
    """Show the library's long steps as a progress bar on stderr while the block runs —
    none when stderr is not a terminal (a pipe, cron, a test) or with --json."""
    if not progress_wanted(json_):
        yield
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from danggol.progress import reporting

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar, reporting(_BarReporter(bar)):
        yield


def listing_format(format: str, json_: bool = False) -> str:
    """The format of a listing: ``--format`` (table, csv or json), ``--json`` meaning json."""
    if format not in LIST_FORMATS:
        raise ConfigError(f"--format is one of {', '.join(LIST_FORMATS)}; got {format!r}")
    return "json" if json_ else format


def print_items(items: list[dict[str, Any]], format: str) -> None:
    """A listing's rows as JSON (a list of objects) or CSV (a header, then one line per row;
    a list in a cell as "a; b")."""
    if format == "json":
        print_json(items)
        return
    import csv

    keys = list(dict.fromkeys(k for item in items for k in item))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(keys)
    for item in items:
        writer.writerow([_cell(item.get(k)) for k in keys])


def print_listing(fmt: str, payload: object, records: list[dict[str, Any]]) -> bool:
    """Print a listing as JSON (``payload``: what ``--json`` prints) or CSV (``records``: one
    row per item, raw values) and say so; False for ``table``, which the command draws."""
    if fmt == "json":
        print_json(payload)
    elif fmt == "csv":
        print_items(records, "csv")
    return fmt != "table"


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


#: the fewest cells a column of words (TEXT_WIDTH) or of sentences (cells longer than
#: SENTENCE: a reason, an error) is given before a table becomes a list of its rows
TEXT_WIDTH = 12
SENTENCE = 40
SENTENCE_WIDTH = 30
#: a cell that is a figure (a count, ₩1,234, 41.5%, a date, > 10, ≤ 15) or a dash for none
_FIGURE = re.compile(r"[-+<>≤≥=~₩$€£¥\s]*\d|[-–—·]\Z")


def rich_table(
    title: str,
    rows: Sequence[Sequence[object]],
    headers: tuple[str, ...],
    *,
    ids: tuple[int, ...] = (0,),
    console: Console | None = None,
) -> RenderableType:
    """A table whose identifier columns (``ids``: names, customer ids, paths a user types) are
    never cut: they do not wrap and keep their full width; the other columns wrap. When the
    terminal is too narrow for that, each row becomes a short list (``header: value``)."""
    from rich.cells import cell_len
    from rich.text import Text

    cells = [tuple(str(v) for v in row) for row in rows]
    width = (console or out).width
    need = {i: max([cell_len(headers[i]), *(cell_len(r[i]) for r in cells)]) for i in ids}
    numeric = {i: all(_FIGURE.match(r[i]) for r in cells if r[i]) for i in range(len(headers))}
    # borders and padding: 3 cells a column and one more; at least 4 cells for a column of
    # figures, a few words for a column of words, and more for sentences — a reason folded
    # into a 10-cell column cannot be read
    least = sum(need.values()) + 3 * len(headers) + 1
    for i in range(len(headers)):
        if i not in need:
            longest = max([cell_len(headers[i]), *(cell_len(r[i]) for r in cells)])
            words = TEXT_WIDTH if longest <= SENTENCE else SENTENCE_WIDTH
            least += 4 if numeric[i] else min(longest, words)
    if cells and least > width:
        lines = Text(title + "\n", style="bold")
        for row in cells:
            lines.append(" · ".join(row[i] for i in ids) + "\n", style="bold")
            for i, (header, value) in enumerate(zip(headers, row, strict=True)):
                if i not in ids and value:
                    lines.append(f"  {header or '-'}: {value}\n")
        return lines
    table = RichTable(title=title, title_justify="left")
    for i, h in enumerate(headers):
        if i in need:
            table.add_column(h, no_wrap=True, min_width=need[i], overflow="ignore")
        else:  # figures line up on the right; words (a reason, a title, a rule) read from the left
            table.add_column(h, justify="right" if i and numeric[i] else "left", overflow="fold")
    for row in cells:
        table.add_row(*row)
    return table
