"""syncCustomers asks an external CRM with no write transaction open: on SQLite the one
write lock stays free, so the webhook intake never waits for the CRM's answers."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.fakes.vtenext_fake import ACCESS_KEY
from tests.inbound.test_odd_webhooks import status
from tests.sync.conftest import Live
from tests.support.polling import wait_until
from tests.support.runtime import start_runtime
from wasb.contacts.tables import WaContact
from wasb.store.base import utcnow


@pytest.fixture
def on_vtenext(database_url, tmp_path, vtenext_server, monkeypatch):
    monkeypatch.setattr("wasb.sync.customers.SETTLE", timedelta(0))  # sync right after writing
    srv = start_runtime(database_url, tmp_path, crm="vtenext", crm_url=vtenext_server.url, crm_user="admin",
                        crm_access_key=ACCESS_KEY, crm_timeout_seconds=30)
    yield Live(srv)
    srv.stop()


def test_the_webhook_intake_does_not_wait_while_a_slow_crm_answers_the_sync(on_vtenext, vtenext_fake):
    vtenext_fake.insert("Contacts", lastname="335 1000000", mobile="+39 335 1000000")
    assert on_vtenext.sync()["created"] == 1
    # WhatsApp told us the customer's name: the next run writes it on the record named after its number.
    with on_vtenext.app.db.sessions() as s, s.begin():
        s.execute(update(WaContact).values(profile_name="Mario Rossi", modified_at=utcnow()))
    # The CRM answers nothing until the test lets it: whatever the intake waited for the
    # CRM would not come back before then.
    vtenext_fake.hold.set()
    result: dict = {}
    syncing = threading.Thread(target=lambda: result.update(on_vtenext.sync()))
    try:
        syncing.start()
        wait_until(lambda: vtenext_fake.held_requests > 0, what="the sync's call to the CRM")
        for n in range(20):
            # A status for a message we do not know: stored and processed without calling the CRM.
            posting = threading.Thread(target=on_vtenext.post, args=(status("393351000000", f"wamid.held-{n}"),),
                                       kwargs={"wait": False})
            posting.start()
            posting.join(15)
            assert not posting.is_alive(), f"webhook {n} waited for the CRM's answer"
        assert syncing.is_alive() and vtenext_fake.hold.is_set()  # all of it while the CRM held the sync
    finally:
        vtenext_fake.hold.clear()
        syncing.join(30)
    assert result["crm_names_filled"] == 1
    assert ("job:syncCustomers", "crm_person", "name", "335 1000000", "Mario Rossi") in on_vtenext.audit()
    on_vtenext.wait_idle()
