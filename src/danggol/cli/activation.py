"""``danggol export``, ``webhooks …``, ``campaign …`` and ``schedule …``: activation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from danggol.choices import EXPORT_FORMATS, KPIS
from danggol.cli.options import (
    AsOfOpt,
    JsonOpt,
    ListFormatOpt,
    OverwriteOpt,
    ParamOpt,
    TargetArg,
    as_of_day,
    err,
    listing_format,
    money,
    number,
    open_workspace,
    out,
    parse_date,
    parse_params,
    print_items,
    print_json,
    print_listing,
    rich_table,
)
from danggol.errors import ConfigError

if TYPE_CHECKING:
    from danggol.activation import exports

#: top-level commands, merged into the root app by cli/main.py
app = typer.Typer()

FormatOpt = Annotated[str, typer.Option("--format", help=" | ".join(EXPORT_FORMATS))]
FieldsOpt = Annotated[
    str | None, typer.Option("--fields", help="comma-separated profile or contact fields")
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")]
OptedOutOpt = Annotated[
    bool,
    typer.Option("--include-opted-out", help="keep customers who did not opt in to marketing"),
]
PlatformOpt = Annotated[str, typer.Option("--platform", help="ads list for: google | meta")]
KeepFormulasOpt = Annotated[
    bool,
    typer.Option(
        "--keep-formulas",
        help="write text cells starting with = + - @ as they are (else a leading ' keeps "
        "Excel from running them as formulas)",
    ),
]


def _fields(text: str | None) -> list[str] | None:
    return [f.strip() for f in text.split(",") if f.strip()] if text else None


def _print_export(result: exports.ExportResult, json_: bool) -> None:
    if json_:
        print_json(result.to_dict())
        return
    where = result.out or "stdout"
    err.print(f"{result.written:,} of {result.members:,} members written to {where}")
    if result.holdout_left_out:
        err.print(f"  {result.holdout_left_out:,} left out: campaign holdout")
    for reason, n in result.left_out.items():
        err.print(f"  {n:,} left out: {reason}")


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    target: TargetArg,
    format: FormatOpt = "csv",
    fields: FieldsOpt = None,
    out_file: OutOpt = None,
    include_opted_out: OptedOutOpt = False,
    platform: PlatformOpt = "google",
    as_of: AsOfOpt = None,
    param: ParamOpt = None,
    overwrite: OverwriteOpt = False,
    keep_formulas: KeepFormulasOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Export a segment as a data file (csv, parquet) or a marketing list (esp, sms, ads)."""
    from danggol.activation import exports

    if json_ and out_file is None:
        raise ConfigError("--json prints the summary: give the file with --out FILE")
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        result = exports.export_segment(
            ws,
            target,
            format,
            out_file,
            as_of=day,
            fields=_fields(fields),
            include_opted_out=include_opted_out,
            params=parse_params(param),
            platform=platform,
            overwrite=overwrite,
            keep_formulas=keep_formulas,
        )
    _print_export(result, json_)


# -- webhooks --------------------------------------------------------------------------------------

webhooks_app = typer.Typer(
    help="Send who entered or left a segment to your URLs.", no_args_is_help=True
)


@webhooks_app.command("add")
def webhooks_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a name for the endpoint")],
    url: Annotated[str, typer.Argument(help="http(s) URL that receives the POSTs")],
    secret: Annotated[
        str | None, typer.Option(help="signing secret (default: a new random one)")
    ] = None,
    segment: Annotated[
        list[str] | None, typer.Option("--segment", help="only this segment (repeatable)")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="customers per POST")] = 500,
    json_: JsonOpt = False,
) -> None:
    """Register a URL for segment changes from the next refresh on."""
    from danggol.activation import webhooks

    with open_workspace(ctx) as ws:
        ep = webhooks.add_endpoint(
            ws, name, url, secret=secret, segments=segment, batch_size=batch_size
        )
    if json_:
        print_json({**ep.to_dict(), "secret": ep.secret})
        return
    out.print(f"added {ep.name} → {ep.url}")
    out.print(f"signing secret (keep it; the receiver verifies with it): {ep.secret}")


@webhooks_app.command("list")
def webhooks_list(
    ctx: typer.Context, json_: JsonOpt = False, format: ListFormatOpt = "table"
) -> None:
    """The registered endpoints (secrets not shown)."""
    from danggol.activation import webhooks

    with open_workspace(ctx) as ws:
        items = [
            {k: v for k, v in e.to_dict().items() if k != "secret"} for e in webhooks.endpoints(ws)
        ]
    if (fmt := listing_format(format, json_)) != "table":
        print_items(items, fmt)
        return
    rows = [
        (
            i["name"],
            i["url"],
            ", ".join(i["segments"] or ["all"]),
            i["batch_size"],
            i["last_refresh"],
        )
        for i in items
    ]
    out.print(rich_table("webhooks", rows, ("name", "url", "segments", "batch", "last refresh")))


@webhooks_app.command("remove")
def webhooks_remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="an endpoint name")]
) -> None:
    """Remove an endpoint (its delivery history stays)."""
    from danggol.activation import webhooks

    with open_workspace(ctx) as ws:
        webhooks.remove_endpoint(ws, name)
    out.print(f"removed {name}")


@webhooks_app.command("send")
def webhooks_send(
    ctx: typer.Context,
    wait: Annotated[
        bool, typer.Option(help="wait for retries until every delivery ends (else one pass)")
    ] = True,
    max_attempts: Annotated[int, typer.Option(help="attempts before the dead letter")] = 5,
    base_delay: Annotated[float, typer.Option(help="seconds before the first retry")] = 2.0,
    retry_failed: Annotated[
        bool, typer.Option(help="first put the failed deliveries back in the queue")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Queue the changes of new refreshes and deliver what is pending."""
    from danggol.activation import webhooks

    with open_workspace(ctx) as ws:
        requeued = webhooks.retry_failed(ws) if retry_failed else 0
        queued = webhooks.enqueue(ws)
        result = webhooks.send(ws, max_attempts=max_attempts, base_delay=base_delay, wait=wait)
    data = {"requeued": requeued, "enqueued": queued, **result.to_dict()}
    if json_:
        print_json(data)
        return
    out.print(", ".join(f"{k} {v:,}" for k, v in data.items()))


@webhooks_app.command("status")
def webhooks_status(
    ctx: typer.Context, json_: JsonOpt = False, format: ListFormatOpt = "table"
) -> None:
    """Pending, delivered and failed deliveries per endpoint, and the dead letters."""
    from danggol.activation import webhooks

    fmt = listing_format(format, json_)
    with open_workspace(ctx) as ws:
        data = webhooks.status(ws)
    records = [
        *({"kind": "endpoint", **e} for e in data["endpoints"]),
        *({"kind": "dead_letter", **d} for d in data["dead_letters"]),
    ]
    if print_listing(fmt, data, records):
        return
    rows = [(e["endpoint"], e["pending"], e["delivered"], e["failed"]) for e in data["endpoints"]]
    out.print(rich_table("deliveries", rows, ("endpoint", "pending", "delivered", "failed")))
    if data["dead_letters"]:
        dead = [
            (d["delivery_id"], d["attempts"], d["last_error"], d["failed_at"])
            for d in data["dead_letters"]
        ]
        out.print(rich_table("dead letters", dead, ("delivery", "attempts", "error", "failed at")))


# -- campaigns ------------------------------------------------------------------------------------

campaign_app = typer.Typer(
    help="Campaigns with a holdout, and their measured uplift.", no_args_is_help=True
)


@campaign_app.command("create")
def campaign_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="campaign name")],
    target: TargetArg,
    kpi: Annotated[str, typer.Option(help=" | ".join(KPIS))] = "conversion_rate",
    goal: Annotated[str | None, typer.Option(help="default: the segment's goal")] = None,
    holdout: Annotated[float, typer.Option(help="share held out, e.g. 0.1")] = 0.1,
    seed: Annotated[int, typer.Option(help="seed of the holdout split")] = 0,
    window_days: Annotated[int, typer.Option(help="days of the measurement window")] = 30,
    start: Annotated[
        str | None, typer.Option(help="first day of the window (default: the day after --as-of)")
    ] = None,
    as_of: AsOfOpt = None,
    param: ParamOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Snapshot a segment for a campaign and keep a reproducible holdout out of its export."""
    from danggol.activation import campaigns

    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        made = campaigns.create_campaign(
            ws,
            name,
            target,
            as_of=day,
            kpi=kpi,
            goal=goal,
            holdout_share=holdout,
            seed=seed,
            window_days=window_days,
            window_start=parse_date(start, "--start") if start else None,
            params=parse_params(param),
        )
    if json_:
        print_json(made.to_dict())
        return
    out.print(
        f"campaign {made.name}: {made.treated:,} treated, {made.holdout:,} held out; "
        f"{made.kpi} from {made.window_start} to {made.window_end}"
    )


@campaign_app.command("list")
def campaign_list(
    ctx: typer.Context, json_: JsonOpt = False, format: ListFormatOpt = "table"
) -> None:
    """Every campaign with its segment, KPI, window and group sizes."""
    from danggol.activation import campaigns

    with open_workspace(ctx) as ws:
        items = [c.to_dict() for c in campaigns.campaigns(ws)]
    if (fmt := listing_format(format, json_)) != "table":
        print_items(items, fmt)
        return
    rows = [
        (
            c["name"],
            c["segment"] or c["query"],
            c["goal"],
            c["kpi"],
            f"{c['window_start']} – {c['window_end']}",
            c["treated"],
            c["holdout"],
        )
        for c in items
    ]
    headers = ("name", "segment", "goal", "kpi", "window", "treated", "holdout")
    out.print(rich_table("campaigns", rows, headers))


@campaign_app.command("export")
def campaign_export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="campaign name")],
    format: FormatOpt = "csv",
    fields: FieldsOpt = None,
    out_file: OutOpt = None,
    include_opted_out: OptedOutOpt = False,
    platform: PlatformOpt = "google",
    overwrite: OverwriteOpt = False,
    keep_formulas: KeepFormulasOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Export a campaign's treated members (the holdout is left out)."""
    from danggol.activation import campaigns

    if json_ and out_file is None:
        raise ConfigError("--json prints the summary: give the file with --out FILE")
    with open_workspace(ctx) as ws:
        result = campaigns.export_campaign(
            ws,
            name,
            format,
            out_file,
            fields=_fields(fields),
            include_opted_out=include_opted_out,
            platform=platform,
            overwrite=overwrite,
            keep_formulas=keep_formulas,
        )
    _print_export(result, json_)


def _kpi(value: Any, kpi: str, currency: str) -> str:
    """A KPI value as a person reads it: a rate in %, money in the shop's currency."""
    if value is None:
        return "–"
    if kpi == "conversion_rate":
        return f"{value:.2%}"
    if kpi in ("revenue_per_customer", "aov"):
        return money(value, currency)
    return number(value)


@campaign_app.command("report")
def campaign_report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="campaign name")],
    confidence: Annotated[float, typer.Option(help="confidence level of the interval")] = 0.95,
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Treated against holdout on the KPI: difference, uplift, interval, p-value, revenue."""
    from danggol.activation import campaigns

    fmt = listing_format(format, json_)
    with open_workspace(ctx) as ws:
        rep = campaigns.report(ws, name, confidence)
    data = rep.to_dict()
    records = [
        {"group": g, **data[g], rep.campaign.kpi: data["kpi"][g]} for g in ("treated", "holdout")
    ]
    if print_listing(fmt, data, records):
        return
    c, k = rep.campaign, rep.kpi
    cur = ws.config.currency

    def kpi(value: Any) -> str:
        return _kpi(value, c.kpi, cur)

    out.print(
        f"[bold]{c.name}[/] — {c.kpi}, window {c.window_start} – {c.window_end}"
        + ("" if rep.complete else f" [yellow](still open: orders up to {rep.data_through})[/]")
    )
    rows = [
        (
            g,
            f"{grp.customers:,}",
            f"{grp.buyers:,}",
            f"{grp.orders:,}",
            money(grp.revenue, cur),
            kpi(val),
        )
        for g, grp, val in (
            ("treated", rep.treated, k.treated),
            ("holdout", rep.holdout, k.holdout),
        )
    ]
    out.print(
        rich_table("groups", rows, ("group", "customers", "buyers", "orders", "revenue", c.kpi))
    )
    level = f"{k.confidence:.0%}"
    uplift = "–" if k.relative_uplift is None else f"{k.relative_uplift:.2%}"
    out.print(
        f"difference {kpi(k.difference)} ({level} CI {kpi(k.ci_low)} to "
        f"{kpi(k.ci_high)}), relative uplift {uplift}, "
        f"p = {'–' if k.p_value is None else f'{k.p_value:.4f}'} ({k.test})",
        highlight=False,
    )
    low, high = rep.incremental_revenue_ci
    out.print(
        f"incremental revenue {money(rep.incremental_revenue, cur)} "
        f"({level} CI {money(low, cur)} to {money(high, cur)})"
    )


# -- schedule -------------------------------------------------------------------------------------

schedule_app = typer.Typer(
    help="One scheduled run: ingest new files, refresh, exports, webhooks.", no_args_is_help=True
)


@schedule_app.command("run")
def schedule_run(
    ctx: typer.Context,
    inbox: Annotated[
        Path | None, typer.Option(help="folder with customers/ orders/ order_items/ events/")
    ] = None,
    preset: Annotated[str | None, typer.Option(help="preset for the orders files")] = None,
    export: Annotated[
        list[str] | None,
        typer.Option("--export", help="SEGMENT:FORMAT:PATH, {date} = as-of (repeatable)"),
    ] = None,
    send_webhooks: Annotated[
        bool, typer.Option("--webhooks/--no-webhooks", help="queue and send webhooks")
    ] = True,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="let the --export jobs replace existing files")
    ] = False,
    as_of: AsOfOpt = None,
    json_: JsonOpt = False,
) -> None:
    """ingest → refresh → exports → webhooks; a failed refresh keeps the last snapshot."""
    from danggol.activation import schedule

    jobs = [schedule.ExportJob.parse(j) for j in export or []]
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        result = schedule.run(
            ws,
            day,
            inbox=inbox,
            preset=preset,
            jobs=jobs,
            send_webhooks=send_webhooks,
            overwrite=overwrite,
        )
    if json_:
        print_json(result.to_dict())
    elif result.status == "ok":
        segments = (result.refresh or {}).get("segments", [])  # "ok": the refresh ran
        sizes = ", ".join(f"{s['segment']} {s['size']:,}" for s in segments)
        out.print(f"run {result.run_id} as of {day}: {len(result.files)} new file(s); {sizes}")
        for e in result.exports:
            out.print(f"  exported {e['written']:,} to {e['out']}")
        if result.webhooks:
            out.print(f"  webhooks: {result.webhooks}")
    if result.status != "ok":
        err.print(
            f"[bold red]run {result.run_id} failed:[/] {result.error}\n"
            "the last good snapshot is unchanged"
        )
        raise typer.Exit(1)


@schedule_app.command("runs")
def schedule_runs(
    ctx: typer.Context, json_: JsonOpt = False, format: ListFormatOpt = "table"
) -> None:
    """The latest scheduled runs with their status and error."""
    from danggol.activation import schedule

    with open_workspace(ctx) as ws:
        items = schedule.runs(ws)
    if (fmt := listing_format(format, json_)) != "table":
        print_items(items, fmt)
        return
    rows = [
        (r["run_id"], r["as_of"], r["status"], r["files"], r["refresh_id"], r["error"] or "")
        for r in items
    ]
    out.print(rich_table("runs", rows, ("run", "as of", "status", "files", "refresh", "error")))
