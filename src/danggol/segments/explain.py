"""Words for a segment, and why one customer is in or out of it.

``describe`` renders a tree in Korean or English from the same operator table the compiler
uses; ``explain`` evaluates every condition of the tree for one customer (its values and
whether it held) in one query, then folds the groups in Python — and checks that the
fold agrees with the compiled segment, so an explanation can never contradict membership.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from danggol.errors import SegmentError, UnknownCustomerError
from danggol.segments import nodes as n
from danggol.segments.compile import Compiler, kind_of
from danggol.segments.fields import FIELDS, FUNCTIONS
from danggol.segments.matches import match_spec
from danggol.segments.operators import OPERATORS
from danggol.segments.printer import to_query

UNIT_WORDS = {
    "en": {"d": "day", "w": "week", "m": "month", "y": "year"},
    "ko": {"d": "일", "w": "주", "m": "개월", "y": "년"},
}
GROUP_WORDS = {
    "en": {"All": "all of", "AnyOf": "any of", "Not": "not"},
    "ko": {"All": "모두 만족", "AnyOf": "하나 이상 만족", "Not": "다음이 아님"},
}


def _offset_words(offset: n.DateOffset, lang: str) -> str:
    amount = abs(offset.amount)
    unit = UNIT_WORDS[lang][offset.unit]
    if offset.unit == "d" and offset.amount in (0, -1):
        named = {
            "ko": ("기준일", "기준일 전날"),
            "en": ("the as-of date", "the day before the as-of date"),
        }
        return named[lang][-offset.amount]
    if lang == "ko":
        return f"기준일 {amount}{unit} {'전' if offset.amount < 0 else '후'}"
    plural = "" if amount == 1 else "s"
    side = "before" if offset.amount < 0 else "after"
    return f"{amount} {unit}{plural} {side} the as-of date"


def _value_words(expr: object, lang: str) -> str:
    if isinstance(expr, tuple):
        joiner = " ~ " if lang == "ko" and len(expr) == 2 else ", "
        return joiner.join(_value_words(e, lang) for e in expr)
    if isinstance(expr, n.DateOffset):
        return _offset_words(expr, lang)
    if isinstance(expr, n.Value):
        v = expr.value
        if isinstance(v, bool):
            return ("예" if v else "아니오") if lang == "ko" else ("yes" if v else "no")
        if isinstance(v, int | float):
            return f"{v:,}"
        if isinstance(v, dt.date):
            return v.isoformat()
        return "없음" if v is None and lang == "ko" else "empty" if v is None else f"'{v}'"
    if isinstance(expr, n.Field):
        spec = FIELDS.get(expr.name)
        return (spec.ko if lang == "ko" else spec.en) if spec else expr.name
    if isinstance(expr, n.Call):
        return _call_words(expr, lang)
    if isinstance(expr, n.Arith):
        return f"({_value_words(expr.left, lang)} {expr.op} {_value_words(expr.right, lang)})"
    return str(expr)


def _last_words(offset: n.DateOffset, lang: str) -> str:
    """A window ending at the as-of date: "최근 90일", "the last 90 days"."""
    amount, unit = abs(offset.amount), UNIT_WORDS[lang][offset.unit]
    if lang == "ko":
        return f"최근 {amount}{unit}"
    return f"in the last {amount} {unit}{'' if amount == 1 else 's'}"


#: how a date compared with a past offset reads: "최근 90일 이내", "90일 전보다 이전"
RECENT_WORDS = {
    "ko": {
        ">=": "{l}: 최근 {n}{u} 이내",
        ">": "{l}: 최근 {n}{u} 이내 (그날 제외)",
        "<": "{l}: {n}{u} 전보다 이전",
        "<=": "{l}: {n}{u} 전 또는 그 이전",
    },
    "en": {
        ">=": "{l} within the last {n} {u}",
        ">": "{l} within the last {n} {u} (not that day)",
        "<": "{l} more than {n} {u} ago",
        "<=": "{l} {n} {u} ago or earlier",
    },
}


def _code_names(field: str) -> dict[str, dict[str, str]]:
    """The names of a coded field's values (gender, stage, RFM group …), or none."""
    from danggol.codes import VALUES
    from danggol.scores.grades import TIER_LABELS
    from danggol.scores.lifecycle import REASON_LABELS, STAGE_LABELS

    spec = FIELDS.get(field)
    column = spec.column if spec else field
    if column == "rfm_group":
        from danggol.scores.rfm import load_segment_map

        smap = load_segment_map()
        return {k: {"ko": smap.label(k, "ko"), "en": smap.label(k, "en")} for k in smap.keys}
    tables = {
        "lifecycle_stage": STAGE_LABELS,
        "lifecycle_reason": REASON_LABELS,
        "spend_tier": TIER_LABELS,
        "frequency_tier": TIER_LABELS,
    }
    return tables.get(column) or VALUES.get(column, {})


def _named_value(expr: object, field: str, lang: str, *, between: bool = False) -> str | None:
    """A literal on the right of a coded or money field, in words: 'male' → 남성,
    'ENABLED' → 계정 활성 (codes in any case), 50000 → 50,000원 (None when there is nothing
    to name). A BETWEEN pair is joined with ' ~ ' (Korean) or ' and ', a list with ', '."""
    spec = FIELDS.get(field)
    if isinstance(expr, tuple):
        named = [_named_value(e, field, lang) for e in expr]
        if all(x is not None for x in named):
            joiner = (" ~ " if lang == "ko" else " and ") if between else ", "
            return joiner.join(str(x) for x in named)
        return None
    if not isinstance(expr, n.Value):
        return None
    v = expr.value
    if isinstance(v, str):
        names = _code_names(field)
        if v not in names and v.lower() in names:  # codes compare ignoring case
            v = v.lower()
        return names[v][lang] if v in names else None
    if spec is not None and spec.money and isinstance(v, int | float) and not isinstance(v, bool):
        return f"{v:,}원" if lang == "ko" else f"{v:,}"
    return None


def field_of(condition: str) -> str | None:
    """The profile field a condition's text starts with (``amount_spent >= 50000`` →
    ``amount_spent``), or None (a function call, ``MATCHES``…)."""
    head = condition.split(" ", 1)[0]
    return head if head in FIELDS else None


def value_name(field: str | None, value: object, lang: str) -> str | None:
    """A coded value's name (``female`` → 여성, ``loyal`` → 우수 단골), or None."""
    if field is None or not isinstance(value, str):
        return None
    names = _code_names(field)
    key = value if value in names else value.lower()
    return names[key][lang] if key in names else None


def is_money(field: str | None) -> bool:
    spec = FIELDS.get(field) if field else None
    return bool(spec and spec.money)


def _call_words(call: n.Call, lang: str) -> str:
    spec = FUNCTIONS[call.name]
    parts = []
    for name, value in call.args:
        arg = spec.arg(name)
        if name == "date" and isinstance(value, n.DateOffset) and value.amount < 0:
            parts.append(_last_words(value, lang))  # "최근 90일", not "이후 기간 기준일 90일 전"
            continue
        label = (arg.ko if lang == "ko" else arg.en) if arg else name
        parts.append(f"{label} {_value_words(value, lang)}" if name else _value_words(value, lang))
    head = spec.ko if lang == "ko" else spec.en
    return f"{head} ({', '.join(parts)})" if parts else head


def matches_words(node: n.Matches, lang: str = "en") -> str:
    """``products_purchased MATCHES (id = 'A', date > -3m)`` in words: the function's label,
    then each test in the operator table's words with the argument's label."""
    spec = match_spec(node.function)
    head = (spec.ko if lang == "ko" else spec.en) if spec else node.function
    parts = []
    for test in node.tests:
        arg = spec.arg(test.left.name) if spec and isinstance(test.left, n.Field) else None
        label = (arg.ko if lang == "ko" else arg.en) if arg else str(test.left)
        is_date = arg is not None and arg.type == "date"
        right = test.right
        recent = isinstance(right, n.DateOffset) and right.amount < 0 and test.op in (">", ">=")
        if is_date and recent and isinstance(right, n.DateOffset):
            parts.append(_last_words(right, lang))  # "최근 3개월", as the older form reads
            continue
        if test.op == "=" and not is_date:
            parts.append(f"{label} {_value_words(test.right, lang)}")  # "카테고리 'shoes'"
            continue
        template = OPERATORS[test.op].words(lang, date=is_date)
        parts.append(template.format(l=label, r=_value_words(test.right, lang)))
    return f"{head} ({', '.join(parts)})" if parts else head


def condition_words(cond: n.Compare | n.Matches, lang: str = "en") -> str:
    """One condition in words, from the operator table."""
    if isinstance(cond, n.Matches):
        return matches_words(cond, lang)
    left = cond.left
    if (
        isinstance(left, n.Call)
        and FUNCTIONS[left.name].returns == "boolean"
        and cond.op in ("=", "!=")
        and isinstance(cond.right, n.Value)
        and isinstance(cond.right.value, bool)
    ):
        yes = cond.right.value == (cond.op == "=")
        words = _call_words(left, lang)
        if lang == "ko":
            return words if yes else f"{words} 아님"
        return words if yes else f"not {words}"
    date = kind_of(left) == "date"
    right = cond.right
    if (
        date
        and isinstance(right, n.DateOffset)
        and right.amount < 0
        and cond.op in RECENT_WORDS[lang]
    ):
        amount, unit = abs(right.amount), UNIT_WORDS[lang][right.unit]
        if lang == "en" and amount != 1:
            unit += "s"
        return RECENT_WORDS[lang][cond.op].format(l=_value_words(left, lang), n=amount, u=unit)
    template = OPERATORS[cond.op].words(lang, date=date)
    named = (
        _named_value(right, left.name, lang, between="BETWEEN" in cond.op)
        if isinstance(left, n.Field)
        else None
    )
    return template.format(l=_value_words(left, lang), r=named or _value_words(right, lang))


def describe(node: n.Node, lang: str = "en", indent: int = 0) -> list[str]:
    """The tree as indented lines of plain language."""
    pad = "  " * indent
    if isinstance(node, n.Compare | n.Matches):
        return [f"{pad}- {condition_words(node, lang)}"]
    words = GROUP_WORDS[lang][type(node).__name__]
    children = node.children if isinstance(node, n.All | n.AnyOf) else (node.child,)
    lines = [f"{pad}- {words}:"]
    for child in children:
        lines += describe(child, lang, indent + 1)
    return lines


def _fold(node: n.Node, held: dict[str, bool], path: str) -> bool:
    if isinstance(node, n.Compare | n.Matches):
        return held[path]
    if isinstance(node, n.Not):
        return not _fold(node.child, held, f"{path}.0" if path else "0")
    results = [
        _fold(child, held, f"{path}.{i}" if path else str(i))
        for i, child in enumerate(node.children)
    ]
    return all(results) if isinstance(node, n.All) else any(results)


def _tree_dict(
    node: n.Node, held: dict[str, bool], values: dict[str, Any], path: str, lang: str
) -> dict[str, Any]:
    result = _fold(node, held, path)
    if isinstance(node, n.Compare | n.Matches):
        return {
            "path": path,
            "condition": to_query(node),
            "words": condition_words(node, lang),
            "value": values.get(path, {}).get("left"),
            "compared_with": values.get(path, {}).get("right"),
            "held": result,
        }
    children = node.children if isinstance(node, n.All | n.AnyOf) else (node.child,)
    return {
        "path": path,
        "group": {"All": "all", "AnyOf": "any", "Not": "not"}[type(node).__name__],
        "held": result,
        "children": [
            _tree_dict(c, held, values, f"{path}.{i}" if path else str(i), lang)
            for i, c in enumerate(children)
        ],
    }


def explain(comp: Compiler, tree: n.Node, customer_id: str, *, lang: str = "en") -> dict[str, Any]:
    """Every condition of ``tree`` for one customer: its value, what it was compared with,
    whether it held, and whether the customer is in the segment."""
    table = comp.with_calls(tree)
    table = table.filter(table.customer_id == customer_id)
    leaves = n.conditions(tree)
    cols: dict[str, Any] = {
        "_in": comp.predicate(tree, table),
        "_universe": comp.in_universe(tree, table),
    }
    for i, (_, cond) in enumerate(leaves):
        cols[f"_held_{i}"] = comp.visit(cond, table)
        if isinstance(cond, n.Matches):
            continue
        cols[f"_left_{i}"] = comp.value(cond.left, table)
        if cond.right is not None and not isinstance(cond.right, tuple):
            cols[f"_right_{i}"] = comp.value(cond.right, table)
    rows = table.select(**cols).to_pyarrow().to_pylist()
    if not rows:
        raise UnknownCustomerError(f"no customer '{customer_id}' as of {comp.as_of}: check the id")
    row = rows[0]
    held = {path: bool(row[f"_held_{i}"]) for i, (path, _) in enumerate(leaves)}
    values = {
        path: {"left": _plain(row.get(f"_left_{i}")), "right": _plain(row.get(f"_right_{i}"))}
        for i, (path, _) in enumerate(leaves)
    }
    holds = bool(row["_in"])
    if _fold(tree, held, "") != holds:  # pragma: no cover - a compiler bug, never expected
        raise SegmentError("explanation and membership disagree: please report this segment")
    in_universe = bool(row["_universe"])
    return {
        "customer_id": customer_id,
        "as_of": comp.as_of.isoformat(),
        "in_segment": holds and in_universe,
        # an anonymous visitor is in no segment that does not name known_customer
        "in_universe": in_universe,
        "tree": _tree_dict(tree, held, values, "", lang),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return value
