"""Change feeds by `modifiedtime` polling, with a cursor that survives restarts.

The `sync` operation is broken on vtenext CE (PHP >= 7.1) and on vtiger 8.2 (PHP 8),
so changes are found with `modifiedtime >= T ORDER BY modifiedtime`. Many records
share a second, so the cursor holds the boundary second AND the ids already handed
out in that second: the next poll asks for `>=` that second and skips those ids, so
each change is seen once, even when a burst of writes lands in the same second.

Times are the CRM's own wall-clock strings (`YYYY-MM-DD HH:MM:SS` in its zone, no
offset): the cursor keeps them exactly as the CRM wrote them.

Cursor format: `<time>|<id>,<id>,...` (e.g. `2025-02-27 22:21:44|36x12,36x13`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from wasb.crm.port import CRMError
from wasb.crm.vtenext import vtql


# A cursor from the beginning that can be stored (None cannot: it means "not started").
BEGINNING = "1970-01-01 00:00:00"


@dataclass(frozen=True)
class Cursor:
    time: str | None = None  # None: from the beginning
    seen: frozenset[str] = frozenset()

    def encode(self) -> str | None:
        if self.time is None:
            return None
        return f"{self.time}|{','.join(sorted(self.seen))}"

    def after(self, row: dict) -> "Cursor":
        """The cursor once `row` has been handed out."""
        time = row.get("modifiedtime")
        if not vtql.is_crm_time(time):
            return self  # a row without a usable time cannot move the cursor
        if self.time is None or time > self.time:
            return Cursor(time, frozenset({row["id"]}))
        if time == self.time:
            return Cursor(time, self.seen | {row["id"]})
        return self


def decode(cursor: str | None) -> Cursor:
    if not cursor:
        return Cursor()
    time, _, ids = cursor.partition("|")
    seen = frozenset(i for i in ids.split(",") if i)
    if not vtql.is_crm_time(time) or not all(vtql.is_record_id(i) for i in seen):
        raise CRMError(f"not a CRM change cursor: {cursor!r}")
    return Cursor(time, seen)


def rows_since(query: Callable[[str], list[dict]], module: str, cursor: Cursor) -> Iterator[dict]:
    """Rows of `module` changed at or after the cursor, oldest first, fetched lazily a
    page (≤ 100 rows, vtiger's cap) at a time; rows the cursor has seen are skipped."""
    where = vtql.condition("modifiedtime", ">=", vtql.quote_time(cursor.time)) if cursor.time else ""
    offset = 0
    while True:
        rows = query(
            vtql.select(module, "*", where, order_by="modifiedtime", limit=vtql.MAX_PAGE, offset=offset)
        )
        for row in rows:
            if row.get("id") in cursor.seen and row.get("modifiedtime") == cursor.time:
                continue
            yield row
        if len(rows) < vtql.MAX_PAGE:
            return
        offset += len(rows)
