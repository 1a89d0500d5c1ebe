"""``danggol analytics …``: concentration, cohorts, affinity, migration, what-if, overlap.

Thin: each command reads its options, calls one function of ``danggol.analytics`` and prints
its result as a Rich table, or its ``to_dict()`` with ``--json``. What every number means is
written in the module docstrings of ``src/danggol/analytics/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from danggol.cli.options import (
    AsOfOpt,
    JsonOpt,
    LangOpt,
    ListFormatOpt,
    as_of_day,
    check_lang,
    err,
    listing_format,
    money,
    number,
    open_workspace,
    out,
    parse_date,
    percent,
    print_json,
    print_listing,
    rich_table,
    split_list,
)
from danggol.errors import ConfigError

if TYPE_CHECKING:
    from danggol.analytics import Affinity, Cohorts, Migration, Overlap, WhatIf

analytics_app = typer.Typer(
    help="Shop analyses: revenue concentration, cohorts, product affinity, migration, "
    "what-if and segment overlap.",
    no_args_is_help=True,
)


# --------------------------------------------------------------------------------------
# concentration
# --------------------------------------------------------------------------------------


@analytics_app.command("concentration")
def concentration_cmd(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    top: Annotated[
        str, typer.Option(help="top shares of buying customers, comma-separated")
    ] = "0.01,0.1,0.2",
    points: Annotated[int, typer.Option(help="Lorenz curve points (101 = every percent)")] = 101,
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """How much of the revenue the top 1/10/20% of buyers bring, and the Gini coefficient."""
    from danggol.analytics import concentration

    fmt = listing_format(format, json_)
    tops = tuple(_fraction(t, "--top") for t in split_list(top, "--top"))
    with open_workspace(ctx) as ws:
        result = concentration(ws.ibis, as_of_day(as_of, ws.config), tops=tops, points=points)
        cur = ws.config.currency
    if print_listing(fmt, result.to_dict(), [t.to_dict() for t in result.tops]):
        return
    rows = [
        (
            f"top {t.top:.0%} (상위 {t.top:.0%})",
            f"{t.customers:,}",
            money(t.revenue, cur),
            percent(t.revenue_share),
        )
        for t in result.tops
    ]
    out.print(
        rich_table(
            f"revenue concentration as of {result.as_of}: {result.buyers:,} buyers, "
            f"revenue {money(result.revenue, cur)}",
            rows,
            ("buyers by spend", "customers", "revenue", "revenue share"),
        )
    )
    gini = "—" if result.gini is None else f"{result.gini:.3f}"
    out.print(
        f"Gini (지니 계수) {gini}: 0 = everyone spent the same, near 1 = one customer has it all. "
        "--json adds the Lorenz curve.",
        highlight=False,
    )


def _fraction(text: str, option: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{option} takes fractions such as 0.1 for 10%; got {text!r}") from None


# --------------------------------------------------------------------------------------
# cohorts
# --------------------------------------------------------------------------------------

METRICS = ("retention", "customers", "orders", "revenue")


@analytics_app.command("cohorts")
def cohorts_cmd(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    period: Annotated[str, typer.Option(help="month | quarter | year")] = "month",
    format: Annotated[
        str,
        typer.Option("--format", help="table | csv | json | parquet (csv and up: one row a cell)"),
    ] = "table",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="file for csv/json/parquet (default: stdout)")
    ] = None,
    metric: Annotated[str, typer.Option(help=f"the table's cells: {' | '.join(METRICS)}")] = (
        "retention"
    ),
    offsets: Annotated[
        int, typer.Option(help="at most this many periods in the table (fewer if it is narrow)")
    ] = 12,
    json_: JsonOpt = False,
) -> None:
    """First-purchase cohorts: retention, customers, orders and revenue by period offset."""
    from danggol.analytics import cohorts
    from danggol.outputs.files import FORMATS, write_table

    if format not in ("table", *FORMATS):
        raise ConfigError(f"unknown format {format!r}; choose one of table, {', '.join(FORMATS)}")
    if format == "table" and out_file is not None:
        raise ConfigError("--out writes the cells: give --format csv, json or parquet too")
    if metric not in METRICS:
        raise ConfigError(f"--metric is one of {', '.join(METRICS)}; got {metric!r}")
    if offsets < 1:
        raise ConfigError(f"--offsets must be at least 1; got {offsets}")
    with open_workspace(ctx) as ws:
        result = cohorts(ws.ibis, as_of_day(as_of, ws.config), period)  # type: ignore[arg-type]
    if json_:
        print_json(result.to_dict())
        return
    if format != "table":
        rows = write_table(result.to_table(), format, out_file)
        if out_file is not None:
            err.print(f"{rows} cohort cells written to {out_file}")
        return
    show_cohorts(result, metric, offsets, ws.config.currency)


def show_cohorts(result: Cohorts, metric: str, offsets: int, currency: str) -> None:
    def cell(value: float | None) -> str:
        if value is None:
            return ""
        if metric == "revenue":
            return money(value, currency)
        return f"{value:.0%}" if metric == "retention" else number(value)

    cells = [[cell(v) for v in values] for values in getattr(result, metric)]
    longest = max((len(c) for row in cells for c in row), default=1)
    fits = max(1, (out.width - 20) // (longest + 3))  # what the terminal shows unwrapped
    width = min(offsets, fits, max((len(row) for row in cells), default=0))
    rows = [
        (label, f"{size:,}", *row[:width])
        for label, size, row in zip(result.cohorts, result.sizes, cells, strict=True)
    ]
    table = rich_table(
        f"{metric} by first-purchase {result.period} as of {result.as_of}",
        rows,
        ("cohort", "size", *(f"+{k}" for k in range(width))),
    )  # the cohort column (ids=(0,)) never wraps; a narrow terminal gets the list form
    out.print(table)
    if any(len(row) > width for row in cells):
        out.print(
            f"[dim]offsets +0 to +{width - 1} shown; a wider terminal, --json or "
            "--format csv for all[/]"
        )


# --------------------------------------------------------------------------------------
# affinity
# --------------------------------------------------------------------------------------


@analytics_app.command("affinity")
def affinity_cmd(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    min_support: Annotated[
        float, typer.Option(help="keep rules with at least this support (a fraction)")
    ] = 0.001,
    top: Annotated[int, typer.Option(help="rules of each kind, best lift first")] = 20,
    months: Annotated[
        int | None, typer.Option(help="only the last N months of purchases (default: all time)")
    ] = None,
    save_segment: Annotated[
        str | None,
        typer.Option(help="save the cross-sell segment of --rule under this name instead"),
    ] = None,
    rule: Annotated[
        str | None, typer.Option(help="A,B: product ids, 'bought A lately but not B'")
    ] = None,
    window: Annotated[int, typer.Option(help="months of 'lately' in the saved segment")] = 3,
    replace: Annotated[bool, typer.Option(help="overwrite a saved segment of that name")] = False,
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Products bought together and bought later (support, confidence, lift); or, with
    --save-segment NAME --rule A,B, save 'bought A lately but not B' as a segment."""
    from danggol.analytics import affinity

    if (save_segment is None) != (rule is None):
        raise ConfigError(
            "--save-segment NAME and --rule A,B go together: "
            "danggol analytics affinity --save-segment NAME --rule A,B"
        )
    if save_segment is not None and rule is not None:
        save_cross_sell(ctx, save_segment, rule, window, replace=replace, json_=json_)
        return
    fmt = listing_format(format, json_)
    with open_workspace(ctx) as ws:
        result = affinity(
            ws.ibis, as_of_day(as_of, ws.config), min_support=min_support, top=top, months=months
        )
    records = [
        *({"kind": "together", **r.to_dict()} for r in result.pairs),
        *({"kind": "later", **r.to_dict()} for r in result.sequences),
    ]
    if print_listing(fmt, result.to_dict(), records):
        return
    show_affinity(result)


def save_cross_sell(
    ctx: typer.Context, name: str, rule: str, window: int, *, replace: bool, json_: bool
) -> None:
    from danggol.analytics import cross_sell_query
    from danggol.segments import service
    from danggol.segments.definition import NAME_RE, Segment

    a, b = split_list(rule, "--rule", exactly=2)
    if not NAME_RE.fullmatch(name):
        raise ConfigError(
            f"a segment name is lower-case letters, digits and _, starting with a letter; "
            f"got {name!r}"
        )
    query = cross_sell_query(a, b, window)
    segment = Segment(
        name=name,
        query=query,
        goal="cross_sell",
        title={
            "ko": f"{a} 구매 후 {b} 미구매 (최근 {window}개월)",
            "en": f"Bought {a} but not {b} (last {window} months)",
        },
    )
    with open_workspace(ctx) as ws:
        path = service.registry(ws).save(segment, overwrite=replace)
    if json_:
        print_json({"segment": name, "query": query, "goal": "cross_sell", "file": str(path)})
        return
    out.print(f"saved {name} to {path}", highlight=False)
    out.print(f"[dim]{query}[/]", highlight=False)
    out.print(f"count it with: danggol segment count {name}", highlight=False)


def show_affinity(result: Affinity) -> None:
    since = "all time" if result.since is None else f"since {result.since}"
    for title, rules, unit in (
        ("bought together (함께 구매)", result.pairs, "orders"),
        ("bought later (이후 구매)", result.sequences, "customers"),
    ):
        rows = [
            (
                r.antecedent + (f" {r.antecedent_name}" if r.antecedent_name else ""),
                r.consequent + (f" {r.consequent_name}" if r.consequent_name else ""),
                f"{r.count:,}",
                f"{r.support:.2%}",
                f"{r.confidence:.1%}",
                f"{r.lift:.2f}",
            )
            for r in rules
        ]
        out.print(
            rich_table(
                f"{title}: {len(rules)} rules",
                rows,
                ("A", "B", unit, "support", "confidence", "lift"),
            )
        )
    out.print(
        f"{result.orders:,} orders with lines and {result.customers:,} customers ({since}), "
        f"min support {result.min_support:g}. Save a rule as a segment: "
        "danggol analytics affinity --save-segment NAME --rule A,B",
        highlight=False,
    )


# --------------------------------------------------------------------------------------
# migration
# --------------------------------------------------------------------------------------


@analytics_app.command("migration")
def migration_cmd(
    ctx: typer.Context,
    from_: Annotated[str, typer.Option("--from", help="first as-of date, YYYY-MM-DD")],
    to: Annotated[str, typer.Option("--to", help="second as-of date, YYYY-MM-DD")],
    by: Annotated[
        str, typer.Option(help="rfm_group | lifecycle_stage | grade | any profile column")
    ] = "rfm_group",
    movers_: Annotated[
        str | None, typer.Option("--movers", help="FROM,TO: list who moved between two labels")
    ] = None,
    lang: LangOpt = "ko",
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Who moved from one label to another between two dates (e.g. loyal → at_risk)."""
    from danggol.analytics import migration, movers

    fmt = listing_format(format, json_)
    lang = check_lang(lang)
    first, second = parse_date(from_, "--from"), parse_date(to, "--to")
    if movers_ is not None:
        a, b = split_list(movers_, "--movers", exactly=2)
        with open_workspace(ctx) as ws:
            ids = movers(ws.ibis, first, second, a, b, by=by)["customer_id"].to_pylist()
        moved = {
            "date_from": first.isoformat(),
            "date_to": second.isoformat(),
            "by": by,
            "from_label": a,
            "to_label": b,
            "count": len(ids),
            "customers": ids,
        }
        if print_listing(fmt, moved, [{"customer_id": cid} for cid in ids]):
            return
        err.print(f"{len(ids):,} customers moved from {a} to {b} ({first} → {second}, by {by})")
        for cid in ids:
            typer.echo(cid)
        return
    with open_workspace(ctx) as ws:
        result = migration(ws.ibis, first, second, by=by)
    payload = {**result.to_dict(), "by": by, "stayed": result.stayed, "moved": result.moved}
    if print_listing(fmt, payload, [c.to_dict() for c in result.cells]):
        return
    show_migration(result, by, lang)


def label_names(by: str, lang: str) -> dict[str, str]:
    """The Korean or English names of the labels, where the scores define them."""
    from danggol.analytics.migration import NONE
    from danggol.scores.grades import TIER_LABELS, load_grade_rules
    from danggol.scores.lifecycle import STAGE_LABELS
    from danggol.scores.rfm import load_segment_map

    names: dict[str, str] = {NONE: "없음" if lang == "ko" else "none"}
    if by == "rfm_group":
        smap = load_segment_map()
        names |= {k: smap.label(k, lang) for k in smap.keys}
    elif by == "lifecycle_stage":
        names |= {k: v[lang] for k, v in STAGE_LABELS.items()}
    elif by == "grade":
        rules = load_grade_rules()
        names |= {k: rules.label(k, lang) for k in rules.keys}
    elif by in ("spend_tier", "frequency_tier"):
        names |= {k: v[lang] for k, v in TIER_LABELS.items()}
    return names


def show_migration(result: Migration, by: str, lang: str) -> None:
    from danggol.analytics.migration import NONE

    names = label_names(by, lang)
    grid = result.matrix()

    def head(label: str) -> str:
        return f"{label} {names[label]}" if label in names and names[label] != label else label

    rows = [
        (head(a), *(f"{grid[a][b]:,}" if grid[a][b] else "·" for b in result.labels))
        for a in result.labels
    ]
    out.print(
        rich_table(
            f"{by}: {result.date_from} (rows) → {result.date_to} (columns)",
            rows,
            ("from \\ to", *result.labels),
        )
    )
    out.print(
        f"{result.population:,} customers: {result.stayed:,} stayed, {result.moved:,} moved "
        f"('{NONE}' = not a customer or no label at that date). "
        "Who moved: --movers FROM,TO",
        highlight=False,
    )


# --------------------------------------------------------------------------------------
# what-if
# --------------------------------------------------------------------------------------


@analytics_app.command("whatif")
def whatif_cmd(
    ctx: typer.Context,
    repeat: Annotated[int, typer.Option(help="N one-time buyers who become repeat buyers")] = 0,
    vip: Annotated[int, typer.Option(help="M one-time buyers who become VIPs")] = 0,
    vip_top: Annotated[float, typer.Option(help="VIPs are this top share of buyers by value")] = (
        0.1
    ),
    months: Annotated[int, typer.Option(help="the period: the last N months")] = 12,
    as_of: AsOfOpt = None,
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Revenue change if N one-time buyers bought like repeat buyers and M like VIPs."""
    from danggol.analytics import whatif

    fmt = listing_format(format, json_)
    with open_workspace(ctx) as ws:
        cur = ws.config.currency
        result = whatif(
            ws.ibis,
            as_of_day(as_of, ws.config),
            repeat_conversions=repeat,
            vip_conversions=vip,
            vip_rule=vip_top,
            months=months,
        )
    groups = [
        {"group": "one_time", "buyers": result.one_time_buyers, "avg": result.avg_one_time},
        {"group": "repeat", "buyers": result.repeat_buyers, "avg": result.avg_repeat},
        {"group": "vip", "buyers": result.vip_buyers, "avg": result.avg_vip},
    ]
    if print_listing(fmt, result.to_dict(), groups):
        return
    show_whatif(result, cur)


def show_whatif(r: WhatIf, cur: str) -> None:
    rows = [
        ("one-time buyers (1회 구매)", f"{r.one_time_buyers:,}", money(r.avg_one_time, cur)),
        ("repeat buyers (재구매)", f"{r.repeat_buyers:,}", money(r.avg_repeat, cur)),
        ("VIPs", f"{r.vip_buyers:,}", money(r.avg_vip, cur)),
    ]
    out.print(
        rich_table(
            f"buyers from {r.since or 'the start'} to {r.as_of}: "
            f"revenue {money(r.baseline_revenue, cur)}",
            rows,
            ("group", "buyers", "average value"),
        )
    )
    pct = "—" if r.revenue_change_pct is None else f"{r.revenue_change_pct:+.2f}%"
    change = money(r.revenue_change, cur)
    out.print(
        f"{r.repeat_conversions:,} → repeat: +{money(r.repeat_gain, cur)}; "
        f"{r.vip_conversions:,} → VIP: +{money(r.vip_gain, cur)}; "
        f"revenue change [bold]{'' if r.revenue_change < 0 else '+'}{change}[/] ({pct}) → "
        f"{money(r.projected_revenue, cur)}",
        highlight=False,
    )


# --------------------------------------------------------------------------------------
# overlap
# --------------------------------------------------------------------------------------


@analytics_app.command("overlap")
def overlap_cmd(
    ctx: typer.Context,
    segments: Annotated[
        list[str], typer.Argument(help="saved or built-in segment names (or queries in quotes)")
    ],
    as_of: AsOfOpt = None,
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Sizes, revenue shares and pairwise overlap (count, Jaccard) of segments."""
    from danggol.analytics import overlap
    from danggol.segments import service

    fmt = listing_format(format, json_)
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        tables = {name: service.members(ws, service.target(ws, name), day) for name in segments}
        result = overlap(ws.ibis, day, tables)
        cur = ws.config.currency
    records = [
        *({"kind": "segment", **s.to_dict()} for s in result.sizes),
        *({"kind": "pair", **p.to_dict()} for p in result.pairs),
    ]
    if print_listing(fmt, result.to_dict(), records):
        return
    show_overlap(result, cur)


def show_overlap(r: Overlap, cur: str) -> None:
    rows = [
        (
            s.segment,
            f"{s.customers:,}",
            percent(s.share_of_customers),
            money(s.revenue, cur),
            percent(s.revenue_share),
        )
        for s in r.sizes
    ]
    out.print(
        rich_table(
            f"segments as of {r.as_of} ({r.customers:,} customers, "
            f"revenue {money(r.revenue, cur)})",
            rows,
            ("segment", "customers", "share", "revenue", "revenue share"),
        )
    )
    if r.pairs:
        pairs = [
            (
                p.a,
                p.b,
                f"{p.customers:,}",
                "—" if p.jaccard is None else f"{p.jaccard:.3f}",
                percent(p.share_of_a),
                percent(p.share_of_b),
            )
            for p in r.pairs
        ]
        out.print(
            rich_table(
                "overlap",
                pairs,
                ("A", "B", "both", "Jaccard", "share of A", "share of B"),
                ids=(0, 1),  # both are segment names a user types
            )
        )
