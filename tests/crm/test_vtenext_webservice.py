"""The vtenext_webservice transport: one shared session, re-login on expiry, no login loops."""
import threading

import httpx
import pytest

from tests.fakes.vtenext_fake import ACCESS_KEY
from wasb.crm.port import CRMAuthError, CRMUnavailable
from wasb.crm.vtenext import Webservice


def test_logs_in_with_the_challenge_and_md5_key(vtenext_webservice, vtenext_fake):
    assert vtenext_webservice.user_id == "19x1"
    assert vtenext_fake.login_attempts == 1
    assert vtenext_fake.operations("getchallenge")[0][0] == "GET"
    assert vtenext_fake.operations("login")[0][0] == "POST"


def test_reads_are_get_and_writes_are_post(vtenext_webservice, vtenext_fake):
    vtenext_webservice.query("SELECT * FROM Leads LIMIT 0,1;")
    vtenext_webservice.describe("Leads")
    vtenext_webservice.create("Leads", {"lastname": "X", "company": "Y", "assigned_user_id": "19x1"})
    methods = {op: method for method, op, _ in vtenext_fake.requests}
    assert methods == {"getchallenge": "GET", "login": "POST", "query": "GET", "describe": "GET", "create": "POST"}


def test_the_fake_refuses_a_query_sent_by_post(vtenext_webservice):
    # What the transport must never do: the real CRMs answer ACCESS_DENIED.
    answer = httpx.post(
        vtenext_webservice.endpoint,
        data={"operation": "query", "query": "SELECT * FROM Leads;", "sessionName": vtenext_webservice._ensure_session()},
    ).json()
    assert answer["success"] is False and answer["error"]["code"] == "ACCESS_DENIED"


def test_an_expired_session_logs_in_again_once(vtenext_webservice, vtenext_fake):
    vtenext_webservice.query("SELECT * FROM Leads LIMIT 0,1;")
    vtenext_fake.expire_sessions()
    assert vtenext_webservice.query("SELECT * FROM Leads LIMIT 0,1;") == []
    assert vtenext_fake.login_attempts == 2


def test_one_session_is_shared_by_threads(vtenext_webservice, vtenext_fake):
    errors = []

    def work():
        try:
            vtenext_webservice.query("SELECT * FROM Leads LIMIT 0,1;")
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # vtiger kills earlier challenge tokens: parallel logins would fail each other
    assert vtenext_fake.login_attempts == 1


def test_wrong_credentials_retry_once_then_flag_and_stop(vtenext_server, vtenext_fake):
    ws = Webservice(vtenext_server.url, "admin", "WrongKeyWrongKey", timeout=5)
    with pytest.raises(CRMAuthError):
        ws.query("SELECT * FROM Leads;")
    assert vtenext_fake.login_attempts == 2
    assert "INVALID_USER_CREDENTIALS" in ws.auth_failure
    for _ in range(5):
        with pytest.raises(CRMAuthError):
            ws.query("SELECT * FROM Leads;")
    assert vtenext_fake.login_attempts == 2  # no login loop: the CRM user is not locked
    assert vtenext_fake.failed_logins["admin"] < 5


def test_after_reset_auth_a_fixed_key_logs_in(vtenext_server, vtenext_fake):
    ws = Webservice(vtenext_server.url, "admin", "WrongKeyWrongKey", timeout=5)
    with pytest.raises(CRMAuthError):
        ws.user_id
    ws.set_credentials("admin", ACCESS_KEY)
    assert ws.auth_failure is None
    assert ws.user_id == "19x1"


def test_a_locked_user_is_not_retried(vtenext_server, vtenext_fake):
    vtenext_fake.failed_logins["admin"] = 5
    ws = Webservice(vtenext_server.url, "admin", ACCESS_KEY, timeout=5)
    with pytest.raises(CRMAuthError):
        ws.user_id
    assert vtenext_fake.login_attempts == 1
    assert ws.auth_failure.startswith("LOGIN_LOCKED")
    vtenext_fake.failed_logins["admin"] = 0
    with pytest.raises(CRMAuthError):
        ws.user_id  # still refused: only an admin's reset_auth() allows a new attempt
    ws.reset_auth()
    assert ws.user_id == "19x1"


def test_an_empty_500_answer_is_a_crm_fault_not_a_crash(vtenext_webservice, vtenext_fake):
    vtenext_webservice.user_id
    with pytest.raises(CRMUnavailable):
        vtenext_webservice.call("sync", modifiedTime="0")  # broken on vtiger 8.2 / vtenext CE: HTTP 500, no body
    vtenext_fake.down = "500"
    with pytest.raises(CRMUnavailable):
        vtenext_webservice.query("SELECT * FROM Leads;")
    vtenext_fake.down = None
    assert vtenext_webservice.query("SELECT * FROM Leads LIMIT 0,1;") == []


def test_a_crm_that_is_down_is_unavailable_and_recovers(vtenext_server, vtenext_webservice):
    vtenext_webservice.user_id
    vtenext_server.stop()
    with pytest.raises(CRMUnavailable):
        vtenext_webservice.query("SELECT * FROM Leads;")
    vtenext_server.start()
    assert vtenext_webservice.query("SELECT * FROM Leads LIMIT 0,1;") == []


def test_a_slow_crm_times_out_as_unavailable(vtenext_server, vtenext_fake):
    ws = Webservice(vtenext_server.url, "admin", ACCESS_KEY, timeout=0.2)
    vtenext_fake.slow = 1.0
    with pytest.raises(CRMUnavailable):
        ws.user_id
    vtenext_fake.slow = 0
    assert ws.auth_failure is None  # slowness is not a credentials problem


def test_secrets_stay_out_of_repr_and_logs(vtenext_server, caplog):
    ws = Webservice(vtenext_server.url, "admin", ACCESS_KEY, timeout=5)
    caplog.set_level("DEBUG")
    ws.query("SELECT * FROM Leads LIMIT 0,1;")
    ws._session = "stale"
    ws.query("SELECT * FROM Leads LIMIT 0,1;")
    text = caplog.text + repr(ws)
    assert ACCESS_KEY not in text
    assert ws._session not in text
