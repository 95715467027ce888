"""`wasb serve` runs the jobs in a child process (`wasb worker`) it keeps alive and takes
down with it; `--no-worker` and a `wasb worker` run apart do the same work; on SQLite one
worker per database. Real processes throughout (psutil finds serve's child)."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess

import httpx
import psutil
import pytest
from sqlalchemy.engine import make_url

from tests.crm.test_vtenext_flow import vtenext_env
from tests.fakes.vtenext_fake import vtenext_fake, vtenext_server  # noqa: F401  (fixtures)
from tests.inbound.test_inbound_to_crm import text_message
from tests.support.crm_seed import make_retries_due
from tests.support.databases import BACKEND
from tests.support.polling import wait_until
from tests.support.server import WASB, WasbServer, run_cli

sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="one worker per database is SQLite's rule")


def worker_of(server: WasbServer, other_than: int | None = None, *, running: bool = True) -> psutil.Process:
    """serve's `wasb worker` child (the supervisor starts it once the web is up); `running`:
    once it has said so (it holds the lock and listens for wake-ups)."""
    def child() -> psutil.Process | None:
        try:
            kids = [p for p in psutil.Process(server.process.pid).children()
                    if "worker" in p.cmdline() and p.pid != other_than and p.status() != psutil.STATUS_ZOMBIE]
        except psutil.NoSuchProcess:
            return None
        return kids[0] if len(kids) == 1 else None
    found = wait_until(child, 30, "serve's worker process")
    if running:
        wait_until(lambda: f"worker process {found.pid} running" in server.read_log(), 30, "the worker running")
    return found


def deliver(server, n: int) -> None:
    """A customer's message, processed end to end."""
    answer = server.post_webhook(text_message(f"3933300000{n:02d}", f"message {n}", f"wamid.proc{n}"))
    assert answer.status_code == 200, answer.text
    server.wait_idle()
    assert server.get("/api/v1/inbound-events?state=failed") == []
    assert f"message {n}" in [m["body"] for c in server.get("/api/v1/conversations?limit=500")
                              for m in server.get(f"/api/v1/conversations/{c['id']}")["messages"]]


def lock_file(database_url: str) -> str:
    return os.path.abspath(make_url(database_url).database) + ".worker.lock"


def test_the_jobs_run_in_a_child_process_of_serve(server):
    child = worker_of(server)
    assert child.pid != server.process.pid and child.ppid() == server.process.pid
    assert child.cmdline()[-1] == "worker"
    if BACKEND == "sqlite":  # the database's worker lock names it
        with open(lock_file(server.database_url)) as lock:
            assert lock.read().strip() == str(child.pid)
    deliver(server, 1)


@sqlite_only
def test_serve_itself_runs_no_job_and_a_refused_worker_is_tried_again(server):
    with open(lock_file(server.database_url), "a+") as lock:
        while True:  # the test takes the worker lock, killing serve's worker until it has it
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                child = worker_of(server, running=False)
                child.kill()
                child.wait(10)
        try:
            assert server.post_webhook(text_message("393330000077", "wait for me", "wamid.refused")).status_code == 200
            # The supervisor restarts the worker, which refuses while the lock is held, twice...
            wait_until(lambda: server.read_log().count("exited with status 75") >= 2, 30, "two refused starts")
            # ...and all that time nobody else ran the customer's message.
            assert server.get("/api/v1/inbound-events?state=processed") == []
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    server.wait_idle(timeout=40)  # the next start takes the lock and the message
    assert len(server.get("/api/v1/inbound-events?state=processed")) == 1
    assert "another wasb worker" in server.read_log()


def test_a_worker_killed_with_9_is_restarted_and_takes_the_next_webhook(server):
    deliver(server, 1)
    first = worker_of(server)
    first.kill()
    first.wait(10)
    second = worker_of(server, other_than=first.pid)
    assert second.pid != first.pid
    deliver(server, 2)
    assert f"worker process {first.pid} exited with signal SIGKILL" in server.read_log()


def test_serve_stopped_stops_its_worker(server):
    child = worker_of(server)
    server.stop()
    assert server.process.returncode is not None
    child.wait(10)
    assert not child.is_running()
    assert f"worker process {child.pid} stopped (status 0)" in server.read_log()  # SIGTERM, not a kill


def test_serve_killed_with_9_takes_its_worker_down(server):
    child = worker_of(server)
    server.kill()
    child.wait(15)  # psutil.TimeoutExpired if the worker outlived serve
    assert not child.is_running()


def test_the_web_wakes_the_worker_process_without_waiting_for_its_poll(database_url, tmp_path):
    # The worker polls every 60 s here: a message processed sooner was woken up by the web.
    srv = WasbServer(database_url, tmp_path, extra_env={"WASB_WORKER_POLL_SECONDS": "60"}).start()
    try:
        worker_of(srv)
        deliver(srv, 1)
        deliver(srv, 2)
    finally:
        srv.stop()


def test_serve_without_worker_and_a_worker_run_apart(database_url, tmp_path):
    srv = WasbServer(database_url, tmp_path, serve_args=("--no-worker",)).start()
    log = open(tmp_path / "worker.log", "ab")
    apart = subprocess.Popen([WASB, "worker"], env=srv.env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert psutil.Process(srv.process.pid).children() == []
        deliver(srv, 1)
        if BACKEND == "sqlite":
            second = run_cli(srv.env, "worker")
            assert second.returncode == 75, second.stderr
            assert "another wasb worker" in second.stderr and str(apart.pid) in second.stderr
        assert apart.poll() is None
    finally:
        apart.send_signal(signal.SIGTERM)
        code = apart.wait(20)
        log.close()
        srv.stop()
    assert code == 0
    assert "stopped" in (tmp_path / "worker.log").read_text()


def test_worker_false_in_the_environment_means_no_worker(database_url, tmp_path):
    srv = WasbServer(database_url, tmp_path, extra_env={"WASB_WORKER": "false"}).start()
    try:
        assert srv.post_webhook(text_message("393330000001", "hello", "wamid.noworker")).status_code == 200
        assert psutil.Process(srv.process.pid).children() == []
    finally:
        srv.stop()


@pytest.mark.parametrize("vtenext_server", ["vtenext"], indirect=True)
def test_the_web_shows_the_crm_health_the_worker_process_found(database_url, tmp_path, vtenext_server,
                                                                vtenext_fake):
    srv = WasbServer(database_url, tmp_path, extra_env=vtenext_env(vtenext_server)).start()

    def status() -> dict:
        return srv.get("/api/v1/crm/status")

    try:
        worker_of(srv)
        # Only the worker calls the CRM here (the agent-comment poll, every 0.2 s).
        wait_until(lambda: status()["reachable"] is True, 30, "the CRM reachable")
        vtenext_server.stop()
        down = wait_until(lambda: (s := status())["reachable"] is False and s, 30, "the CRM unreachable")
        assert down["state"] == "unavailable" and "CRMUnavailable" in down["last_error"]
        health = httpx.get(srv.url + "/healthz").json()
        assert health["status"] == "degraded" and health["crm_state"] == "unavailable"
        vtenext_server.start()

        def back() -> bool:
            make_retries_due(srv.database_url)  # the poll waits for the CRM with a backoff
            return status()["reachable"] is True
        wait_until(back, 30, "the CRM reachable again")
        assert httpx.get(srv.url + "/healthz").json()["crm_state"] == "ok"
    finally:
        srv.stop()
