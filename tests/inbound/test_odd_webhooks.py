"""Signed webhooks of unusual but possible shapes, replayed to a running `wasb serve`: each
ends processed or failed on its own, with a reason, and never holds up the others."""
import copy

from sqlalchemy import select

from tests.conftest import load_fixture
from wasb.jobs.tables import Job
from wasb.store.engine import open_database

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"


def events(server, state=None):
    return server.get("/api/v1/inbound-events" + (f"?state={state}" if state else ""))


def jobs_left(server) -> list:
    """The inbound jobs still queued (retries waiting) or given up."""
    db = open_database(server.database_url)
    try:
        with db.sessions() as session:
            return [(j.lock_key, j.status, j.attempts, j.last_error) for j in session.scalars(select(Job))]
    finally:
        db.dispose()


# Meta's `account_update` example (webhooks reference, account_update): neither messages nor templates.
ACCOUNT_UPDATE = {"entry": [{"id": WABA_ID, "time": 1739321024, "changes": [{
    "value": {"phone_number": "15550783881", "event": "PARTNER_ADDED",
              "waba_info": {"waba_id": "494527133743989", "owner_business_id": "2729063490586005"}},
    "field": "account_update"}]}], "object": "whatsapp_business_account"}


def errors_only_change():
    """A `messages` change that carries only `errors` (Meta's "webhook payload with errors")."""
    body = load_fixture("inbound_value_errors_131000.json")
    value = body["entry"][0]["changes"][0]["value"]
    del value["messages"], value["contacts"]
    return body


def test_changes_that_are_neither_messages_nor_templates_are_kept_as_processed(server):
    for body in (ACCOUNT_UPDATE, errors_only_change()):
        assert server.post_webhook(body).status_code == 200
    server.wait_idle()
    kept = events(server)
    assert [e["state"] for e in kept] == ["processed", "processed"], kept
    assert jobs_left(server) == []
