"""The one way tests run a server: a real process (`wasb serve`) or an ASGI app served by
uvicorn in a thread (the simulator, the fake vtenext, the service in-process). Either one
starts, is waited for until its port answers, keeps a log, and stops; nothing else in
tests/ starts a server by hand."""
from __future__ import annotations

import contextlib
import random
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port nothing listens on, taken below the kernel's ephemeral range: a port the kernel
    hands out (bind to 0) is also what it picks as the source port of an outgoing connection,
    and with a suite's hundreds of database and HTTP connections one of them took a server's
    port between this check and the server's bind (CI: "address already in use"). Random, so
    the two suites that run side by side seldom draw the same one; never the same twice here."""
    low = _ephemeral_low()
    candidates = range(10000, low) if low > 12000 else None
    for _ in range(200):
        port = random.choice(candidates) if candidates else 0
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            port = s.getsockname()[1]
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


class ServerProcess:
    """A command that serves HTTP on `port`; ready once `ready_path` answers 200.
    Its stdout and stderr go to `log_path`, appended, so a restart keeps the earlier lines."""

    def __init__(self, argv: list[str], *, port: int, env: dict[str, str], cwd: Path, log_path: Path,
                 ready_path: str = "/healthz", start_seconds: float = 30):
        self.argv, self.port, self.env, self.cwd = argv, port, env, cwd
        self.log_path, self.ready_path, self.start_seconds = log_path, ready_path, start_seconds
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerProcess":
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=self.cwd)
        deadline = time.monotonic() + self.start_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited with {self.process.returncode}: {self.log()[-2000:]}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()  # never leave a process behind: a fixture's teardown does not run when start fails
        raise RuntimeError(f"{' '.join(self.argv)} did not answer {self.ready_path} in {self.start_seconds} s: "
                           f"{self.log()[-2000:]}")

    def stop(self) -> None:
        """Ask it to stop (SIGTERM: shutdown hooks run), kill it if it does not within 10 s."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        """Die like a crash: no shutdown hooks."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class ThreadServer:
    """An ASGI app on 127.0.0.1 served by uvicorn in a daemon thread. stop() makes the port
    refuse connections; start() again serves on the same port (a service that was down)."""

    def __init__(self, app: Any, port: int | None = None, *, lifespan: str = "auto", start_seconds: float = 20):
        self.app, self.port, self.lifespan, self.start_seconds = app, port or free_port(), lifespan, start_seconds
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ThreadServer":
        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                     lifespan=self.lifespan, access_log=False))
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.start_seconds
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._server = None


@contextlib.contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    """`with serving(app) as url:` the app answers on url until the block ends."""
    server = ThreadServer(app, port).start()
    try:
        yield server.url
    finally:
        server.stop()
