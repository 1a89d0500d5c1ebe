"""``danggol segment …`` and ``danggol refresh``: a query or a saved name wherever a segment is."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from danggol.choices import DIALECTS, GOALS
from danggol.cli.options import (
    AsOfOpt,
    JsonOpt,
    LangOpt,
    ListFormatOpt,
    LocalOpt,
    OverwriteOpt,
    ParamOpt,
    TargetArg,
    as_of_day,
    check_lang,
    err,
    listing_format,
    money,
    open_workspace,
    out,
    parse_date,
    parse_params,
    print_items,
    print_json,
    print_listing,
    rich_table,
    show_progress,
    workspace_path,
)
from danggol.errors import ConfigError

#: top-level commands, merged into the root app by cli/main.py
app = typer.Typer()

segment_app = typer.Typer(
    help="Count, list, save, explain and diff segments.", no_args_is_help=True
)


@segment_app.command("count")
def count_cmd(
    ctx: typer.Context,
    target: TargetArg,
    as_of: AsOfOpt = None,
    param: ParamOpt = None,
    json_: JsonOpt = False,
    local: LocalOpt = False,
) -> None:
    """How many customers are in a segment.

    While a 'danggol serve' of the workspace runs, the count is asked of it: the same answer,
    without loading the engine in this process (--local counts here)."""
    from danggol.cli import remote

    day = parse_date(as_of, "--as-of") if as_of is not None else None
    params = parse_params(param)
    answer = None
    if not local:
        query = {"as_of": day.isoformat()} if day is not None else {}
        answer = remote.ask(workspace_path(ctx), {"target": target, "params": params}, query)
    if answer is None:
        from danggol.segments.answers import count_answer

        with open_workspace(ctx) as ws:
            answer = count_answer(ws, target, params, day)
    if json_:
        print_json(answer)
        return
    for warning in answer["warnings"]:
        err.print(f"[yellow]warning:[/] {escape(warning['en'])}", highlight=False)
    whom = "customers and anonymous visitors" if answer["universe"] == "every_id" else "customers"
    out.print(f"{answer['count']:,} {whom} as of {answer['as_of']}")


@segment_app.command("members")
def members_cmd(
    ctx: typer.Context,
    target: TargetArg,
    as_of: AsOfOpt = None,
    param: ParamOpt = None,
    fields: Annotated[str, typer.Option(help="comma-separated profile fields")] = "customer_id",
    format: Annotated[str, typer.Option("--format", help="csv | parquet | json")] = "csv",
    out_file: Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """The customers in a segment, with chosen profile fields."""
    from danggol.outputs.files import FORMATS, write_table
    from danggol.segments import service
    from danggol.segments.fields import FIELDS

    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        tgt = service.target(ws, target, parse_params(param))
        wanted = [f.strip() for f in fields.split(",") if f.strip()]
        table = service.members(ws, tgt, day, fields=wanted)
        columns = [FIELDS[f].column if f in FIELDS else f for f in wanted]
        unknown = [f for f, c in zip(wanted, columns, strict=True) if c not in table.columns]
        if unknown:
            from danggol.activation.exports import CONTACT_FIELDS

            contact = [f for f in unknown if f in CONTACT_FIELDS]
            hint = (
                f". {', '.join(contact)}: contact data, not profile fields — "
                f"danggol export '{target}' --format csv --fields customer_id,"
                f"{','.join(contact)} --out FILE.csv writes them"
                if contact
                else ""
            )
            raise ConfigError(
                f"unknown field(s) {unknown}; the profile has {', '.join(table.columns)}{hint}"
            )
        members = table.select(*columns).order_by("customer_id")
        for warning in service.value_warnings(ws, tgt.tree):  # the list itself is on stdout
            err.print(f"[yellow]warning:[/] {escape(warning['en'])}", highlight=False)
        # a CSV file gets a BOM, so that Excel (Korean Windows) shows 한글 right
        rows = write_table(
            members, format, out_file, excel=out_file is not None, overwrite=overwrite
        )
    if out_file is not None:
        err.print(f"{rows} customers written to {out_file}")


@segment_app.command("save")
def save_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="name: lower-case letters, digits and _")],
    query: Annotated[str | None, typer.Option(help="the condition as a query")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="copy a built-in segment")] = None,
    param: ParamOpt = None,
    title_ko: Annotated[str | None, typer.Option(help="Korean title")] = None,
    title_en: Annotated[str | None, typer.Option(help="English title")] = None,
    description: Annotated[str | None, typer.Option(help="what the segment is for")] = None,
    goal: Annotated[str | None, typer.Option(help=f"one of {', '.join(GOALS)}")] = None,
    replace: Annotated[bool, typer.Option(help="overwrite a saved segment of that name")] = False,
) -> None:
    """Save a segment (from a query, or a built-in with parameters) as segments/NAME.yaml."""
    from danggol.segments import service
    from danggol.segments.definition import Segment

    if (query is None) == (from_ is None):
        raise ConfigError("give exactly one of --query 'QUERY' or --from BUILTIN_NAME")
    with open_workspace(ctx) as ws:
        reg = service.registry(ws)
        if from_ is not None:
            base = reg.get(from_).with_params(**parse_params(param))
            data = base.model_dump(exclude={"builtin", "file"})
            data["name"] = name
        else:
            data = {"name": name, "query": query}
        title = dict(data.get("title") or {})
        if title_ko:
            title["ko"] = title_ko
        if title_en:
            title["en"] = title_en
        data["title"] = title
        if description:
            data["description"] = {"ko": description, "en": description}
        if goal:
            data["goal"] = goal
        path = reg.save(Segment(**data), overwrite=replace)
    out.print(f"saved {name} to {path}")


@segment_app.command("list")
def list_cmd(
    ctx: typer.Context,
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
    lang: LangOpt = "ko",
) -> None:
    """Built-in and saved segments, grouped by goal, with the last refresh's size."""
    from danggol.segments import history, service

    lang = check_lang(lang)
    with open_workspace(ctx) as ws:
        segments = service.registry(ws).all()
        last: dict[str, dict[str, Any]] = {}
        for row in history.sizes(ws):
            last[str(row["segment"])] = row
    items: list[dict[str, Any]] = [
        {
            "name": s.name,
            "title": s.label(lang),
            "goal": s.goal,
            "builtin": s.builtin,
            "needs": s.missing_params(),
            "size": last.get(s.name, {}).get("size"),
        }
        for s in sorted(segments.values(), key=lambda s: (list(GOALS).index(s.goal), s.name))
    ]
    if (fmt := listing_format(format, json_)) != "table":
        print_items(items, fmt)
        return
    rows = [
        (
            i["name"],
            i["title"],
            GOALS[i["goal"]][0 if lang == "ko" else 1],
            "built-in" if i["builtin"] else "saved",
            "" if i["size"] is None else f"{i['size']:,}",
            ", ".join(i["needs"]),
        )
        for i in items
    ]
    out.print(rich_table("segments", rows, ("name", "title", "goal", "kind", "size", "needs")))


@segment_app.command("show")
def show_cmd(
    ctx: typer.Context,
    target: TargetArg,
    param: ParamOpt = None,
    lang: LangOpt = "ko",
    json_: JsonOpt = False,
) -> None:
    """A segment in plain language (Korean and English) and as a query."""
    from danggol.segments import service
    from danggol.segments.explain import describe

    with open_workspace(ctx) as ws:
        tgt = service.target(ws, target, parse_params(param))
    seg = tgt.segment
    data: dict[str, Any] = {
        "name": tgt.name,
        "title": seg.title if seg else {},
        "goal": seg.goal if seg else None,
        "description": {k: v.format(**(seg.params or {})) for k, v in seg.description.items()}
        if seg
        else {},
        "query": tgt.query,
        "words": {"ko": describe(tgt.tree, "ko"), "en": describe(tgt.tree, "en")},
    }
    if json_:
        print_json(data)
        return
    lang = check_lang(lang)
    if seg:
        out.print(
            f"[bold]{seg.label(lang)}[/] ({seg.name}) — {GOALS[seg.goal][0 if lang == 'ko' else 1]}"
        )
        if data["description"].get(lang):
            out.print(data["description"][lang])
    out.print(f"[dim]{tgt.query}[/]", highlight=False)
    for other in (lang, "en" if lang == "ko" else "ko"):
        out.print("\n".join(data["words"][other]), highlight=False)


@segment_app.command("delete")
def delete_cmd(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="a saved segment")]
) -> None:
    """Delete a saved segment's file (its history stays in the store)."""
    from danggol.segments import service

    with open_workspace(ctx) as ws:
        service.registry(ws).delete(name)
    out.print(f"deleted {name}")


@segment_app.command("sql")
def sql_cmd(
    ctx: typer.Context,
    target: TargetArg,
    as_of: AsOfOpt = None,
    param: ParamOpt = None,
    dialect: Annotated[str, typer.Option(help=", ".join(DIALECTS))] = "duckdb",
) -> None:
    """The SQL of a segment for any engine."""
    from danggol.segments import service

    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        tgt = service.target(ws, target, parse_params(param))
        sql = service.to_sql(ws, tgt, day, dialect)
    typer.echo(sql)


@segment_app.command("explain")
def explain_cmd(
    ctx: typer.Context,
    target: TargetArg,
    customer: Annotated[str, typer.Option(help="customer id")],
    as_of: AsOfOpt = None,
    param: ParamOpt = None,
    lang: LangOpt = "ko",
    json_: JsonOpt = False,
) -> None:
    """Why one customer is in or out: every condition with its value and result."""
    from danggol.segments import service
    from danggol.segments.explain import explain

    lang = check_lang(lang)
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        tgt = service.target(ws, target, parse_params(param))
        result = explain(service.explain_compiler(ws, tgt, day), tgt.tree, customer, lang=lang)
        currency = ws.config.currency
    if json_:
        print_json(result)
        return
    if lang == "ko":
        verdict = "포함" if result["in_segment"] else "제외"
        out.print(f"고객 {escape(customer)} · 기준일 {day}: [bold]{verdict}[/]")
    else:
        verdict = "IN" if result["in_segment"] else "OUT"
        out.print(f"customer {escape(customer)} as of {day}: [bold]{verdict}[/]")
    _print_tree(result["tree"], 0, lang, currency)


#: the words around an explained condition's values, per language
EXPLAIN_WORDS = {
    "ko": {"value": "값", "compared_with": "비교 기준", "none": "없음"},
    "en": {"value": "value", "compared_with": "compared with", "none": "none"},
}


def _print_tree(node: dict[str, Any], depth: int, lang: str, currency: str) -> None:
    from danggol.segments.explain import GROUP_WORDS

    mark = "[green]✓[/]" if node["held"] else "[red]✗[/]"
    pad = "  " * depth
    if "children" in node:
        group = {"all": "All", "any": "AnyOf", "not": "Not"}[node["group"]]
        words = GROUP_WORDS["ko"][group] if lang == "ko" else node["group"].upper()
        out.print(f"{pad}{mark} {words}", highlight=False)
        for child in node["children"]:
            _print_tree(child, depth + 1, lang, currency)
        return
    w = EXPLAIN_WORDS[lang]
    shown = f"{w['value']}: {_shown(node, 'value', lang, currency)}"
    if node["compared_with"] is not None:
        shown += f", {w['compared_with']}: {_shown(node, 'compared_with', lang, currency)}"
    out.print(f"{pad}{mark} {escape(node['words'])}  ({escape(shown)})", highlight=False)


def _shown(node: dict[str, Any], key: str, lang: str, currency: str) -> str:
    """An explained value as the other tables show it: money in the shop's currency without
    decimals for KRW, a code by its name, yes/no, and 'none' for a missing value."""
    from danggol.segments.explain import field_of, is_money, value_name

    value = node[key]
    field = field_of(node.get("condition") or "")
    if value is None:
        return EXPLAIN_WORDS[lang]["none"]
    if isinstance(value, bool):
        return ("예" if value else "아니오") if lang == "ko" else ("yes" if value else "no")
    if isinstance(value, int | float) and is_money(field):
        return money(value, currency)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int | float):
        return f"{value:,}"
    return value_name(field, value, lang) or str(value)


@segment_app.command("diff")
def diff_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a saved segment")],
    from_: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    to: Annotated[str, typer.Option("--to", help="YYYY-MM-DD")],
    json_: JsonOpt = False,
) -> None:
    """Who entered and who left a segment between the refreshes of two dates."""
    from danggol.segments import history

    with open_workspace(ctx) as ws:
        result = history.diff(ws, name, parse_date(from_, "--from"), parse_date(to, "--to"))
    if json_:
        print_json(result)
        return
    out.print(
        f"{name}: {len(result['entered'])} entered, {len(result['left'])} left "
        f"(as of {result['from_as_of']} → {result['to_as_of']})"
    )
    for cid in result["entered"][:50]:
        out.print(f"  + {cid}")
    for cid in result["left"][:50]:
        out.print(f"  - {cid}")


@app.command("refresh")
def refresh_cmd(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    full: Annotated[
        bool, typer.Option("--full", help="rebuild every customer (no incremental refresh)")
    ] = False,
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Materialise the profile and snapshot every saved segment (atomically)."""
    from danggol import pipeline
    from danggol.activation import webhooks
    from danggol.progress import step

    fmt = listing_format(format, json_)
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        with show_progress(fmt != "table"), step("refresh", total=6):
            result = pipeline.refresh(ws, day, full=full)
        # the entered/left changes go to the webhook outbox at once ('webhooks send' delivers)
        queued = webhooks.enqueue(ws) if webhooks.endpoints(ws) else 0
    if print_listing(fmt, result.to_dict(), [asdict(s) for s in result.segments]):
        return
    rows = [(s.segment, f"{s.size:,}", f"+{s.entered:,}", f"-{s.left:,}") for s in result.segments]
    out.print(
        rich_table(
            f"refresh {result.refresh_id} as of {result.as_of} ({result.seconds:.2f} s)",
            rows,
            ("segment", "size", "entered", "left"),
        )
    )
    for name, why in result.skipped.items():
        out.print(f"[yellow]skipped {name}[/]: {why}")
    if result.recomputed is not None:
        out.print(f"incremental: {result.recomputed:,} customers recomputed from new data")
    if queued:
        out.print(f"{queued:,} webhook batches queued: 'danggol webhooks send' delivers them")
