"""CLI commands of the foundation: init, ingest, profile, demo, backup, restore."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from danggol.cli.options import (
    AsOfOpt,
    JsonOpt,
    ListFormatOpt,
    OverwriteOpt,
    as_of_day,
    cli_context,
    err,
    listing_format,
    open_workspace,
    out,
    parse_date,
    print_items,
    print_json,
    print_listing,
    rich_table,
    show_progress,
    workspace_path,
)
from danggol.errors import ConfigError

if TYPE_CHECKING:
    from danggol.ingest.load import IngestResult
from rich.markup import escape

#: top-level commands, merged into the root app by cli/main.py
app = typer.Typer()


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="folder to create the workspace in")],
    timezone: Annotated[str, typer.Option(help="IANA time zone of the shop")] = "Asia/Seoul",
    currency: Annotated[str, typer.Option(help="ISO 4217 currency code")] = "KRW",
    shop_name: Annotated[str, typer.Option(help="shown in reports")] = "",
    backend: Annotated[
        str,
        typer.Option(
            help="engine to read the tables from: duckdb (the embedded store) or a URL such as "
            "pyspark://local[2] or 'postgres://user:${PGPASSWORD}@host/db' (docs/backends.md)"
        ),
    ] = "duckdb",
) -> None:
    """Create a workspace: danggol.toml and an empty store (or a link to another engine)."""
    from danggol.store.workspace import Workspace

    ws = Workspace.init(
        directory, timezone=timezone, currency=currency, shop_name=shop_name, backend=backend
    )
    ws.close()
    engine = ws.backend
    where = "" if engine.embedded_store else f", reading from {engine.title}: {ws.config.backend}"
    out.print(
        f"workspace ready at [bold]{directory}[/] "
        f"(time zone {ws.config.timezone}, currency {ws.config.currency}{escape(where)})"
    )


@app.command()
def ingest(
    ctx: typer.Context,
    table: Annotated[
        str, typer.Argument(help="customers | orders | order_items | products | events")
    ],
    files: Annotated[
        list[Path], typer.Argument(help="CSV, Excel (.xlsx/.xls), Parquet or JSON Lines files")
    ],
    preset: Annotated[
        str | None,
        typer.Option(help="smartstore | cafe24 | shopify | woocommerce | korean (docs/ingest.md)"),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="YAML file mapping headers and values")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="file encoding (default: detect UTF-8/CP949)")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="Excel: the sheet to read (default: the first)")
    ] = None,
    header_row: Annotated[
        int | None,
        typer.Option(help="Excel: the row number of the header (default: found)", min=1),
    ] = None,
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Load files into the store. Bad rows go to the quarantine with a reason."""
    from danggol.ingest.load import ingest_files
    from danggol.schema import TABLES

    fmt = listing_format(format, json_)
    if table not in TABLES:
        raise ConfigError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    with open_workspace(ctx) as ws, show_progress(fmt != "table"):
        result = ingest_files(
            ws,
            table,
            files,
            preset=preset,
            mapping=mapping,
            encoding=encoding,
            sheet=sheet,
            header_row=header_row,
        )
    if print_listing(fmt, result.to_dict(), [asdict(t) for t in result.tables.values()]):
        return
    show_ingest(result)


def show_ingest(result: IngestResult) -> None:
    rows = [
        (t.table, t.read, t.loaded, t.updated, t.unchanged, t.duplicates, t.quarantined)
        for t in result.tables.values()
    ]
    headers = ("table", "read", "loaded", "updated", "unchanged", "duplicates", "quarantined")
    out.print(rich_table(f"ingest batch {result.batch_id}", rows, headers))
    for path, cols in result.ignored_columns.items():
        out.print(f"[dim]{escape(path)}: columns not used: {escape(', '.join(cols))}[/]")
    if result.duplicate_rows:
        shown = ", ".join(f"line {d['line']} = {d['same_as']}" for d in result.duplicate_rows[:5])
        more = " …" if len(result.duplicate_rows) > 5 else ""
        out.print(
            f"[yellow]{result.duplicates} exact repeated row(s) counted once[/] "
            f"({escape(shown)}{more})"
        )
    if result.quarantined:
        out.print(
            f"[yellow]{result.quarantined} row(s) quarantined[/] — see them with "
            "'danggol quarantine' (each has its file, line and reason)"
        )


@app.command()
def quarantine(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="rows to show")] = 20,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="write every quarantined row to this CSV (with a BOM)"),
    ] = None,
    overwrite: OverwriteOpt = False,
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Show quarantined rows with their file, line and reason."""
    from danggol.ingest.quarantine import quarantine_table, quarantined
    from danggol.outputs.files import write_table

    with open_workspace(ctx) as ws:
        if out_file is not None:
            written = write_table(
                quarantine_table(ws), "csv", out_file, excel=True, overwrite=overwrite
            )
            err.print(f"{written} quarantined row(s) written to {out_file}")
            return
        found = quarantined(ws, limit)
    fmt = listing_format(format, json_)
    if fmt == "json":
        print_json(found.to_dict())
        return
    if fmt == "csv":
        print_items(found.rows, fmt)
        return
    keys = ("table", "file", "line", "reason")
    out.print(
        rich_table(
            f"quarantine ({found.total} rows)",
            [tuple(r[k] for k in keys) for r in found.rows],
            keys,
            ids=(1,),  # the file's path: whole, to open it
        )
    )


@app.command()
def profile(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    format: Annotated[str, typer.Option("--format", help="csv | parquet | json")] = "csv",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="file to write (default: stdout)")
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Write the customer profile: one row per customer as of a date."""
    from danggol.outputs.files import FORMATS, write_table
    from danggol.profile import customer_profile

    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        # a CSV file gets a BOM, so that Excel (Korean Windows) shows 한글 right
        rows = write_table(
            customer_profile(ws.ibis, day),
            format,
            out_file,
            excel=out_file is not None,
            overwrite=overwrite,
        )
    if out_file is not None:
        err.print(f"{rows} customers as of {day} written to {out_file}")


@app.command()
def demo(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="folder for the demo workspace")] = Path(
        "danggol-demo"
    ),
    customers: Annotated[int, typer.Option(help="number of customers (1,000 – 1,000,000)")] = 5000,
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
    end: Annotated[str, typer.Option(help="last day of the shop's history")] = "2025-06-30",
    replace: Annotated[bool, typer.Option(help="replace a demo workspace that holds data")] = False,
    json_: JsonOpt = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="then refresh it and open the dashboard on 127.0.0.1")
    ] = False,
    port: Annotated[int, typer.Option(help="port of the dashboard (with --serve)")] = 8765,
    format: ListFormatOpt = "table",
) -> None:
    """Generate a realistic Korean online shop, load it, and summarise it."""
    from danggol.demo.workspace import load_demo, open_demo_workspace

    fmt = listing_format(format, json_)
    if not 100 <= customers <= 5_000_000:
        raise ConfigError(f"--customers must be between 100 and 5,000,000; got {customers}")
    last_day = parse_date(end, "--end")
    directory = cli_context(ctx).workspace or directory
    ws, note = open_demo_workspace(directory, last_day, replace=replace)
    if note:
        err.print(escape(note))
    try:
        with show_progress(fmt != "table"):
            made = load_demo(ws, directory, customers, seed=seed, end=last_day)
    finally:
        ws.close()
    records = [{"name": k, "value": v} for k, v in made.summary.items()]
    if not print_listing(fmt, made.to_dict(), records):
        show_summary(directory, made.summary, made.ingest, made.timings)
    if serve:
        from danggol.cli.serve import serve_workspace
        from danggol.pipeline import refresh
        from danggol.progress import step
        from danggol.store.workspace import Workspace

        with Workspace.open(directory) as opened, show_progress(), step("refresh", total=6):
            refresh(opened, last_day)  # the dashboard reads the stored profile
        serve_workspace(Path(directory), "127.0.0.1", port)


def show_summary(
    directory: Path, s: dict[str, object], result: IngestResult, timings: dict[str, float]
) -> None:
    rows = [
        ("customers (고객)", f"{s['customers']:,}"),
        ("anonymous visitors (비회원 방문자)", f"{s['visitors']:,}"),
        ("buyers (구매 고객)", f"{s['buyers']:,}"),
        ("orders (주문)", f"{s['orders']:,}"),
        ("revenue (매출)", f"₩{s['revenue']:,.0f}"),
        ("repeat buyers (재구매율)", f"{s['repeat_rate']:.1%}"),
        ("average order value (객단가)", f"₩{s['aov']:,.0f}"),
        ("top 10% revenue share (상위 10% 매출 비중)", f"{s['top10_share']:.1%}"),
        ("events (행동 이벤트)", f"{s['events']:,}"),
    ]
    out.print(rich_table(f"demo shop as of {s['as_of']}", rows, ("", "")))
    out.print(
        f"loaded {result.loaded:,} rows ({result.quarantined} quarantined) — generated in "
        f"{timings['generate_s']} s, loaded in {timings['load_s']} s"
    )
    out.print(f"next: danggol -w {directory} profile --as-of {s['as_of']} --out profile.csv")


@app.command()
def backup(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(help="new folder for the backup")],
    json_: JsonOpt = False,
) -> None:
    """Copy the workspace (store, danggol.toml, saved segments) into a new folder, with a
    manifest of row counts and checksums."""
    from danggol.store import backup as backup_mod

    info = backup_mod.backup(workspace_path(ctx), dest)
    if json_:
        print_json(info.to_dict())
        return
    rows = sum(info.tables.values())
    out.print(
        f"backup written to [bold]{escape(str(dest))}[/]: {len(info.tables)} tables, {rows:,} rows"
    )


@app.command()
def restore(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="a folder written by 'danggol backup'")],
    replace: Annotated[
        bool, typer.Option("--replace", help="replace the existing workspace at -w")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Restore a backup as the workspace given with -w (a new folder unless --replace)."""
    from danggol.store import backup as backup_mod

    target = workspace_path(ctx)
    info = backup_mod.restore(source, target, replace=replace)
    if json_:
        print_json(info.to_dict())
        return
    out.print(
        f"restored [bold]{escape(str(source))}[/] into [bold]{escape(str(target))}[/] "
        f"({len(info.tables)} tables, {sum(info.tables.values()):,} rows, checksums verified)"
    )


@app.command()
def doctor(
    ctx: typer.Context,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="bring the store back to its last complete state (removes what killed "
            "writers left; an unfinished write is kept only if it replays to a complete state)",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Check the workspace's store (unfinished writes, leftovers, corruption, schema version)
    and say what to do; --repair does what can be done without a backup."""
    from danggol.store.doctor import doctor as run_doctor

    report = run_doctor(workspace_path(ctx), repair=repair)
    if json_:
        print_json(report.to_dict())
    else:
        marks = {
            "ok": "[green]ok[/]",
            "notice": "[cyan]notice[/]",
            "repaired": "[yellow]repaired[/]",
            "problem": "[red]problem[/]",
        }
        for f in report.findings:
            out.print(f"{marks[f.status]}  {escape(f.check)}: {escape(f.detail)}")
    if not report.healthy:
        raise typer.Exit(1)
