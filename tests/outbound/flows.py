"""Steps the outbound tests share: a customer writes, an agent answers, we look."""
from __future__ import annotations

CUSTOMER = "393351032246"


def customer_writes(sim, server, text="Buongiorno, ci possiamo sentire?", wa_id=CUSTOMER, name="Daniele"):
    answer = sim.post("/_sim/inbound", json={"from": wa_id, "name": name, "text": text})
    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, answer.text
    server.wait_idle()
    (conversation,) = [c for c in server.get("/api/v1/conversations") if c["contact"]["wa_id"] == wa_id]
    return conversation


def send(server, conversation_id, token=None, **body):
    return server.api("POST", f"/api/v1/conversations/{conversation_id}/messages", json=body, token=token)


def message(server, conversation_id, message_id):
    (row,) = [m for m in server.get(f"/api/v1/conversations/{conversation_id}")["messages"] if m["id"] == message_id]
    return row


def wait_status(server, conversation_id, message_id, *wanted, timeout=60):
    return server.wait_until(lambda: (m := message(server, conversation_id, message_id))["status"] in wanted and m,
                             timeout, f"message {message_id} to be {'/'.join(wanted)}")


def sent_to(sim, wa_id=CUSTOMER):
    return sim.get("/_sim/sent", params={"to": wa_id}).json()
