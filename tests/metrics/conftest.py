"""The service with `/metrics` switched on (WASB_METRICS_TOKEN), served in the test's process
(real HTTP, its worker in threads of this process, so its counters are the ones scraped) and
wired both ways to the simulator."""
from __future__ import annotations

import pytest

from tests.outbound.conftest import server_env
from tests.support.inprocess import InProcessService
from tests.support.server import WasbServer
from tests.support.simulator_fixtures import *  # noqa: F403 - sim, simulator_url, sim_settings, …

METRICS_TOKEN = "test-metrics-token"


@pytest.fixture
def start_metered(database_url, tmp_path, sim, simulator_url, sim_settings):
    """Start the service in the test's process with these config overrides (e.g. the queue engine)."""
    services: list[InProcessService] = []

    def start(**extra) -> InProcessService:
        overrides = {k.removeprefix("WASB_").lower(): v for k, v in server_env(simulator_url, sim_settings).items()}
        service = InProcessService(database_url, tmp_path, metrics_token=METRICS_TOKEN, **overrides, **extra).start()
        services.append(service)
        sim.post("/_sim/config", json={"webhook_url": service.url + "/webhooks/whatsapp"}).raise_for_status()
        return service

    yield start
    for service in services:
        service.stop()


@pytest.fixture
def wasb(start_metered):
    return start_metered()


@pytest.fixture
def served(database_url, tmp_path, sim, simulator_url, sim_settings):
    """A real `wasb serve` (its worker a child process), wired both ways to the simulator."""
    server = WasbServer(database_url, tmp_path,
                        extra_env=server_env(simulator_url, sim_settings, WASB_METRICS_TOKEN=METRICS_TOKEN)).start()
    sim.post("/_sim/config", json={"webhook_url": server.url + "/webhooks/whatsapp"}).raise_for_status()
    yield server
    server.stop()
