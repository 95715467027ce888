"""`make run` (`python -m wasb.demo`): the service and the simulator, wired, seeded,
stopped cleanly by Ctrl-C, and the same again on a second run."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import ROOT, free_port
from wasb.demo import READY_LINE, read_env_file

pytestmark = pytest.mark.timeout(180)


class Demo:
    def __init__(self, directory: Path):
        self.directory = directory
        self.port, self.sim_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WASB_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wasb.demo", "--dir", str(directory), "--port", str(self.port),
             "--sim-port", str(self.sim_port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=directory.parents[1])
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while "Press Ctrl-C to stop." not in self.output:
            assert self.process.poll() is None, f"demo exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"demo not ready:\n{self.output}"
            time.sleep(0.1)

    def child_pids(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in re.findall(r"(simulator|service) \(pid (\d+)\)", self.output)}

    def ctrl_c(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(60)
        self.reader.join(5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for pid in self.child_pids().values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def demo_dir(tmp_path):
    return tmp_path / "var" / "demo"  # created by the demo itself


def test_demo_wires_service_and_simulator_and_stops_both_on_ctrl_c(demo_dir):
    demo = Demo(demo_dir)
    try:
        demo.wait_ready()
        service, sim = f"http://127.0.0.1:{demo.port}", f"http://127.0.0.1:{demo.sim_port}"
        assert READY_LINE in demo.output
        assert f"{sim}/phone" in demo.output
        assert httpx.get(f"{sim}/phone").status_code == 200
        assert httpx.get(f"{service}/healthz").json()["status"] == "ok"

        saved = read_env_file(demo_dir / "demo.env")
        for key in ("WASB_APP_SECRET", "WASB_VERIFY_TOKEN", "WASB_ACCESS_TOKEN", "DEMO_ADMIN_PASSWORD"):
            assert len(saved[key]) >= 16, key
        assert f"admin / {saved['DEMO_ADMIN_PASSWORD']}" in demo.output
        assert (demo_dir / "wasb.db").exists()

        templates = {(t["name"], t["language"]) for t in httpx.get(f"{sim}/_sim/templates").json()}
        assert {("ticket_update", "en"), ("ticket_update", "it"), ("appointment_reminder", "en")} <= templates
        assert any(t["category"] == "MARKETING" for t in httpx.get(f"{sim}/_sim/templates").json())

        # A customer writes on the phone page: the conversation appears on the service,
        # on the CRM contact the demo created for that number.
        api = httpx.Client(base_url=service, headers={"Authorization": f"Bearer {saved['DEMO_API_TOKEN']}"})
        (giulia,) = api.get("/api/v1/people", params={"phone": "+393331234567"}).json()
        sent = httpx.post(f"{sim}/_sim/inbound", json={"from": "393331234567", "name": "Giulia",
                                                      "text": "Hello from the phone"}, timeout=30)
        assert sent.status_code == 200 and sent.json()["webhook_status"] == 200
        deadline = time.monotonic() + 20
        while not (conversations := api.get("/api/v1/conversations").json()) and time.monotonic() < deadline:
            time.sleep(0.1)
        (conversation,) = conversations
        assert conversation["person_id"] == giulia["id"]
        detail = api.get(f"/api/v1/conversations/{conversation['id']}").json()
        assert [m["body"] for m in detail["messages"]] == ["Hello from the phone"]

        pids = demo.child_pids()
        assert set(pids) == {"simulator", "service"}
        assert demo.ctrl_c() == 0
        assert all(gone(pid) for pid in pids.values()), pids
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{service}/healthz", timeout=2)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{sim}/phone", timeout=2)
    finally:
        demo.kill()


def test_demo_restarts_on_the_same_data_without_duplicates(demo_dir):
    first = Demo(demo_dir)
    try:
        first.wait_ready()
        assert first.ctrl_c() == 0
    finally:
        first.kill()
    saved = read_env_file(demo_dir / "demo.env")

    second = Demo(demo_dir)
    try:
        second.wait_ready()
        assert read_env_file(demo_dir / "demo.env")["WASB_APP_SECRET"] == saved["WASB_APP_SECRET"]
        assert f"admin / {saved['DEMO_ADMIN_PASSWORD']}  (from demo.env)" in second.output
        assert "added contact" not in second.output
        api = httpx.Client(base_url=f"http://127.0.0.1:{second.port}",
                           headers={"Authorization": f"Bearer {saved['DEMO_API_TOKEN']}"})
        assert len(api.get("/api/v1/people").json()) == 3
        assert second.ctrl_c() == 0
    finally:
        second.kill()
