"""What SQL the inbound worker runs for one message: every statement the write engine sends
while the worker processes the stored events, the queue's own claim and delete of its jobs
set apart (they are the queue's, whatever the job), transaction control (BEGIN, SAVEPOINT,
RELEASE) counted on its own.

Used by the hot path's statement-count test and by bench/inbound_worker.py."""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from sqlalchemy import Engine, event

_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", re.IGNORECASE)
# The queue's claim (UPDATE job … RETURNING) and the removal of the jobs a batch finished; on
# procrastinate, the batch loop's fetch, delete and its worker row (register, heartbeat, unregister).
_QUEUE = re.compile(r"^\s*(WITH due AS|UPDATE job SET status|DELETE FROM job WHERE|WITH candidate AS"
                    r"|DELETE FROM procrastinate_jobs|SELECT worker_id FROM procrastinate_register_worker"
                    r"|UPDATE procrastinate_workers|SELECT procrastinate_unregister_worker)", re.IGNORECASE)


@dataclass
class Statements:
    """The statements seen, sorted into the three kinds."""

    work: list[str] = field(default_factory=list)
    control: list[str] = field(default_factory=list)
    queue: list[str] = field(default_factory=list)

    def add(self, sql: str) -> None:
        text = " ".join(sql.split())
        if _CONTROL.match(text):
            self.control.append(text)
        elif _QUEUE.match(text):
            self.queue.append(text)
        else:
            self.work.append(text)

    def summary(self) -> list[str]:
        """The work statements, each cut to its verb and table (what a reader compares)."""
        return [_short(s) for s in self.work]


def _short(sql: str) -> str:
    words = sql.split()
    verb = words[0].upper()
    if verb == "SELECT":
        return f"SELECT {_outer_from(words)}"
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    if verb == "DELETE":
        return f"DELETE {words[2]}"
    return " ".join(words[:3])


def _outer_from(words: list[str]) -> str:
    """The table the statement selects from (not one of its subqueries')."""
    depth = 0
    for word, following in zip(words, words[1:]):
        if word == "FROM" and depth == 0:
            return following
        depth += word.count("(") - word.count(")")
    return "?"


@contextmanager
def counting(engine: Engine) -> Iterator[Statements]:
    """Every statement `engine` sends while the block runs (from any thread)."""
    seen = Statements()

    def before(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        seen.add(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
