"""Row ids as the outside world writes them: the one place their bounds are decided.

Every table's id is an INTEGER, and PostgreSQL's INTEGER stops at 2^31-1: a larger number
given to a query is an error there (and past 2^63 an OverflowError on SQLite), never a row.
"""
from __future__ import annotations

MAX_ROW_ID = 2**31 - 1


def row_id(text: str | None) -> int | None:
    """The id written in `text` (ASCII digits, 1..MAX_ROW_ID), or None when no row can have it.

    `str.isdigit()` alone is not enough: it accepts digits that `int()` refuses ('³') or
    reads as another number ('١٢' is 12)."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None
