"""A customer's WhatsApp message becomes a lead (or finds its record), a conversation and a
ticket — observed through the REST API of a running server."""
import copy

import pytest

from tests.conftest import FIXTURES, load_fixture


def conversations(server, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return server.get(f"/api/v1/conversations?{query}")


def only_conversation(server):
    (conversation,) = conversations(server)
    return server.get(f"/api/v1/conversations/{conversation['id']}")


def text_message(wa_id, text, wamid, timestamp="1764000000", name="Customer", user_id=None,
                 phone_number_id="106540352242922"):
    contact = {"profile": {"name": name}, "wa_id": wa_id}
    if user_id:
        contact["user_id"] = user_id
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "contacts": [contact],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": timestamp, "type": "text",
                          "text": {"body": text}}]}}]}]}


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_meta_fixture_is_accepted_and_processed(server, name):
    response = server.post_webhook((FIXTURES / name).read_bytes())
    assert response.status_code == 200 and response.json() == {"accepted": True}
    server.wait_idle()
    (event,) = server.get("/api/v1/inbound-events")
    assert event["state"] == "processed", event


def test_unknown_number_becomes_lead_conversation_and_ticket(server):
    server.post_webhook(load_fixture("inbound_text.json"))
    server.wait_idle()
    (person,) = server.get("/api/v1/people?phone=%2B16505551234")
    assert person["kind"] == "lead" and person["name"] == "Sheena Nelson"
    assert person["mobile"] == "+16505551234"
    assert person["assigned_user"] is None or isinstance(person["assigned_user"], str)
    conversation = only_conversation(server)
    assert conversation["name"] == "2025-06-08 20:59:43 - +16505551234"  # the number as the ticket writes it
    assert conversation["person_id"] == person["id"]
    (message,) = conversation["messages"]
    assert message["wamid"].startswith("wamid.") and message["direction"] == "in"
    assert message["status"] == "received" and message["body"] == "Does it come in another color?"
    ticket = server.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    assert ticket["number"].startswith("TT") and ticket["status"] == "Open" and ticket["priority"] == "High"
    assert ticket["title"] == "2025-06-08 20:59:43 - +16505551234"
    assert ticket["description"] == "2025-06-08 20:59:43\nDoes it come in another color?"
    assert ticket["person_id"] == person["id"]
    assert [c["id"] for c in ticket["conversations"]] == [conversation["id"]]


def test_later_messages_become_customer_comments_and_mark_the_ticket_answered(server):
    server.post_webhook(text_message("393351032246", "Buongiorno, vorrei contattarvi", "wamid.1", "1764000000", "Daniele"))
    server.post_webhook(text_message("393351032246", "SI ✓", "wamid.2", "1764000010", "Daniele"))
    server.wait_idle()
    conversation = only_conversation(server)
    assert [m["body"] for m in conversation["messages"]] == ["Buongiorno, vorrei contattarvi", "SI ✓"]
    ticket = server.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    assert ticket["status"] == "Answered by customer"
    assert [(c["author"], c["customer_name"], c["body"]) for c in ticket["comments"]] == [
        ("customer", "Daniele", "SI ✓")]


@pytest.mark.parametrize("writing", ["+39 335 103 2246", "0039 335 1032246", "335 1032246"])
def test_a_known_contact_is_matched_in_any_writing_and_no_lead_is_created(server, writing):
    created = server.api("POST", "/api/v1/people", json={"kind": "contact", "name": "Daniele Asmonti", "mobile": writing})
    assert created.status_code == 201, created.text
    contact = created.json()
    assert contact["mobile"] == "+393351032246"
    server.post_webhook(text_message("393351032246", "ciao", "wamid.k1"))
    server.wait_idle()
    conversation = only_conversation(server)
    assert conversation["person_id"] == contact["id"]
    assert server.get("/api/v1/people?kind=lead") == []
    (ticket,) = server.get(f"/api/v1/tickets?person={contact['id']}")
    assert ticket["id"] == conversation["ticket_id"]


def test_people_lookup_accepts_any_writing_of_the_number(server):
    server.api("POST", "/api/v1/people", json={"kind": "account", "name": "ACME", "mobile": "0039 335 1032246"})
    for writing in ("+393351032246", "335 103 2246", "0039-335-103-2246"):
        (found,) = server.get(f"/api/v1/people?phone={writing.replace('+', '%2B')}")
        assert found["name"] == "ACME"


def test_the_same_mobile_twice_is_a_conflict_naming_the_existing_record(server):
    first = server.api("POST", "/api/v1/people", json={"kind": "contact", "name": "One", "mobile": "+39 335 1032246"})
    second = server.api("POST", "/api/v1/people", json={"kind": "lead", "name": "Two", "mobile": "00393351032246"})
    assert second.status_code == 409
    assert second.json()["existing"]["id"] == first.json()["id"]
    assert "One" in second.json()["detail"]
    bad = server.api("POST", "/api/v1/people", json={"kind": "lead", "name": "X", "mobile": "not a number"})
    assert bad.status_code == 422


def test_the_00_prefix_setting_is_used_for_new_leads(server):
    assert server.api("PUT", "/api/v1/settings", json={"phone_prefix": "00"}).status_code == 200
    server.post_webhook(text_message("393351032246", "ciao", "wamid.p1"))
    server.wait_idle()
    (lead,) = server.get("/api/v1/people?kind=lead")
    assert lead["mobile"] == "00393351032246"
    (ticket,) = server.get("/api/v1/tickets")
    assert ticket["title"].endswith(" - 00393351032246")


def test_a_batch_of_several_customers_gives_each_their_own_records(server):
    server.post_webhook(load_fixture("batched_multiple_messages.json"))
    server.wait_idle()
    by_number = {c["contact"]["wa_id"]: c for c in conversations(server)}
    assert set(by_number) == {"16505551234", "972987654321"}
    sheena = server.get(f"/api/v1/conversations/{by_number['16505551234']['id']}")
    assert [m["type"] for m in sheena["messages"]] == ["text", "image"]
    assert sheena["messages"][1]["media"]["id"] == "1003383421387256"
    ticket = server.get(f"/api/v1/tickets/{sheena['ticket_id']}")
    assert ticket["comments"][0]["body"] == "[image] Taj Mahal"
    assert len(server.get("/api/v1/people?kind=lead")) == 2


def test_a_username_only_customer_gets_a_lead_without_mobile_and_one_conversation(server):
    def bsuid_message(wamid, text, ts):
        body = text_message("unused", text, wamid, ts, name="ann.k", user_id="US.777")
        value = body["entry"][0]["changes"][0]["value"]
        del value["contacts"][0]["wa_id"]
        message = value["messages"][0]
        del message["from"]
        message["from_user_id"] = "US.777"
        return body

    server.post_webhook(bsuid_message("wamid.b1", "hello", "1764000000"))
    server.post_webhook(bsuid_message("wamid.b2", "still there?", "1764000100"))
    server.wait_idle()
    conversation = only_conversation(server)
    assert conversation["contact"]["user_id"] == "US.777" and conversation["contact"]["phone"] is None
    assert conversation["name"].endswith(" - US.777")
    assert len(conversation["messages"]) == 2
    (lead,) = server.get("/api/v1/people?kind=lead")
    assert lead["name"] == "ann.k" and lead["mobile"] is None
    assert server.get(f"/api/v1/tickets/{conversation['ticket_id']}")["comments"][0]["body"] == "still there?"


def test_auto_ticket_off_keeps_the_conversation_without_a_ticket(server):
    server.api("PUT", "/api/v1/settings", json={"auto_ticket": False})
    server.post_webhook(load_fixture("inbound_text.json"))
    server.wait_idle()
    assert only_conversation(server)["ticket_id"] is None
    assert server.get("/api/v1/tickets") == []


def test_an_open_ticket_of_the_person_is_reused_by_a_new_conversation(server):
    server.post_webhook(text_message("393351032246", "first", "wamid.o1"))
    server.wait_idle()
    (first,) = conversations(server)
    from tests.support.crm_seed import close_conversation
    close_conversation(server.database_url, first["id"])
    server.post_webhook(text_message("393351032246", "again", "wamid.o2", "1764090000"))
    server.wait_idle()
    second = [c for c in conversations(server) if c["id"] != first["id"]][0]
    assert second["ticket_id"] == first["ticket_id"]
    ticket = server.get(f"/api/v1/tickets/{first['ticket_id']}")
    assert [c["body"] for c in ticket["comments"]] == ["again"]
    assert {c["id"] for c in ticket["conversations"]} == {first["id"], second["id"]}


def test_reactions_attach_to_their_message_and_removal_clears_them(server):
    body = text_message("972987654321", "look at this", "wamid.yzxyzx=", "1697044400",
                        phone_number_id="1122334455667")
    server.post_webhook(body)
    server.post_webhook(load_fixture("inbound_reaction.json"))
    server.wait_idle()
    messages = only_conversation(server)["messages"]
    target = next(m for m in messages if m["wamid"] == "wamid.yzxyzx=")
    assert target["reaction"] == "😮"
    removed = load_fixture("inbound_reaction_removed.json")
    removal = removed["entry"][0]["changes"][0]["value"]["messages"][0]
    removal["reaction"]["message_id"] = "wamid.yzxyzx="
    removal["id"] = "wamid.removal"  # pywa's sample reuses the reaction's wamid; Meta gives each its own
    server.post_webhook(removed)
    server.wait_idle()
    target = next(m for m in only_conversation(server)["messages"] if m["wamid"] == "wamid.yzxyzx=")
    assert target["reaction"] is None
    ticket = server.get(f"/api/v1/tickets/{only_conversation(server)['ticket_id']}")
    assert ticket["comments"] == []  # reactions add no comment


def test_unsupported_and_error_items_are_stored_with_metas_text_and_do_not_block(server):
    server.post_webhook(load_fixture("inbound_unsupported_131051.json"))
    follow_up = text_message("972987654321", "did you get it?", "wamid.after", "1697044800",
                             phone_number_id="1122334455667")
    server.post_webhook(follow_up)
    server.wait_idle()
    messages = only_conversation(server)["messages"]
    assert messages[0]["type"] == "unsupported" and messages[0]["error"]["code"] == 131051
    assert "not supported" in messages[0]["error"]["message"]
    assert messages[1]["body"] == "did you get it?"


def test_reply_context_is_kept(server):
    server.post_webhook(load_fixture("inbound_text_reply_context.json"))
    server.wait_idle()
    message = only_conversation(server)["messages"][0]
    expected = load_fixture("inbound_text_reply_context.json")["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["reply_to"] == expected["context"]["id"]


def test_template_webhooks_update_the_template_table(server):
    for name in ("template_status_update_approved.json", "template_category_update.json",
                 "template_quality_update.json", "template_status_update_rejected.json"):
        server.post_webhook(load_fixture(name))
    server.wait_idle()
    from tests.support.crm_seed import templates
    rows = templates(server.database_url)
    assert rows, "template rows were written"
    approved = load_fixture("template_status_update_approved.json")["entry"][0]["changes"][0]["value"]
    row = next(r for r in rows if r["meta_id"] == str(approved["message_template_id"]))
    assert row["name"] == approved["message_template_name"]
