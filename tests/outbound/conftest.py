"""The service talking to the simulator, and the simulator posting back to it: `wasb` is the
app served in the test's process (real HTTP); `start_wasb` starts real `wasb serve`
processes, for the tests that kill and restart one."""
from __future__ import annotations

import pytest

from tests.support.inprocess import InProcessService
from tests.support.server import WasbServer
from tests.support.simulator_fixtures import *  # noqa: F403 - sim, simulator_url, sim_settings, …


def server_env(simulator_url: str, sim_settings: dict, **extra: str) -> dict[str, str]:
    return {"WASB_GRAPH_URL": simulator_url, "WASB_GRAPH_VERSION": sim_settings["graph_version"],
            "WASB_APP_SECRET": sim_settings["app_secret"], "WASB_ACCESS_TOKEN": sim_settings["access_token"],
            "WASB_PHONE_NUMBER_ID": sim_settings["phone_number_id"], "WASB_WABA_ID": sim_settings["waba_id"],
            **extra}


def sim_overrides(simulator_url: str, sim_settings: dict) -> dict[str, str]:
    """server_env as the configuration overrides of a service served in the test's process."""
    return {k.removeprefix("WASB_").lower(): v for k, v in server_env(simulator_url, sim_settings).items()}


@pytest.fixture
def start_wasb(database_url, tmp_path, sim, simulator_url, sim_settings):
    """Start (or restart) `wasb serve` on one database with the simulator wired both ways."""
    servers: list[WasbServer] = []

    def start(**extra: str) -> WasbServer:
        previous = servers[-1] if servers else None
        server = WasbServer(database_url, tmp_path, extra_env=server_env(simulator_url, sim_settings, **extra))
        if previous is not None:
            server.admin_token, server.agent_token = previous.admin_token, previous.agent_token
        server.start()
        sim.post("/_sim/config", json={"webhook_url": server.url + "/webhooks/whatsapp"}).raise_for_status()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def wasb(database_url, tmp_path, sim, simulator_url, sim_settings):
    service = InProcessService(database_url, tmp_path, **sim_overrides(simulator_url, sim_settings)).start()
    sim.post("/_sim/config", json={"webhook_url": service.url + "/webhooks/whatsapp"}).raise_for_status()
    yield service
    service.stop()
