"""Process 1: an agent's ticket comment goes out on WhatsApp, as text inside the window, and
outside it waits on the ticket while the fallback template asks the customer to write."""
import pytest

from tests.outbound.flows import customer_writes, sent_to
from tests.templates.flows import meta_has_template, settings, sync, template_id

FALLBACK = "Aggiornamento sul ticket {{1}}: ci scriva per leggerlo, {{2}}"
DAY = 24 * 3600


def comment(server, ticket_id, body, token=None):
    answer = server.api("POST", f"/api/v1/tickets/{ticket_id}/comments", json={"body": body}, token=token)
    assert answer.status_code == 201, answer.text
    return answer.json()


def ticket_comment(server, ticket_id, comment_id):
    (found,) = [c for c in server.get(f"/api/v1/tickets/{ticket_id}")["comments"] if c["id"] == comment_id]
    return found


def with_fallback_template(server, sim, sources=(("1", "ticket.number"), ("2", "person.first_name"))):
    meta_has_template(sim, "ticket_update", body_text=FALLBACK)
    sync(server)
    settings(server, fallback_template={"name": "ticket_update", "language": "it"})
    set_sources(server, template_id(server, "ticket_update"), dict(sources))


def set_sources(server, template, sources):
    answer = server.api("PUT", f"/api/v1/templates/{template}/parameter-sources", json=sources)
    assert answer.status_code == 200, answer.text
    return answer.json()


def customer_wrote_a_day_ago(sim, server):
    """Both clocks agree the window is closed: the customer's message is 25 h old for us and for Meta."""
    sim.post("/_sim/clock", json={"advance_seconds": -25 * 3600}).raise_for_status()
    conversation = customer_writes(sim, server)
    sim.post("/_sim/clock", json={"advance_seconds": 25 * 3600}).raise_for_status()
    return conversation


def sent_kinds(sim):
    return [(s["type"], s["text"] if s["type"] == "text" else s["template"]["name"]) for s in sent_to(sim)]


def test_a_comment_inside_the_window_goes_out_as_text_and_the_ticket_waits(wasb, sim):
    conversation = customer_writes(sim, wasb)
    ticket_id = conversation["ticket_id"]
    delivery = comment(wasb, ticket_id, "Abbiamo spedito il ricambio", token=wasb.agent_token)
    assert delivery["outcome"] == "queued" and delivery["reason"] is None
    wasb.wait_until(lambda: ticket_comment(wasb, ticket_id, delivery["comment"]["id"])["whatsapp"]["status"] == "read",
                    what="the comment to be read on WhatsApp")
    assert sent_kinds(sim) == [("text", "Abbiamo spedito il ricambio")]
    ticket = wasb.get(f"/api/v1/tickets/{ticket_id}")
    assert ticket["status"] == "Wait For Response"
    agent_comments = [c for c in ticket["comments"] if c["author"] == "agent"]
    assert [(c["body"], c["author_user"]) for c in agent_comments] == [("Abbiamo spedito il ricambio",
                                                                        "token:agent-tool")]
    messages = wasb.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
    assert messages[-1]["id"] == delivery["message_id"] and messages[-1]["origin"] == "ticket_comment"


def test_outside_the_window_the_fallback_template_goes_and_the_comments_wait_for_the_reply(wasb, sim):
    with_fallback_template(wasb, sim)
    conversation = customer_wrote_a_day_ago(sim, wasb)
    ticket = wasb.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    first = comment(wasb, ticket["id"], "Il tecnico passa lunedì")
    second = comment(wasb, ticket["id"], "Porti la garanzia, per favore")
    assert first["outcome"] == "held" and first["template_message_id"] is not None
    assert second["outcome"] == "held" and second["template_message_id"] is None  # one template is enough
    wasb.wait_until(lambda: sent_to(sim), what="the fallback template")
    (template,) = sent_to(sim)
    person = wasb.get(f"/api/v1/people/{ticket['person_id']}")
    assert template["template"]["rendered"] == (
        f"Aggiornamento sul ticket {ticket['number']}: ci scriva per leggerlo, {person['name'].split()[0]}")
    held = ticket_comment(wasb, ticket["id"], first["comment"]["id"])["whatsapp"]
    assert held["status"] == "held" and held["note"] == "waiting for the customer's reply"
    assert wasb.get(f"/api/v1/tickets/{ticket['id']}")["status"] == "Wait For Response"

    customer_writes(sim, wasb, text="Eccomi, mi dica")  # the window opens again
    wasb.wait_until(lambda: len(sent_to(sim)) == 3, what="the held comments to go out")
    assert sent_kinds(sim) == [("template", "ticket_update"), ("text", "Il tecnico passa lunedì"),
                               ("text", "Porti la garanzia, per favore")]
    for delivery in (first, second):
        wasb.wait_until(lambda: ticket_comment(wasb, ticket["id"], delivery["comment"]["id"])["whatsapp"]["status"]
                        == "read", what="the released comment to be read")
    # the customer's answer is what the agent reads next
    assert wasb.get(f"/api/v1/tickets/{ticket['id']}")["status"] == "Answered by customer"


@pytest.mark.parametrize("how", ["refused", "reported"])
def test_a_comment_meta_finds_outside_the_window_waits_instead_of_failing(wasb, sim, how):
    """Our clock says open; Meta's says 25 h passed: its 131047 (in the answer, or in a failed
    status afterwards) is authoritative, and the comment is held, not lost."""
    with_fallback_template(wasb, sim)
    sim.post("/_sim/config", json={"async_errors": how == "reported"}).raise_for_status()
    conversation = customer_writes(sim, wasb)
    sim.post("/_sim/clock", json={"advance_seconds": DAY + 3600}).raise_for_status()
    delivery = comment(wasb, conversation["ticket_id"], "Il ricambio è arrivato")
    assert delivery["outcome"] == "queued"  # our clock
    wasb.wait_until(lambda: any(c["whatsapp"]["status"] == "held" for c in
                                wasb.get(f"/api/v1/tickets/{conversation['ticket_id']}")["comments"]
                                if c.get("whatsapp") and c["author"] == "agent"), what="the comment to be held")
    wasb.wait_until(lambda: [k for k in sent_kinds(sim) if k[0] == "template"], what="the fallback template")
    customer_writes(sim, wasb, text="Sì?")
    wasb.wait_until(lambda: ("text", "Il ricambio è arrivato") in sent_kinds(sim)
                    and [s for s in sent_to(sim) if s["type"] == "text" and s["status"] != "failed"],
                    what="the comment after the reply")
    delivered = [s for s in sent_to(sim) if s["type"] == "text" and s["status"] != "failed"]
    assert [s["text"] for s in delivered] == ["Il ricambio è arrivato"]


def test_a_fallback_parameter_without_a_source_holds_the_comment_and_nothing_is_invented(wasb, sim):
    """The old default filled {{2}} with the ticket's machine title ("2026-11-30 08:32:55 - +39…"):
    now a parameter nobody mapped stops the template, and the agent is told why."""
    with_fallback_template(wasb, sim, sources=[("1", "ticket.number")])
    conversation = customer_wrote_a_day_ago(sim, wasb)
    ticket = wasb.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    delivery = comment(wasb, ticket["id"], "Il preventivo è pronto")
    assert delivery["outcome"] == "held" and delivery["template_message_id"] is None
    assert "ticket_update (it) was not sent: no source is set for its parameter(s) {{2}}" in delivery["reason"]
    held = ticket_comment(wasb, ticket["id"], delivery["comment"]["id"])["whatsapp"]
    assert held["status"] == "held" and held["reason"] == delivery["reason"]  # the ticket keeps saying why
    assert sent_to(sim) == []
    second = comment(wasb, ticket["id"], "E anche la fattura")  # the template never went: still refused, not "already sent"
    assert second["outcome"] == "held" and "no source is set" in second["reason"]
    customer_writes(sim, wasb, text="Ci sono")
    wasb.wait_until(lambda: sent_kinds(sim) == [("text", "Il preventivo è pronto"), ("text", "E anche la fattura")],
                    what="the held comments after the reply")
    assert ticket["title"] not in str(sent_to(sim))
    assert ticket_comment(wasb, ticket["id"], delivery["comment"]["id"])["whatsapp"]["reason"] is None


def test_a_fallback_template_source_must_be_one_offered(wasb, sim):
    meta_has_template(sim, "ticket_update", body_text=FALLBACK)
    sync(wasb)
    template = template_id(wasb, "ticket_update")
    for sources, said in [({"1": "ticket.nummer"}, "not a parameter source"),
                          ({"1": "ticket.title"}, "not a parameter source"),
                          ({"3": "ticket.number"}, "has no parameter 3")]:
        refused = wasb.api("PUT", f"/api/v1/templates/{template}/parameter-sources", json=sources)
        assert refused.status_code == 422 and said in refused.json()["detail"], refused.text
    assert wasb.get(f"/api/v1/templates/{template}")["parameter_sources"] == {}


def test_without_a_fallback_template_the_comment_still_waits_and_says_why(wasb, sim):
    conversation = customer_wrote_a_day_ago(sim, wasb)
    delivery = comment(wasb, conversation["ticket_id"], "La richiamiamo domani")
    assert delivery["outcome"] == "held" and "no fallback template is configured" in delivery["reason"]
    assert sent_to(sim) == []
    customer_writes(sim, wasb, text="Buongiorno")
    wasb.wait_until(lambda: sent_kinds(sim) == [("text", "La richiamiamo domani")], what="the held comment")


def test_a_comment_on_an_unknown_ticket_or_without_text_is_refused(wasb, sim):
    missing = wasb.api("POST", "/api/v1/tickets/999999/comments", json={"body": "x"})
    assert missing.status_code == 404 and missing.json()["detail"] == "no ticket 999999"
    conversation = customer_writes(sim, wasb)
    for body in ("", "   "):
        refused = wasb.api("POST", f"/api/v1/tickets/{conversation['ticket_id']}/comments", json={"body": body})
        assert refused.status_code == 422, refused.text
    assert sent_to(sim) == []
    assert [c["author"] for c in wasb.get(f"/api/v1/tickets/{conversation['ticket_id']}")["comments"]] == []
