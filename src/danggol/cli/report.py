"""``danggol report``: the shop's HTML report (and its figures as PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from danggol.cli.options import (
    AsOfOpt,
    OverwriteOpt,
    as_of_day,
    open_workspace,
    out,
    parse_date,
    show_progress,
)

#: top-level commands, merged into the root app by cli/main.py
app = typer.Typer()


@app.command()
def report(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="the HTML file to write")],
    as_of: AsOfOpt = None,
    compare_to: Annotated[
        str | None,
        typer.Option(
            "--compare-to",
            help="first date of the RFM migration matrix (YYYY-MM-DD); default one month "
            "before --as-of",
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="ko | en")] = "ko",
    overwrite: OverwriteOpt = False,
    png: Annotated[
        Path | None,
        typer.Option("--png", help="also write each figure as DIR/NAME.png (needs Chromium)"),
    ] = None,
    months: Annotated[
        int, typer.Option(help="months of stage shares and of monthly cohorts to show")
    ] = 12,
    diagnostics: Annotated[
        bool,
        typer.Option(
            "--diagnostics/--no-diagnostics",
            help="backtest the purchase model and show its diagnostics",
        ),
    ] = True,
) -> None:
    """Write one self-contained HTML report: RFM grid, lifecycle, concentration, migration,
    cohorts, product affinity and the prediction diagnostics."""
    from danggol.outputs.files import check_destination
    from danggol.outputs.report import check_lang, check_out_path, collect_report, save_report
    from danggol.progress import step

    check_lang(lang)
    check_out_path(out_file)
    check_destination(out_file, overwrite=overwrite)  # before the work, not after it
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        with show_progress(), step("report: figures"):
            data = collect_report(
                ws,
                day,
                compare_to=parse_date(compare_to, "--compare-to") if compare_to else None,
                months=months,
                diagnostics=diagnostics,
            )
    with show_progress(), step("report: write"):
        written = save_report(data, out_file, lang=lang, png=png, overwrite=overwrite)
    for path in written:
        out.print(f"wrote [bold]{escape(str(path))}[/]")
