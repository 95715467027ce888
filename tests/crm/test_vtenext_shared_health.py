"""The CRM's health as one process finds it and another shows it (crm_state)."""
from __future__ import annotations

from wasb.crm.port import CRMUnavailable
from wasb.crm.vtenext.memory import SharedHealth
from wasb.store.engine import open_database
from wasb.store.migrate import upgrade

ENDPOINT = "http://crm.example/webservice.php"


def test_what_the_worker_found_is_what_the_web_shows(database_url):
    upgrade(database_url)
    db = open_database(database_url)
    try:
        worker, web = SharedHealth(db, ENDPOINT), SharedHealth(db, ENDPOINT)  # two processes' views
        assert web.view().reachable is None
        worker.ok(settled=True)
        assert web.view().reachable is True
        worker.failed(CRMUnavailable("connection refused"), settled=True)
        down = web.view()
        assert down.reachable is False and down.last_error == "CRMUnavailable: connection refused"
        worker.ok(settled=True)  # back: a change, written at once
        assert web.view().reachable is True and web.view().last_error == "CRMUnavailable: connection refused"
        web.failed(CRMUnavailable("timed out"))  # the web's own call counts for itself at once...
        assert web.view().reachable is False
        web.flush()
        assert worker.view().last_error == "CRMUnavailable: timed out"  # ...and for the others once written
        assert SharedHealth(db, "http://other.example/webservice.php").view().reachable is None
    finally:
        db.dispose()
