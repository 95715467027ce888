"""Building VTQL queries safely.

VTQL has no bound parameters, so every value reaches the CRM inside the query text.
`quote` is the ONE function that turns a value into a string literal; every other
value-producing function here ends in it. Conditions only accept `Literal` objects,
which only these functions create, so a raw string cannot slip into a query.

VTQL facts this follows (observed on vtenext CE 20.04 and vtiger 8.2):
- strings are single-quoted, a quote inside is doubled (`'O''Brien'`);
- `\\'` is a syntax error, so a backslash next to a quote must never be produced;
- the empty literal `''` cannot be written;
- a malformed value in a comparison is not rejected (`modifiedtime > 'garbage'`
  matches every row), so times and ids are validated before they are quoted;
- ORDER BY takes one column; `LIMIT offset,n`; the trailing `;` is required.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime

# vtiger caps every query at 100 rows, even with a larger explicit LIMIT: pages are
# never bigger than this, so paging works the same on both CRMs.
MAX_PAGE = 100

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RECORD_ID = re.compile(r"^[0-9]+x[0-9]+$")
_CRM_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_OPERATORS = {"=", "!=", "<", ">", "<=", ">=", "LIKE"}


class VTQLValueError(ValueError):
    """A value cannot be written safely into a VTQL query."""


class Literal(str):
    """A value already quoted by `quote`; the only kind a condition accepts."""


def quote(value: str) -> Literal:
    """The one escaping function: `value` as a VTQL string literal.

    Quotes are doubled. Control characters (newlines, NUL, ...) and backslashes are
    removed: VTQL cannot carry them safely (a backslash before a doubled quote would
    form the `\\'` the parser rejects), and no value we search for needs them.
    """
    if not isinstance(value, str):
        raise VTQLValueError(f"a VTQL literal must be a string, not {type(value).__name__}")
    cleaned = "".join(
        ch for ch in value if ch != "\\" and unicodedata.category(ch) not in ("Cc", "Cs")
    )
    if cleaned == "":
        raise VTQLValueError("VTQL cannot express the empty string")
    return Literal("'" + cleaned.replace("'", "''") + "'")


def quote_id(record_id: str) -> Literal:
    """A webservice id (`<prefix>x<crmid>`); anything else is refused, not guessed."""
    if not isinstance(record_id, str) or not _RECORD_ID.match(record_id):
        raise VTQLValueError(f"not a webservice id: {record_id!r}")
    return quote(record_id)


def quote_time(value: datetime | str) -> Literal:
    """A CRM time, `YYYY-MM-DD HH:MM:SS` in the CRM's zone (naive: no offset in VTQL)."""
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = value
    if not is_crm_time(text):  # 2025-02-31 is refused too
        raise VTQLValueError(f"not a CRM time: {value!r}")
    return quote(text)


def is_record_id(value: object) -> bool:
    return isinstance(value, str) and bool(_RECORD_ID.match(value))


def is_crm_time(value: object) -> bool:
    if not isinstance(value, str) or not _CRM_TIME.match(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return True


def column(name: str) -> str:
    if not isinstance(name, str) or not _IDENT.match(name):
        raise VTQLValueError(f"not a field name: {name!r}")
    return name


def condition(field: str, op: str, value: Literal) -> str:
    op = op.upper()
    if op not in _OPERATORS:
        raise VTQLValueError(f"unsupported operator {op!r}")
    if not isinstance(value, Literal):
        raise VTQLValueError("condition values must come from quote(), quote_id() or quote_time()")
    return f"{column(field)} {op} {value}"


def all_of(*conditions: str) -> str:
    """Conditions joined by AND. VTQL has no parentheses for grouping, so OR groups
    are only ever used alone (see `any_of`)."""
    return " AND ".join(c for c in conditions if c)


def any_of(*conditions: str) -> str:
    return " OR ".join(c for c in conditions if c)


def select(
    module: str,
    columns: Iterable[str] | str = "*",
    where: str = "",
    order_by: str | None = None,
    descending: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> str:
    if columns in ("*", "count(*)"):
        cols = columns
    else:
        cols = ", ".join(column(c) for c in columns)
    query = f"SELECT {cols} FROM {column(module)}"
    if where:
        query += f" WHERE {where}"
    if order_by:
        query += f" ORDER BY {column(order_by)}" + (" DESC" if descending else " ASC")
    if limit is not None:
        if not (0 < int(limit) <= MAX_PAGE) or int(offset) < 0:
            raise VTQLValueError(f"LIMIT {offset},{limit} outside 0..{MAX_PAGE}")
        query += f" LIMIT {int(offset)},{int(limit)}"
    return query + ";"
