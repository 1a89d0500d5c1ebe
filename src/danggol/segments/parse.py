"""Segment query text ⇄ tree.

``parse_query`` reads a one-line, WHERE-clause style query into the tree of ``nodes.py``::

    number_of_orders >= 1 AND (last_order_date < -5m OR NOT (customer_tags CONTAINS 'vip'))

and ``printer.to_query`` (re-exported here) prints a tree back in canonical form, so that
for every tree whose groups have at least two children ``parse_query(to_query(tree)) == tree``.

Grammar (keywords case-insensitive; AND binds tighter than OR)::

    query      := or_expr EOF
    or_expr    := and_expr (OR and_expr)*
    and_expr   := not_expr (AND not_expr)*
    not_expr   := NOT not_expr | '(' or_expr ')' | condition
    condition  := expr cmp_op expr | expr [NOT] BETWEEN expr AND expr
                | expr [NOT] IN '(' expr (',' expr)* ')' | expr [NOT] CONTAINS expr
                | expr IS [NOT] NULL | call            (a bare call to a boolean function)
    expr       := term (('+'|'-') term)* ;  term := factor (('*'|'/') factor)*
    factor     := NUMBER | '-' NUMBER | STRING | DATE | OFFSET | TRUE | FALSE | NULL
                | IDENT | IDENT '(' [arg (',' arg)*] ')' | '(' expr ')'
    arg        := IDENT ':' literal | literal

Every problem is a ``SegmentError`` carrying the query and the 0-based position of the
offending token: no input makes the parser raise anything else.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NoReturn, cast

from danggol.errors import SegmentError
from danggol.segments.fields import FIELDS, FUNCTIONS, FunctionSpec, suggest
from danggol.segments.matches import MATCH_FUNCTIONS, MatchSpec, from_call, match_spec
from danggol.segments.nodes import (
    MAX_CONDITIONS,
    MAX_DEPTH,
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

# the printer lives in printer.py; ``parse.to_query`` stays importable from here
from danggol.segments.printer import to_query

__all__ = ["MAX_DEPTH", "parse_query", "to_query"]

#: longer number tokens are refused: Python's int() refuses > 4300 digits, and no
#: sensible segment needs a number this long
_MAX_NUMBER_CHARS = 100

_KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "BETWEEN", "IN", "CONTAINS", "IS", "NULL", "TRUE", "FALSE", "MATCHES"}
)
#: Shopify's named dates that are words (``7_days_ago`` is read with the numbers)
_NAMED_DATES = {"today": 0, "yesterday": -1}
_AGO = re.compile(r"_(day|week|month|year)s?_ago", re.IGNORECASE)
_TIME = re.compile(
    r"[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,6})?)?(?:Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_CMP_OPS = ("=", "!=", "<", "<=", ">", ">=")


def check_text(value: str, what: str = "a text value") -> str:
    """``value`` unchanged, or a SegmentError when it holds a NUL character (which the engine
    would read as the end of the statement, failing the whole query)."""
    if "\x00" in value:
        raise SegmentError(f"{what} cannot contain the NUL character (\\0); remove it")
    return value


_ESCAPES = {"\\": "\\", "'": "'", '"': '"'}
# two-character operators first so '<=' is not read as '<' '='
_PUNCT = ("<=", ">=", "!=", "<>", "=", "<", ">", "+", "-", "*", "/", "(", ")", ",", ":")

# a dotted name (Shopify's shopify_email.opened) is one identifier
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# any digits-dash-digits-dash-digits run is meant as a date: reading '2025-6-30' as
# arithmetic would silently compare against the number 1989
_DATE_LIKE = re.compile(r"[0-9]+-[0-9]+-[0-9]+")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_COMPARISON_HELP = "a comparison such as =, >=, BETWEEN, IN, CONTAINS or IS NULL"


@dataclass(frozen=True)
class _Token:
    kind: str  # num str date offset ident kw op eof
    value: object
    pos: int
    end: int


# --------------------------------------------------------------------------- lexing


class _Lexer:
    def __init__(self, text: str, file: str | None) -> None:
        self.text = text
        self.file = file
        self.i = 0
        self.tokens: list[_Token] = []

    def fail(self, message: str, pos: int, suggestion: str | None = None) -> NoReturn:
        raise SegmentError(
            message, query=self.text, position=pos, file=self.file, suggestion=suggestion
        )

    def run(self) -> list[_Token]:
        text = self.text
        while self.i < len(text):
            c = text[self.i]
            if c.isspace():
                self.i += 1
            elif c in "'\"":
                self.string()
            elif "0" <= c <= "9":
                self.number_or_date()
            elif _IDENT.match(text, self.i):
                self.word()
            else:
                self.punct()
        self.tokens.append(_Token("eof", None, len(text), len(text)))
        return self.tokens

    def add(self, kind: str, value: object, start: int) -> None:
        self.tokens.append(_Token(kind, value, start, self.i))

    def string(self) -> None:
        text, start = self.text, self.i
        quote = text[start]
        out: list[str] = []
        i = start + 1
        while i < len(text):
            c = text[i]
            if c == quote:
                self.i = i + 1
                self.add("str", "".join(out), start)
                return
            if c == "\\":
                nxt = text[i + 1] if i + 1 < len(text) else ""
                if nxt not in _ESCAPES:
                    shown = f"\\{nxt}" if nxt else "\\ at the end"
                    self.fail(
                        f"unknown escape '{shown}' in a string: only \\' \\\" and \\\\ "
                        "(a backslash) are escapes",
                        i,
                    )
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            out.append(c)
            i += 1
        self.fail(
            f"unterminated string: the {quote} at position {start + 1} is never closed", start
        )

    def number_or_date(self) -> None:
        text, start = self.text, self.i
        date = _DATE_LIKE.match(text, start)
        if date:
            self.i = date.end()
            day = self.date_value(date.group(), start)
            time = _TIME.match(text, self.i) if text[self.i : self.i + 1] in ("T", "t") else None
            if time:
                self.i = time.end()
                self.add("date", self.datetime_value(text[start : self.i], start), start)
            else:
                self.add("date", day, start)
            return
        number = _NUMBER.match(text, start)
        assert number is not None  # we are on a digit
        raw = number.group()
        self.i = number.end()
        suffix = _IDENT.match(text, self.i)
        ago = _AGO.fullmatch(suffix.group()) if suffix else None
        if suffix and ago and re.fullmatch(r"[0-9]+", raw) and len(raw) <= _MAX_NUMBER_CHARS:
            # Shopify's named dates: 7_days_ago, 12_months_ago
            self.i += len(suffix.group())
            self.add("offset", (-int(raw), ago.group(1)[0].lower()), start)
            return
        if suffix:
            self.offset(raw, suffix.group(), start)
            return
        if len(raw) > _MAX_NUMBER_CHARS:
            self.fail(f"number too long ({len(raw)} characters)", start)
        self.add("num", self.number_value(raw, start), start)

    def date_value(self, raw: str, start: int) -> dt.date:
        iso = _ISO_DATE.fullmatch(raw)
        try:
            if iso is None:
                raise ValueError
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            self.fail(f"'{raw}' is not a valid date: write dates as YYYY-MM-DD", start)

    def datetime_value(self, raw: str, start: int) -> dt.datetime:
        try:
            return dt.datetime.fromisoformat(raw.replace("z", "Z").replace("t", "T"))
        except ValueError:
            self.fail(
                f"'{raw}' is not a valid date-time: write 2020-05-30T16:00:00, with an offset "
                "like +09:00 or Z if it is not in the shop's time zone",
                start,
            )

    def number_value(self, raw: str, start: int) -> int | float:
        if re.fullmatch(r"[0-9]+", raw):
            return int(raw)
        value = float(raw)
        if not math.isfinite(value):
            self.fail(f"number too large: {raw}", start)
        return value

    def offset(self, raw: str, unit: str, start: int) -> None:
        """``30d``: a number glued to a unit letter is a date offset (the sign is its own token)."""
        if unit.lower() not in OFFSET_UNITS:
            self.fail(
                f"unexpected '{unit}' after the number {raw}: date offsets are written like "
                "-30d, -4w, -5m or -1y",
                self.i,
            )
        if not re.fullmatch(r"[0-9]+", raw):
            self.fail(f"a date offset needs a whole number, got '{raw}{unit}'", start)
        if len(raw) > _MAX_NUMBER_CHARS:
            self.fail(f"date offset too long ({len(raw)} digits)", start)
        self.i += len(unit)
        self.add("offset", (int(raw), unit.lower()), start)

    def word(self) -> None:
        start = self.i
        match = _IDENT.match(self.text, start)
        assert match is not None
        self.i = match.end()
        word = match.group()
        if word.lower() in _NAMED_DATES:
            self.add("offset", (_NAMED_DATES[word.lower()], "d"), start)
        elif word.upper() in _KEYWORDS:
            self.add("kw", word.upper(), start)
        else:
            self.add("ident", word, start)

    def punct(self) -> None:
        start = self.i
        for op in _PUNCT:
            if self.text.startswith(op, start):
                self.i += len(op)
                self.add("op", "!=" if op == "<>" else op, start)
                return
        label = _korean_label_at(self.text, start)
        hint = ": field names are written in English" if label else ""
        self.fail(f"unexpected character '{self.text[start]}'{hint}", start, label)


def _korean_label_at(text: str, start: int) -> str | None:
    """The field whose Korean label is written at ``start`` (``나이 > 30`` → age), if any."""
    end = start
    while end < len(text) and (
        text[end] == " " or (text[end].isalnum() and not text[end].isascii())
    ):
        end += 1
    written = text[start:end].replace(" ", "")
    if not written:
        return None
    labels = {spec.ko.replace(" ", ""): spec.name for spec in FIELDS.values()}
    match = suggest(written, list(labels))
    return labels[match] if match else None


# --------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, text: str, tokens: list[_Token], file: str | None) -> None:
        self.text = text
        self.tokens = tokens
        self.file = file
        self.i = 0
        self.depth = 0
        self.leaves = 0  # conditions read so far (undone with the position on backtracking)

    # ---- helpers

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.peek()
        if tok.kind != "eof":
            self.i += 1
        return tok

    def is_op(self, tok: _Token, *ops: str) -> bool:
        return tok.kind == "op" and tok.value in ops

    def is_kw(self, tok: _Token, *words: str) -> bool:
        return tok.kind == "kw" and tok.value in words

    def source(self, start: int, end: int, limit: int = 40) -> str:
        """The query text of a span, shortened for messages."""
        shown = self.text[start:end]
        return shown if len(shown) <= limit else shown[: limit - 1] + "…"

    def quoted(self, start: int, end: int) -> str:
        # a string token shows its own quotes; anything else gets quoted for the message
        text = self.source(start, end)
        return text if text[:1] in "'\"" and text else f"'{text}'"

    def shown(self, tok: _Token) -> str:
        return "end of query" if tok.kind == "eof" else self.quoted(tok.pos, tok.end)

    def prev_text(self) -> str:
        if self.i == 0:
            return ""
        prev = self.tokens[self.i - 1]
        return self.quoted(prev.pos, prev.end)

    def fail(self, message: str, pos: int, suggestion: str | None = None) -> NoReturn:
        raise SegmentError(
            message, query=self.text, position=pos, file=self.file, suggestion=suggestion
        )

    def expected(self, what: str, *, after: str | None = None, hint: str = "") -> NoReturn:
        """Fail at the next token: 'expected WHAT after PREVIOUS, got TOKEN'.

        ``after=""`` leaves out the 'after' part (when WHAT already says where).
        """
        tok = self.peek()
        if after is None:
            after = self.prev_text()
        where = f" after {after}" if after else ""
        self.fail(f"expected {what}{where}, got {self.shown(tok)}{hint}", tok.pos)

    def enter(self, pos: int) -> None:
        """One level deeper; the caller undoes it (``self.depth -= 1``) in a ``finally``.

        Checked before counting, so a refusal leaves the depth as it was for backtracking.
        """
        if self.depth >= MAX_DEPTH:
            self.fail(f"query nested too deeply (more than {MAX_DEPTH} levels)", pos)
        self.depth += 1

    # ---- conditions

    def query(self) -> Node:
        if self.peek().kind == "eof":
            self.fail("empty query: expected a condition such as number_of_orders >= 1", 0)
        node = self.or_expr()
        if self.peek().kind != "eof":
            self.expected("AND, OR or end of query")
        return node

    def or_expr(self) -> Node:
        """Conditions joined by AND and OR, AND binding tighter.

        One loop for both (rather than or_expr → and_expr) keeps the parser to three Python
        frames per nesting level.
        """
        alternatives: list[Node] = []
        conjuncts = [self.not_expr()]
        while self.is_kw(self.peek(), "AND", "OR"):
            if self.advance().value == "OR":
                alternatives.append(_join(All, conjuncts))
                conjuncts = []
            conjuncts.append(self.not_expr())
        alternatives.append(_join(All, conjuncts))
        return _join(AnyOf, alternatives)

    def not_expr(self) -> Node:
        # NOT NOT … is read in a loop, not by recursion; each NOT still counts as a level
        nots = 0
        try:
            while self.is_kw(self.peek(), "NOT"):
                self.enter(self.advance().pos)
                nots += 1
            tok = self.peek()
            if self.is_op(tok, "("):
                node: Node = self.paren()
            elif self.starts_expr(tok):
                node = self.condition()
            else:
                self.expected("a condition")
        finally:
            self.depth -= nots
        for _ in range(nots):
            node = Not(node)
        return node

    def paren(self) -> Node:
        """'(' opens either a group of conditions or an arithmetic expression ``(a + b) > 3``.

        Try the group first; if that fails, or something other than AND, OR, ')' or the end
        follows its ')', read it as a condition instead. Of two failures the one that got
        further explains more. (The group is read inline, not by a helper, to keep the parser
        at three Python frames per nesting level.)
        """
        start, leaves = self.i, self.leaves
        open_tok = self.advance()
        group_error: SegmentError | None = None
        self.enter(open_tok.pos)
        try:
            node = self.or_expr()
            if not self.is_op(self.peek(), ")"):
                self.expected(
                    f"AND, OR or ')' to close the '(' at position {open_tok.pos + 1}", after=""
                )
            self.advance()
        except SegmentError as error:
            group_error = error
        finally:
            self.depth -= 1
        if group_error is not None:
            self.i, self.leaves = start, leaves
            try:
                return self.condition()
            except SegmentError as condition_error:
                raise max(group_error, condition_error, key=lambda e: e.position or 0) from None
        nxt = self.peek()
        if nxt.kind == "eof" or self.is_op(nxt, ")") or self.is_kw(nxt, "AND", "OR"):
            return node
        after_group, leaves_after = self.i, self.leaves
        self.i, self.leaves = start, leaves
        try:
            return self.condition()
        except SegmentError:
            # not a condition either: keep the group and let the caller name what follows it
            self.i, self.leaves = after_group, leaves_after
            return node

    def condition(self) -> Node:
        start = self.peek().pos
        if self.leaves >= MAX_CONDITIONS:
            self.fail(
                f"too many conditions: a segment holds at most {MAX_CONDITIONS}; for long "
                "lists of values use IN (…), e.g. customer_id IN ('C1', 'C2', …)",
                start,
            )
        self.leaves += 1
        if self.matches_follows():
            return self.matches()
        if self.match_call_follows():
            return self.match_call()
        cond = self.compare(start)
        try:
            converted = from_call(cond)
        except SegmentError as error:
            self.fail(error.message, start)
        return cond if converted is None else converted

    def compare(self, start: int) -> Compare:
        left = self.expr()
        left_text = self.quoted(start, self.tokens[self.i - 1].end)
        tok = self.peek()
        if self.is_op(tok, *_CMP_OPS):
            self.advance()
            return Compare(left, str(tok.value), self.expr())
        if self.is_kw(tok, "NOT"):
            self.advance()
            if not self.is_kw(self.peek(), "BETWEEN", "IN", "CONTAINS"):
                self.expected("BETWEEN, IN or CONTAINS")
            return self.keyword_compare(left, negated=True)
        if self.is_kw(tok, "BETWEEN", "IN", "CONTAINS"):
            return self.keyword_compare(left, negated=False)
        if self.is_kw(tok, "IS"):
            return self.is_null(left)
        if isinstance(left, Call) and FUNCTIONS[left.name].returns == "boolean":
            return Compare(left, "=", Value(True))
        self.expected(_COMPARISON_HELP, after=left_text, hint=_boolean_hint(left))

    # ---- MATCHES

    def matches_follows(self) -> bool:
        if self.peek().kind != "ident":
            return False
        nxt = self.tokens[self.i + 1]
        if self.is_kw(nxt, "MATCHES"):
            return True
        after = self.tokens[self.i + 2] if nxt.kind != "eof" else nxt
        return self.is_kw(nxt, "NOT") and self.is_kw(after, "MATCHES")

    def matches(self) -> Node:
        """``fn [NOT] MATCHES (arg op value, …)``."""
        name_tok = self.advance()
        name = str(name_tok.value)
        negated = self.is_kw(self.peek(), "NOT")
        if negated:
            self.advance()
        self.advance()  # MATCHES
        spec = match_spec(name)
        if spec is None:
            self.fail(_no_matches(name), name_tok.pos, _suggest_among(name, MATCH_FUNCTIONS))
        if not self.is_op(self.peek(), "("):
            self.expected("'(' and the function's conditions, e.g. (id = 1234, date > -30d)")
        self.advance()
        tests: list[Compare] = []
        while not self.is_op(self.peek(), ")"):
            if tests:
                if not self.is_op(self.peek(), ","):
                    self.expected(f"',' or ')' in {name} MATCHES (…)")
                self.advance()
            tests.append(self.match_test(spec))
        self.advance()
        node: Node = Matches(spec.name, tuple(tests))
        return Not(node) if negated else node

    def match_call_follows(self) -> bool:
        """A behaviour function that has only the MATCHES form, written the older way:
        ``shopify_email.opened(activity_id: 123) = true`` (Shopify's help center)."""
        tok = self.peek()
        return (
            tok.kind == "ident"
            and str(tok.value) not in FUNCTIONS
            and match_spec(str(tok.value)) is not None
            and self.is_op(self.tokens[self.i + 1], "(")
        )

    def match_call(self) -> Node:
        """``fn(arg: value, …) = true`` → ``fn MATCHES (arg = value, …)`` (``date: d`` is
        ``date >= d``, as in the older products_purchased form); ``= false`` or ``!= true`` →
        NOT MATCHES."""
        name_tok = self.advance()
        spec = match_spec(str(name_tok.value))
        assert spec is not None  # match_call_follows
        self.advance()  # '('
        tests: list[Compare] = []
        while not self.is_op(self.peek(), ")"):
            if tests:
                if not self.is_op(self.peek(), ","):
                    self.expected(f"',' or ')' in the arguments of {name_tok.value}")
                self.advance()
            tok = self.peek()
            names = ", ".join(a.name for a in spec.args if not a.aggregate)
            if tok.kind != "ident":
                self.expected(f"an argument of {name_tok.value} ({names})")
            arg = spec.arg(str(tok.value))
            if arg is None or arg.aggregate:
                self.fail(
                    f"{name_tok.value} has no argument '{tok.value}'; its arguments are {names}",
                    tok.pos,
                    suggest(str(tok.value), [a.name for a in spec.args if not a.aggregate]),
                )
            self.advance()
            if not self.is_op(self.peek(), ":"):
                self.expected(f"':' after the argument name '{tok.value}'")
            self.advance()
            value = self.literal()
            if value is None:
                self.expected("a value (text in quotes, a number, a date or an offset like -30d)")
            op = ">=" if arg.name == "date" else "="
            tests.append(Compare(Field(arg.name), op, as_text_id(value, arg.type)))
        self.advance()  # ')'
        op_tok = self.peek()
        truth = self.tokens[self.i + 1] if op_tok.kind != "eof" else op_tok
        if not (self.is_op(op_tok, "=", "!=") and self.is_kw(truth, "TRUE", "FALSE")):
            self.fail(
                f"{name_tok.value}(…) is compared with = true or = false, or written "
                f"{name_tok.value} MATCHES (…)",
                op_tok.pos,
            )
        self.i += 2
        positive = (truth.value == "TRUE") == (op_tok.value == "=")
        node: Node = Matches(spec.name, tuple(tests))
        return node if positive else Not(node)

    def match_test(self, spec: MatchSpec) -> Compare:
        tok = self.peek()
        if tok.kind != "ident":
            names = ", ".join(a.name for a in spec.args)
            self.expected(f"an argument of {spec.name} ({names})")
        self.advance()
        arg = spec.arg(str(tok.value))
        if arg is None:
            names = ", ".join(a.name for a in spec.args)
            self.fail(
                f"{spec.name} MATCHES has no argument '{tok.value}'; its arguments are {names}",
                tok.pos,
                suggest(str(tok.value), [a.name for a in spec.args]),
            )
        left = Field(arg.name)
        op_tok = self.peek()
        if self.is_op(op_tok, *_CMP_OPS):
            self.advance()
            return Compare(left, str(op_tok.value), self.match_value(arg.type))
        negated = self.is_kw(op_tok, "NOT")
        if negated:
            self.advance()
        word = self.peek()
        if self.is_kw(word, "BETWEEN"):
            self.advance()
            low = self.match_value(arg.type)
            if not self.is_kw(self.peek(), "AND"):
                self.expected("AND between the two bounds of BETWEEN")
            self.advance()
            op = "NOT BETWEEN" if negated else "BETWEEN"
            return Compare(left, op, (low, self.match_value(arg.type)))
        if self.is_kw(word, "IN"):
            self.advance()
            if not self.is_op(self.peek(), "("):
                self.expected("'(' and a list of values")
            self.advance()
            items = [self.match_value(arg.type)]
            while self.is_op(self.peek(), ","):
                self.advance()
                items.append(self.match_value(arg.type))
            if not self.is_op(self.peek(), ")"):
                self.expected("',' or ')' in the IN list")
            self.advance()
            return Compare(left, "NOT IN" if negated else "IN", tuple(items))
        self.expected("=, !=, <, <=, >, >=, BETWEEN, IN or NOT IN")

    def match_value(self, kind: str) -> Value | DateOffset:
        value = self.literal()
        if value is None:
            self.expected("a value (text in quotes, a number, a date or an offset like -30d)")
        return as_text_id(value, kind)

    def keyword_compare(self, left: Expr, *, negated: bool) -> Compare:
        word = str(self.advance().value)
        op = f"NOT {word}" if negated else word
        if word == "BETWEEN":
            low = self.expr()
            if not self.is_kw(self.peek(), "AND"):
                self.expected("AND between the two bounds of BETWEEN")
            self.advance()
            return Compare(left, op, (low, self.expr()))
        if word == "IN":
            return Compare(left, op, self.in_list())
        return Compare(left, op, self.expr())

    def in_list(self) -> tuple[Expr, ...]:
        if not self.is_op(self.peek(), "("):
            self.expected("'(' and a list of values")
        self.advance()
        items = [self.expr()]
        while self.is_op(self.peek(), ","):
            self.advance()
            items.append(self.expr())
        if not self.is_op(self.peek(), ")"):
            self.expected("',' or ')' in the IN list")
        self.advance()
        return tuple(items)

    def is_null(self, left: Expr) -> Compare:
        self.advance()
        negated = self.is_kw(self.peek(), "NOT")
        if negated:
            self.advance()
        if not self.is_kw(self.peek(), "NULL"):
            self.expected("NULL or NOT NULL" if not negated else "NULL")
        self.advance()
        return Compare(left, "IS NOT NULL" if negated else "IS NULL", None)

    # ---- expressions

    def starts_expr(self, tok: _Token) -> bool:
        if tok.kind in ("num", "str", "date", "offset", "ident"):
            return True
        return self.is_kw(tok, "TRUE", "FALSE", "NULL") or self.is_op(tok, "(", "-", "+")

    def expr(self) -> Expr:
        left = self.term()
        while self.is_op(self.peek(), "+", "-"):
            op = str(self.advance().value)
            left = Arith(op, left, self.term())  # type: ignore[arg-type]
        return left

    def term(self) -> Expr:
        left = self.factor()
        while self.is_op(self.peek(), "*", "/"):
            op = str(self.advance().value)
            left = Arith(op, left, self.factor())  # type: ignore[arg-type]
        return left

    def factor(self) -> Expr:
        tok = self.peek()
        if tok.kind == "ident":
            return self.name()
        if self.is_op(tok, "("):
            # inline rather than a helper: one frame fewer per nesting level
            self.enter(self.advance().pos)
            try:
                inner = self.expr()
            finally:
                self.depth -= 1
            if not self.is_op(self.peek(), ")"):
                self.expected(
                    f"an operator or ')' to close the '(' at position {tok.pos + 1}", after=""
                )
            self.advance()
            return inner
        literal = self.literal()
        if literal is not None:
            return literal
        if self.is_kw(tok, "NULL"):
            self.advance()
            return Value(None)
        self.expected("a field, value or function")

    def literal(self) -> Value | DateOffset | None:
        """A literal value, or None (consuming nothing) when the next token is not one."""
        tok = self.peek()
        if tok.kind in ("num", "str", "date"):
            self.advance()
            return Value(tok.value)  # type: ignore[arg-type]
        if tok.kind == "offset":
            self.advance()
            amount, unit = cast(
                "tuple[int, Literal['d', 'w', 'm', 'y']]", tok.value
            )  # the lexer's offset token
            return DateOffset(amount, unit)
        if self.is_kw(tok, "TRUE", "FALSE"):
            self.advance()
            return Value(tok.value == "TRUE")
        if self.is_op(tok, "-", "+"):
            return self.signed()
        return None

    def signed(self) -> Value | DateOffset:
        sign = self.advance()
        tok = self.peek()
        factor = -1 if sign.value == "-" else 1
        if tok.kind == "num":
            self.advance()
            return Value(factor * tok.value)  # type: ignore[operator]
        if tok.kind == "offset":
            self.advance()
            amount, unit = cast(
                "tuple[int, Literal['d', 'w', 'm', 'y']]", tok.value
            )  # the lexer's offset token
            return DateOffset(factor * amount, unit)
        self.expected("a number or a date offset like -30d")

    def name(self) -> Expr:
        tok = self.advance()
        name = str(tok.value)
        if self.is_op(self.peek(), "("):
            return self.call(tok)
        if name not in FIELDS:
            suggestion = _suggest_name(name, FIELDS)
            hint = ""
            if name in FUNCTIONS:
                hint = f"; '{name}' is a function: write {name}(…)"
            elif suggestion is None:
                # most often a text value written without quotes: customer_tags CONTAINS vip
                hint = f"; text values go in quotes, e.g. '{name}'"
            self.fail(f"unknown field '{name}'{hint}", tok.pos, suggestion)
        return Field(name)

    # ---- function calls

    def call(self, name_tok: _Token) -> Call:
        name = str(name_tok.value)
        spec = FUNCTIONS.get(name)
        if spec is None:
            hint = f"; '{name}' is a field: drop the parentheses" if name in FIELDS else ""
            known = ", ".join(FUNCTIONS)
            self.fail(
                f"unknown function '{name}'{hint} (functions: {known})",
                name_tok.pos,
                _suggest_name(name, FUNCTIONS),
            )
        self.advance()  # '('
        args: list[tuple[str, Value | DateOffset]] = []
        if self.is_op(self.peek(), ")"):
            self.advance()
        else:
            self.call_args(spec, args)
        self.check_required(spec, args, name_tok)
        return Call(name, tuple(args))

    def call_args(self, spec: FunctionSpec, args: list[tuple[str, Value | DateOffset]]) -> None:
        while True:
            key, pos = self.arg_name(spec)
            if any(k == key for k, _ in args):
                shown = f"argument '{key}'" if key else "the unnamed argument"
                self.fail(f"{spec.name}: {shown} is given twice", pos)
            value = self.literal()
            if value is None:
                self.expected(
                    "a value (text in quotes, a number, a date, an offset like -30d, true or false)"
                )
            arg = spec.arg(key)
            args.append((key, as_text_id(value, arg.type if arg else "")))
            if self.is_op(self.peek(), ")"):
                self.advance()
                return
            if not self.is_op(self.peek(), ","):
                self.expected(f"',' or ')' in the arguments of {spec.name}")
            self.advance()

    def arg_name(self, spec: FunctionSpec) -> tuple[str, int]:
        """The argument's name ('' for a positional one) and its position; consumes 'name:'."""
        tok = self.peek()
        if tok.kind == "ident":
            self.advance()
            if not self.is_op(self.peek(), ":"):
                if spec.arg("") is not None:
                    self.fail(
                        f"{spec.name} needs its value in quotes, e.g. {_arg_example(spec)}",
                        tok.pos,
                    )
                self.expected(f"':' after the argument name '{tok.value}'")
            self.advance()
            name = str(tok.value)
            if spec.arg(name) is None:
                self.fail(_unknown_arg(spec, name), tok.pos, _suggest_arg(spec, name))
            return name, tok.pos
        if spec.arg("") is None:
            if self.literal_follows():
                example = _arg_example(spec)
                self.fail(
                    f"{spec.name} takes named arguments, e.g. {example}: write the "
                    "argument's name and ':' before the value",
                    tok.pos,
                )
            self.expected(f"an argument of {spec.name} such as {_arg_example(spec)}")
        return "", tok.pos

    def literal_follows(self) -> bool:
        tok = self.peek()
        return tok.kind in ("num", "str", "date", "offset") or self.is_kw(tok, "TRUE", "FALSE")

    def check_required(
        self, spec: FunctionSpec, args: list[tuple[str, Value | DateOffset]], name_tok: _Token
    ) -> None:
        given = {k for k, _ in args}
        for a in spec.args:
            if a.required and a.name not in given:
                what = f"the argument '{a.name}'" if a.name else f"a {a.en} name"
                self.fail(f"{spec.name} needs {what}, e.g. {_arg_example(spec)}", name_tok.pos)


def as_text_id(value: Value | DateOffset, kind: str) -> Value | DateOffset:
    """An unquoted whole number where text is compared (Shopify's ``id = 1234``) is that
    number's text: ids are stored as text."""
    if kind in ("text", "tags") and isinstance(value, Value) and type(value.value) is int:
        return Value(str(value.value))
    return value


def _no_matches(name: str) -> str:
    known = ", ".join(MATCH_FUNCTIONS)
    if name in FIELDS:
        return (
            f"MATCHES is not supported for the field '{name}': compare it with =, <, IN … "
            f"(MATCHES works with the behaviour functions {known})"
        )
    if name in FUNCTIONS:
        return (
            f"MATCHES is not supported for {name}(…): write {_arg_example(FUNCTIONS[name])} "
            f"(MATCHES works with {known})"
        )
    return f"unknown function '{name}' before MATCHES (MATCHES works with {known})"


def _suggest_among(name: str, known: Mapping[str, object]) -> str | None:
    return suggest(name, list(known)) if name not in FIELDS and name not in FUNCTIONS else None


def _join(kind: type[All] | type[AnyOf], parts: list[Node]) -> Node:
    # the parser makes a group only of two or more: one part is just that part
    return parts[0] if len(parts) == 1 else kind(tuple(parts))


def _suggest_name(name: str, known: Mapping[str, object]) -> str | None:
    # names are case-sensitive; a case slip is the likeliest typo of all
    if name.lower() in known:
        return name.lower()
    return suggest(name, list(known))


def _suggest_arg(spec: FunctionSpec, name: str) -> str | None:
    return suggest(name, [a.name for a in spec.args if a.name])


def _unknown_arg(spec: FunctionSpec, name: str) -> str:
    names = [a.name for a in spec.args if a.name]
    if not names:
        return (
            f"{spec.name} has no argument '{name}'; it takes one value, e.g. {_arg_example(spec)}"
        )
    return f"{spec.name} has no argument '{name}'; its arguments are {', '.join(names)}"


def _arg_example(spec: FunctionSpec) -> str:
    first = next((a for a in spec.args if a.required), spec.args[0] if spec.args else None)
    if first is None:
        return f"{spec.name}()"
    sample = {"date": "-30d", "number": "1", "integer": "1"}.get(first.type, "'…'")
    return f"{spec.name}({first.name + ': ' if first.name else ''}{sample})"


def _boolean_hint(left: Expr) -> str:
    if isinstance(left, Field) and FIELDS[left.name].type == "boolean":
        return f"; write {left.name} = true"
    return ""


def parse_query(text: str, *, file: str | None = None) -> Node:
    """Parse one query into a segment tree; every problem is a ``SegmentError``."""
    if not isinstance(text, str):
        raise SegmentError(f"a query must be text, got {type(text).__name__}", file=file)
    tokens = _Lexer(text, file).run()
    try:
        return _Parser(text, tokens, file).query()
    except RecursionError:
        # MAX_DEPTH keeps us well inside the limit; this only guards a caller that is
        # itself already deep in the stack
        raise SegmentError("query nested too deeply", query=text, position=0, file=file) from None
