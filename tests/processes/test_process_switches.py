"""Processes 2 and 3, and every process switched off in the settings."""
from tests.outbound.flows import customer_writes, send, sent_to, wait_status
from tests.templates.flows import new_person, settings


def push(server, person):
    answer = server.api("POST", f"/api/v1/people/{person['id']}/push")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_new_contact_with_a_mobile_joins_the_address_book_and_other_kinds_as_configured(wasb, sim):
    contact = new_person(wasb, "Anna Bianchi", "+39 333 123 4567")
    assert push(wasb, contact)["created"] is False  # already there: pushed on creation
    lead = new_person(wasb, "Marco Neri", "+39 333 000 1111", kind="lead")
    assert push(wasb, lead)["created"] is True  # leads are not pushed by default
    settings(wasb, contact_push_kinds=["lead", "account"])
    account = new_person(wasb, "Verdi S.r.l.", "+39 333 222 3333", kind="account")
    assert push(wasb, account)["created"] is False
    assert new_person(wasb, "Senza Numero", None)["mobile"] is None  # nothing to push, created all the same


def test_an_agent_message_from_the_conversation_shows_on_the_ticket_with_its_author(wasb, sim):
    conversation = customer_writes(sim, wasb)
    row = send(wasb, conversation["id"], type="text", body="Le mando il preventivo", token=wasb.agent_token).json()
    assert row["author"] == "token:agent-tool"
    ticket = wasb.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    (mirrored,) = [c for c in ticket["comments"] if c["author"] == "agent"]
    assert (mirrored["body"], mirrored["author_user"]) == ("Le mando il preventivo", "token:agent-tool")
    assert mirrored["whatsapp"]["message_id"] == row["id"]
    assert ticket["status"] == "Wait For Response"


def test_processes_switched_off_leave_tickets_whatsapp_and_the_address_book_alone(wasb, sim):
    view = settings(wasb, process_ticket_comments=False, process_conversation_messages=False,
                    process_contact_push=False)
    assert view["process_ticket_comments"] is False and view["contact_push_kinds"] == ["contact"]
    conversation = customer_writes(sim, wasb)
    ticket_id = conversation["ticket_id"]
    status_before = wasb.get(f"/api/v1/tickets/{ticket_id}")["status"]

    answer = wasb.api("POST", f"/api/v1/tickets/{ticket_id}/comments", json={"body": "Solo nota interna"})
    assert answer.status_code == 201
    assert answer.json()["outcome"] == "not_sent"
    assert answer.json()["reason"] == "the ticket-comment process is switched off"

    row = send(wasb, conversation["id"], type="text", body="Messaggio senza ticket").json()
    wait_status(wasb, conversation["id"], row["id"], "read")  # WhatsApp itself still works
    ticket = wasb.get(f"/api/v1/tickets/{ticket_id}")
    assert [c["body"] for c in ticket["comments"] if c["author"] == "agent"] == ["Solo nota interna"]
    assert ticket["status"] == status_before
    assert [s["text"] for s in sent_to(sim)] == ["Messaggio senza ticket"]

    contact = new_person(wasb, "Anna Bianchi", "+39 333 123 4567")
    assert push(wasb, contact)["created"] is True  # not pushed on creation while switched off
