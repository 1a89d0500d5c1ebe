"""``danggol predict …``: fit a buy-till-you-die model, and backtest it on a holdout period."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any

import typer

from danggol.choices import BACKTEST_MODELS, FIT_MODELS, SUPERVISED_METHODS
from danggol.cli.options import (
    JsonOpt,
    LangOpt,
    ListFormatOpt,
    as_of_day,
    check_lang,
    listing_format,
    money,
    number,
    open_workspace,
    out,
    parse_date,
    percent,
    print_listing,
    rich_table,
    show_progress,
)
from danggol.errors import ConfigError

predict_app = typer.Typer(
    help="Fit purchase-prediction models and backtest them.", no_args_is_help=True
)

#: days per horizon unit (a month = 30 days)
HORIZON_UNITS = {"d": 1, "w": 7, "m": 30}

ModelOpt = Annotated[str, typer.Option("--model", help=" | ".join(FIT_MODELS))]
TimeUnitOpt = Annotated[str, typer.Option("--time-unit", help="day | week")]


def parse_horizon(text: str) -> int:
    """'39w' → 273, '90d' → 90, '6m' → 180 (a month is 30 days)."""
    match = re.fullmatch(r"\s*(\d+)\s*([dwm])\s*", text.lower())
    if not match or int(match.group(1)) < 1:
        raise ConfigError(
            f"a horizon is a whole number and a unit d, w or m (like 90d, 39w, 6m); got {text!r}"
        )
    return int(match.group(1)) * HORIZON_UNITS[match.group(2)]


def _check(model: str, allowed: tuple[str, ...], time_unit: str) -> None:
    from danggol.predict.summary import UNITS

    if model not in allowed:
        raise ConfigError(f"unknown model {model!r}; choose one of {', '.join(allowed)}")
    if time_unit not in UNITS:
        raise ConfigError(f"--time-unit is one of {', '.join(UNITS)}; got {time_unit!r}")


@predict_app.command("fit")
def fit_cmd(
    ctx: typer.Context,
    model: ModelOpt = "bgnbd",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="YYYY-MM-DD; default: as_of in danggol.toml, else today"),
    ] = None,
    time_unit: TimeUnitOpt = "week",
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Fit a model on the purchases up to --as-of; print its parameters."""
    from danggol.predict.customers import fit_report
    from danggol.predict.summary import rfm_summary

    fmt = listing_format(format, json_)
    _check(model, FIT_MODELS, time_unit)
    with open_workspace(ctx) as ws:
        day = as_of_day(as_of, ws.config)
        summary = rfm_summary(ws.ibis, day, time_unit=time_unit)
    result = fit_report(summary, model, day, time_unit)
    records = [
        {"name": k, "value": v, "se": result["params_se"].get(k)}
        for k, v in result["params"].items()
    ]
    records += [
        {"name": k, "value": result[k], "se": None}
        for k in ("log_likelihood", "customers", "converged", "zero_value_buyers")
    ]
    if print_listing(fmt, result, records):
        return
    rows = [
        (
            k,
            significant(v)
            + (
                f" (± {significant(result['params_se'][k], 2)})" if k in result["params_se"] else ""
            ),
        )
        for k, v in result["params"].items()
    ]
    rows += [("log_likelihood", f"{result['log_likelihood']:.2f}")]
    rows += [("customers", f"{result['customers']:,}")]
    rows += [("converged", "yes" if result["converged"] else "no")]
    if result["zero_value_buyers"]:
        rows += [("left out: repeat buyers with spend <= 0", f"{result['zero_value_buyers']:,}")]
    out.print(rich_table(f"{model} as of {day} (time unit: {time_unit})", rows, ("", "value")))
    if result["problem"]:
        out.print(f"[bold red]not usable:[/] {result['problem']}")


@predict_app.command("backtest")
def backtest_cmd(
    ctx: typer.Context,
    cutoff: Annotated[str, typer.Option("--cutoff", help="fit up to this day (YYYY-MM-DD)")],
    horizon: Annotated[str, typer.Option("--horizon", help="like 39w, 90d, 6m")],
    model: Annotated[
        str, typer.Option("--model", help=" | ".join([*BACKTEST_MODELS, "supervised"]))
    ] = "bgnbd",
    time_unit: TimeUnitOpt = "week",
    method: Annotated[
        str,
        typer.Option(
            "--method", help=" | ".join(SUPERVISED_METHODS) + " (with --model supervised)"
        ),
    ] = "gradient_boosting",
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """Fit up to --cutoff, predict the next --horizon, and compare with what happened."""
    from danggol.predict.backtest import backtest
    from danggol.progress import step

    fmt = listing_format(format, json_)
    if model == "supervised":
        _supervised(ctx, parse_date(cutoff, "--cutoff"), parse_horizon(horizon), method, fmt)
        return
    _check(model, BACKTEST_MODELS, time_unit)
    days = parse_horizon(horizon)
    day = parse_date(cutoff, "--cutoff")
    with open_workspace(ctx) as ws, show_progress(fmt != "table"), step(f"backtest {model}"):
        result = backtest(ws.ibis, cutoff=day, horizon_days=days, model=model, time_unit=time_unit)
        currency = ws.config.currency
    data = result.to_dict()
    keys: tuple[str, ...] = ("customers", "repeat_buyers", "actual_total", "predicted_total")
    keys += ("mae", "rmse")
    keys += ("correlation", "repurchasers", "auc", "brier", "actual_spend", "predicted_spend")
    keys += ("clv_top_decile_share", "clv_top_decile_lift")
    if print_listing(fmt, data, [{"metric": k, "value": data[k]} for k in keys]):
        return
    rows = [(k, _metric(k, data[k], currency)) for k in keys]
    title = f"{model} backtest: fit to {day}, {days} days ahead"
    out.print(rich_table(title, rows, ("metric", "value")))
    out.print(f"repurchase probability: {result.repurchase_probability}")
    cal = [
        (c["bin"], c["customers"], f"{c['predicted']:.3f}", f"{c['observed']:.3f}")
        for c in result.calibration
    ]
    out.print(rich_table("calibration", cal, ("decile", "customers", "predicted", "observed")))
    for table in diagnostics_tables(data):
        out.print(table)


#: at most this many frequency columns of the P(alive) matrix in the terminal (evenly spread)
P_ALIVE_COLUMNS = 9


def diagnostics_tables(data: dict[str, Any]) -> list[Any]:
    """The backtest's diagnostics (``--json`` has them whole) as terminal tables: conditional
    expectations, tracking per period, and the P(alive) matrix (some frequency columns)."""
    ce: list[tuple[object, ...]] = [
        (
            r["frequency"],
            f"{r['customers']:,}",
            f"{r['actual_mean']:.3f}",
            f"{r['predicted_mean']:.3f}",
            f"{r['predicted_mean'] - r['actual_mean']:+.3f}",
        )
        for r in data["conditional_expectations"]
    ]
    tables = [
        rich_table(
            "conditional expectations: mean holdout purchases by repeat purchases before the cutoff",
            ce,
            ("repeat purchases", "customers", "actual", "predicted", "difference"),
        )
    ]
    track: list[tuple[object, ...]] = [
        (
            r["period"],
            r["end"],
            f"{r['actual']:,}",
            f"{r['predicted']:,.1f}",
            f"{r['cumulative_actual']:,}",
            f"{r['cumulative_predicted']:,.1f}",
        )
        for r in data["tracking"]
    ]
    tables.append(
        rich_table(
            f"tracking: purchases per {data['time_unit']} after the cutoff",
            track,
            ("period", "ends", "actual", "predicted", "cum. actual", "cum. predicted"),
        )
    )
    m = data["p_alive_matrix"]
    if m:
        freq = m["frequency"]
        step = max(1, -(-len(freq) // P_ALIVE_COLUMNS))
        cols = sorted({*range(0, len(freq), step), len(freq) - 1})
        rows: list[tuple[object, ...]] = [
            (
                f"{m['recency'][i]:.1f}",
                *("" if m["p_alive"][i][j] is None else f"{m['p_alive'][i][j]:.0%}" for j in cols),
            )
            for i in reversed(range(len(m["recency"])))
        ]
        tables.append(
            rich_table(
                f"P(alive) for a customer {m['T']:.1f} {data['time_unit']}s old: "
                "last purchase (rows) × repeat purchases (columns)",
                rows,
                ("t_x, x", *(str(freq[j]) for j in cols)),
            )
        )
    return tables


@predict_app.command("show")
def show_cmd(
    ctx: typer.Context,
    lang: LangOpt = "ko",
    json_: JsonOpt = False,
    format: ListFormatOpt = "table",
) -> None:
    """The predictions the last refresh made: model, parameters, settings, and the fields' spread."""
    from danggol.predict.customers import overview as prediction_overview

    lang = check_lang(lang)
    fmt = listing_format(format, json_)
    with open_workspace(ctx) as ws:
        data = prediction_overview(ws.ibis)
        currency = ws.config.currency
    if data is None:
        raise ConfigError("no predictions yet: run 'danggol refresh' first")
    records = [{"field": k, "value": v} for k, v in data["fields"].items()]
    if print_listing(fmt, data, records):
        return
    ko = lang == "ko"

    def w(en: str, korean: str) -> str:
        return korean if ko else en

    def yes(value: object) -> object:
        if isinstance(value, bool):
            return w("yes" if value else "no", "예" if value else "아니오")
        return value

    run = data["run"]
    status = run["status"]
    rows: list[tuple[object, ...]] = [
        (w("as of", "기준일"), run["as_of"]),
        (w("status", "상태"), f"{STATUS_WORDS[status]} ({status})" if ko else status),
    ]
    if run["reason"]:
        rows.append((w("why", "이유"), _reason_ko(run) if ko else run["reason"]))
    rows += [(w(f"setting {k}", f"설정 {k}"), yes(v)) for k, v in run["settings"].items()]
    if run.get("choice_summary"):
        rows.append((w("model choice (auto)", "모델 선택 (auto)"), run["choice_summary"]))
    if run.get("model"):
        rows.append((w("model used", "사용한 모델"), run["model"]))
    if run.get("repurchase_model") and run["repurchase_model"] != run.get("model"):
        rows.append((w("repurchase_probability from", "재구매 확률 모델"), run["repurchase_model"]))
    for passed in run.get("fallbacks", []):
        rows.append(
            (w(f"not used: {passed['model']}", f"쓰지 않음: {passed['model']}"), passed["reason"])
        )
    if run.get("converged") is not None:
        rows.append((w("converged", "수렴"), yes(bool(run["converged"]))))
    se = run.get("model_params_se", {})
    rows += [
        (
            w(f"model {k}", f"모델 모수 {k}"),
            significant(v) + (f" (± {significant(se[k], 2)})" if k in se else ""),
        )
        for k, v in run["model_params"].items()
    ]
    if run["log_likelihood"] is not None:
        rows.append((w("log likelihood", "로그 가능도"), f"{run['log_likelihood']:.2f}"))
    if run.get("spend_model"):
        rows.append((w("spend model used", "사용한 구매금액 모델"), run["spend_model"]))
    spend_se = run.get("spend_params_se", {})
    rows += [
        (
            w(f"spend {k}", f"구매금액 모델 모수 {k}"),
            significant(v) + (f" (± {significant(spend_se[k], 2)})" if k in spend_se else ""),
        )
        for k, v in run["spend_params"].items()
    ]
    if run["spend_reason"]:
        rows.append((w("spend model", "구매금액 모델"), run["spend_reason"]))
    if run.get("zero_value_buyers"):
        rows.append(
            (
                w("repeat buyers with spend <= 0", "구매금액 0 이하 재구매 고객"),
                f"{run['zero_value_buyers']:,}",
            )
        )
    for key, total in run.get("totals", {}).items():
        rows.append(
            (
                w(f"total {key} (90% interval)", f"합계 {key} (90% 구간)"),
                f"{total['value']:,.1f} ({total['low']:,.1f} – {total['high']:,.1f})",
            )
        )
    if run.get("interval_reason"):
        rows.append((w("intervals", "구간"), run["interval_reason"]))
    if run["vip_clv_threshold"] is not None:
        rows.append(
            (
                w(
                    f"future VIP: predicted_clv ≥ ({run['vip_grade']})",
                    f"예비 VIP: 예상 고객생애가치 ≥ ({run['vip_grade']})",
                ),
                money(run["vip_clv_threshold"], currency),
            )
        )
    rows += [
        (w("customers fitted", "학습한 고객 수"), f"{run['customers']:,}"),
        (w("repeat buyers", "재구매 고객 수"), f"{run['repeat_buyers']:,}"),
    ]
    for c in run["vip_clusters"]:
        centre = ", ".join(f"{k} {number(round(v, 2))}" for k, v in c["centroid"].items())
        rows.append(
            (
                w(f"vip_cluster {c['key']} ({c['name_ko']})", f"VIP 세부 유형 {c['name_ko']}"),
                f"{c['size']:,}: {centre}",
            )
        )
    if run["vip_cluster_reason"]:
        rows.append((w("vip_cluster", "VIP 세부 유형"), run["vip_cluster_reason"]))
    for key, value in data["fields"].items():
        label = FIELD_WORDS.get(key, key) if ko else key
        rows.append((label, _field_value(key, value, currency)))
    title = w("predictions (last refresh)", "예측 (최근 갱신)")
    out.print(rich_table(title, rows, ("", w("value", "값"))))


#: a prediction run's status in Korean
STATUS_WORDS = {
    "fitted": "예측함",
    "fallback": "대체 모델로 예측함",
    "too_little_data": "데이터 부족: 예측하지 않음",
    "disabled": "꺼짐",
}
#: the spread of the prediction fields (``predict show``), in Korean
FIELD_WORDS = {
    "customers": "고객 수",
    "predicted": "예측한 고객 수",
    "expected_orders": "예상 구매 횟수 합계",
    "mean_p_alive": "평균 활성 확률",
    "mean_repurchase_probability": "평균 재구매 확률",
    "predicted_clv": "예상 고객생애가치 합계",
    "median_predicted_clv": "예상 고객생애가치 중앙값",
    "with_next_order_date": "다음 구매 예상일이 있는 고객 수",
    "future_vips": "예비 VIP 수",
}


def _reason_ko(run: dict[str, Any]) -> str:
    """Why no predictions were made, in Korean when it is the shop's short history (the
    reason a new shop sees); any other reason as the library words it."""
    from danggol.predict.guards import shortfall_ko

    if run["status"] != "too_little_data":
        return str(run["reason"])
    return shortfall_ko(run["customers"], run["repeat_buyers"], run["as_of"])


#: fields of ``predict show`` that are amounts of money, and those that are probabilities
MONEY_FIELDS = ("predicted_clv", "median_predicted_clv")
PROBABILITY_FIELDS = ("mean_p_alive", "mean_repurchase_probability")


#: backtest metrics that are amounts of money, and those that are shares
MONEY_METRICS = ("actual_spend", "predicted_spend")
SHARE_METRICS = ("clv_top_decile_share",)


def _metric(key: str, value: Any, currency: str) -> str:
    """A backtest metric for a table: money in the shop's currency, shares as percentages,
    counts with separators, other numbers with 4 significant digits — never scientific."""
    if value is None:
        return "-"
    if key in MONEY_METRICS:
        return money(value, currency)
    if key in SHARE_METRICS:
        return percent(value)
    if isinstance(value, int):
        return f"{value:,}"
    return significant(value)


def significant(value: float, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits and separators, never in e-notation.

    >>> significant(12345678.9), significant(0.000123456), significant(-2.5)
    ('12,345,679', '0.0001235', '-2.5')
    """
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:,.0f}"


def _field_value(key: str, value: Any, currency: str) -> str:
    """A prediction field's value for a table: money in the shop's currency, probabilities as
    percentages, counts with separators — never scientific notation."""
    if value is None:
        return "-"
    if key in MONEY_FIELDS:
        return money(value, currency)
    if key in PROBABILITY_FIELDS:
        return percent(value)
    return number(round(value, 2) if isinstance(value, float) else value)


def _supervised(ctx: typer.Context, day: dt.date, days: int, method: str, fmt: str) -> None:
    from danggol.predict.supervised import supervised_backtest
    from danggol.progress import step

    if method not in SUPERVISED_METHODS:
        raise ConfigError(f"--method is one of {', '.join(SUPERVISED_METHODS)}; got {method!r}")
    with open_workspace(ctx) as ws:
        with show_progress(fmt != "table"), step(f"backtest supervised ({method})"):
            run = supervised_backtest(ws.ibis, cutoff=day, horizon_days=days, method=method)
        data = run.to_dict()
    keys: tuple[str, ...] = ("train_customers", "train_repurchasers", "customers", "repurchasers")
    keys += ("mean_predicted", "auc", "brier", "bgnbd_mean_predicted", "bgnbd_auc", "bgnbd_brier")
    if print_listing(fmt, data, [{"metric": k, "value": data[k]} for k in keys]):
        return
    rows = [(k, f"{data[k]:,}" if isinstance(data[k], int) else significant(data[k])) for k in keys]
    title = f"supervised ({method}) backtest: trained to {day}, {days} days ahead"
    out.print(rich_table(title, rows, ("metric", "value")))
    cal = [
        (c["bin"], c["customers"], f"{c['predicted']:.3f}", f"{c['observed']:.3f}")
        for c in data["calibration"]
    ]
    out.print(rich_table("calibration", cal, ("decile", "customers", "predicted", "observed")))
