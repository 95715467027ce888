"""A customer's business-scoped user id (BSUID) changes: Meta's `system` message
`user_changed_user_id` (no phone number shared, no `contacts` block). The address-book entry
follows the customer to the new id, the audit log says so, and the conversation and ticket
show the change as a line; a new id that is another customer's is not taken, only flagged.

Sent by the simulator as Meta shapes it, to a real service; one service for the module,
a customer per test."""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from tests.support.wired import module_wired
from wasb.audit.tables import AuditEntry
from wasb.store.engine import open_database


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "user-id-change") as w:
        yield w


def say(w, **spec) -> dict:
    answer = w.sim.post("/_sim/inbound", json=spec)
    assert answer.status_code == 200, answer.text
    assert answer.json()["webhook_status"] == 200, answer.json()
    w.wait_idle()
    return answer.json()["webhook"]


def conversation_of(w, *, user_id: str) -> dict:
    (found,) = [c for c in w.get("/api/v1/conversations") if c["contact"]["user_id"] == user_id]
    return w.get(f"/api/v1/conversations/{found['id']}")


def conversations_of(w, *, user_id: str) -> list[dict]:
    return [c for c in w.get("/api/v1/conversations") if c["contact"]["user_id"] == user_id]


def audit(w, actor="whatsapp:user_id_change") -> set[tuple]:
    db = open_database(w.database_url)
    try:
        with db.read_sessions() as session:
            return {(e.entity, e.entity_id, e.field, e.old, e.new) for e in session.scalars(
                select(AuditEntry).where(AuditEntry.actor == actor))}
    finally:
        db.dispose()


def comments(w, conversation: dict) -> list[str]:
    ticket = w.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    return [c["body"] for c in ticket["comments"] if c["author"] == "customer"]


def test_a_username_customer_whose_user_id_changes_stays_in_their_conversation(wired):
    old, new = "US.1000000000000000001", "US.2000000000000000001"
    say(wired, user_id=old, name="@nina", text="Ciao")
    before = conversation_of(wired, user_id=old)
    hook = say(wired, **{"user_id": old, "type": "system", "new_user_id": new})

    value = hook["entry"][0]["changes"][0]["value"]
    (sent,) = value["messages"]
    assert "contacts" not in value and "from" not in sent  # no phone number shared
    assert sent["from_user_id"] == old and sent["type"] == "system"
    assert sent["system"] == {"body": f"User @nina changed from {old} to {new}", "type": "user_changed_user_id",
                              "user_id": new, "previous_user_id": old}
    say(wired, user_id=new, text="Sono sempre io")

    conversation = conversation_of(wired, user_id=new)
    assert conversation["id"] == before["id"] and conversations_of(wired, user_id=old) == []
    line = f"Customer's WhatsApp user ID changed from {old} to {new}"
    assert [(m["type"], m["body"]) for m in conversation["messages"]] == [
        ("text", "Ciao"), ("system", line), ("text", "Sono sempre io")]
    assert ("wa_contact", str(conversation["contact"]["id"]), "user_id", old, new) in audit(wired)
    assert comments(wired, conversation) == [line, "Sono sempre io"]  # the first message opened the ticket


def test_a_phone_customers_new_user_id_is_learnt_and_their_number_kept(wired):
    wa_id, old, new = "393330000101", "IT.1000000000000000002", "IT.2000000000000000002"
    say(wired, **{"from": wa_id, "user_id": old, "name": "Ugo", "text": "Buongiorno"})
    hook = say(wired, **{"from": wa_id, "type": "system", "new_user_id": new})
    assert "from" not in hook["entry"][0]["changes"][0]["value"]["messages"][0]
    (conversation,) = wired.get(f"/api/v1/conversations?phone=%2B{wa_id}")
    conversation = wired.get(f"/api/v1/conversations/{conversation['id']}")
    assert conversation["contact"]["user_id"] == new and conversation["contact"]["wa_id"] == wa_id
    assert conversation["messages"][-1]["body"] == f"Customer's WhatsApp user ID changed from {old} to {new}"
    assert ("wa_contact", str(conversation["contact"]["id"]), "user_id", old, new) in audit(wired)


def test_a_new_user_id_that_is_another_customers_is_flagged_not_taken(wired):
    """Meta's shape posted as it comes (the simulator refuses to give a customer another's id)."""
    old, new = "US.1000000000000000003", "US.2000000000000000003"
    hook = say(wired, user_id=old, name="@pia", text="Salve")
    say(wired, user_id=new, name="@someone", text="Io sono un altro")
    body = copy.deepcopy(hook)
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    body["entry"][0]["changes"][0]["value"].pop("contacts", None)
    for key in ("text", "referral"):
        message.pop(key, None)
    message.update(id=message["id"][:-4] + "USID", type="system", timestamp=str(int(message["timestamp"]) + 5),
                   system={"body": "User @pia changed", "type": "user_changed_user_id", "user_id": new,
                           "previous_user_id": old})
    assert wired.post_webhook(body).status_code == 200
    wired.wait_idle()

    mine = conversation_of(wired, user_id=old)
    assert mine["messages"][-1]["body"] == f"Customer's WhatsApp user ID changed from {old} to {new}"
    assert [m["body"] for m in conversation_of(wired, user_id=new)["messages"]] == ["Io sono un altro"]
    flagged = [a for a in audit(wired) if a[1] == str(mine["contact"]["id"])]
    assert len(flagged) == 1 and flagged[0][3] == old and flagged[0][4].startswith(f"not moved: {new} is already")


def test_the_simulator_refuses_a_user_id_change_it_cannot_make(wired):
    answer = wired.sim.post("/_sim/inbound", json={"from": "393330000104", "type": "system",
                                                   "new_user_id": "US.2000000000000000004"})
    assert answer.status_code == 400 and "BSUID" in answer.text
