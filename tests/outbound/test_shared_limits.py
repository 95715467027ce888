"""The send rate and pacing shared through PostgreSQL (`wasb.outbound.shared_limits`): however
many threads and processes take at once, no more tokens are out than the tier, and a token
counts from its send's answer. Periods are long, so nothing here depends on timing."""
from __future__ import annotations

import multiprocessing
import threading

import pytest

from tests.support.databases import create_database, drop_database
from tests.support.polling import wait_until
from wasb.outbound.shared_limits import SharedPairPacer, SharedTokenBucket
from wasb.store.engine import open_database
from wasb.store.migrate import upgrade

NUMBER = "106540352242922"


@pytest.fixture
def pg(database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("one sender process on SQLite: its buckets are in memory")
    upgrade(database_url)
    db = open_database(database_url)
    yield db
    db.dispose()


def _take_all(url: str, capacity: int, tries: int, out) -> None:
    db = open_database(url)
    bucket = SharedTokenBucket(db, NUMBER, capacity, period=60)
    out.put(sum(1 for _ in range(tries) if bucket.try_take() == 0))
    db.dispose()


def test_processes_taking_at_once_never_get_more_tokens_than_the_tier(pg, database_url):
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [context.Process(target=_take_all, args=(database_url, 7, 20, out)) for _ in range(3)]
    for process in processes:
        process.start()
    taken = [out.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(30)
    assert sum(taken) == 7, taken


def test_threads_taking_at_once_never_get_more_tokens_than_the_tier(pg):
    bucket = SharedTokenBucket(pg, NUMBER, 10, period=60)
    other = SharedTokenBucket(pg, NUMBER, 10, period=60)  # another process's view of the number
    taken: list[int] = []
    start = threading.Barrier(8)

    def take(which: SharedTokenBucket) -> None:
        start.wait()
        taken.append(sum(1 for _ in range(5) if which.try_take() == 0))

    threads = [threading.Thread(target=take, args=(bucket if n % 2 else other,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(taken) == 10


def test_a_token_comes_back_a_period_after_the_answer_not_before(pg):
    bucket = SharedTokenBucket(pg, NUMBER, 2, period=60)
    assert bucket.try_take() == 0 and bucket.try_take() == 0
    bucket.release()
    bucket.release()
    other = SharedTokenBucket(pg, NUMBER, 2, period=60)
    wait = other.try_take()
    assert 50 < wait <= 60  # answered just now: free a minute from now, for every process
    # a process that died with a token under way gives it back when its lease ends
    crashed = SharedTokenBucket(pg, "another-number", 1, period=60, lease=0.0)
    assert crashed.try_take() == 0
    assert SharedTokenBucket(pg, "another-number", 1, period=60).try_take() == 0


def test_a_higher_tier_adds_tokens_for_every_process(pg):
    bucket = SharedTokenBucket(pg, NUMBER, 1, period=60)
    assert bucket.try_take() == 0 and bucket.try_take() > 0
    bucket.configure(3, period=60)
    other = SharedTokenBucket(pg, NUMBER, 3, period=60)
    assert [other.try_take() for _ in range(3)][:2] == [0, 0]


def test_one_customer_is_paced_across_processes_while_others_are_not(pg):
    here, there = SharedPairPacer(pg, NUMBER, burst=2, window=60), SharedPairPacer(pg, NUMBER, burst=2, window=60)
    assert here.try_take("a") == 0 and there.try_take("a") == 0
    assert 50 < here.try_take("a") <= 60 and there.try_take("b") == 0
    assert there.try_take_many(["c", "a", "c", "c"])[0] == 0
    waits = here.try_take_many(["d", "d", "d"])
    assert waits[:2] == [0, 0] and waits[2] > 0
    here.give_back("d")
    assert there.try_take("d") == 0


def test_a_give_back_the_database_never_takes_stops_being_tried_once_its_lease_has_ended(tmp_path, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("one sender process on SQLite: its buckets are in memory")
    url = create_database(tmp_path)
    upgrade(url)
    db = open_database(url)
    bucket = SharedTokenBucket(db, NUMBER, 1, period=60, lease=0.0)
    assert bucket.try_take() == 0
    drop_database(url)  # the database goes away with the token under way
    bucket.release()
    wait_until(lambda: bucket._flusher is not None and not bucket._flusher.is_alive(),
               what="the flusher to give up on a lapsed give-back")
    db.dispose()
