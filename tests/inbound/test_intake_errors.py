"""The webhook endpoint when storing goes wrong: a proper answer, a usable connection, and
one body's trouble never refused for the others. In-process (real HTTP) to make it go wrong."""
import http.client
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import pytest

from tests.conftest import fixture_bytes
from tests.inbound.test_inbound_to_crm import text_message
from tests.support.inprocess import start_in_process
from tests.support.server import APP_SECRET
from wasb.inbound import intake
from wasb.whatsapp.signature import HEADER, sign_body


@pytest.fixture
def srv(database_url, tmp_path):
    server = start_in_process(database_url, tmp_path)
    yield server
    server.stop()


def signed(body: bytes) -> dict:
    return {"Content-Type": "application/json", HEADER: sign_body(body, APP_SECRET)}


def post_on(conn: http.client.HTTPConnection, body: bytes) -> http.client.HTTPResponse:
    conn.request("POST", "/webhooks/whatsapp", body=body, headers=signed(body))
    response = conn.getresponse()
    response.read()
    return response


def test_a_database_that_takes_nothing_answers_503_and_the_connection_stays_usable(srv, monkeypatch):
    async def refused(body):
        raise RuntimeError("database is gone")
    working = srv.app.intake.store
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    monkeypatch.setattr(srv.app.intake, "store", refused)
    first = post_on(conn, fixture_bytes("inbound_text.json"))
    assert first.status == 503 and first.getheader("Retry-After")  # Meta delivers again later
    monkeypatch.setattr(srv.app.intake, "store", working)
    # The same keep-alive connection: a client that reuses it is answered, not reset.
    second = post_on(conn, fixture_bytes("inbound_text.json"))
    assert second.status == 200
    conn.close()


def test_an_unexpected_error_answers_500_with_connection_close(srv, monkeypatch):
    def broken(*args):
        raise RuntimeError("a bug")
    monkeypatch.setattr("wasb.web.webhooks.verify_signature", broken)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    first = post_on(conn, fixture_bytes("inbound_text.json"))
    assert first.status == 500 and first.getheader("Connection") == "close"
    monkeypatch.undo()
    assert post_on(conn, fixture_bytes("inbound_text.json")).status == 200  # http.client reconnects as told
    conn.close()


def test_a_body_that_breaks_its_group_is_kept_failed_and_the_others_are_stored(srv, monkeypatch):
    poison = orjson.dumps(text_message("393330000000", "poison", "wamid.poison"))
    read = intake.inspect_body

    def inspect(body):
        if body == poison:  # whatever a body could do to the group's transaction
            raise RuntimeError("this body breaks the group")
        return read(body)
    monkeypatch.setattr(intake, "inspect_body", inspect)
    bodies = [orjson.dumps(text_message(f"39333{i:07d}", f"hi {i}", f"wamid.g{i}")) for i in range(30)]
    bodies.insert(15, poison)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda b: httpx.post(srv.url + "/webhooks/whatsapp", content=b, headers=signed(b),
                                                     timeout=30), bodies))
    assert [a.status_code for a in answers] == [200] * len(bodies)
    from wasb.inbound.service import list_events
    from tests.support.polling import wait_until

    def settled():
        with srv.app.db.sessions() as s:
            kept = list_events(s, limit=1000)
            return kept if len(kept) == len(bodies) and all(e.state != "pending" for e in kept) else None
    kept = wait_until(settled, 30, "every body an event, each settled")
    (failed,) = [e for e in kept if e.state == "failed"]
    assert failed.body == poison and "this body breaks the group" in failed.error
    assert all(e.state == "processed" for e in kept if e.body != poison)
