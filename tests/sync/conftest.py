"""The product in-process without a server (tests/support/runtime.py), reachable from the
test to run a sync on a controllable clock and to play a person editing the CRM. Webhooks
are stored as the route stores them; the route itself is tested in tests/inbound."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.fakes.vtenext_fake import ACCESS_KEY, vtenext_fake, vtenext_server  # noqa: F401  (fixtures)
from tests.support.inprocess import server_in_process as server  # noqa: F401  (the jobs' HTTP surface, in-process)
from tests.support.runtime import RunningProduct, start_runtime
from wasb.audit.tables import AuditEntry
from wasb.contacts.tables import WaContact
from wasb.scheduler.service import execute_run
from wasb.settings.service import update_settings
from wasb.store.base import utcnow


class Live:
    def __init__(self, rt: RunningProduct):
        self.rt, self.app = rt, rt.app

    def post(self, body: dict, *, wait: bool = True) -> None:
        self.rt.deliver(body)
        if wait:
            self.wait_idle()

    def wait_idle(self, timeout: float = 20) -> None:
        self.rt.wait_idle(timeout)

    def run(self, name: str, at: datetime | None = None) -> dict:
        """Run a scheduled job now (or at `at`), as the scheduler would; returns its result."""
        outcome = execute_run(self.app, name, now=(lambda: at) if at else utcnow)
        assert outcome.ran and outcome.ok, outcome.error
        return outcome.result

    def sync(self, at: datetime | None = None) -> dict:
        return self.run("syncCustomers", at)

    def crm_edit(self, fn):
        """A person working in the CRM (its own transaction)."""
        with self.app.db.sessions() as s, s.begin():
            return fn(self.app.crm(s))

    def settings(self, **changes) -> None:
        with self.app.db.sessions() as s, s.begin():
            update_settings(s, self.app.config, changes)

    def contacts(self) -> list[WaContact]:
        with self.app.db.read_sessions() as s:
            return list(s.scalars(select(WaContact).order_by(WaContact.id)))

    def contact(self, phone: str) -> WaContact:
        (found,) = [c for c in self.contacts() if c.phone_e164 == phone]
        return found

    def audit(self, entity: str | None = None) -> list[tuple]:
        with self.app.db.read_sessions() as s:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if entity:
                query = query.where(AuditEntry.entity == entity)
            return [(a.actor, a.entity, a.field, a.old, a.new) for a in s.scalars(query)]


@pytest.fixture
def live(database_url, tmp_path, monkeypatch):
    # The address-book feed leaves the last 5 s for the next run (commits can land out of
    # clock order on PostgreSQL); the tests write and sync one after the other instead.
    monkeypatch.setattr("wasb.sync.customers.SETTLE", timedelta(0))
    rt = start_runtime(database_url, tmp_path)
    yield Live(rt)
    rt.stop()

