"""A real `wasb serve` process for tests, and a client that speaks to it like Meta and tools do."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
import orjson

from tests.support.harness import ServerProcess, free_port
from tests.support.polling import PATIENCE, wait_until
from wasb.whatsapp.signature import HEADER, sign_body

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
# Tests never reach Meta: a Graph URL nothing listens on (media downloads fail fast).
NO_META = "http://127.0.0.1:9"
ROOT = Path(__file__).resolve().parents[2]
WASB = str(Path(sys.executable).with_name("wasb"))


def base_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASB_")}
    env.update({
        "WASB_DATABASE_URL": database_url, "WASB_APP_SECRET": APP_SECRET, "WASB_VERIFY_TOKEN": VERIFY_TOKEN,
        "WASB_ACCESS_TOKEN": ACCESS_TOKEN, "WASB_PHONE_NUMBER_ID": PHONE_NUMBER_ID, "WASB_WABA_ID": WABA_ID,
        "WASB_MEDIA_DIR": str(workdir / "media"), "WASB_WORKER_POLL_SECONDS": "0.05", "WASB_GRAPH_URL": NO_META,
    })
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([WASB, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60,
                          cwd=env.get("WASB_MEDIA_DIR", "."))


def make_tokens(database_url: str) -> tuple[str, str]:
    """An admin and an agent API token, written straight into the (migrated) database."""
    from wasb.auth.service import create_token
    from wasb.store.engine import open_database

    db = open_database(database_url)
    try:
        with db.sessions() as session, session.begin():
            return create_token(session, "tests", is_admin=True), create_token(session, "agent-tool")
    finally:
        db.dispose()


class ServiceClient:
    """Speaks to a running service like Meta and tools do; the service is at `self.url`,
    with tokens `self.admin_token` and `self.agent_token`."""
    url: str
    admin_token: str
    agent_token: str

    def post_webhook(self, body: bytes | dict, *, secret: str = APP_SECRET, signature: str | None = None,
                     headers: dict | None = None) -> httpx.Response:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        sig = signature if signature is not None else sign_body(raw, secret)
        all_headers = {"Content-Type": "application/json", **({HEADER: sig} if sig else {}), **(headers or {})}
        return httpx.post(self.url + "/webhooks/whatsapp", content=raw, headers=all_headers, timeout=30)

    def api(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.admin_token}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.api("GET", path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_until(self, predicate: Callable[[], Any], timeout: float = PATIENCE, what: str = "condition") -> Any:
        return wait_until(predicate, timeout, what)

    def wait_idle(self, timeout: float = PATIENCE) -> None:
        """Every accepted webhook is an event, and every event has been processed or has failed."""
        self.wait_until(lambda: not self.busy(), timeout, "pending events")

    def busy(self) -> bool:
        """Webhooks wait to become events, or events to be processed."""
        return bool(httpx.get(self.url + "/healthz", timeout=30).json()["queue"]["intake_waiting"]
                    or self.get("/api/v1/inbound-events?state=pending&limit=1"))


@dataclass
class WasbServer(ServiceClient):
    database_url: str
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    serve_args: tuple[str, ...] = ()  # e.g. ("--no-worker",)
    port: int = 0
    admin_token: str = ""
    agent_token: str = ""
    served: ServerProcess | None = None
    start_seconds: float = 30  # until /healthz answers (a busy shared box may need more)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return base_env(self.database_url, self.workdir, **self.extra_env)

    @property
    def process(self) -> subprocess.Popen | None:
        return self.served.process if self.served else None

    def start(self) -> "WasbServer":
        (self.workdir / "media").mkdir(parents=True, exist_ok=True)
        if not self.admin_token:
            self.admin_token, self.agent_token = make_tokens(self.database_url)
        self.port = self.port or free_port()
        self.served = ServerProcess([WASB, "serve", "--port", str(self.port), *self.serve_args], port=self.port, env=self.env,
                                    cwd=self.workdir, log_path=self.workdir / f"server-{self.port}.log",
                                    start_seconds=self.start_seconds).start()
        return self

    def stop(self) -> None:
        if self.served:
            self.served.stop()

    def kill(self) -> None:
        """Die like a crash: no shutdown hooks."""
        if self.served:
            self.served.kill()

    def read_log(self) -> str:
        return self.served.log() if self.served else ""



@dataclass
class WorkerProcess:
    """A `wasb worker` run apart, as an operator's supervisor runs it (`env`: a WasbServer's,
    plus WASB_QUEUE or the like); its log is appended to across restarts."""
    env: dict[str, str]
    workdir: Path
    name: str = "worker"
    process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, timeout: float = 30) -> "WorkerProcess":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([WASB, "worker"], env=self.env, cwd=self.workdir, stdout=log,
                                            stderr=subprocess.STDOUT)
        pid = self.process.pid
        wait_until(lambda: f"worker process {pid} running" in self.read_log() or self.process.poll() is not None,
                   timeout, f"{self.name} running")
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self.read_log()[-2000:]}")
        return self

    def kill(self) -> None:
        """Die like a crash (kill -9)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, as systemd stops it; its exit status (killed if it outlives `timeout`)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def read_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
