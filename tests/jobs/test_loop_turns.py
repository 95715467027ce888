"""The turns a worker process's batch and group loops take (jobs.procrastinate_loop.Turns)."""
from __future__ import annotations

import threading

from tests.support.polling import wait_until
from wasb.jobs.procrastinate_loop import Turns


def test_a_loop_that_leaves_its_turn_and_asks_again_comes_after_the_one_waiting():
    turns, order = Turns(), []
    waiting = threading.Event()

    def other() -> None:
        waiting.set()
        with turns.turn():
            order.append("other")

    with turns.turn():
        order.append("busy 1")
        thread = threading.Thread(target=other)
        thread.start()
        wait_until(lambda: waiting.is_set() and turns._next == 2, 10, "the other loop asking for its turn")
    with turns.turn():  # at once: it still has work
        order.append("busy 2")
    thread.join(10)
    assert order == ["busy 1", "other", "busy 2"]
