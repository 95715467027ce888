"""`wasb worker`: the jobs, the scheduler's ticker and the agent-comment poll in a
process of their own, with no HTTP. `wasb serve` runs one as its child
(wasb.cli.supervisor); `wasb serve --no-worker` leaves it to be run apart.

On SQLite one worker per database: at start-up it puts back every job a dead worker
left `doing`, which is only right when no other worker is running one. An exclusive
lock on a file beside the database says so; the kernel releases it when the process
dies, however it dies.
"""
from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import sys
import threading

from sqlalchemy.engine import make_url

from wasb.cli.configuration import shown_database
from wasb.config import Config

log = logging.getLogger(__name__)

# EX_TEMPFAIL: another worker holds the database; the supervisor tries again later.
LOCKED_EXIT = 75
_PR_SET_PDEATHSIG = 1
# How much lower serve's worker child runs than serve (os.nice): a `wasb worker` run apart
# keeps the priority its operator gave it.
CHILD_NICENESS = 10


class WorkerRunning(Exception):
    pass


def lock_path(database_url: str) -> str | None:
    """`<database file>.worker.lock` on SQLite; None elsewhere (PostgreSQL's workers share
    the job table through SKIP LOCKED and only recover jobs stalled for long)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return os.path.abspath(url.database) + ".worker.lock"


def hold_lock(database_url: str) -> int | None:
    """Take the database's worker lock for the life of this process (its descriptor)."""
    path = lock_path(database_url)
    if path is None:
        return None
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        raise WorkerRunning(f"another wasb worker (pid {holder or '?'}) runs on this database: {path} is locked")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def die_with_parent(parent: int) -> None:
    """Die when `parent` does, even killed with -9: Linux sends SIGKILL when it dies (set
    here, after exec, so there is no preexec_fn to run between fork and exec in a
    process full of threads); a parent that died before that is seen by getppid.

    SIGKILL, not a clean stop: serve killed is the service crashing, and what a crash
    leaves (a send whose answer never came, jobs left `doing`) is recovered as after any
    crash, while a clean stop would go on working after the service was gone. Without
    prctl the check every second in `run` stops it cleanly instead."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no prctl: the check every second remains
            pass
    if os.getppid() != parent:
        raise SystemExit(f"wasb worker: its parent {parent} is gone")


def describe(config: Config) -> str:
    """What an operator checks first in a process's log: which database (password hidden)
    and which job queue engine."""
    return f"database {shown_database(config.database_url)}, queue {config.queue}"


def build_or_exit(config: Config, *, migrate: bool = True):
    """The app, or exit status 1 with one line saying which database could not be reached
    (not a page of traceback: the operator's supervisor starts the process again)."""
    from sqlalchemy.exc import OperationalError

    from wasb.bootstrap import build_app

    try:
        return build_app(config, migrate=migrate)
    except OperationalError as exc:
        log.error("cannot reach the database (%s): %s", describe(config), str(exc.orig or exc).strip())
        sys.exit(1)


def run(config: Config, parent: int | None) -> None:
    """Until SIGTERM or SIGINT (or, as serve's child, until serve is gone)."""
    if parent is not None:
        die_with_parent(parent)
        # When the web and the jobs want the same core, answering Meta comes first: the
        # jobs catch up after a burst, a slow webhook answer is redelivered.
        os.nice(CHILD_NICENESS)
    stop = threading.Event()

    def ask_to_stop(_signum, _frame) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)
    try:
        lock = hold_lock(config.database_url)
    except WorkerRunning as exc:
        print(f"wasb worker: {exc}", file=sys.stderr, flush=True)
        sys.exit(LOCKED_EXIT)
    app = build_or_exit(config, migrate=parent is None)  # serve migrated before starting its child
    try:
        if not stop.is_set():
            app.start_worker(listen=True)
            how = (f"concurrency {config.worker_concurrency}" if config.queue == "procrastinate"
                   else f"concurrency 1 (batches of {app.worker.batch_size})")
            log.info("worker process %d running: %s, %s, polls every %g s%s",
                     os.getpid(), describe(config), how, config.worker_poll_seconds,
                     "" if parent is None else f", child of wasb serve {parent}")
        while not stop.wait(1.0):
            if parent is not None and os.getppid() != parent:
                log.warning("wasb serve (pid %d) is gone: the worker stops", parent)
                break
    finally:
        # The current batch finishes; on SQLite what a kill leaves `doing` goes back to
        # the queue when the next worker starts.
        app.stop()
        if lock is not None:
            os.close(lock)
    log.info("worker process %d stopped", os.getpid())
