"""The service and the simulator wired to each other, like `make run`: the service's Graph
URL is the simulator, the simulator's webhooks go to the service, both with the same
channel secrets. `wired_service` serves the app in-process; `wired_process` runs `wasb serve`."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.databases import create_database, drop_database
from tests.support.harness import serving
from tests.support.inprocess import InProcessServer
from tests.support.runtime import build, test_config
from tests.support.server import (
    ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, WABA_ID, ServiceClient, WasbServer, free_port, make_tokens,
)
from wasb.simulator.app import create_app as create_simulator


@dataclass
class Wired(ServiceClient):
    """The service's client (webhooks, API) and the simulator's, side by side."""

    service: InProcessServer
    sim: httpx.Client
    sim_url: str
    admin_token: str
    agent_token: str

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def app(self):
        return self.service.app

    def time_passes(self) -> None:
        self.service.time_passes()

    def customer_writes(self, wa_id: str, name: str, text: str) -> dict:
        """The customer writes from the simulator's phone (a signed webhook the service took);
        once the service is idle, their open conversation as the API shows it."""
        answer = self.sim.post("/_sim/inbound", json={"from": wa_id, "name": name, "text": text})
        assert answer.json()["webhook_status"] == 200, answer.text
        self.wait_idle()
        (conversation,) = self.get(f"/api/v1/conversations?phone=%2B{wa_id}&status=open")
        return conversation


SIM_SETTINGS = {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET, "phone_number_id": PHONE_NUMBER_ID,
                "waba_id": WABA_ID, "graph_version": "v24.0"}


@contextlib.contextmanager
def wired_service(database_url: str, tmp_path, **overrides: Any) -> Iterator[Wired]:
    with serving(create_simulator(SIM_SETTINGS, webhook_url="http://127.0.0.1:9/unset")) as sim_url:
        admin_token, agent_token = make_tokens(database_url)
        overrides.setdefault("graph_url", sim_url)
        # Links name the service's own address, as WASB_PUBLIC_URL does in production.
        port = free_port()
        overrides.setdefault("public_url", f"http://127.0.0.1:{port}")
        service = InProcessServer(build(test_config(database_url, tmp_path, **overrides)), port).start()
        try:
            with httpx.Client(base_url=sim_url, timeout=30) as sim:
                sim.post("/_sim/config", json={"webhook_url": service.url + "/webhooks/whatsapp",
                                               "retry_delays": [0.05, 0.1]}).raise_for_status()
                yield Wired(service, sim, sim_url, admin_token, agent_token)
        finally:
            service.stop()


@contextlib.contextmanager
def wired_process(database_url: str, tmp_path, extra_env: dict[str, str] | None = None
                  ) -> Iterator[tuple[WasbServer, httpx.Client]]:
    """`wasb serve` (its environment plus `extra_env`) and the simulator, wired both ways;
    yields the server and a client of the simulator."""
    with serving(create_simulator(SIM_SETTINGS, webhook_url="http://127.0.0.1:9/unset")) as sim_url:
        srv = WasbServer(database_url, tmp_path, extra_env={"WASB_GRAPH_URL": sim_url, **(extra_env or {})}).start()
        try:
            with httpx.Client(base_url=sim_url, timeout=30) as sim:
                sim.post("/_sim/config", json={"webhook_url": srv.url + "/webhooks/whatsapp",
                                               "retry_delays": [0.05, 0.1]}).raise_for_status()
                yield srv, sim
        finally:
            srv.stop()


@contextlib.contextmanager
def module_wired(tmp_path_factory, name: str, **overrides: Any) -> Iterator[Wired]:
    """wired_service shared by a module's tests, on a database of its own dropped afterwards."""
    workdir = tmp_path_factory.mktemp(name)
    (workdir / "media").mkdir()
    url = create_database(workdir)
    try:
        with wired_service(url, workdir, **overrides) as wired:
            wired.database_url = url
            yield wired
    finally:
        drop_database(url)
