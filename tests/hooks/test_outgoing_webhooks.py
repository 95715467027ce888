"""Outgoing webhooks through the real server: customers write through the simulator, an
agent answers, and a receiver on 127.0.0.1 gets every event signed, once, in order per
conversation, although it refuses the first deliveries."""
from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tests.hooks.receiver import receiving
from tests.support.wired import wired_service
from wasb.hooks.service import EVENTS

ANNA, BRUNO = "393331110001", "393331110002"


@pytest.fixture
def wired(database_url, tmp_path):
    # Retries a few hundredths of a second apart: the test waits for them, never for a clock.
    with wired_service(database_url, tmp_path, webhook_retry_seconds=0.05) as w:
        yield w


def register(wired, url: str, events=EVENTS) -> dict:
    created = wired.api("POST", "/api/v1/webhooks", json={"url": url, "events": list(events)})
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    return created.json()


def customer_writes(wired, number: str, name: str, text: str) -> None:
    answer = wired.sim.post("/_sim/inbound", json={"from": number, "name": name, "text": text})
    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, answer.text


def deliveries(wired) -> list[dict]:
    return wired.get("/api/v1/webhooks/deliveries")


def settled(wired, *, wanted: set[str]):
    """Every delivery of the events `wanted` is made, and none waits."""
    log = deliveries(wired)
    if not wanted <= {d["event"] for d in log} or any(d["status"] == "pending" for d in log):
        return None
    return log


def test_an_endpoint_that_fails_twice_gets_every_event_once_in_order_and_signed(wired):
    with receiving(failures_first=2) as receiver:
        endpoint = register(wired, receiver.url)
        assert set(endpoint) >= {"id", "url", "events", "secret"} and len(endpoint["secret"]) >= 43
        assert "secret" not in wired.get("/api/v1/webhooks")[0]  # shown once, at creation

        customer_writes(wired, ANNA, "Anna", "Buongiorno")
        customer_writes(wired, BRUNO, "Bruno", "Ciao")
        customer_writes(wired, ANNA, "Anna", "Avete novità?")
        anna = wired.wait_until(lambda: _conversation(wired, "Anna"), what="Anna's conversation")
        reply = wired.api("POST", f"/api/v1/conversations/{anna}/messages", json={"type": "text", "body": "Sì"})
        assert reply.status_code == 201, reply.text
        customer_writes(wired, BRUNO, "Bruno", "STOP")

        log = wired.wait_until(lambda: settled(wired, wanted={
            "conversation.opened", "message.received", "ticket.created", "message.status", "consent.changed"}),
            what="every delivery made")
        wired.wait_until(lambda: any(d["event"] == "message.status" and _status(receiver, d["id"]) == "read"
                                     for d in deliveries(wired)) or None, what="the read status delivered")
        log = wired.wait_until(lambda: settled(wired, wanted=set()), what="every delivery made")

        requests = receiver.all()
        assert [r.answered for r in requests[:2]] == [500, 500]
        # Every request is signed with the endpoint's secret, its headers naming its body.
        for request in requests:
            assert request.signed_with(endpoint["secret"]), request.headers
            assert not request.signed_with(endpoint["secret"] + "x")
            assert request.headers["x-wasb-event"] == request.json["event"]
            assert request.headers["x-wasb-delivery"] == str(request.json["id"])
            assert request.headers["x-wasb-timestamp"].isdigit()
        # Each delivery accepted exactly once; every one in the log was.
        accepted = [r.json["id"] for r in receiver.accepted()]
        assert sorted(accepted) == sorted(set(accepted)) == sorted(d["id"] for d in log)
        assert all(d["status"] == "delivered" and d["response_code"] == 200 for d in log)
        assert sum(d["attempts"] for d in log) == len(requests) == len(log) + 2
        # In order per conversation: a later event never overtook an earlier one, even the
        # refused first ones.
        per_conversation: dict[int, list[dict]] = defaultdict(list)
        for request in receiver.accepted():
            body = request.json
            if "conversation_id" in body["data"]:
                per_conversation[body["data"]["conversation_id"]].append(body)
        assert len(per_conversation) == 2
        for bodies in per_conversation.values():
            assert [b["id"] for b in bodies] == sorted(b["id"] for b in bodies)
            events = [b["event"] for b in bodies]
            assert events[:2] == ["conversation.opened", "message.received"], events
            assert "ticket.created" in events
        anna_events = [b["event"] for b in per_conversation[anna]]
        assert anna_events.count("message.received") == 2
        texts = [b["data"]["text"] for b in per_conversation[anna] if b["event"] == "message.received"]
        assert texts == ["Buongiorno", "Avete novità?"]
        statuses = [b["data"]["status"] for b in per_conversation[anna] if b["event"] == "message.status"]
        assert statuses == sorted(statuses, key=["queued", "sending", "sent", "delivered", "read"].index)
        assert statuses[-1] == "read"
        consent = [r.json for r in receiver.accepted() if r.json["event"] == "consent.changed"]
        assert len(consent) == 1 and consent[0]["data"]["marketing_opted_out"] is True
        assert consent[0]["data"]["source"] == "keyword"


def _conversation(wired, name: str) -> int | None:
    return next((c["id"] for c in wired.get("/api/v1/conversations") if name in str(c)), None)


def _status(receiver, delivery_id: int) -> str | None:
    for request in receiver.accepted():
        if request.json["id"] == delivery_id:
            return request.json["data"].get("status")
    return None


def test_resend_delivers_the_event_again_as_a_new_delivery(wired):
    with receiving() as receiver:
        register(wired, receiver.url, events=["message.received"])
        customer_writes(wired, ANNA, "Anna", "Una domanda")
        first = wired.wait_until(lambda: settled(wired, wanted={"message.received"}), what="the delivery")[0]
        again = wired.api("POST", f"/api/v1/webhooks/deliveries/{first['id']}/resend")
        assert again.status_code == 201, again.text
        assert again.json()["id"] != first["id"]
        wired.wait_until(lambda: len(receiver.accepted()) == 2 or None, what="the second delivery")
        bodies = [r.json for r in receiver.accepted()]
        assert [b["id"] for b in bodies] == [first["id"], again.json()["id"]]
        assert bodies[0]["data"] == bodies[1]["data"] and bodies[1]["data"]["text"] == "Una domanda"
        assert wired.api("POST", "/api/v1/webhooks/deliveries/999999/resend").status_code == 404


def test_a_bad_url_is_refused_and_an_unreachable_one_is_logged_with_the_reason(wired):
    refused = wired.api("POST", "/api/v1/webhooks", json={"url": "ftp://example.com/x", "events": ["message.received"]})
    assert refused.status_code == 422 and "is not a web address" in refused.text
    unknown = wired.api("POST", "/api/v1/webhooks", json={"url": "https://example.com", "events": ["nope"]})
    assert unknown.status_code == 422 and "unknown event(s): nope" in unknown.text
    assert wired.api("POST", "/api/v1/webhooks", json={"url": "https://example.com", "events": ["message.received"]},
                     token=wired.agent_token).status_code == 403
    with receiving() as receiver:
        closed_port = receiver.url  # the receiver stops at the end of this block: nobody listens there
    register(wired, closed_port, events=["message.received"])
    customer_writes(wired, ANNA, "Anna", "C'è qualcuno?")
    tried = wired.wait_until(lambda: next((d for d in deliveries(wired) if d["attempts"] >= 2), None),
                             what="two attempts logged")
    assert tried["status"] == "pending" and tried["response_code"] is None
    assert tried["last_error"].startswith("could not connect"), tried["last_error"]


def test_deleting_an_endpoint_stops_its_deliveries(wired):
    with receiving() as receiver:
        endpoint = register(wired, receiver.url, events=["message.received"])
        assert wired.api("DELETE", f"/api/v1/webhooks/{endpoint['id']}").status_code == 204
        assert wired.get("/api/v1/webhooks") == []
        assert wired.api("DELETE", f"/api/v1/webhooks/{endpoint['id']}").status_code == 404
        customer_writes(wired, ANNA, "Anna", "Ciao")
        wired.wait_idle()
        assert deliveries(wired) == [] and receiver.all() == []


def test_the_admin_page_registers_shows_the_secret_once_and_resends(wired, database_url):
    from contextlib import closing

    from tests.support.ui_http import add_user, logged_in, page_csrf

    add_user(database_url, "ada", "admin-password-1", is_admin=True)
    add_user(database_url, "bruno", "agent-password-1")
    with closing(logged_in(wired.url, "bruno", "agent-password-1")) as agent:
        assert agent.get("/ui/webhooks").status_code == 403
        assert "/ui/webhooks" not in agent.get("/ui/inbox").text  # no sidebar link for agents
    with receiving() as receiver, closing(logged_in(wired.url, "ada", "admin-password-1")) as admin:
        assert 'href="/ui/webhooks"' in admin.get("/ui/inbox").text
        csrf = page_csrf(admin, "/ui/webhooks")
        bad = admin.post("/ui/webhooks", data={"csrf": csrf, "url": "www.example.com", "events": ["message.received"]})
        assert bad.status_code == 422
        assert "“www.example.com” is not a web address" in bad.text and 'value="www.example.com"' in bad.text
        assert admin.post("/ui/webhooks", data={"url": receiver.url, "events": ["message.received"]}).status_code == 403
        created = admin.post("/ui/webhooks", data={"csrf": csrf, "url": receiver.url, "events": ["message.received"]})
        assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
        secret = re.search(r'<code id="new-secret" class="token">([^<]+)</code>', created.text).group(1)
        assert secret == _secret_of(wired)
        assert secret not in admin.get("/ui/webhooks").text  # shown once
        assert receiver.url in admin.get("/ui/webhooks").text

        customer_writes(wired, ANNA, "Anna", "Dalla pagina")
        first = wired.wait_until(lambda: settled(wired, wanted={"message.received"}), what="the delivery")[0]
        page = admin.get("/ui/webhooks").text
        row = re.search(rf'<tr data-delivery-id="{first["id"]}">(.*?)</tr>', page, re.S).group(1)
        assert "delivered" in row and ">200<" in row
        resent = admin.post(f"/ui/webhooks/deliveries/{first['id']}/resend", data={"csrf": csrf})
        assert resent.status_code == 303
        wired.wait_until(lambda: len(receiver.accepted()) == 2 or None, what="the delivery resent")
        assert all(r.signed_with(secret) for r in receiver.accepted())
        assert receiver.accepted()[1].json["data"]["text"] == "Dalla pagina"
        endpoint_id = wired.get("/api/v1/webhooks")[0]["id"]
        assert admin.post(f"/ui/webhooks/{endpoint_id}/delete", data={"csrf": csrf}).status_code == 303
        assert wired.get("/api/v1/webhooks") == []


def _secret_of(wired) -> str:
    """The stored secret (the page and the API never show it again)."""
    from wasb.hooks.tables import WebhookEndpoint

    with wired.app.db.read_sessions() as session:
        return session.query(WebhookEndpoint.secret).scalar()
