"""A worker process of the procrastinate engine for the kill -9 test: its one task says it
has started (a file) and never ends; in mode `grouped` it runs by groups, and a group says
each of its jobs has started. `python -m tests.jobs.procrastinate_child URL DIR [MODE]`."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

from wasb.jobs.procrastinate_worker import ProcrastinateWorker
from wasb.jobs.queue import Task
from wasb.store.engine import open_database


def main(url: str, directory: str, mode: str = "single") -> None:
    forever = threading.Event()

    def hang(_app, _session, payload) -> None:
        (Path(directory) / f"started-{payload['lock']}{payload['n']}").touch()
        forever.wait()

    def hang_group(_app, payloads) -> list:
        for payload in payloads:
            (Path(directory) / f"started-{payload['lock']}{payload['n']}").touch()
        forever.wait()
        return []

    db = open_database(url)
    task = Task("record", hang, run_group=hang_group if mode == "grouped" else None)
    worker = ProcrastinateWorker(None, db, {"record": task}, concurrency=4, poll_seconds=0.05,
                                 heartbeat_seconds=0.5, stalled_worker_seconds=2, stalled_check_seconds=0.5)
    worker.start()
    (Path(directory) / "ready").touch()
    forever.wait()


if __name__ == "__main__":
    main(*sys.argv[1:4])
