"""The real app served by uvicorn in a thread, for tests that need to reach inside it
(e.g. to make the CRM fail on purpose). Still real HTTP."""
from __future__ import annotations

from sqlalchemy import update

from tests.support.harness import ThreadServer
from tests.support.server import ACCESS_TOKEN, APP_SECRET, NO_META, PHONE_NUMBER_ID, VERIFY_TOKEN, WABA_ID
from wasb.bootstrap import App, build_app
from wasb.config import Config
from wasb.jobs.tables import TODO, Job
from wasb.store.base import utcnow
from wasb.web.app import create_app


def test_config(database_url: str, tmp_path, **overrides) -> Config:
    values = dict(database_url=database_url, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN,
                  access_token=ACCESS_TOKEN, phone_number_id=PHONE_NUMBER_ID, waba_id=WABA_ID,
                  media_dir=tmp_path / "media", worker_poll_seconds=0.05, graph_url=NO_META)
    return Config(_env_file=None, **{**values, **overrides})


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
        """Make every waiting retry due now, as if its backoff had elapsed."""
        with self.app.db.sessions() as s, s.begin():
            s.execute(update(Job).where(Job.status == TODO).values(scheduled_at=utcnow()))
        self.app.worker.wake()


def start_in_process(database_url: str, tmp_path, **overrides) -> InProcessServer:
    return InProcessServer(build_app(test_config(database_url, tmp_path, **overrides))).start()
