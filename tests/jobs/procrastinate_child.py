"""A worker process of the procrastinate engine for the kill -9 test: its one task says it
has started (a file) and never ends. `python -m tests.jobs.procrastinate_child URL DIR`."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

from wasb.jobs.procrastinate_worker import ProcrastinateWorker
from wasb.jobs.queue import Task
from wasb.store.engine import open_database


def main(url: str, directory: str) -> None:
    forever = threading.Event()

    def hang(_app, _session, payload) -> None:
        (Path(directory) / f"started-{payload['lock']}{payload['n']}").touch()
        forever.wait()

    db = open_database(url)
    worker = ProcrastinateWorker(None, db, {"record": Task("record", hang)}, concurrency=4, poll_seconds=0.05,
                                 heartbeat_seconds=0.5, stalled_worker_seconds=2, stalled_check_seconds=0.5)
    worker.start()
    (Path(directory) / "ready").touch()
    forever.wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
