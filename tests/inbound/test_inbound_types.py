"""Every kind of customer message Meta documents, sent by the simulator as Meta shapes it
(signed webhooks to the running service), reaches the conversation and the ticket as a
person reads it; an ad click becomes the lead's source, a number change moves the
customer, their CRM mobile and the audit log.

One service and one simulator for the module: each test is a customer of its own.
"""
from __future__ import annotations

import base64
import re

import httpx
import pytest
from sqlalchemy import select

from tests.support.wired import module_wired
from wasb.audit.tables import AuditEntry
from wasb.auth.service import create_user
from wasb.store.engine import open_database


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "inbound-types") as w:
        yield w


@pytest.fixture(scope="module")
def ui(wired):
    """An agent who reads Italian, logged in to the UI."""
    db = open_database(wired.database_url)
    try:
        with db.sessions() as session, session.begin():
            create_user(session, "agnese", "agent-password-1", language="it")
    finally:
        db.dispose()
    with httpx.Client(base_url=wired.url, timeout=30) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/login").text).group(1)
        assert client.post("/ui/login", data={"username": "agnese", "password": "agent-password-1",
                                              "csrf": csrf}).status_code == 303
        yield client


def say(w, **spec) -> dict:
    """The customer sends it from the simulator; the service has taken and applied it."""
    answer = w.sim.post("/_sim/inbound", json=spec)
    assert answer.status_code == 200, answer.text
    assert answer.json()["webhook_status"] == 200, answer.json()
    w.wait_idle()
    return answer.json()["webhook"]


def sent_message(webhook: dict) -> dict:
    return webhook["entry"][0]["changes"][0]["value"]["messages"][0]


def conversation_of(w, wa_id: str) -> dict:
    (conversation,) = w.get(f"/api/v1/conversations?phone=%2B{wa_id}")
    return w.get(f"/api/v1/conversations/{conversation['id']}")


def ticket_of(w, conversation: dict) -> dict:
    return w.get(f"/api/v1/tickets/{conversation['ticket_id']}")


def comments(ticket: dict) -> list[str]:
    return [c["body"] for c in ticket["comments"] if c["author"] == "customer"]


def test_interactive_replies_read_as_what_the_customer_picked(wired):
    wa_id = "393330000001"
    hook = say(wired, **{"from": wa_id, "name": "Ida", "type": "interactive",
                         "button_reply": {"id": "cancel-button", "title": "Cancel"}})
    assert sent_message(hook)["interactive"] == {"type": "button_reply",
                                                 "button_reply": {"id": "cancel-button", "title": "Cancel"}}
    hook = say(wired, **{"from": wa_id, "type": "interactive", "list_reply": {
        "id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"}})
    assert sent_message(hook)["interactive"]["type"] == "list_reply"
    hook = say(wired, **{"from": wa_id, "type": "interactive", "nfm_reply": {
        "response_json": {"flow_token": "tok-1", "size": "M", "colours": ["red", "blue"]}}})
    nfm = sent_message(hook)["interactive"]["nfm_reply"]
    assert (nfm["name"], nfm["body"], type(nfm["response_json"])) == ("flow", "Sent", str)

    conversation = conversation_of(wired, wa_id)
    flow = "📋 Form reply:\nsize: M\ncolours: red, blue"
    assert [(m["type"], m["body"]) for m in conversation["messages"]] == [
        ("interactive", "Cancel"), ("interactive", "Priority Mail Express"), ("interactive", flow)]
    ticket = ticket_of(wired, conversation)
    assert ticket["description"].endswith("\nCancel")
    assert comments(ticket) == ["Priority Mail Express", flow]


def test_a_location_shows_place_coordinates_and_a_map_link(wired, ui):
    wa_id = "393330000002"
    say(wired, **{"from": wa_id, "name": "Lia", "type": "location", "location": {
        "latitude": 45.4642, "longitude": 9.19, "name": "Duomo", "address": "Piazza del Duomo, Milano"}})
    (message,) = conversation_of(wired, wa_id)["messages"]
    line = "📍 Location: Duomo, Piazza del Duomo, Milano (45.4642, 9.19)"
    assert message["body"].startswith(line + "\n")
    assert message["map_url"] == "https://www.openstreetmap.org/?mlat=45.4642&mlon=9.19#map=17/45.4642/9.19"
    assert message["map_url"] in message["body"]
    ticket = ticket_of(wired, conversation_of(wired, wa_id))
    assert line in ticket["description"] and message["map_url"] in ticket["description"]
    page = ui.get(f"/ui/conversations/{conversation_of(wired, wa_id)['id']}").text
    href = message["map_url"].replace("&", "&amp;")
    assert f'<a href="{href}" target="_blank" rel="noopener noreferrer">Apri la mappa</a>' in page


def test_contact_cards_show_each_name_and_number(wired):
    wa_id = "393330000003"
    cards = [{"name": {"first_name": "Chandler", "last_name": "Bing", "formatted_name": "Chandler Bing"},
              "phones": [{"phone": "+1 555-555-5555", "wa_id": "15555555555", "type": "CELL"}]},
             {"name": {"formatted_name": "Monica"}, "phones": [{"phone": "+1 666-666-6666", "type": "HOME"}],
              "emails": [{"email": "monica@example.com", "type": "WORK"}]}]
    hook = say(wired, **{"from": wa_id, "name": "Cora", "type": "contacts", "contacts": cards})
    assert sent_message(hook)["contacts"] == cards
    text = "👤 Contact card: Chandler Bing, +1 555-555-5555\n👤 Contact card: Monica, +1 666-666-6666, monica@example.com"
    (message,) = conversation_of(wired, wa_id)["messages"]
    assert message["body"] == text
    assert ticket_of(wired, conversation_of(wired, wa_id))["description"].endswith("\n" + text)


def test_an_ad_click_is_shown_and_becomes_the_leads_source(wired, ui):
    wa_id = "393330000004"
    ad = {"source_url": "https://fb.me/3cr4Wqqkv", "source_id": "120214", "source_type": "ad",
          "headline": "Winter sale", "body": "Everything -30%", "media_type": "image",
          "image_url": "https://scontent.example/ad.jpg", "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ"}
    hook = say(wired, **{"from": wa_id, "name": "Ada Ad", "type": "text", "text": "Is it still on?",
                         "referral": ad})
    assert sent_message(hook)["referral"] == ad and sent_message(hook)["text"] == {"body": "Is it still on?"}
    conversation = conversation_of(wired, wa_id)
    (message,) = conversation["messages"]
    assert message["body"] == "Is it still on?"
    assert message["referral"] == ad
    assert message["started_from"] == "Started from ad: Winter sale · https://fb.me/3cr4Wqqkv"
    ticket = ticket_of(wired, conversation)
    assert ticket["description"].endswith("\nStarted from ad: Winter sale · https://fb.me/3cr4Wqqkv\nIs it still on?")
    person = wired.get(f"/api/v1/people/{conversation['person_id']}")
    assert (person["kind"], person["source"]) == ("lead", "WhatsApp ad: Winter sale")

    # The agent sees it in the conversation, in their language.
    page = ui.get(f"/ui/conversations/{conversation['id']}").text
    assert 'Iniziata da un annuncio: <a href="https://fb.me/3cr4Wqqkv"' in page and ">Winter sale</a>" in page


def test_a_number_change_moves_the_customer_their_crm_mobile_and_is_audited(wired):
    old, new = "393330000005", "393339999995"
    say(wired, **{"from": old, "name": "Nina", "type": "text", "text": "Ciao"})
    before = conversation_of(wired, old)
    hook = say(wired, **{"from": old, "type": "system", "new_wa_id": new})
    value = hook["entry"][0]["changes"][0]["value"]
    assert "contacts" not in value  # Meta sends none with a system message
    assert sent_message(hook)["from"] == old and sent_message(hook)["system"] == {
        "body": f"User Nina changed from {old} to {new}", "wa_id": new, "type": "user_changed_number"}
    say(wired, **{"from": new, "type": "text", "text": "Sono io, nuovo numero"})

    conversation = conversation_of(wired, new)
    assert conversation["id"] == before["id"]
    assert wired.get(f"/api/v1/conversations?phone=%2B{old}") == []
    line = f"Customer changed number from +{old} to +{new}"
    assert [(m["type"], m["body"]) for m in conversation["messages"]] == [
        ("text", "Ciao"), ("system", line), ("text", "Sono io, nuovo numero")]
    assert comments(ticket_of(wired, conversation)) == [line, "Sono io, nuovo numero"]
    person = wired.get(f"/api/v1/people/{conversation['person_id']}")
    assert person["mobile"] == f"+{new}"

    db = open_database(wired.database_url)
    try:
        with db.read_sessions() as session:
            audit = {(e.entity, e.field, e.old, e.new) for e in session.scalars(
                select(AuditEntry).where(AuditEntry.actor == "whatsapp:number_change"))}
    finally:
        db.dispose()
    assert {("wa_contact", "wa_id", old, new), ("wa_contact", "phone_e164", f"+{old}", f"+{new}"),
            ("crm_person", "mobile", f"+{old}", f"+{new}")} <= audit


def test_a_number_change_the_crm_refuses_is_flagged_in_the_audit(wired):
    old, new = "393330000006", "393339999996"
    say(wired, **{"from": old, "name": "Olga", "type": "text", "text": "Salve"})
    # Another CRM record (an account: not in the WhatsApp address book) holds the new
    # number already: the mobile cannot follow.
    other = wired.api("POST", "/api/v1/people", json={"kind": "account", "name": "Holder", "mobile": f"+{new}"})
    assert other.status_code == 201, other.text
    say(wired, **{"from": old, "type": "system", "new_wa_id": new})
    conversation = conversation_of(wired, new)
    assert conversation["messages"][-1]["body"] == f"Customer changed number from +{old} to +{new}"
    assert wired.get(f"/api/v1/people/{conversation['person_id']}")["mobile"] == f"+{old}"
    db = open_database(wired.database_url)
    try:
        with db.read_sessions() as session:
            flagged = session.scalars(select(AuditEntry).where(
                AuditEntry.entity == "crm_person", AuditEntry.entity_id == conversation["person_id"],
                AuditEntry.field == "mobile_not_updated")).all()
    finally:
        db.dispose()
    assert [(e.old, e.new.split(":")[0]) for e in flagged] == [(f"+{old}", f"+{new}")]


def test_a_new_number_that_is_another_customers_leaves_the_customer_where_they_are(wired):
    old, new = "393330000011", "393339999911"
    say(wired, **{"from": old, "name": "Pia", "type": "text", "text": "Buongiorno"})
    # A new CRM contact joins the WhatsApp address book with the new number.
    other = wired.api("POST", "/api/v1/people", json={"kind": "contact", "name": "Someone else", "mobile": f"+{new}"})
    assert other.status_code == 201, other.text
    say(wired, **{"from": old, "type": "system", "new_wa_id": new})
    line = f"Customer changed number from +{old} to +{new}"
    assert [m["body"] for m in conversation_of(wired, old)["messages"]] == ["Buongiorno", line]
    assert wired.get(f"/api/v1/conversations?phone=%2B{new}") == []
    assert wired.get(f"/api/v1/people/{conversation_of(wired, old)['person_id']}")["mobile"] == f"+{old}"


def test_an_order_lists_items_and_total(wired):
    wa_id = "393330000007"
    order = {"catalog_id": "1234567890", "text": "Entro venerdì", "product_items": [
        {"product_retailer_id": "SKU-RED", "quantity": 2, "item_price": 10, "currency": "EUR"},
        {"product_retailer_id": "SKU-BLUE", "quantity": 1, "item_price": 4.5, "currency": "EUR"}]}
    hook = say(wired, **{"from": wa_id, "name": "Otto", "type": "order", "order": order})
    assert sent_message(hook)["order"] == order
    text = "🛒 Order:\n2 × SKU-RED at 10.00 EUR\n1 × SKU-BLUE at 4.50 EUR\nTotal 24.50 EUR\nEntro venerdì"
    (message,) = conversation_of(wired, wa_id)["messages"]
    assert (message["type"], message["body"]) == ("order", text)
    assert ticket_of(wired, conversation_of(wired, wa_id))["description"].endswith("\n" + text)


def test_a_sticker_is_shown_from_the_media_store_and_named_on_the_ticket(wired):
    wa_id = "393330000008"
    webp = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
    hook = say(wired, **{"from": wa_id, "name": "Stella", "type": "sticker", "animated": True,
                         "media": {"content_base64": base64.b64encode(webp).decode(), "mime_type": "image/webp"}})
    sticker = sent_message(hook)["sticker"]
    assert sticker["animated"] is True and sticker["mime_type"] == "image/webp" and "caption" not in sticker
    message = wired.wait_until(lambda: next(
        (m for m in conversation_of(wired, wa_id)["messages"] if (m["media"] or {}).get("state") == "stored"), None),
        what="the sticker stored")
    assert message["type"] == "sticker"
    assert wired.api("GET", message["media"]["url"]).content == webp
    assert ticket_of(wired, conversation_of(wired, wa_id))["description"].endswith("\n[animated sticker]")


def test_an_unsupported_message_is_kept_with_metas_reason(wired):
    wa_id = "393330000009"
    hook = say(wired, **{"from": wa_id, "name": "Ugo", "type": "unsupported"})
    assert sent_message(hook)["errors"][0]["code"] == 131051 and "unsupported" not in sent_message(hook)
    (message,) = conversation_of(wired, wa_id)["messages"]
    assert message["body"] == "[unsupported] Message type is currently not supported."
    assert message["error"]["code"] == 131051
    assert ticket_of(wired, conversation_of(wired, wa_id))["description"].endswith(
        "\n[unsupported] Message type is currently not supported.")


def test_quick_reply_taps_with_and_without_context_and_audio_without_voice(wired):
    wa_id = "393330000010"
    bare = say(wired, **{"from": wa_id, "name": "Bea", "type": "button", "text": "Yes", "payload": "YES",
                         "without_context": True})
    assert "context" not in sent_message(bare)
    answered = say(wired, **{"from": wa_id, "type": "button", "text": "No", "payload": "NO",
                             "context": "wamid.template-we-sent"})
    assert sent_message(answered)["context"]["id"] == "wamid.template-we-sent"
    audio = say(wired, **{"from": wa_id, "type": "audio", "voice": None,
                          "media": {"content_base64": base64.b64encode(b"ID3\x03\x00").decode(),
                                    "mime_type": "audio/mpeg"}})
    assert "voice" not in sent_message(audio)["audio"]
    conversation = conversation_of(wired, wa_id)
    assert [(m["type"], m["body"], m["reply_to"]) for m in conversation["messages"]] == [
        ("button", "Yes", None), ("button", "No", "wamid.template-we-sent"), ("audio", None, None)]
    ticket = ticket_of(wired, conversation)
    assert ticket["description"].endswith("\nYes") and comments(ticket) == ["No", "[audio]"]
