"""CLI commands of the foundation: init, ingest, profile, demo, backup, restore."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from danggol.cli.main import (
    AsOfOpt,
    JsonOpt,
    app,
    err,
    open_workspace,
    out,
    print_json,
    rich_table,
    state,
)
from danggol.errors import ConfigError
from danggol.ingest.load import IngestResult, ingest_files
from danggol.outputs.files import FORMATS, write_table
from danggol.schema import TABLES
from danggol.store import backup as backup_mod
from danggol.store.workspace import Workspace, resolve_path


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
    table: Annotated[str, typer.Argument(help="customers | orders | order_items | events")],
    files: Annotated[list[Path], typer.Argument(help="CSV, Parquet or JSON Lines files")],
    preset: Annotated[str | None, typer.Option(help="shopify | korean")] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="YAML file mapping headers and values")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="file encoding (default: detect UTF-8/CP949)")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Load files into the store. Bad rows go to the quarantine with a reason."""
    if table not in TABLES:
        raise ConfigError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    with open_workspace() as ws:
        result = ingest_files(ws, table, files, preset=preset, mapping=mapping, encoding=encoding)
    if json_:
        print_json(result.to_dict())
        return
    show_ingest(result)


def show_ingest(result: IngestResult) -> None:
    rows = [
        (t.table, t.read, t.loaded, t.updated, t.unchanged, t.quarantined)
        for t in result.tables.values()
    ]
    headers = ("table", "read", "loaded", "updated", "unchanged", "quarantined")
    out.print(rich_table(f"ingest batch {result.batch_id}", rows, headers))
    for path, cols in result.ignored_columns.items():
        out.print(f"[dim]{escape(path)}: columns not used: {escape(', '.join(cols))}[/]")
    if result.quarantined:
        out.print(
            f"[yellow]{result.quarantined} row(s) quarantined[/] — see them with "
            "'danggol quarantine' (each has its file, line and reason)"
        )


@app.command()
def quarantine(
    limit: Annotated[int, typer.Option(help="rows to show")] = 20,
    json_: JsonOpt = False,
) -> None:
    """Show quarantined rows with their file, line and reason."""
    with open_workspace() as ws:
        rows = ws.duck.execute(
            "SELECT table_name, source_file, source_line, reason, record FROM quarantine "
            "ORDER BY batch_id DESC, source_file, source_line LIMIT ?",
            [limit],
        ).fetchall()
        total = ws.count("quarantine")
    if json_:
        keys = ("table", "file", "line", "reason", "record")
        print_json({"total": total, "rows": [dict(zip(keys, r, strict=True)) for r in rows]})
        return
    out.print(
        rich_table(
            f"quarantine ({total} rows)", [r[:4] for r in rows], ("table", "file", "line", "reason")
        )
    )


@app.command()
def profile(
    as_of: AsOfOpt = None,
    format: Annotated[str, typer.Option("--format", help="csv | parquet | json")] = "csv",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="file to write (default: stdout)")
    ] = None,
) -> None:
    """Write the customer profile: one row per customer as of a date."""
    from danggol.profile import as_of_date, customer_profile

    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    with open_workspace() as ws:
        day = as_of_date(as_of, ws.config)
        rows = write_table(customer_profile(ws.ibis, day), format, out_file)
    if out_file is not None:
        err.print(f"{rows} customers as of {day} written to {out_file}")


@app.command()
def demo(
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
) -> None:
    """Generate a realistic Korean online shop, load it, and summarise it."""
    from danggol.demo import generate_shop
    from danggol.ingest.load import ingest_tables
    from danggol.summary import shop_summary

    if not 100 <= customers <= 5_000_000:
        raise ConfigError(f"--customers must be between 100 and 5,000,000; got {customers}")
    last_day = dt.date.fromisoformat(end)
    directory = Path(state.workspace or directory) if state.workspace else directory
    ws = Workspace.init(
        directory,
        timezone="Asia/Seoul",
        currency="KRW",
        shop_name="danggol demo shop",
        as_of=last_day.isoformat(),  # its history ends there: the default of every --as-of
    )
    if ws.count("orders") or ws.count("customers"):
        if not replace:
            ws.close()
            raise ConfigError(
                f"{directory} already holds a shop; pass --replace to generate it anew, "
                "or choose another folder"
            )
        ws.close()
        ws.store_path.unlink()
        ws = Workspace.init(directory)
    if ws.config.as_of != last_day.isoformat():
        err.print(
            escape(
                f"note: {directory}/danggol.toml keeps as_of = {ws.config.as_of!r}; set it to "
                f'"{last_day}" for commands without --as-of to see the shop as generated'
            )
        )
    started = time.perf_counter()
    shop = generate_shop(customers, seed=seed, end=last_day)
    generated = time.perf_counter()
    result = ingest_tables(ws, shop, source="demo")
    loaded = time.perf_counter()
    summary = shop_summary(ws, last_day)
    ws.close()
    timings = {
        "generate_s": round(generated - started, 2),
        "load_s": round(loaded - generated, 2),
        "summary_s": round(time.perf_counter() - loaded, 2),
    }
    if json_:
        print_json({"workspace": str(directory), **summary, "ingest": result.to_dict(), **timings})
    else:
        show_summary(directory, summary, result, timings)
    if serve:
        from danggol.cli.serve import serve_workspace
        from danggol.segments.history import refresh

        with Workspace.open(directory) as opened:
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
    dest: Annotated[Path, typer.Argument(help="new folder for the backup")],
    json_: JsonOpt = False,
) -> None:
    """Copy the workspace (store, danggol.toml, saved segments) into a new folder, with a
    manifest of row counts and checksums."""
    info = backup_mod.backup(state.workspace or resolve_path(None), dest)
    if json_:
        print_json(info.to_dict())
        return
    rows = sum(info.tables.values())
    out.print(
        f"backup written to [bold]{escape(str(dest))}[/]: {len(info.tables)} tables, {rows:,} rows"
    )


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="a folder written by 'danggol backup'")],
    replace: Annotated[
        bool, typer.Option("--replace", help="replace the existing workspace at -w")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Restore a backup as the workspace given with -w (a new folder unless --replace)."""
    target = state.workspace or resolve_path(None)
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

    report = run_doctor(state.workspace or resolve_path(None), repair=repair)
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
