"""``danggol rfm``, ``danggol lifecycle …`` and ``danggol grades …``: the scores, every rule visible.

Thin: each command reads its options, calls the score estimators of ``danggol.scores`` on the
scored profile and formats the result (a Rich table, or JSON with ``--json``). The exact rules
live in the module docstrings of ``scores/rfm.py``, ``scores/lifecycle.py`` and
``scores/grades.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    print_items,
    print_json,
    print_listing,
    rich_table,
    split_list,
)
from danggol.errors import ConfigError

if TYPE_CHECKING:
    from danggol.scores.grades import GradeRule

#: top-level commands, merged into the root app by cli/main.py
app = typer.Typer()


#: the per-customer columns ``danggol rfm --format csv|json|parquet`` writes
RFM_COLUMNS = ("customer_id", "r_score", "f_score", "m_score", "rfm_group")
#: dimension → (Korean, English) name and unit, for the threshold table
DIMENSION_WORDS: dict[str, tuple[str, str, str]] = {
    "r": ("R 최근성", "R recency", "days since last order"),
    "f": ("F 구매 빈도", "F frequency", "orders"),
    "m": ("M 구매 금액", "M monetary", "amount spent"),
}


# --------------------------------------------------------------------------------------
# danggol rfm
# --------------------------------------------------------------------------------------


@app.command("rfm")
def rfm_cmd(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    bins: Annotated[
        int, typer.Option(help="scores per dimension: 5 = quintiles, 3 = tertiles")
    ] = 5,
    format: Annotated[
        str,
        typer.Option("--format", help="table (the summary) | csv | json | parquet (per customer)"),
    ] = "table",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="file for csv/json/parquet (default: stdout)")
    ] = None,
    lang: LangOpt = "ko",
    json_: JsonOpt = False,
) -> None:
    """RFM scores: customers and revenue per RFM group, and every threshold learned."""
    from danggol.outputs.files import FORMATS, write_table
    from danggol.scores import RFM, scored_profile
    from danggol.scores.summaries import rfm_group_summary

    lang = check_lang(lang)
    if format not in ("table", *FORMATS):
        raise ConfigError(f"unknown format {format!r}; choose one of table, {', '.join(FORMATS)}")
    if format == "table" and out_file is not None:
        raise ConfigError("--out writes customer rows: give --format csv, json or parquet too")
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        profile = scored_profile(ws.ibis, day)
        rfm = RFM(bins).fit(profile)
        scored = rfm.transform(profile)
        if format != "table" and not json_:
            rows = write_table(
                scored.select(*RFM_COLUMNS).order_by("customer_id"), format, out_file
            )
            if out_file is not None:
                err.print(f"{rows} customers' RFM scores as of {day} written to {out_file}")
            return
        summary = rfm_group_summary(rfm, scored, day)
    if json_:
        print_json(summary)
        return
    show_rfm(summary, lang, ws.config.currency)


def _bin_text(b: dict[str, Any]) -> str:
    if b["empty"]:
        return "—"
    if b["above"] is None:
        return f"≤ {number(b['up_to'])}"
    if b["up_to"] is None:
        return f"> {number(b['above'])}"
    return f"> {number(b['above'])}, ≤ {number(b['up_to'])}"


def show_rfm(s: dict[str, Any], lang: str, currency: str) -> None:
    from danggol.scores.rfm import DIMENSIONS

    rows = [
        (
            g["rfm_group"],
            g[lang],
            f"{g['customers']:,}",
            percent(g["share"]),
            money(g["revenue"], currency),
            percent(g["revenue_share"]),
        )
        for g in s["groups"]
    ]
    out.print(
        rich_table(
            f"RFM groups as of {s['as_of']} ({s['customers']:,} customers, "
            f"{s['buyers']:,} with a purchase)",
            rows,
            (
                "rfm_group",
                "name" if lang == "en" else "이름",
                "customers",
                "share",
                "revenue",
                "revenue share",
            ),
        )
    )
    scores = [b["score"] for b in s["bins_by_score"]["r"]]
    threshold_rows = [
        (
            f"{DIMENSION_WORDS[d][0 if lang == 'ko' else 1]} ({DIMENSION_WORDS[d][2]})",
            "learned" if s["learned"][d] else "given",
            *(_bin_text(b) for b in s["bins_by_score"][d]),
        )
        for d in DIMENSIONS
    ]
    out.print(
        rich_table(
            f"thresholds: the values each score covers ({s['bins']} bins)",
            threshold_rows,
            ("dimension", "", *(f"score {n}" for n in scores)),
        )
    )
    out.print(
        "[dim]fm_score = floor((f_score + m_score) / 2); the group is the (r_score, fm_score) "
        "cell of the segment map (--json shows the grid). Rules: src/danggol/scores/rfm.py[/]"
    )


# --------------------------------------------------------------------------------------
# danggol lifecycle
# --------------------------------------------------------------------------------------

lifecycle_app = typer.Typer(
    help="Lifecycle stages (잠재 · 신규 · 활동 · 충성 · 이탈) with their reasons, and their shares over time."
)


@lifecycle_app.callback(invoke_without_command=True)
def lifecycle_cmd(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    lang: LangOpt = "ko",
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Customers and share per lifecycle stage, each split by reason, and the churn window."""
    if ctx.invoked_subcommand is not None:
        return  # before any import: this runs ahead of the subcommand's own --help
    from danggol.scores import Lifecycle, scored_profile
    from danggol.scores.summaries import lifecycle_summary

    fmt = listing_format(format, json_)
    lang = check_lang(lang)
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        profile = scored_profile(ws.ibis, day)
        model = Lifecycle().fit(profile)
        staged = model.transform(profile)
        summary = lifecycle_summary(model, staged, day)
    records = [
        {"stage": st["stage"], "reason": r["reason"], "customers": r["customers"], "share": None}
        if r
        else {
            "stage": st["stage"],
            "reason": "",
            "customers": st["customers"],
            "share": st["share"],
        }
        for st in summary["stages"]
        for r in [None, *st["reasons"]]
    ]
    if print_listing(fmt, summary, records):
        return
    show_lifecycle(summary, lang)


def show_lifecycle(s: dict[str, Any], lang: str) -> None:
    rows: list[tuple[object, ...]] = []
    for stage in s["stages"]:
        rows.append(
            (f"{stage['stage']} {stage[lang]}", f"{stage['customers']:,}", percent(stage["share"]))
        )
        for r in stage["reasons"]:
            if r["customers"]:
                rows.append(
                    (
                        f"  └ {r['reason']} {r[lang]}",
                        f"{r['customers']:,}",
                        percent(r["share_of_stage"]) + " of stage",
                    )
                )
    out.print(
        rich_table(
            f"lifecycle stages as of {s['as_of']} ({s['customers']:,} customers)",
            rows,
            ("stage / reason", "customers", "share"),
        )
    )
    p = s["params"]
    how = {
        "given": "given",
        "learned": (
            f"learned: {p['churn_cycles'] or 1} × the {p['churn_quantile']:.0%} quantile of the "
            f"purchase cycles of {s['repeat_buyers']:,} repeat buyers"
        ),
        "fallback": (
            f"fallback: only {s['repeat_buyers']:,} repeat buyers "
            f"(fewer than {p['min_repeat_buyers']})"
        ),
    }[s["churn_days_source"]]
    out.print(
        f"churned = no purchase for more than [bold]{s['churn_days']} days[/] ({how})"
        + (f" and more than {p['churn_cycles']} × their own cycle" if p["churn_cycles"] else "")
        + f"; new = first purchase ≤ {p['new_days']} days ago; "
        f"loyal = ≥ {p['loyal_orders']} purchases. Rules: src/danggol/scores/lifecycle.py",
        highlight=False,
    )


@lifecycle_app.command("shares")
def shares_cmd(
    ctx: typer.Context,
    dates: Annotated[str, typer.Option(help="as-of dates, comma-separated: 2025-03-31,2025-06-30")],
    lang: LangOpt = "ko",
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """The share of each lifecycle stage at several dates (the churn window learned per date)."""
    from danggol.scores.lifecycle import STAGE_LABELS, STAGES, stage_shares

    fmt = listing_format(format, json_)
    lang = check_lang(lang)
    days = [parse_date(d, "--dates") for d in split_list(dates, "--dates")]
    with open_workspace(ctx) as ws:
        table = stage_shares(ws.ibis, days)
    rows = table.to_pylist()
    if print_listing(fmt, rows, rows):
        return
    ordered = sorted(set(days))
    cell = {(r["as_of"], r["stage"]): r for r in rows}
    lines: list[tuple[object, ...]] = [
        (
            f"{stage} {STAGE_LABELS[stage][lang]}",
            *(
                f"{cell[(d, stage)]['customers']:,} ({cell[(d, stage)]['share']:.1%})"
                for d in ordered
            ),
        )
        for stage in STAGES
    ]
    lines.append(
        ("churn window (days)", *(str(cell[(d, STAGES[0])]["churn_days"]) for d in ordered))
    )
    out.print(rich_table("lifecycle stage shares", lines, ("stage", *map(str, ordered))))


# --------------------------------------------------------------------------------------
# danggol grades
# --------------------------------------------------------------------------------------

grades_app = typer.Typer(
    help="Membership grades (회원 등급): the rules, evaluation and upgrade/downgrade history.",
    no_args_is_help=True,
)


def rule_text(rule: GradeRule, months: int, lang: str) -> str:
    """'12개월 구매금액 ≥ 1,000,000' / 'spent ≥ 1,000,000 in 12 months'; the default grade: else."""
    if rule.is_default:
        return "그 밖의 모든 고객" if lang == "ko" else "everyone else"
    parts = []
    if rule.min_amount is not None:
        parts.append(
            f"{months}개월 구매금액 ≥ {number(rule.min_amount)}"
            if lang == "ko"
            else f"spent ≥ {number(rule.min_amount)} in {months} months"
        )
    if rule.min_orders is not None:
        parts.append(
            f"{months}개월 구매 ≥ {rule.min_orders}회"
            if lang == "ko"
            else f"≥ {rule.min_orders} purchases in {months} months"
        )
    joiner = {"all": (" 그리고 ", " and "), "any": (" 또는 ", " or ")}[rule.match]
    return joiner[0 if lang == "ko" else 1].join(parts)


@grades_app.command("show")
def grades_show_cmd(
    lang: LangOpt = "ko", json_: JsonOpt = False, format: ListFormatOpt = "table"
) -> None:
    """The grade rules, highest first, with every threshold."""
    from danggol.scores.grades import load_grade_rules

    fmt = listing_format(format, json_)
    lang = check_lang(lang)
    rules = load_grade_rules()
    data: dict[str, Any] = {
        "window_months": rules.window_months,
        "source": rules.source,
        "grades": [
            {
                "grade": g.key,
                "ko": g.ko,
                "en": g.en,
                "level": rules.level(g.key),
                "min_amount": g.min_amount,
                "min_orders": g.min_orders,
                "match": g.match,
                "rule": {x: rule_text(g, rules.window_months, x) for x in ("ko", "en")},
            }
            for g in rules.grades
        ],
    }
    records = [
        {**{k: v for k, v in g.items() if k != "rule"}, "rule": g["rule"][lang]}
        for g in data["grades"]
    ]
    if print_listing(fmt, data, records):
        return
    rows = [(g["grade"], g[lang], g["level"], g["rule"][lang]) for g in data["grades"]]
    out.print(
        rich_table(
            "membership grades (first rule that holds)", rows, ("grade", "name", "level", "rule")
        )
    )
    out.print(
        f"[dim]spend = Σ (total − refunded amount) of purchases in the {rules.window_months} months "
        "up to the as-of date; registered customers and buyers are graded. "
        f"Rules: {rules.source}; details: src/danggol/scores/grades.py[/]",
        highlight=False,
    )


@grades_app.command("evaluate")
def grades_evaluate_cmd(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    lang: LangOpt = "ko",
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Grade every customer as of a date and record it in the grade history."""
    from danggol.scores import evaluate_grades
    from danggol.scores.grades import CHANGES, load_grade_rules

    fmt = listing_format(format, json_)
    lang = check_lang(lang)
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        result = evaluate_grades(ws, day)
    total = result.customers
    records = [
        {"grade": key, "customers": n, "share": n / total if total else None}
        for key, n in result.grades.items()
    ]
    if print_listing(fmt, result.to_dict(), records):
        return
    rules = load_grade_rules()
    rows = [
        (key, rules.label(key, lang), f"{n:,}", percent(n / total if total else None))
        for key, n in result.grades.items()
    ]
    out.print(
        rich_table(
            f"grades as of {result.as_of} ({total:,} customers)",
            rows,
            ("grade", "name", "customers", "share"),
        )
    )
    out.print(
        "changes since each customer's previous evaluation: "
        + ", ".join(f"{c} {result.changes.get(c, 0):,}" for c in CHANGES)
    )


@grades_app.command("history")
def grades_history_cmd(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option(help="one customer id")] = None,
    limit: Annotated[int, typer.Option(help="rows shown in the table (--json gives all)")] = 50,
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """The recorded grade snapshots: grade, previous grade and upgrade/downgrade per date."""
    from danggol.scores import grade_history

    if limit < 1:
        raise ConfigError(f"--limit must be at least 1; got {limit}")
    with open_workspace(ctx) as ws:
        rows = grade_history(ws, customer_id=customer).to_pylist()
    if (fmt := listing_format(format, json_)) != "table":
        print_items(rows, fmt)
        return
    keys = ("customer_id", "as_of", "grade", "previous_grade", "change")
    shown = [tuple("" if r[k] is None else r[k] for k in keys) for r in rows[:limit]]
    out.print(rich_table(f"grade history ({len(rows):,} rows)", shown, keys))
    if not rows:
        out.print("no grades recorded yet: run 'danggol grades evaluate --as-of YYYY-MM-DD'")
    elif len(rows) > limit:
        out.print(f"[dim]first {limit} rows; --limit N or --json for more[/]")
