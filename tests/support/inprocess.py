"""The real app served by uvicorn in a thread, for tests that need to reach inside it
(e.g. to make the CRM fail on purpose). Still real HTTP."""
from __future__ import annotations

from tests.support.harness import ThreadServer
from tests.support.runtime import App, build, test_config, time_passes
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
