"""The real app served by uvicorn in a thread, for tests that need to reach inside it
(e.g. to make the CRM fail on purpose). Still real HTTP."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.databases import create_database, drop_database
from tests.support.harness import ThreadServer
from tests.support.runtime import App, build, test_config, time_passes
from tests.support.server import ServiceClient, base_env, make_tokens
from wasb.web.app import create_app


class InProcessServer:
    def __init__(self, app: App, port: int | None = None):
        self.app = app
        self.served = ThreadServer(create_app(app), port)
        self.port = self.served.port

    @property
    def url(self) -> str:
        return self.served.url

    def start(self) -> "InProcessServer":
        self.served.start()
        return self

    def stop(self) -> None:
        self.served.stop()

    def time_passes(self) -> None:
        time_passes(self.app)


def start_in_process(database_url: str, tmp_path, **overrides) -> InProcessServer:
    return InProcessServer(build(test_config(database_url, tmp_path, **overrides))).start()


class InProcessService(InProcessServer, ServiceClient):
    """What a test of the HTTP surface asks of `wasb serve` (webhooks, the API, the CLI on the
    same database), served in the test's process: real HTTP and the same app, without
    starting a Python process and importing the product for each test."""

    def __init__(self, database_url: str, workdir: Path, **overrides):
        (workdir / "media").mkdir(parents=True, exist_ok=True)
        self.database_url, self.workdir = database_url, workdir
        self.admin_token, self.agent_token = make_tokens(database_url)
        super().__init__(build(test_config(database_url, workdir, **overrides)))

    @property
    def env(self) -> dict[str, str]:
        """The environment of a `wasb` command on this service's database."""
        return base_env(self.database_url, self.workdir)


@contextmanager
def module_service(tmp_path_factory, name: str, **overrides):
    """An InProcessService shared by a module's tests, on a database of its own dropped afterwards."""
    workdir = tmp_path_factory.mktemp(name)
    url = create_database(workdir)
    service = InProcessService(url, workdir, **overrides).start()
    try:
        yield service
    finally:
        service.stop()
        drop_database(url)


@pytest.fixture
def server_in_process(database_url, tmp_path):
    """`server` for the directories whose tests speak real HTTP to the real app served in the
    test's process, not to a `wasb serve` process (their conftest names it `server`)."""
    srv = InProcessService(database_url, tmp_path).start()
    yield srv
    srv.stop()
