"""When processing fails (the CRM is down), nothing is lost: retries, a visible failure, a retry button."""
import httpx
import pytest

from tests.conftest import fixture_bytes
from tests.support.inprocess import start_in_process
from tests.support.server import APP_SECRET
from wasb.crm.embedded.crm import EmbeddedCRM
from wasb.crm.port import CRMError, CRMUnavailable
from wasb.whatsapp.signature import sign_body


class FlakyCRM(EmbeddedCRM):
    outage = {"failures_left": 0, "error": CRMUnavailable}

    def find_people_by_phone(self, e164):
        if self.outage["failures_left"]:
            self.outage["failures_left"] -= 1
            raise self.outage["error"]("CRM did not answer")
        return super().find_people_by_phone(e164)


@pytest.fixture
def flaky(database_url, tmp_path):
    srv = start_in_process(database_url, tmp_path)
    srv.app.crm_factory = lambda session: FlakyCRM(session, "IT")
    with srv.app.db.sessions() as s, s.begin():
        from wasb.auth.service import create_token
        srv.token = create_token(s, "t", is_admin=True)
    yield srv
    FlakyCRM.outage.update(failures_left=0, error=CRMUnavailable)
    srv.stop()


def post(srv, body):
    return httpx.post(srv.url + "/webhooks/whatsapp", content=body,
                      headers={"X-Hub-Signature-256": sign_body(body, APP_SECRET)})


def get(srv, path):
    return httpx.get(srv.url + path, headers={"Authorization": f"Bearer {srv.token}"}).json()


def wait(predicate, what):
    import time
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(what)


def test_processing_that_fails_is_retried_until_the_crm_answers(flaky):
    FlakyCRM.outage["failures_left"] = 2
    assert post(flaky, fixture_bytes("inbound_text.json")).status_code == 200
    for _ in range(3):
        flaky.time_passes()
        if get(flaky, "/api/v1/inbound-events?state=processed"):
            break
        import time; time.sleep(0.3)
    wait(lambda: get(flaky, "/api/v1/inbound-events?state=processed"), "event processed after retries")
    (conversation,) = get(flaky, "/api/v1/conversations")
    assert conversation["ticket_id"] is not None


def test_a_crm_that_is_down_never_uses_up_the_attempts(flaky):
    FlakyCRM.outage["failures_left"] = 20
    post(flaky, fixture_bytes("inbound_text.json"))

    def outage_over():
        flaky.time_passes()
        return FlakyCRM.outage["failures_left"] == 0
    wait(outage_over, "twenty failed tries")
    wait(lambda: get(flaky, "/api/v1/inbound-events?state=processed"), "processed once the CRM answers")
    assert get(flaky, "/api/v1/inbound-events?state=failed") == []  # 20 tries > 8 attempts, none counted


def test_after_the_last_attempt_the_event_is_failed_and_an_admin_can_retry_it(flaky):
    # A refusal (not an outage) counts: it will not fix itself by waiting.
    FlakyCRM.outage.update(failures_left=10_000, error=CRMError)
    post(flaky, fixture_bytes("inbound_text.json"))

    def failed():
        flaky.time_passes()
        return get(flaky, "/api/v1/inbound-events?state=failed")

    (event,) = wait(failed, "event marked failed")
    assert "CRM did not answer" in event["error"]
    assert get(flaky, "/api/v1/conversations") == []  # rolled back, not half-written
    FlakyCRM.outage["failures_left"] = 0
    retried = httpx.post(flaky.url + f"/api/v1/inbound-events/{event['id']}/retry",
                         headers={"Authorization": f"Bearer {flaky.token}"})
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    wait(lambda: get(flaky, "/api/v1/inbound-events?state=processed"), "processed after retry")
    (conversation,) = get(flaky, "/api/v1/conversations")
    assert len(get(flaky, f"/api/v1/conversations/{conversation['id']}")["messages"]) == 1
