"""Transactions PostgreSQL aborted because of another one, which are right to run again.

Several worker processes write the same rows in different orders (a sender storing a
group's wamids and conversations, another worker applying Meta's status webhooks for the
same messages): PostgreSQL breaks such a deadlock by aborting one transaction (40P01), and
a serializable conflict is reported likewise (40001). Nothing of the aborted transaction was
kept, so running it again is safe."""
from __future__ import annotations

import logging
from typing import Callable, TypeVar

from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRIED_STATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def aborted_by_another(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and getattr(exc.orig, "sqlstate", None) in RETRIED_STATES


def run_again_if_aborted(transaction: Callable[[], T], attempts: int = 5) -> T:
    """`transaction()` (which opens and commits its own), run again up to `attempts` times in
    all while PostgreSQL aborts it for another's sake."""
    for attempt in range(1, attempts + 1):
        try:
            return transaction()
        except OperationalError as exc:
            if not aborted_by_another(exc) or attempt == attempts:
                raise
            log.info("transaction aborted by a concurrent one (%s): running it again (%d/%d)",
                     exc.orig.sqlstate, attempt + 1, attempts)
    raise AssertionError("unreachable")
