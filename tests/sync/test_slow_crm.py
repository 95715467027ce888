"""syncCustomers asks an external CRM with no write transaction open: on SQLite the one
write lock stays free, so the webhook intake never waits for the CRM's answers."""
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.fakes.vtenext_fake import ACCESS_KEY
from tests.inbound.test_odd_webhooks import status
from tests.sync.conftest import Live
from tests.support.runtime import start_runtime
from wasb.contacts.tables import WaContact
from wasb.store.base import utcnow

SLOW = 1.5  # seconds the CRM takes to answer each call


@pytest.fixture
def on_vtenext(database_url, tmp_path, vtenext_server, monkeypatch):
    monkeypatch.setattr("wasb.sync.customers.SETTLE", timedelta(0))  # sync right after writing
    srv = start_runtime(database_url, tmp_path, crm="vtenext", crm_url=vtenext_server.url, crm_user="admin",
                        crm_access_key=ACCESS_KEY, crm_timeout_seconds=10)
    yield Live(srv)
    srv.stop()


def test_the_webhook_intake_does_not_wait_while_a_slow_crm_answers_the_sync(on_vtenext, vtenext_fake):
    vtenext_fake.insert("Contacts", lastname="335 1000000", mobile="+39 335 1000000")
    assert on_vtenext.sync()["created"] == 1
    # WhatsApp told us the customer's name: the next run writes it on the record named after its number.
    with on_vtenext.app.db.sessions() as s, s.begin():
        s.execute(update(WaContact).values(profile_name="Mario Rossi", modified_at=utcnow()))
    vtenext_fake.slow = SLOW
    result: dict = {}
    syncing = threading.Thread(target=lambda: result.update(on_vtenext.sync()))
    syncing.start()
    waits = []
    while syncing.is_alive():
        started = time.monotonic()
        # A status for a message we do not know: stored and processed without calling the CRM.
        on_vtenext.post(status("393351000000", f"wamid.slow-crm-{len(waits)}"), wait=False)
        waits.append(time.monotonic() - started)
        time.sleep(0.05)
    syncing.join()
    assert result["crm_names_filled"] == 1
    assert ("job:syncCustomers", "crm_person", "name", "335 1000000", "Mario Rossi") in on_vtenext.audit()
    assert len(waits) > 10  # the intake was posted to all along the CRM's slow answers
    assert max(waits) < SLOW * 2 / 3, f"the intake waited {max(waits):.2f} s for the CRM"
