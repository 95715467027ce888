"""Waking the worker process when another process queued work for it.

The worker polls the job table every `poll_seconds` whatever happens; a wake-up only
saves that wait. It is one byte on a unix datagram socket whose path derives from the
database, so every process on one database (the web, `wasb worker`, the CLI) finds the
same worker without configuration. Sending never blocks and never fails the sender:
nobody listening (the worker is down or restarting) or a full buffer (it has wake-ups
pending already) is the same as not sending.
"""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from typing import Callable

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# Fixed, not $TMPDIR: a `wasb worker` started apart must find the path the web computes.
WAKE_DIR = "/tmp"


def wake_path(database_url: str) -> str:
    """The socket's path for this database: short enough for AF_UNIX (108 bytes)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        key = "sqlite:" + os.path.abspath(url.database)  # processes may start in other directories
    else:
        key = url.render_as_string(hide_password=True)
    return os.path.join(WAKE_DIR, f"wasb-{hashlib.sha1(key.encode()).hexdigest()[:16]}.wake")


class Waker:
    """The sending side: `notify()` after a commit that gave the worker something to do."""

    def __init__(self, path: str):
        self.path = path
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def notify(self) -> None:
        try:
            with self._lock:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    self._sock.setblocking(False)
                sock = self._sock
            sock.sendto(b"!", self.path)
        except OSError:  # no worker listening, or one with wake-ups pending already
            pass

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


class Listener:
    """The worker's side: a thread that calls `on_wake` for each burst of datagrams."""

    def __init__(self, path: str, on_wake: Callable[[], None]):
        self.path = path
        self.on_wake = on_wake
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Bind and listen; False when another live worker holds the path (it gets the
        wake-ups, this one polls: several workers may share a PostgreSQL database)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(self.path)
        except OSError:
            if _someone_listens(self.path):
                sock.close()
                log.info("another worker receives the wake-ups of %s: this one polls", self.path)
                return False
            os.unlink(self.path)  # left behind by a worker that died
            sock.bind(self.path)
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="wasb-wake", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            try:
                sock.recv(16)
                sock.setblocking(False)
                try:  # one wake-up for everything that arrived meanwhile
                    while sock.recv(16):
                        pass
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
            except OSError:
                if self._stop.is_set():
                    return
                log.exception("the wake-up socket failed: the worker polls from now on")
                return
            if not self._stop.is_set():
                self.on_wake()

    def stop(self) -> None:
        if self._sock is None:
            return
        self._stop.set()
        waker = Waker(self.path)
        waker.notify()  # unblocks recv
        waker.close()
        if self._thread:
            self._thread.join(2)
        self._sock.close()
        self._sock = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _someone_listens(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.sendto(b"", path)
        return True
    except ConnectionRefusedError:
        return False
    except OSError:
        return True  # a file we may not replace, or a full buffer: someone is there
    finally:
        probe.close()
