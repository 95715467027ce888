"""Data for the browser tests: customers write through signed webhooks (the real path);
what no service can make yet (outbound rows before the sender lands, templates with their
text) is written straight into the database."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from tests.support.server import PHONE_NUMBER_ID, WABA_ID, WasbServer


def text_message(wa_id: str, text: str, wamid: str, *, name: str, at: datetime | None = None,
                 reply_to: str | None = None) -> dict:
    at = at or datetime.now(timezone.utc)
    message = {"from": wa_id, "id": wamid, "timestamp": str(int(at.timestamp())), "type": "text",
               "text": {"body": text}}
    if reply_to:
        message["context"] = {"from": wa_id, "id": reply_to}
    return envelope({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]})


def envelope(value: dict) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            **value}}]}]}


def status(wamid: str, wa_id: str, state: str, *, error: dict | None = None) -> dict:
    item = {"id": wamid, "status": state, "timestamp": str(int(time.time())), "recipient_id": wa_id}
    if error:
        item["errors"] = [error]
    return envelope({"statuses": [item]})


def customer_writes(server: WasbServer, wa_id: str, text: str, wamid: str, *, name: str, **kw) -> None:
    response = server.post_webhook(text_message(wa_id, text, wamid, name=name, **kw))
    assert response.status_code == 200, response.text


def conversation_of(server: WasbServer, wa_id: str) -> dict:
    (conversation,) = server.get(f"/api/v1/conversations?phone=%2B{wa_id}")
    return conversation


def add_outbound(server: WasbServer, conversation_id: int, body: str, wamid: str, *, author: str,
                 status: str = "sent", minutes_ago: int = 0, template: str | None = None,
                 error: tuple[int, str] | None = None) -> None:
    from wasb.conversations.tables import Message
    from wasb.store.engine import open_database

    db = open_database(server.database_url)
    try:
        with db.sessions() as session, session.begin():
            session.add(Message(wamid=wamid, conversation_id=conversation_id, direction="out",
                                type="template" if template else "text", body=body, status=status, author=author,
                                template_name=template, error_code=error[0] if error else None,
                                error_message=error[1] if error else None,
                                timestamp=datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)))
    finally:
        db.dispose()


def add_template(server: WasbServer, name: str, language: str, body: str, *, status: str = "APPROVED",
                 category: str = "UTILITY", header: str | None = None) -> None:
    from wasb.store.engine import open_database
    from wasb.templates.tables import Template

    components = ([{"type": "HEADER", "format": "TEXT", "text": header}] if header else []) + [
        {"type": "BODY", "text": body}, {"type": "FOOTER", "text": "WASB demo"}]
    db = open_database(server.database_url)
    try:
        with db.sessions() as session, session.begin():
            if session.scalar(select(Template.id).where(Template.name == name, Template.language == language)) is None:
                session.add(Template(meta_id=f"meta-{name}-{language}", name=name, language=language,
                                     category=category, status=status, quality="GREEN",
                                     parameter_format="POSITIONAL", components=components))
    finally:
        db.dispose()


def shift_last_inbound(server: WasbServer, wa_id: str, hours: float) -> None:
    """Move a customer's last message back in time (the window then closes sooner)."""
    from wasb.contacts.tables import WaContact
    from wasb.conversations.tables import Conversation
    from wasb.store.engine import open_database

    db = open_database(server.database_url)
    try:
        with db.sessions() as session, session.begin():
            contact = session.scalars(select(WaContact).where(WaContact.wa_id == wa_id)).one()
            for c in session.scalars(select(Conversation).where(Conversation.wa_contact_id == contact.id)):
                c.last_inbound_at = c.last_inbound_at - timedelta(hours=hours)
            contact.last_inbound_at = contact.last_inbound_at - timedelta(hours=hours)
    finally:
        db.dispose()


def demo(server: WasbServer) -> dict:
    """A small, realistic inbox: several customers, a reply thread with ticks, a closed window."""
    server.api("POST", "/api/v1/people", json={"kind": "contact", "name": "Daniele Asmonti",
                                               "mobile": "+39 335 103 2246", "company": "Asmonti Srl",
                                               "email": "daniele@example.com"})
    server.api("POST", "/api/v1/people", json={"kind": "account", "name": "Ferramenta Rossi", "mobile": "0039 02 1234567"})
    now = datetime.now(timezone.utc)
    customer_writes(server, "393351032246", "Buongiorno, ci possiamo sentire?", "wamid.D1", name="Daniele",
                    at=now - timedelta(minutes=50))
    customer_writes(server, "393479876543", "Hello, my order #4411 has not arrived yet. Can you check?",
                    "wamid.M1", name="Maria Bianchi", at=now - timedelta(minutes=30))
    customer_writes(server, "447700900123", "Do you ship to the UK?", "wamid.J1", name="James O'Brien",
                    at=now - timedelta(hours=23, minutes=30))
    customer_writes(server, "393391112233", "Grazie, tutto chiaro!", "wamid.L1", name="Lucia",
                    at=now - timedelta(hours=30))
    server.wait_idle()
    daniele = conversation_of(server, "393351032246")
    add_outbound(server, daniele["id"], "Certo, la contattiamo alle 12:00.", "wamid.D2", author="ada",
                 status="read", minutes_ago=45)
    customer_writes(server, "393351032246", "Perfetto, grazie mille 🙏", "wamid.D3", name="Daniele",
                    at=now - timedelta(minutes=40), reply_to="wamid.D2")
    server.wait_idle()
    add_outbound(server, daniele["id"], "Le invio il preventivo in PDF.", "wamid.D4", author="ada",
                 status="delivered", minutes_ago=20)
    add_outbound(server, daniele["id"], "Ecco il link al catalogo.", "wamid.D5", author="bruno",
                 status="failed", minutes_ago=10, error=(131026, "Message undeliverable: the number is not on WhatsApp"))
    add_template(server, "order_update", "en", "Hi {{1}}, your order {{2}} is on its way.",
                 header="Order update")
    add_template(server, "ticket_reply", "it", "Gentile {{1}}, abbiamo risposto al ticket {{2}}. Risponda a questo messaggio per continuare.")
    add_template(server, "promo_spring", "it", "Primavera: -20% per {{1}}", status="REJECTED", category="MARKETING")

    return {"daniele": daniele}
