"""A VTQL subset, parsed and run over in-memory rows, for the fake webservice.

Good enough for what the adapter sends, and strict where the real parser is:
`SELECT cols|*|count(*) FROM M [WHERE c op v {AND|OR c op v}] [ORDER BY col [ASC|DESC]]
[LIMIT n | LIMIT o,n];` with the trailing `;` required, single-quoted strings with
doubled quotes, and `\\'` a syntax error. Like MySQL: AND binds tighter than OR,
comparisons ignore case, and a time compared with a malformed value matches every row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime


class VTQLSyntaxError(Exception):
    pass


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|'')*')
    | (?P<badstring>'[^']*\\')
    | (?P<number>\d+)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),;*])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\(\*\))?)
    )""",
    re.VERBOSE,
)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise VTQLSyntaxError(f"syntax error near {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "badstring" or (kind == "string" and "\\" in value):
            raise VTQLSyntaxError("syntax error: backslash in a string literal")
        if kind == "string":
            value = value[1:-1].replace("''", "'")
        tokens.append((kind, value))
        pos = m.end()
    return tokens


@dataclass
class Comparison:
    column: str
    op: str
    values: list[str]


@dataclass
class Query:
    module: str
    columns: list[str] | None  # None: *
    count: bool = False
    where: list[list[Comparison]] = field(default_factory=list)  # OR of ANDs
    order_by: str | None = None
    descending: bool = False
    offset: int = 0
    limit: int | None = None


class _Parser:
    def __init__(self, tokens):
        self.tokens, self.i = tokens, 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("eof", "")

    def take(self, kind=None, value=None):
        tok = self.peek()
        if kind and tok[0] != kind or value and tok[1].upper() != value:
            raise VTQLSyntaxError(f"syntax error: expected {value or kind}, got {tok[1]!r}")
        self.i += 1
        return tok

    def keyword(self, word):
        tok = self.peek()
        if tok[0] == "word" and tok[1].upper() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Query:
        self.take("word", "SELECT")
        columns, count = None, False
        if self.peek() == ("punct", "*"):
            self.take()
        elif self.peek()[0] == "word" and self.peek()[1].lower() == "count(*)":
            self.take()
            count = True
        else:
            columns = [self.take("word")[1]]
            while self.peek() == ("punct", ","):
                self.take()
                columns.append(self.take("word")[1])
        self.take("word", "FROM")
        q = Query(module=self.take("word")[1], columns=columns, count=count)
        if self.keyword("WHERE"):
            group = [self.comparison()]
            while True:
                if self.keyword("AND"):
                    group.append(self.comparison())
                elif self.keyword("OR"):
                    q.where.append(group)
                    group = [self.comparison()]
                else:
                    break
            q.where.append(group)
        if self.keyword("ORDER"):
            self.take("word", "BY")
            q.order_by = self.take("word")[1]
            if self.keyword("DESC"):
                q.descending = True
            else:
                self.keyword("ASC")
        if self.keyword("LIMIT"):
            first = int(self.take("number")[1])
            if self.peek() == ("punct", ","):
                self.take()
                q.offset, q.limit = first, int(self.take("number")[1])
            else:
                q.limit = first
        if self.peek() != ("punct", ";"):
            raise VTQLSyntaxError("syntax error: the query must end with ;")
        self.take()
        if self.peek()[0] != "eof":
            raise VTQLSyntaxError("syntax error: text after ;")
        return q

    def comparison(self) -> Comparison:
        column = self.take("word")[1]
        if self.keyword("LIKE"):
            return Comparison(column, "LIKE", [self.value()])
        if self.keyword("IN"):
            self.take("punct", "(")
            values = [self.value()]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.value())
            self.take("punct", ")")
            return Comparison(column, "IN", values)
        op = self.take("op")[1]
        return Comparison(column, "!=" if op == "<>" else op, [self.value()])

    def value(self) -> str:
        kind, value = self.peek()
        if kind not in ("string", "number"):
            raise VTQLSyntaxError(f"syntax error: expected a value, got {value!r}")
        self.i += 1
        return value


def parse(text: str) -> Query:
    return _Parser(tokenize(text)).parse()


def _as_time(value: str) -> datetime | None:
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        try:
            return datetime.strptime(value.strip(), "%Y-%m-%d")
        except ValueError:
            return None


def _like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def matches(cmp: Comparison, row: dict, time_fields: set[str]) -> bool:
    actual = str(row.get(cmp.column) or "")
    if cmp.op == "LIKE":
        return _like(cmp.values[0], actual)
    if cmp.op == "IN":
        return actual.casefold() in {v.casefold() for v in cmp.values}
    value = cmp.values[0]
    if cmp.column in time_fields:
        wanted = _as_time(value)
        if wanted is None:
            return True  # as observed: a malformed value in a comparison matches every row
        have = _as_time(actual) or datetime.min
        left, right = have, wanted
    else:
        # MySQL's case-insensitive collation, trailing spaces ignored
        left, right = actual.casefold().rstrip(" "), value.casefold().rstrip(" ")
    return {
        "=": left == right,
        "!=": left != right,
        "<": left < right,
        ">": left > right,
        "<=": left <= right,
        ">=": left >= right,
    }[cmp.op]


def run(q: Query, rows: list[dict], time_fields: set[str]) -> list[dict]:
    if q.where:
        rows = [r for r in rows if any(all(matches(c, r, time_fields) for c in group) for group in q.where)]
    if q.order_by:
        rows = sorted(rows, key=lambda r: str(r.get(q.order_by) or "").casefold(), reverse=q.descending)
    return rows
