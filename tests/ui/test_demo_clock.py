"""`make run`: the phone page's +24 h closes the window the agent sees, as the README says."""
from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.ui.conftest import AGENT, add_users, log_in, shot


@pytest.fixture
def demo_wired(database_url, tmp_path):
    """Service and simulator sharing one clock-offset file, as `wasb.demo` starts them."""
    from tests.support.harness import serving
    from tests.support.server import WasbServer
    from tests.support.wired import SIM_SETTINGS
    from wasb.simulator.app import create_app as create_simulator

    clock_file = str(tmp_path / "clock_offset")
    simulator = create_simulator({**SIM_SETTINGS, "demo_clock_file": clock_file}, webhook_url="http://127.0.0.1:9/unset")
    with serving(simulator) as sim_url:
        srv = WasbServer(database_url, tmp_path, extra_env={"WASB_GRAPH_URL": sim_url,
                                                            "WASB_DEMO_CLOCK_FILE": clock_file}).start()
        add_users(srv)
        try:
            with httpx.Client(base_url=sim_url, timeout=30) as sim:
                sim.post("/_sim/config", json={"webhook_url": srv.url + "/webhooks/whatsapp"}).raise_for_status()
                yield srv, sim
        finally:
            srv.stop()


def _customer_writes(srv, sim, text):
    sim.post("/_sim/inbound", json={"from": "393331234567", "name": "Giulia Verdi", "text": text}).raise_for_status()
    srv.wait_idle()
    (conversation,) = srv.get("/api/v1/conversations?status=open")
    return conversation


def _hours_left(page) -> int:
    """The countdown in the conversation's header, once the page's script has set it."""
    page.wait_for_function("() => /\\d+h/.test(document.querySelector('.conv-head .window-left')?.textContent || '')")
    text = page.locator(".conv-head .window .window-left").inner_text()
    match = re.match(r"(\d+)h", text)
    assert match, text
    return int(match.group(1))


def _reload(page) -> None:
    """Reload as the agent presses F5; the page may be reloading itself at that moment (a live
    event swapped the window), which aborts ours: the page it loads is as fresh."""
    try:
        page.reload()
    except PlaywrightError as error:
        if "ERR_ABORTED" not in str(error):
            raise
        page.wait_for_load_state()


def test_the_phone_pages_24_hours_close_the_window_the_agent_sees(demo_wired, page):
    srv, sim = demo_wired
    conversation = _customer_writes(srv, sim, "Buongiorno")
    log_in(page, srv.url, AGENT, next_path=f"/ui/conversations/{conversation['id']}")
    assert _hours_left(page) == 23
    assert page.locator("form#composer").count() == 1

    sim.post("/_sim/clock", json={"advance_seconds": 24 * 3600}).raise_for_status()  # the phone page's "+24 h"
    _reload(page)
    assert page.locator(".conv-head .window-closed").is_visible()
    assert page.locator("form#composer").count() == 0
    assert page.locator("#template-composer").get_by_text("The 24-hour window closed at").is_visible()
    shot(page, "demo-clock-window-closed")

    # the customer writes on the phone (its clock a day ahead): 24 h again, never 48
    _customer_writes(srv, sim, "Eccomi")
    _reload(page)
    assert _hours_left(page) == 23
    assert page.locator("form#composer").count() == 1
