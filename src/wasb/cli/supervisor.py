"""`wasb serve`'s worker: a `wasb worker` child process, kept running by a thread.

The child is restarted when it exits while serve runs (a crash, a kill -9, an
out-of-memory kill), after a pause that doubles from FIRST_PAUSE up to LONGEST_PAUSE
while it keeps dying, and starts again from FIRST_PAUSE once a child has lived
STEADY_AFTER seconds. When serve stops, the child gets SIGTERM (it finishes its current
batch) and SIGKILL if it has not exited after `stop_seconds`. When serve dies without
stopping it (kill -9), the child notices on its own (wasb.cli.worker.die_with_parent).

The child gets serve's environment, its standard output and error (its logs go where
serve's go), and a process group of its own, so a Ctrl-C at the terminal reaches serve
only, which then stops the child in order instead of racing it.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

FIRST_PAUSE = 0.5
LONGEST_PAUSE = 10.0
STEADY_AFTER = 60.0
# Tells `wasb worker` it is serve's child, and whose: it exits when that process is gone.
PARENT_ENV = "WASB_WORKER_PARENT_PID"


def worker_command() -> list[str]:
    """`wasb worker` with this very interpreter (a virtualenv's, whatever PATH says)."""
    return [sys.executable, "-m", "wasb.cli.main", "worker"]


class Supervisor:
    """`with Supervisor(): ...`: the worker process runs (and is restarted) inside the block."""

    def __init__(self, argv: list[str] | None = None, *, stop_seconds: float = 8.0):
        self.argv = argv or worker_command()
        self.stop_seconds = stop_seconds
        self.process: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Supervisor":
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        # The thread that starts the children also stops them: on Linux a child's
        # "parent died" signal fires when the thread that forked it ends.
        self._thread = threading.Thread(target=self._run, name="wasb-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.stop_seconds + 10)

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, PARENT_ENV: str(os.getpid())}
        return subprocess.Popen(self.argv, env=env, stdin=subprocess.DEVNULL, process_group=0)

    def _run(self) -> None:
        pause = FIRST_PAUSE
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.process = self._spawn()
            except OSError:
                log.exception("could not start the worker process")
            else:
                log.info("worker process %d started", self.process.pid)
                while self.process.poll() is None:
                    if self._stop.wait(0.2):
                        self._terminate(self.process)
                        return
                if self._stop.is_set():
                    return
                if time.monotonic() - started >= STEADY_AFTER:
                    pause = FIRST_PAUSE
                log.error("worker process %d exited with %s; starting another in %.1f s", self.process.pid,
                          _exit_reason(self.process.returncode), pause)
            if self._stop.wait(pause):
                return
            pause = min(pause * 2, LONGEST_PAUSE)

    def _terminate(self, process: subprocess.Popen) -> None:
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(self.stop_seconds)
        except subprocess.TimeoutExpired:
            log.warning("worker process %d did not stop in %.0f s: killed", process.pid, self.stop_seconds)
            process.kill()
            process.wait(5)
        log.info("worker process %d stopped (%s)", process.pid, _exit_reason(process.returncode))


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"
