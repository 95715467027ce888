"""A transaction PostgreSQL aborts to break a deadlock runs again, and only such a one."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from tests.support.databases import BACKEND
from wasb.store.conflicts import run_again_if_aborted
from wasb.store.engine import make_engine

postgres_only = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL's deadlock detection")


@postgres_only
def test_two_transactions_in_a_deadlock_both_commit_once_the_aborted_one_runs_again(database_url):
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (1, 0), (2, 0)"))
    both_hold_their_first = threading.Barrier(2)
    runs: list[str] = []
    errors: list[BaseException] = []

    def transaction(name: str, first: int, second: int):
        def body() -> None:
            again = name in runs
            runs.append(name)
            with engine.begin() as conn:
                conn.execute(text("UPDATE counter SET n = n + 1 WHERE id = :id"), {"id": first})
                if not again:  # the first time, each holds its first row when it asks for the other's
                    both_hold_their_first.wait(10)
                conn.execute(text("UPDATE counter SET n = n + 1 WHERE id = :id"), {"id": second})

        def run() -> None:
            try:
                run_again_if_aborted(body)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
        return threading.Thread(target=run)

    threads = [transaction("a", 1, 2), transaction("b", 2, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert errors == []
        assert sorted(runs) in (["a", "a", "b"], ["a", "b", "b"])  # one of them was aborted once
        with engine.connect() as conn:
            assert conn.execute(text("SELECT n FROM counter ORDER BY id")).scalars().all() == [2, 2]
    finally:
        engine.dispose()


def test_any_other_database_error_is_not_run_again(database_url):
    engine = make_engine(database_url)
    runs = []

    def body() -> None:
        runs.append(1)
        with engine.begin() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))

    try:
        with pytest.raises(Exception):  # SQLite's and PostgreSQL's "no such table"
            run_again_if_aborted(body)
        assert runs == [1]
    finally:
        engine.dispose()
