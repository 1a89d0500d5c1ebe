"""The segment query language: text → tree, tree → text, and its errors."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from danggol.errors import SegmentError
from danggol.segments.fields import FIELDS, FUNCTIONS, ArgSpec
from danggol.segments.forms import from_dict, to_dict
from danggol.segments.matches import MATCH_FUNCTIONS
from danggol.segments.nodes import (
    ARITH_OPS,
    OFFSET_UNITS,
    All,
    AnyOf,
    Arith,
    Call,
    Compare,
    DateOffset,
    Expr,
    Field,
    Matches,
    Node,
    Not,
    Value,
)
from danggol.segments.parse import MAX_DEPTH, parse_query, to_query

F = Field
V = Value


def cmp(left: Expr | str, op: str, right: object = None) -> Compare:
    """Compare with a field name for ``left`` and plain Python values wrapped in Value."""
    lhs = F(left) if isinstance(left, str) else left

    def wrap(x: object) -> Expr:
        return x if isinstance(x, Field | Value | DateOffset | Arith | Call) else V(x)  # type: ignore[arg-type]

    if isinstance(right, tuple):
        return Compare(lhs, op, tuple(wrap(x) for x in right))
    return Compare(lhs, op, None if right is None else wrap(right))


def error_of(text: str, **kw: object) -> SegmentError:
    with pytest.raises(SegmentError) as info:
        parse_query(text, **kw)  # type: ignore[arg-type]
    return info.value


def same(a: object, b: object) -> bool:
    """Equal and of the same types: == alone takes Value(True) for Value(1) and 1 for 1.0."""
    return a == b and repr(a) == repr(b)


# --------------------------------------------------------------------------- the examples


def test_orders_and_recency() -> None:
    assert same(
        parse_query("number_of_orders >= 1 AND last_order_date < -5m"),
        All((cmp("number_of_orders", ">=", 1), cmp("last_order_date", "<", DateOffset(-5, "m")))),
    )


def test_bought_a_but_not_b() -> None:
    def bought(pid: str) -> Call:
        return Matches(
            "products_purchased", (cmp("id", "=", pid), cmp("date", ">=", DateOffset(-3, "m")))
        )

    text = (
        "products_purchased(id: 'A', date: -3m) = true "
        "AND products_purchased(id: 'B', date: -3m) = false"
    )
    # the older call form reads into the MATCHES tree (one canonical form)
    want = All((bought("A"), Not(bought("B"))))
    assert same(parse_query(text), want)
    current = (
        "products_purchased MATCHES (id = 'A', date >= -3m) "
        "AND products_purchased NOT MATCHES (id = 'B', date >= -3m)"
    )
    assert same(parse_query(current), want)
    assert to_query(want) == current


def test_cart_without_order() -> None:
    events = Matches(
        "events", (cmp("name", "=", "cart_add"), cmp("date", ">=", DateOffset(-7, "d")))
    )
    orders = Call("number_of_orders", (("date", DateOffset(-7, "d")),))
    text = "events(name: 'cart_add', date: -7d) >= 1 AND number_of_orders(date: -7d) = 0"
    assert same(parse_query(text), All((events, cmp(orders, "=", 0))))


def test_percentile_band() -> None:
    text = "amount_spent_percentile >= 60 AND amount_spent_percentile < 80"
    expected = All(
        (cmp("amount_spent_percentile", ">=", 60), cmp("amount_spent_percentile", "<", 80))
    )
    assert same(parse_query(text), expected)


def test_not_wholesale() -> None:
    assert same(
        parse_query("NOT (customer_tags CONTAINS 'wholesale')"),
        Not(cmp("customer_tags", "CONTAINS", "wholesale")),
    )


# --------------------------------------------------------------------------- more of the grammar


def test_between_dates() -> None:
    tree = parse_query("first_order_date BETWEEN 2025-01-01 AND 2025-06-30")
    assert same(
        tree, cmp("first_order_date", "BETWEEN", (dt.date(2025, 1, 1), dt.date(2025, 6, 30)))
    )
    tree = parse_query("signup_date NOT BETWEEN -1y AND -30d")
    assert same(
        tree, cmp("signup_date", "NOT BETWEEN", (DateOffset(-1, "y"), DateOffset(-30, "d")))
    )


def test_between_inside_and() -> None:
    # BETWEEN's own AND is not a conjunction
    tree = parse_query("age BETWEEN 20 AND 29 AND gender = 'female'")
    assert same(tree, All((cmp("age", "BETWEEN", (20, 29)), cmp("gender", "=", "female"))))


def test_in_lists() -> None:
    assert same(
        parse_query("customer_regions IN ('서울특별시', \"경기도\")"),
        cmp("customer_regions", "IN", ("서울특별시", "경기도")),
    )
    assert same(parse_query("age NOT IN (20)"), cmp("age", "NOT IN", (20,)))


def test_is_null() -> None:
    assert same(parse_query("age IS NULL"), cmp("age", "IS NULL"))
    assert same(parse_query("age is not null"), cmp("age", "IS NOT NULL"))
    assert same(parse_query("age = NULL"), cmp("age", "=", V(None)))


def test_contains_and_not_contains() -> None:
    assert same(
        parse_query("customer_tags NOT CONTAINS 'vip'"),
        cmp("customer_tags", "NOT CONTAINS", "vip"),
    )


def test_arithmetic() -> None:
    expected = cmp("days_since_last_order", ">", Arith("*", V(1.5), F("avg_days_between_orders")))
    assert same(parse_query("days_since_last_order > 1.5 * avg_days_between_orders"), expected)


def test_arithmetic_precedence_and_parentheses() -> None:
    a, b, c = F("age"), F("refunds"), F("number_of_orders")
    assert same(
        parse_query("age + refunds * number_of_orders > 1").left, Arith("+", a, Arith("*", b, c))
    )
    assert same(
        parse_query("(age + refunds) * number_of_orders > 1").left, Arith("*", Arith("+", a, b), c)
    )
    assert same(
        parse_query("age - refunds - number_of_orders > 1").left, Arith("-", Arith("-", a, b), c)
    )
    # a parenthesised expression at the start of a condition is not a group
    assert same(parse_query("(age + refunds) > 3"), cmp(Arith("+", a, b), ">", 3))
    assert same(parse_query("((age)) > 3"), cmp("age", ">", 3))


def test_dates_offsets_and_signs() -> None:
    assert same(parse_query("last_order_date >= 2025-06-30").right, V(dt.date(2025, 6, 30)))
    assert same(parse_query("last_order_date >= +7d").right, DateOffset(7, "d"))
    assert same(parse_query("last_order_date >= 30D").right, DateOffset(30, "d"))
    assert same(parse_query("last_order_date >= -4w").right, DateOffset(-4, "w"))
    assert same(parse_query("age > -3").right, V(-3))
    assert same(parse_query("aov > 1e3").right, V(1000.0))
    # minus between two terms is subtraction, not a sign
    assert same(parse_query("age -3 > 1").left, Arith("-", F("age"), V(3)))


def test_strings_and_escapes() -> None:
    assert same(parse_query(r"customer_cities = 'O\'Neil \\ \"x\"'").right, V('O\'Neil \\ "x"'))
    assert same(parse_query('customer_cities = "it\'s"').right, V("it's"))
    assert same(parse_query("customer_cities = ''").right, V(""))


def test_precedence_and_binds_tighter() -> None:
    a, b, c = cmp("age", ">", 1), cmp("refunds", "=", 0), cmp("aov", "<", 5)
    assert same(parse_query("age > 1 OR refunds = 0 AND aov < 5"), AnyOf((a, All((b, c)))))
    assert same(parse_query("age > 1 AND refunds = 0 OR aov < 5"), AnyOf((All((a, b)), c)))
    assert same(parse_query("age > 1 AND refunds = 0 AND aov < 5"), All((a, b, c)))
    assert same(parse_query("NOT age > 1 AND refunds = 0"), All((Not(a), b)))


def test_nested_parentheses() -> None:
    a, b, c = cmp("age", ">", 1), cmp("refunds", "=", 0), cmp("aov", "<", 5)
    assert same(parse_query("age > 1 AND (refunds = 0 AND aov < 5)"), All((a, All((b, c)))))
    assert same(parse_query("(age > 1 OR (refunds = 0)) AND aov < 5"), All((AnyOf((a, b)), c)))
    assert same(parse_query("((((age > 1))))"), a)
    assert same(parse_query("NOT (NOT (age > 1))"), Not(Not(a)))
    assert same(
        parse_query("NOT ((age + 1) * 2 > 3)"),
        Not(cmp(Arith("*", Arith("+", F("age"), V(1)), V(2)), ">", 3)),
    )


def test_case_insensitive_keywords_and_ne() -> None:
    expected = All((cmp("age", "!=", 3), cmp("customer_tags", "NOT CONTAINS", "x")))
    assert same(parse_query("age <> 3 and customer_tags not contains 'x'"), expected)
    assert same(parse_query("age != 3 AnD customer_tags NoT CoNtAiNs 'x'"), expected)
    assert same(parse_query("known_customer = TRUE").right, V(True))
    assert same(parse_query("age Between 1 aNd 2"), cmp("age", "BETWEEN", (1, 2)))


def test_bare_boolean_call() -> None:
    seg = Call("in_segment", (("", V("vip")),))
    assert same(parse_query("in_segment('vip')"), cmp(seg, "=", True))
    assert to_query(parse_query("in_segment('vip')")) == "in_segment('vip') = true"
    assert same(
        parse_query("NOT in_segment('vip') OR age > 1"),
        AnyOf((Not(cmp(seg, "=", True)), cmp("age", ">", 1))),
    )


def test_whitespace_anywhere() -> None:
    text = "  products_purchased ( id :'A' ,date:-90d )=true\tAND\nage>1 "
    bought = Matches(
        "products_purchased", (cmp("id", "=", "A"), cmp("date", ">=", DateOffset(-90, "d")))
    )
    assert same(parse_query(text), All((bought, cmp("age", ">", 1))))


def test_depth_limit() -> None:
    ok = "(" * MAX_DEPTH + "age > 1" + ")" * MAX_DEPTH
    assert same(parse_query(ok), cmp("age", ">", 1))
    arithmetic = "(" * MAX_DEPTH + "age + 1" + ")" * MAX_DEPTH + " > 2"
    assert same(parse_query(arithmetic), cmp(Arith("+", F("age"), V(1)), ">", 2))
    too_deep = "(" * (MAX_DEPTH + 1) + "age > 1" + ")" * (MAX_DEPTH + 1)
    assert "nested too deeply" in error_of(too_deep).message
    assert "nested too deeply" in error_of("NOT " * 5000 + "age > 1").message
    assert "nested too deeply" in error_of("(" * 100_000).message


# --------------------------------------------------------------------------- printing


@pytest.mark.parametrize(
    "text",
    [
        "number_of_orders >= 1 AND last_order_date < -5m",
        "age > 1 OR (refunds = 0 AND aov < 5)",
        "(age > 1 OR refunds = 0) AND aov < 5",
        "NOT (customer_tags CONTAINS 'wholesale')",
        "products_purchased MATCHES (id = 'A', date >= -90d)",
        "products_purchased NOT MATCHES (id IN ('1', '2'), date BETWEEN -12m AND today)",
        "orders_placed MATCHES (count >= 2, sum_amount > 100, date > yesterday)",
        "email_opened MATCHES (activity_id = '123', date > -30d)",
        "events MATCHES ()",
        "last_order_date BETWEEN 2020-05-30T16:00:00 AND +30d",
        "signup_date > 2020-05-30T16:00:00+09:00",
        "in_segment('vip') = true",
        "days_since_last_order > 1.5 * avg_days_between_orders",
        "(age + refunds) * 2 > 3",
        "age - -3 > 1",
        "customer_cities IN ('O\\'Neil', 'a\\\\b')",
        "first_order_date BETWEEN 2025-01-01 AND 2025-06-30",
        "age IS NOT NULL",
        "amount_spent(date: -1y) >= 100000",
    ],
)
def test_canonical_text_is_a_fixed_point(text: str) -> None:
    assert to_query(parse_query(text)) == text


def test_printing_canonicalises() -> None:
    assert to_query(parse_query("age<>3   and   NOT(age>1)")) == "age != 3 AND NOT (age > 1)"
    assert to_query(parse_query('customer_cities = "it\'s"')) == "customer_cities = 'it\\'s'"
    assert to_query(parse_query("last_order_date > 7d")) == "last_order_date > +7d"
    # Shopify's named dates and date-times
    assert to_query(parse_query("last_order_date >= 7_days_ago")) == "last_order_date >= -7d"
    assert to_query(parse_query("last_order_date >= 12_months_ago")) == "last_order_date >= -12m"
    assert to_query(parse_query("last_order_date = 0d")) == "last_order_date = today"
    assert to_query(parse_query("last_order_date = -1D")) == "last_order_date = yesterday"
    assert to_query(parse_query("signup_date < 2020-05-30T16:00:00Z")) == (
        "signup_date < 2020-05-30T16:00:00+00:00"
    )
    # the older call form and unquoted numeric ids print as MATCHES with text ids
    assert to_query(parse_query("products_purchased(id: 1234) = true")) == (
        "products_purchased MATCHES (id = '1234')"
    )
    assert to_query(parse_query("products_purchased MATCHES (id = 1234)")) == (
        "products_purchased MATCHES (id = '1234')"
    )
    assert to_query(parse_query("events(name: 'visit') = 0")) == (
        "events NOT MATCHES (name = 'visit')"
    )
    assert to_query(parse_query("events(name: 'visit', date: -7d) BETWEEN 2 AND 3")) == (
        "events MATCHES (name = 'visit', date >= -7d, count BETWEEN 2 AND 3)"
    )
    assert to_query(parse_query("NOT (shopify_email.clicked MATCHES ())")) == (
        "email_clicked NOT MATCHES ()"
    )


def test_printing_refuses_what_cannot_round_trip() -> None:
    with pytest.raises(SegmentError):
        to_query(cmp("aov", ">", float("nan")))
    with pytest.raises(SegmentError):
        to_query(All(()))
    with pytest.raises(SegmentError):
        to_query(cmp("age", "LIKE", 1))


# --------------------------------------------------------------------------- errors


def test_unknown_field_with_suggestion_and_caret() -> None:
    text = "number_of_orders >= 1 AND amount_spend > 100"
    err = error_of(text)
    assert err.message == "unknown field 'amount_spend'"
    assert err.position == 26
    assert err.suggestion == "amount_spent"
    assert err.query == text
    lines = str(err).splitlines()
    assert lines[-2:] == [f"  {text}", "  " + " " * 26 + "^"]
    assert "did you mean 'amount_spent'?" in str(err)


def test_error_names_the_file() -> None:
    err = error_of("amount_spend > 1", file="segments/vip.yaml")
    assert err.file == "segments/vip.yaml"
    assert str(err).startswith("segments/vip.yaml, position 1:")


def test_hints_for_unquoted_text_and_korean_labels() -> None:
    unquoted = error_of("customer_tags CONTAINS vip")
    assert unquoted.message == "unknown field 'vip'; text values go in quotes, e.g. 'vip'"
    assert unquoted.position == 23
    korean = error_of("나이 > 30")
    assert korean.message == "unexpected character '나': field names are written in English"
    assert (korean.position, korean.suggestion) == (0, "age")
    assert error_of("최근 구매일 < -30d").suggestion == "last_order_date"


def test_unknown_function() -> None:
    err = error_of("product_purchased(id: 'A') = true")
    assert err.message.startswith("unknown function 'product_purchased'")
    assert err.position == 0
    assert err.suggestion == "products_purchased"
    # a function used as a field, and a field used as a function, say so
    assert "is a function" in error_of("events > 1").message
    assert "is a field" in error_of("age() > 1").message


def test_unknown_argument() -> None:
    err = error_of("products_purchased(id: 'A', colour: 'red') = true")
    assert err.message == (
        "products_purchased has no argument 'colour'; "
        "its arguments are id, category, tag, min_price, max_price, date, count"
    )
    assert err.position == 28
    assert error_of("products_purchased(categry: 'x')").suggestion == "category"


def test_argument_mistakes() -> None:
    missing = error_of("events(date: -7d) >= 1")
    assert "events needs the argument 'name'" in missing.message
    assert missing.position == 0
    assert "needs" in error_of("in_segment() = true").message
    assert "given twice" in error_of("events(name: 'a', name: 'b') > 1").message
    assert "named arguments" in error_of("products_purchased('A') = true").message
    assert "in quotes" in error_of("in_segment(vip)").message
    assert error_of("events(name 'a') > 1").message.startswith(
        "expected ':' after the argument name"
    )
    assert "a value" in error_of("events(name: age) > 1").message


def test_missing_comparison() -> None:
    err = error_of("amount_spent abc")
    assert err.message == (
        "expected a comparison such as =, >=, BETWEEN, IN, CONTAINS or IS NULL "
        "after 'amount_spent', got 'abc'"
    )
    assert err.position == 13
    end = error_of("amount_spent")
    assert end.position == len("amount_spent")
    assert end.message.endswith("got end of query")
    assert "write known_customer = true" in error_of("known_customer").message


def test_unclosed_parenthesis() -> None:
    text = "(age > 1 AND refunds = 0"
    err = error_of(text)
    assert err.message == "expected AND, OR or ')' to close the '(' at position 1, got end of query"
    assert err.position == len(text)
    assert error_of("age IN (1, 2").position == len("age IN (1, 2")
    assert "to close" in error_of("(age + 1 > 3").message


def test_unterminated_string() -> None:
    err = error_of("customer_cities = 'Seoul")
    assert err.message.startswith("unterminated string")
    assert err.position == 18
    assert "unknown escape" in error_of(r"customer_cities = 'C:\temp'").message


@pytest.mark.parametrize(
    "bad", ["2025-13-45", "2025-02-30", "0000-01-01", "2025-6-30", "2025-06-301"]
)
def test_bad_date(bad: str) -> None:
    err = error_of(f"last_order_date > {bad}")
    assert "not a valid date" in err.message
    assert err.position == 18


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_query(text: str) -> None:
    err = error_of(text)
    assert err.message.startswith("empty query")
    assert err.position == 0


@pytest.mark.parametrize(
    ("text", "position", "start"),
    [
        ("age > 1 AND", 11, "expected a condition after 'AND', got end of query"),
        ("age > 1 age < 2", 8, "expected AND, OR or end of query after '1', got 'age'"),
        ("age = = 3", 6, "expected a field, value or function after '=', got '='"),
        ("age BETWEEN 1 OR 2", 14, "expected AND between the two bounds of BETWEEN"),
        ("age IS 3", 7, "expected NULL or NOT NULL after 'IS'"),
        ("age NOT = 3", 8, "expected BETWEEN, IN or CONTAINS after 'NOT'"),
        ("age IN 1", 7, "expected '(' and a list of values"),
        ("age > -x", 7, "expected a number or a date offset like -30d after '-'"),
        ("age > 1; DROP", 7, "unexpected character ';'"),
        ("age > 30days", 8, "unexpected 'days' after the number 30"),
        ("last_order_date > -1.5m", 19, "a date offset needs a whole number"),
        ("(age > 1) = true", 10, "expected AND, OR or end of query after ')', got '='"),
        (") AND age > 1", 0, "expected a condition, got ')'"),
        ("age > 1e999", 6, "number too large"),
        ("age > " + "9" * 200, 6, "number too long"),
    ],
)
def test_syntax_errors(text: str, position: int, start: str) -> None:
    err = error_of(text)
    assert err.message.startswith(start)
    assert err.position == position


def test_non_text_query() -> None:
    with pytest.raises(SegmentError):
        parse_query(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- injection


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("customer_tags CONTAINS 'x''; DROP TABLE orders; --'", None),
        ("customer_tags CONTAINS 'x'; DROP TABLE orders; --", None),
        ("customer_tags CONTAINS 'x\\'; DROP TABLE orders; --'", "x'; DROP TABLE orders; --"),
        ('customer_tags CONTAINS "x\'; DROP TABLE orders; --"', "x'; DROP TABLE orders; --"),
        ("customer_cities = 'a\" OR 1=1 --'", 'a" OR 1=1 --'),
        ("customer_cities = '\\' OR \\'1\\'=\\'1'", "' OR '1'='1"),
        ("customer_cities = 'x' OR 1=1 --'", None),
        (
            "customer_cities = 'Robert\\'); DROP TABLE customers;--'",
            "Robert'); DROP TABLE customers;--",
        ),
        ("in_segment('vip\\') OR (1=1') = true", "vip') OR (1=1"),
    ],
)
def test_injection_is_a_literal_or_an_error(text: str, value: str | None) -> None:
    if value is None:
        error_of(text)
        return
    tree = parse_query(text)
    assert isinstance(tree, Compare)
    found = tree.left.args[0][1] if isinstance(tree.left, Call) else tree.right
    assert same(found, V(value))


@given(st.text())
@settings(max_examples=300)
def test_any_text_is_exactly_one_literal(text: str) -> None:
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    assert same(
        parse_query(f"customer_tags CONTAINS {quoted}"), cmp("customer_tags", "CONTAINS", text)
    )


# --------------------------------------------------------------------------- property: trees round-trip

_BY_TYPE: dict[str, list[str]] = {}
for _spec in FIELDS.values():
    _BY_TYPE.setdefault(_spec.type, []).append(_spec.name)

_texts = st.text(
    alphabet=st.one_of(st.sampled_from("'\"\\ 한글ab-_(),:%\n"), st.characters()), max_size=10
)
_ints = st.integers(-(10**9), 10**9)
_floats = st.floats(allow_nan=False, allow_infinity=False)
_numbers = st.one_of(_ints, _floats).map(V)
_dates = st.dates().map(V)
_offsets = st.builds(DateOffset, st.integers(-500, 500), st.sampled_from(OFFSET_UNITS))
_datetimes = st.datetimes(
    min_value=dt.datetime(1000, 1, 1),
    timezones=st.one_of(
        st.none(), st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=9, minutes=30))])
    ),
).map(lambda d: V(d.replace(fold=0)))  # fold is not part of the written form
_when = st.one_of(_dates, _offsets, _datetimes)
_ARG_VALUES = {
    "text": _texts.map(V),
    "number": _numbers,
    "integer": _ints.map(V),
    "date": _when,
    "segment": _texts.map(V),
}
_CMP = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])


#: functions whose comparisons read into MATCHES (their older form is not canonical)
_AS_MATCHES = ("products_purchased", "events")


@st.composite
def _calls(draw: st.DrawFn, returns: tuple[str, ...]) -> Call:
    names = sorted(n for n, f in FUNCTIONS.items() if f.returns in returns and n not in _AS_MATCHES)
    spec = FUNCTIONS[draw(st.sampled_from(names))]
    required = [a for a in spec.args if a.required]
    optional = [a for a in spec.args if not a.required]
    chosen: list[ArgSpec] = required
    if optional:
        chosen = chosen + draw(st.lists(st.sampled_from(optional), unique=True))
    chosen = draw(st.permutations(chosen))
    return Call(spec.name, tuple((a.name, draw(_ARG_VALUES[a.type])) for a in chosen))


def _fields(kind: str) -> st.SearchStrategy[Field]:
    return st.sampled_from(_BY_TYPE[kind]).map(F)


_numeric_leaf = st.one_of(
    _fields("integer"), _fields("number"), _numbers, _calls(("integer", "number"))
)
_numeric = st.recursive(
    _numeric_leaf,
    lambda inner: st.builds(Arith, st.sampled_from(ARITH_OPS), inner, inner),
    max_leaves=4,
)
_date_field = st.one_of(_fields("date"))
_textual = st.one_of(_fields("text"), _fields("enum"))


def _ranges(
    left: st.SearchStrategy[Expr], right: st.SearchStrategy[Expr]
) -> st.SearchStrategy[Compare]:
    return st.one_of(
        st.builds(Compare, left, _CMP, right),
        st.builds(
            Compare, left, st.sampled_from(["BETWEEN", "NOT BETWEEN"]), st.tuples(right, right)
        ),
        st.builds(
            Compare,
            left,
            st.sampled_from(["IN", "NOT IN"]),
            st.lists(right, min_size=1, max_size=3).map(tuple),
        ),
    )


_MATCH_VALUES = {
    "text": _texts.map(V),
    "tags": _texts.map(V),
    "number": _numbers,
    "integer": _ints.map(V),
    "date": _when,
}


@st.composite
def _matches(draw: st.DrawFn) -> Node:
    spec = MATCH_FUNCTIONS[draw(st.sampled_from(sorted(MATCH_FUNCTIONS)))]
    tests = []
    for arg in draw(st.lists(st.sampled_from(spec.args), max_size=3)):
        value = _MATCH_VALUES[arg.type]
        test = draw(_ranges(st.just(F(arg.name)), value))
        tests.append(test)
    node = Matches(spec.name, tuple(tests))
    return Not(node) if draw(st.booleans()) else node


_any_field = st.sampled_from(sorted(FIELDS)).map(F)
_leaves: st.SearchStrategy[Node] = st.one_of(
    _ranges(_numeric, _numeric),
    _ranges(_date_field, _when),
    _ranges(_textual, _texts.map(V)),
    st.builds(
        Compare, _fields("tags"), st.sampled_from(["CONTAINS", "NOT CONTAINS"]), _texts.map(V)
    ),
    st.builds(Compare, _fields("boolean"), st.sampled_from(["=", "!="]), st.booleans().map(V)),
    st.builds(Compare, _calls(("boolean",)), st.just("="), st.booleans().map(V)),
    _matches(),
    st.builds(Compare, _any_field, st.sampled_from(["IS NULL", "IS NOT NULL"])),
    st.builds(Compare, _any_field, st.sampled_from(["=", "!="]), st.just(V(None))),
)


def _groups(depth: int) -> st.SearchStrategy[Node]:
    """All, AnyOf and Not over children down to ``depth`` levels of groups.

    Hypothesis favours the first strategy of a ``one_of``, so the leaves come first among
    the children (small trees) while the root is always a group (nesting gets exercised).
    """
    sub = _leaves if depth == 1 else st.one_of(_leaves, _groups(depth - 1))
    children = st.lists(sub, min_size=2, max_size=4).map(tuple)
    return st.one_of(st.builds(All, children), st.builds(AnyOf, children), st.builds(Not, sub))


def _assert_round_trips(tree: Node) -> None:
    text = to_query(tree)
    assert same(parse_query(text), tree), text
    assert same(from_dict(to_dict(tree)), tree)


@given(_groups(4))
@settings(max_examples=300, deadline=None)
def test_trees_round_trip_through_text_and_dict(tree: Node) -> None:
    _assert_round_trips(tree)


@given(_leaves)
@settings(max_examples=200, deadline=None)
def test_single_conditions_round_trip(tree: Node) -> None:
    _assert_round_trips(tree)


@given(
    st.integers(0, 10_000),
    st.sampled_from([("day", "d"), ("week", "w"), ("month", "m"), ("year", "y")]),
    st.booleans(),
    st.sampled_from(["last_order_date", "customer_added_date", "abandoned_checkout_date"]),
)
@settings(max_examples=200, deadline=None)
def test_named_dates_read_as_offsets_back_from_the_as_of_date(n, unit, plural, field) -> None:
    """Shopify's ``N_days_ago`` family (any N, unit, singular or plural, any case) is the
    offset ``-N`` of that unit; printed back as the offset."""
    word, letter = unit
    text = f"{n}_{word}{'s' if plural else ''}_ago"
    tree = parse_query(f"{field} >= {text.upper() if n % 2 else text}")
    assert same(tree, Compare(F(field), ">=", DateOffset(-n, letter)))
    assert same(parse_query(to_query(tree)), tree)


@st.composite
def _older_match_calls(draw: st.DrawFn) -> tuple[str, Node]:
    """Shopify's older form of a MATCHES-only function (``shopify_email.opened(activity_id:
    123) = true``) and the tree it means: each argument an equality, ``date`` "on or after"."""
    names = sorted(n for n in MATCH_FUNCTIONS if n not in FUNCTIONS)
    spec = MATCH_FUNCTIONS[draw(st.sampled_from(names))]
    spelling = draw(st.sampled_from([spec.name, *spec.aliases]))
    args = draw(st.lists(st.sampled_from([a for a in spec.args if not a.aggregate]), max_size=3))
    tests = []
    written = []
    for arg in args:
        value = draw(_MATCH_VALUES[arg.type])
        op = ">=" if arg.name == "date" else "="
        tests.append(Compare(F(arg.name), op, value))
        written.append(f"{arg.name}: {to_query(Compare(F('x'), '=', value))[len('x = ') :]}")
    truth = draw(st.sampled_from(["= true", "= false", "!= true", "!= false"]))
    node: Node = Matches(spec.name, tuple(tests))
    positive = truth in ("= true", "!= false")
    return f"{spelling}({', '.join(written)}) {truth}", node if positive else Not(node)


@given(_older_match_calls())
@settings(max_examples=200, deadline=None)
def test_the_older_call_form_of_every_matches_function_reads_as_matches(case) -> None:
    text, tree = case
    assert same(parse_query(text), tree), text
    _assert_round_trips(tree)


def test_shopify_help_centre_email_example_reads_as_matches() -> None:
    # help.shopify.com/en/manual/customers/customer-segmentation/customer-segments/
    # customer-segments-components: "shopify_email.opened(activity_id: 123) = true"
    tree = parse_query("shopify_email.opened(activity_id: 123) = true")
    assert to_query(tree) == "email_opened MATCHES (activity_id = '123')"
    err = error_of("shopify_email.opened(activity_id: 1) > 2")
    assert "compared with = true or = false" in err.message and err.position == 37
    err = error_of("shopify_email.opened(count: 2) = true")
    assert err.message.startswith("shopify_email.opened has no argument 'count'")


# --------------------------------------------------------------------------- property: only SegmentError

_TOKENS = [
    "AND", "or", "Not", "BETWEEN", "in", "CONTAINS", "IS", "NULL", "true", "FALSE",
    "(", ")", ",", ":", "=", "!=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/",
    "'a'", "'", '"', "\\", "\\'", "1", "1.5", "1e5", "-30d", "7w", "2025-06-30", "2025-13-45",
    "age", "amount_spent", "number_of_orders", "customer_tags", "events", "in_segment",
    "products_purchased", "name", "date", "id", "foo", "한글", ";", "--", "\n", "9" * 120,
    "shopify_email.opened", "activity_id", "orders_placed", "MATCHES",
]  # fmt: skip


def _check_parse_outcome(text: str) -> None:
    try:
        tree = parse_query(text)
    except SegmentError as err:
        assert err.query == text
        assert err.position is not None and 0 <= err.position <= len(text)
        return
    # whatever parses prints to text that parses back to the same tree
    assert same(parse_query(to_query(tree)), tree)


@given(st.text())
@settings(max_examples=400)
def test_random_text_raises_only_segment_error(text: str) -> None:
    _check_parse_outcome(text)


@given(st.lists(st.sampled_from(_TOKENS), max_size=24), st.sampled_from([" ", ""]))
@settings(max_examples=500)
def test_random_tokens_raise_only_segment_error(tokens: list[str], sep: str) -> None:
    _check_parse_outcome(sep.join(tokens))


@given(
    st.lists(st.sampled_from(["(", ")", "NOT ", "age > 1", " AND ", "age + 1", "> 2"]), max_size=60)
)
@settings(max_examples=300)
def test_random_nesting_raises_only_segment_error(parts: list[str]) -> None:
    _check_parse_outcome("".join(parts))


@given(_groups(2), st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_queries_raise_only_segment_error(tree: Node, data: st.DataObject) -> None:
    # a valid query with a few spans replaced by tokens reaches the deeper error paths
    text = to_query(tree)
    for _ in range(data.draw(st.integers(1, 3))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 8)))
        text = text[:start] + data.draw(st.sampled_from(["", " ", *_TOKENS])) + text[end:]
    _check_parse_outcome(text)
