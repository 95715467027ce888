"""Browser tests: Playwright for Python driving Debian's Chromium against a real `wasb serve`."""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.databases import create_database, drop_database
from tests.support.server import ROOT, WasbServer, run_cli

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
ADMIN = ("ada", "admin-password-1")
AGENT = ("bruno", "agent-password-1")
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/ui/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is missing (make browser installs Debian's chromium)"))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def add_users(server: WasbServer) -> None:
    """An admin and an agent, written with the auth service (test_auth covers `wasb user create`)."""
    create_users(server, [dict(username=ADMIN[0], password=ADMIN[1], is_admin=True),
                           dict(username=AGENT[0], password=AGENT[1])])


def add_agent(server: WasbServer, language: str) -> tuple[str, str]:
    """An agent who speaks `language` (the UI's language follows the user's); returns who logs in."""
    who = (f"agent-{language}", f"agent-password-{language}")
    create_users(server, [dict(username=who[0], password=who[1], language=language)])
    return who


def create_users(server: WasbServer, users: list[dict]) -> None:
    from wasb.auth.service import create_user
    from wasb.store.engine import open_database

    db = open_database(server.database_url)
    try:
        with db.sessions() as session, session.begin():
            for user in users:
                create_user(session, **user)
    finally:
        db.dispose()


@contextmanager
def module_ui_server(tmp_path_factory, name: str, *users: dict):
    """A `wasb serve` shared by a module's tests (Meta unreachable), with the admin, the agent
    and `users`; its database dropped afterwards."""
    tmp = tmp_path_factory.mktemp(name)
    url = create_database(tmp)
    srv = WasbServer(url, tmp, extra_env={"WASB_GRAPH_URL": "http://127.0.0.1:9"}).start()
    try:
        add_users(srv)
        create_users(srv, list(users))
        yield srv
    finally:
        srv.stop()
        drop_database(url)


@pytest.fixture
def ui_server(database_url, tmp_path):
    """A real `wasb serve` with an admin and an agent who log in with passwords."""
    # Meta is never called from these tests: a closed local port stands for it.
    srv = WasbServer(database_url, tmp_path, extra_env={"WASB_GRAPH_URL": "http://127.0.0.1:9"}).start()
    add_users(srv)
    yield srv
    srv.stop()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport=LAPTOP, locale="en-GB")
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """A page that fails its test if the browser refuses anything under the pages' CSP."""
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    assert refused == [], f"the page broke its Content-Security-Policy: {refused}"


def log_in(page, base_url: str, who=ADMIN, next_path: str = "/ui/inbox") -> None:
    page.goto(f"{base_url}/ui/login?next={next_path}")
    page.get_by_label("Username").fill(who[0])
    page.get_by_label("Password").fill(who[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{next_path}*")


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@dataclass
class WiredUI:
    """A real `wasb serve` whose Graph API is the WhatsApp simulator, and whose webhooks come
    from it, as `make run` wires them: what an agent sends reaches the simulated phone."""
    server: WasbServer
    sim: httpx.Client
    sim_url: str

    @property
    def url(self) -> str:
        return self.server.url

    def customer_writes(self, wa_id: str, text: str, *, name: str) -> None:
        self.sim.post("/_sim/inbound", json={"from": wa_id, "name": name, "text": text}).raise_for_status()

    def sent_to(self, wa_id: str) -> list[dict]:
        return self.sim.get("/_sim/sent", params={"to": wa_id}).json()


@pytest.fixture
def wired_ui(database_url, tmp_path):
    from tests.support.harness import serving
    from wasb.simulator.app import create_app as create_simulator
    from tests.support.wired import SIM_SETTINGS

    with serving(create_simulator(SIM_SETTINGS, webhook_url="http://127.0.0.1:9/unset")) as sim_url:
        srv = WasbServer(database_url, tmp_path, extra_env={"WASB_GRAPH_URL": sim_url}).start()
        add_users(srv)
        try:
            with httpx.Client(base_url=sim_url, timeout=30) as sim:
                # "read" only when the customer looks at the phone page, like a person.
                sim.post("/_sim/config", json={"webhook_url": srv.url + "/webhooks/whatsapp",
                                               "auto_read": False}).raise_for_status()
                yield WiredUI(srv, sim, sim_url)
        finally:
            srv.stop()
