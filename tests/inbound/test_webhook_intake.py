"""The webhook endpoint of a running `wasb serve`, spoken to as Meta does."""
import hashlib

import httpx
import orjson

from tests.conftest import fixture_bytes
from tests.support.server import VERIFY_TOKEN


def test_meta_handshake_answers_the_challenge(server):
    ok = httpx.get(server.url + "/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = httpx.get(server.url + "/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert wrong.status_code == 403


def test_wrong_or_missing_signature_is_refused_and_nothing_stored(server):
    body = fixture_bytes("inbound_text.json")
    assert server.post_webhook(body, secret="not-the-secret").status_code == 401
    assert server.post_webhook(body, signature="").status_code == 401
    assert server.post_webhook(body, signature="sha256=" + "0" * 64).status_code == 401
    assert server.get("/api/v1/inbound-events") == []
    assert server.get("/api/v1/conversations") == []


def test_a_signature_over_other_bytes_is_refused(server):
    body = fixture_bytes("inbound_text.json")
    tampered = body.replace(b"another color", b"a free phone!")
    from wasb.whatsapp.signature import sign_body
    from tests.support.server import APP_SECRET
    assert server.post_webhook(tampered, signature=sign_body(body, APP_SECRET)).status_code == 401


def test_a_body_over_5_mb_is_refused_with_413(server):
    big = b'{"object":"whatsapp_business_account","entry":[],"pad":"' + b"x" * (5 * 1024 * 1024) + b'"}'
    assert server.post_webhook(big).status_code == 413
    assert server.get("/api/v1/inbound-events") == []


def test_a_signed_garbage_body_is_kept_and_shown_as_failed(server):
    response = server.post_webhook(b"{not json at all")
    assert response.status_code == 200 and response.json() == {"accepted": True}
    server.wait_idle()
    (event,) = server.get("/api/v1/inbound-events?state=failed")
    assert "not valid JSON" in event["error"]
    assert event["sha256"] == hashlib.sha256(b"{not json at all").hexdigest()


def test_signed_json_that_is_not_a_whatsapp_envelope_is_kept_as_failed(server):
    assert server.post_webhook({"object": "page", "entry": []}).status_code == 200
    server.wait_idle()
    (event,) = server.get("/api/v1/inbound-events?state=failed")
    assert "not a WhatsApp webhook" in event["error"]


def test_the_same_body_delivered_twice_is_stored_and_applied_once(server):
    body = fixture_bytes("inbound_text.json")
    first, second = server.post_webhook(body), server.post_webhook(body)
    assert first.status_code == second.status_code == 200
    server.wait_idle()
    assert len(server.get("/api/v1/inbound-events")) == 1
    (conversation,) = server.get("/api/v1/conversations")
    detail = server.get(f"/api/v1/conversations/{conversation['id']}")
    assert len(detail["messages"]) == 1


def test_redelivery_with_other_bytes_does_not_duplicate_the_message(server):
    body = orjson.loads(fixture_bytes("inbound_text.json"))
    server.post_webhook(body)
    body["entry"][0]["changes"][0]["value"]["extra"] = "meta re-serialized it"
    server.post_webhook(body)
    server.wait_idle()
    assert len(server.get("/api/v1/inbound-events?state=processed")) == 2
    (conversation,) = server.get("/api/v1/conversations")
    assert len(server.get(f"/api/v1/conversations/{conversation['id']}")["messages"]) == 1
    (ticket,) = server.get("/api/v1/tickets")
    assert server.get(f"/api/v1/tickets/{ticket['id']}")["comments"] == []


def test_the_read_api_needs_a_token(server):
    assert httpx.get(server.url + "/api/v1/conversations").status_code == 401
    assert server.api("GET", "/api/v1/conversations", token="wasb_forged").status_code == 401
    assert server.api("GET", "/api/v1/settings", token=server.agent_token).status_code == 403
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"


def _malformed_bodies(n: int) -> list[dict]:
    """Signed but malformed: a list or an object where Meta sends a string."""
    from tests.inbound.test_inbound_to_crm import text_message
    bodies = []
    for i in range(n):
        body = text_message(f"39340{i:07d}", "odd", f"wamid.odd{i}")
        value = body["entry"][0]["changes"][0]["value"]
        if i % 3 == 0:
            value["messages"][0]["from"] = [f"39340{i:07d}"]
        elif i % 3 == 1:
            value["contacts"][0]["wa_id"] = {"number": f"39340{i:07d}"}
            del value["messages"][0]["from"]
        else:
            del value["messages"], value["contacts"]
            value["statuses"] = [{"id": f"wamid.out{i}", "status": "delivered", "timestamp": "1764000000",
                                  "recipient_id": [f"39340{i:07d}"]}]
        bodies.append(body)
    return bodies


def test_a_burst_of_valid_and_malformed_signed_webhooks_each_ends_on_its_own(server):
    from concurrent.futures import ThreadPoolExecutor

    from tests.inbound.test_inbound_to_crm import text_message
    valid = [text_message(f"39350{i:07d}", f"hello {i}", f"wamid.ok{i}") for i in range(60)]
    malformed = _malformed_bodies(15)
    bodies = [b for pair in zip(valid[::4], valid[1::4], valid[2::4], valid[3::4], malformed) for b in pair]
    with ThreadPoolExecutor(16) as pool:  # concurrent: the intake commits them in shared groups
        answers = list(pool.map(server.post_webhook, bodies))
    assert [a.status_code for a in answers] == [200] * len(bodies), [a.text for a in answers if a.status_code != 200]
    server.wait_idle(timeout=60)
    processed = server.get("/api/v1/inbound-events?state=processed&limit=1000")
    failed = server.get("/api/v1/inbound-events?state=failed&limit=1000")
    assert len(processed) == 60 and len(failed) == 15
    assert all("not a string" in event["error"] for event in failed), [e["error"] for e in failed]
    stored = {c["name"].split(" - ")[-1] for c in server.get("/api/v1/conversations?limit=1000")}
    assert stored == {f"+39350{i:07d}" for i in range(60)}
