"""The CRM locks its user after 5 refused logins: every WASB process (the service,
`wasb crm check`, `wasb crm reset-auth`) shares one hold and one count of refused
logins through the service database, and none of them is ever the 5th refusal."""
from __future__ import annotations

import pytest

from tests.crm.test_vtenext_flow import vtenext_env
from tests.inbound.test_inbound_to_crm import text_message
from tests.support.server import WasbServer, run_cli
from wasb.crm.port import CRMAuthError, CRMUnavailable
from wasb.crm.vtenext import Webservice, memory
from wasb.store.engine import open_database
from wasb.store.migrate import upgrade

WRONG = "NotTheRightKey00"
NUMBER = "393351032246"


def refusals_per_login(database_url: str) -> int:
    """A refused login is tried once more on SQLite (a challenge clobbered by a parallel
    login); on PostgreSQL logins take turns across the cluster, so once is enough."""
    return 2 if database_url.startswith("sqlite") else 1


@pytest.mark.parametrize("vtenext_server", ["vtiger"], indirect=True)  # the same on both: one is enough
def test_crm_check_shares_the_services_hold_and_never_makes_the_fifth_refusal(
        database_url, tmp_path, vtenext_server, vtenext_fake):
    srv = WasbServer(database_url, tmp_path, extra_env=vtenext_env(vtenext_server, WASB_CRM_ACCESS_KEY=WRONG)).start()
    try:
        per_login = refusals_per_login(database_url)
        srv.post_webhook(text_message(NUMBER, "ciao", "wamid.h1"))
        srv.wait_until(lambda: srv.get("/api/v1/crm/status")["auth_failure"], what="the service's hold")
        assert vtenext_fake.failed_logins["admin"] == per_login

        for _ in range(2):  # the operator runs the check, twice: it must not log in at all
            checked = run_cli(srv.env, "crm", "check")
            assert checked.returncode == 1
            assert "login disabled" in checked.stdout and "INVALID_USER_CREDENTIALS" in checked.stdout
        assert (vtenext_fake.login_attempts, vtenext_fake.failed_logins["admin"]) == (per_login, per_login)

        # A hold set by the check is seen by the service too: the reset from the CLI frees both;
        # the service tries again (still the wrong key) and stops at 4 refusals, not 5.
        while vtenext_fake.failed_logins["admin"] < 4:
            expected = vtenext_fake.failed_logins["admin"] + per_login
            reset = run_cli(srv.env, "crm", "reset-auth")
            assert reset.returncode == 0, reset.stderr
            srv.wait_until(lambda: vtenext_fake.failed_logins["admin"] == expected, what="the service trying again")
            status = srv.wait_until(lambda: (s := srv.get("/api/v1/crm/status"))["auth_failure"] and s,
                                    what="the hold again")
        assert vtenext_fake.failed_logins["admin"] == 4
        assert "one more could lock" in status["auth_failure"]

        assert run_cli(srv.env, "crm", "reset-auth").returncode == 0
        checked = run_cli(srv.env, "crm", "check")
        assert checked.returncode == 1 and "one more could lock" in checked.stdout
        srv.post_webhook(text_message(NUMBER, "ci sei?", "wamid.h2", "1764000100"))
        srv.wait_until(lambda: "one more could lock" in (srv.get("/api/v1/crm/status")["auth_failure"] or ""),
                       what="the budget hold")
        assert vtenext_fake.failed_logins["admin"] == 4 and vtenext_fake.login_attempts == 4
        assert "LOGIN_LOCKED" not in srv.read_log()
    finally:
        srv.stop()


def test_a_success_zeroes_the_count_and_a_network_fault_is_not_counted(database_url, vtenext_server, vtenext_fake):
    from wasb.crm.vtenext.memory import DatabaseLedger

    upgrade(database_url)
    db = open_database(database_url)
    try:
        ledger = DatabaseLedger(db, vtenext_server.url + "/webservice.php")
        wrong = Webservice(vtenext_server.url, "admin", WRONG, timeout=5, ledger=ledger)
        with pytest.raises(CRMAuthError):
            wrong.user_id
        ledger.flush()  # stored (the process's writer thread), as on exit
        assert ledger.failures("admin") == refusals_per_login(database_url)
        # Another process, with the right key, is held all the same until a reset...
        right = Webservice(vtenext_server.url, "admin", vtenext_fake.users["admin"].access_key, timeout=5,
                           ledger=DatabaseLedger(db, vtenext_server.url + "/webservice.php"))
        with pytest.raises(CRMAuthError, match="disabled"):
            right.user_id
        assert vtenext_fake.login_attempts == refusals_per_login(database_url)
        right.reset_auth()
        assert right.user_id == vtenext_fake.users["admin"].id
        right.ledger.flush()
        assert ledger.failures("admin") == 0 and ledger.hold("admin") is None

        vtenext_fake.down = "500"  # no answer about the credentials: nothing counted
        right.reset_auth()  # drops the session: the next call logs in
        with pytest.raises(CRMUnavailable):
            right.user_id
        right.ledger.flush()
        assert ledger.failures("admin") == 0 and right.ledger.failures("admin") == 0
    finally:
        db.dispose()


def test_a_login_inside_a_write_transaction_does_not_wait_for_the_database(database_url, vtenext_server,
                                                                           vtenext_fake):
    """A route may call the CRM inside its own write transaction (SQLite: the write
    lock is taken at BEGIN); a login there must not wait for a second write transaction."""
    from sqlalchemy import update

    from wasb.crm.tables import CrmState
    from wasb.crm.vtenext.memory import DatabaseLedger

    upgrade(database_url)
    db = open_database(database_url)
    try:
        ledger = DatabaseLedger(db, vtenext_server.url + "/webservice.php")
        ws = Webservice(vtenext_server.url, "admin", WRONG, timeout=5, ledger=ledger)
        with db.sessions() as session, session.begin():
            session.execute(update(CrmState).values(updated_at=CrmState.updated_at))  # holds the write lock
            with pytest.raises(CRMAuthError, match="INVALID_USER_CREDENTIALS"):
                ws.user_id
            assert "INVALID_USER_CREDENTIALS" in ledger.hold("admin")  # this process knows at once
        ledger.flush()
        assert ledger.failures("admin") == refusals_per_login(database_url) and "INVALID_USER_CREDENTIALS" in ledger.hold("admin")
        other = DatabaseLedger(db, vtenext_server.url + "/webservice.php")  # another process reads it stored
        assert other.failures("admin") == refusals_per_login(database_url) and other.hold("admin") == ledger.hold("admin")
    finally:
        db.dispose()


class _HeldWriter(memory._Writer):
    """A writer whose thread the test plays itself, to stop it at the worst moments."""

    def __init__(self, db):
        super().__init__(db)
        self._thread = type("Alive", (), {"is_alive": staticmethod(lambda: True)})()

    def write_next(self) -> None:
        key, cid, fresh, change, keep = self._queue.get_nowait()
        memory.write(self._db, key, fresh, memory._recorded(cid, change), keep)
        with self._lock:
            self._pending.remove(next(p for p in self._pending if p[1] == cid))


@pytest.mark.parametrize("moment", ["written while the row is read", "written before the row is read"])
def test_a_change_written_while_it_is_read_is_seen_exactly_once(database_url, monkeypatch, moment):
    """A reset made in a route must show in the answer the route reads next, whenever the
    writer thread commits it; and a refusal must count once (seen lost under load)."""
    upgrade(database_url)
    db = open_database(database_url)
    try:
        writer = _HeldWriter(db)
        ledger = memory.DatabaseLedger(db, "http://crm.example", writer, atomic=False)  # the writer's rules
        ledger.reserve("admin")  # one refusal counted
        ledger.set_hold("admin", "INVALID_USER_CREDENTIALS")
        writer.write_next()
        writer.write_next()
        assert ledger.hold("admin").startswith("INVALID_USER_CREDENTIALS") and ledger.failures("admin") == 1

        ledger.clear_hold("admin")
        ledger.reserve("admin")  # a second refusal counted, still on its way
        real_read = memory.read

        def read_racing_the_writer(db_, key):
            if moment == "written before the row is read":
                writer.write_next(), writer.write_next()
                return real_read(db_, key)
            value = real_read(db_, key)
            writer.write_next(), writer.write_next()
            return value

        monkeypatch.setattr(memory, "read", read_racing_the_writer)
        state = ledger._state("admin")
        assert state["hold"] is None and state["failures"] == 2
        monkeypatch.setattr(memory, "read", real_read)
        assert ledger.hold("admin") is None and ledger.failures("admin") == 2
    finally:
        db.dispose()
