"""pytest fixtures that start the simulator and a webhook recorder for real (uvicorn threads).

Use from a conftest.py:  `from tests.support.simulator_fixtures import *  # noqa: F403`
or register it once:      `pytest_plugins = ["tests.support.simulator_fixtures"]` (root conftest).

    sim_settings       the channel the simulator serves (token, app secret, ids)
    webhook_recorder   WebhookRecorder receiving the simulator's signed webhooks (.url)
    simulator_url      base URL of a running simulator posting to webhook_recorder
    sim                httpx.Client on simulator_url, after /_sim/reset and fast status delays
    graph_client       wasb.whatsapp.client.GraphClient pointed at the simulator
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.harness import serving
from wasb.simulator.app import create_app
from wasb.simulator.testing import WebhookRecorder
from wasb.whatsapp.client import GraphClient

__all__ = ["sim_settings", "webhook_recorder", "simulator_url", "sim", "graph_client"]

GRAPH_VERSION = "v24.0"


@pytest.fixture(scope="session")
def sim_settings() -> dict[str, Any]:
    return {"access_token": "sim-test-token", "app_secret": "sim-test-app-secret",
            "phone_number_id": "106540352242922", "waba_id": "102290129340398",
            "graph_version": GRAPH_VERSION}


@pytest.fixture(scope="session")
def webhook_recorder(sim_settings: dict[str, Any]) -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder(app_secret=sim_settings["app_secret"])
    with serving(recorder.app()) as url:
        recorder.url = url + recorder.path
        yield recorder


@pytest.fixture(scope="session")
def simulator_url(sim_settings: dict[str, Any], webhook_recorder: WebhookRecorder) -> Iterator[str]:
    app = create_app(sim_settings, webhook_url=webhook_recorder.url)
    with serving(app) as url:
        yield url


@pytest.fixture
def sim(simulator_url: str, webhook_recorder: WebhookRecorder) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator_url, timeout=30) as client:
        client.post("/_sim/reset").raise_for_status()
        client.post("/_sim/config", json={"sent_delay": 0, "delivered_delay": 0.01, "read_delay": 0.01,
                                          "retry_delays": [0.05, 0.1, 0.2],
                                          "webhook_url": webhook_recorder.url}).raise_for_status()
        webhook_recorder.clear()
        yield client


@pytest.fixture
def graph_client(sim: httpx.Client, simulator_url: str, sim_settings: dict[str, Any]) -> Iterator[GraphClient]:
    client = GraphClient(simulator_url, GRAPH_VERSION, sim_settings["access_token"],
                         sim_settings["phone_number_id"], sim_settings["waba_id"], timeout=30)
    yield client
    client.close()
