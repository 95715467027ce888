"""The "Send Template" action: explicit or mapped parameters, checked before Meta sees them."""
from tests.outbound.flows import CUSTOMER, customer_writes, sent_to, wait_status
from tests.templates.flows import meta_has_template, new_person, send_template, sync, template_id

UPDATE = "Gentile {{1}}, il suo ticket {{2}} è stato aggiornato"


def test_parameters_mapped_from_the_person_and_their_ticket(wasb, sim):
    meta_has_template(sim, "aggiornamento", body_text=UPDATE)
    sync(wasb)
    conversation = customer_writes(sim, wasb)  # a lead and a ticket for the customer
    ticket = wasb.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    answer = send_template(wasb, template_id(wasb, "aggiornamento"), to={"person_id": conversation["person_id"]},
                           mapping={"1": "person.name", "2": "ticket.number"})
    assert answer.status_code == 201, answer.text
    row = answer.json()
    assert row["type"] == "template" and row["template"] == "aggiornamento"
    assert row["body"] == f"Gentile Daniele, il suo ticket {ticket['number']} è stato aggiornato"
    wait_status(wasb, conversation["id"], row["id"], "read")
    (sent,) = sent_to(sim)
    assert sent["template"]["rendered"] == row["body"]
    # inside the window: the conversation was started by the customer, not by this template
    assert wasb.get(f"/api/v1/conversations/{conversation['id']}")["starting_template"] is None


def test_a_template_starts_a_conversation_with_a_person_never_seen_on_whatsapp(wasb, sim):
    meta_has_template(sim, "benvenuto", body_text="Benvenuta {{1}}")
    sync(wasb)
    person = new_person(wasb, "Anna Bianchi", "+39 333 123 4567")
    sim.post("/_sim/customers", json={"wa_id": "393331234567", "name": "Anna"}).raise_for_status()
    answer = send_template(wasb, template_id(wasb, "benvenuto"), to={"person_id": person["id"]}, params=["Anna"])
    assert answer.status_code == 201, answer.text
    (conversation,) = wasb.get("/api/v1/conversations")
    assert conversation["starting_template"] == "benvenuto" and conversation["person_id"] == person["id"]
    wait_status(wasb, conversation["id"], answer.json()["id"], "read")
    (sent,) = sent_to(sim, "393331234567")
    assert sent["template"]["rendered"] == "Benvenuta Anna"


def test_a_named_template_with_header_and_url_button_to_a_phone_number(wasb, sim):
    meta_has_template(sim, "appuntamento", body_text="Ciao {{nome}}, a domani alle {{ora}}",
                      header_text="Studio {{studio}}",
                      buttons=[{"type": "URL", "text": "Dettagli", "url": "https://example.com/a/{{1}}"}])
    sync(wasb)
    sim.post("/_sim/customers", json={"wa_id": CUSTOMER, "name": "Daniele"}).raise_for_status()
    answer = send_template(wasb, template_id(wasb, "appuntamento"), to={"phone": "+39 335 103 2246"},
                           params={"nome": "Daniele", "ora": "9.30", "header.studio": "Rossi", "button.0": "A17"})
    assert answer.status_code == 201, answer.text
    (conversation,) = wasb.get("/api/v1/conversations")
    wait_status(wasb, conversation["id"], answer.json()["id"], "read")
    (sent,) = sent_to(sim)
    assert sent["template"]["rendered"] == "Ciao Daniele, a domani alle 9.30"
    assert sent["template"]["header"] == "Studio Rossi"
    components = sent["request"]["template"]["components"]
    assert {"type": "button", "sub_type": "url", "index": "0",
            "parameters": [{"type": "text", "text": "A17"}]} in components


def test_a_mapped_field_that_is_empty_is_refused_naming_it_and_nothing_is_queued(wasb, sim):
    meta_has_template(sim, "aggiornamento", body_text=UPDATE)
    sync(wasb)
    person = new_person(wasb, "Anna Bianchi", "+39 333 123 4567")  # no email, no ticket
    template = template_id(wasb, "aggiornamento")
    empty = send_template(wasb, template, to={"person_id": person["id"]},
                          mapping={"1": "person.email", "2": "person.name"})
    assert empty.status_code == 422
    assert empty.json()["detail"] == (f"mapping 1: the field person.email is empty on contact {person['id']} "
                                      "(Anna Bianchi)")
    no_ticket = send_template(wasb, template, to={"person_id": person["id"]},
                              mapping={"1": "person.name", "2": "ticket.number"})
    assert no_ticket.status_code == 422 and "ticket.number" in no_ticket.json()["detail"]
    assert "no open ticket" in no_ticket.json()["detail"]
    unknown = send_template(wasb, template, to={"person_id": person["id"]}, mapping={"1": "person.shoe_size"})
    assert unknown.status_code == 422 and "'person.shoe_size' is not a CRM field" in unknown.json()["detail"]
    assert wasb.get("/api/v1/conversations") == [] and sent_to(sim, "393331234567") == []


def test_wrong_parameters_and_unapproved_templates_are_refused_before_meta(wasb, sim):
    meta_has_template(sim, "aggiornamento", body_text=UPDATE)
    meta_has_template(sim, "in_revisione", status="PENDING")
    sync(wasb)
    to = {"phone": "+39 335 103 2246"}
    template = template_id(wasb, "aggiornamento")
    cases = [
        (template, {"params": ["Daniele"]}, "missing: 2 (body {{2}})"),
        (template, {"params": ["Daniele", "TT1", "extra"]}, "unknown parameter(s) 3"),
        (template, {"params": {"nome": "Daniele"}}, "unknown parameter(s) nome; this template takes: 1, 2"),
        (template, {"params": ["Daniele", {"a": 1}]}, "parameter 2 must be text"),
        (template, {"params": ["Daniele", "  "]}, "parameter 2 is empty"),
        (template_id(wasb, "in_revisione"), {"params": ["Daniele"]}, "is PENDING; only approved templates"),
        (999999, {"params": []}, "no template 999999"),
    ]
    for target, body, why in cases:
        answer = send_template(wasb, target, to=to, **body)
        assert answer.status_code in (404, 422) and why in answer.json()["detail"], (body, answer.text)
    both = send_template(wasb, template, to={"phone": "+39 335 103 2246", "person_id": "1"}, params=["a", "b"])
    assert both.status_code == 422 and "exactly one of person_id or phone" in both.json()["detail"]
    # the conversation endpoint checks a template message the same way
    conversation = customer_writes(sim, wasb)
    generic = wasb.api("POST", f"/api/v1/conversations/{conversation['id']}/messages",
                       json={"type": "template", "template": {"name": "aggiornamento", "language": "it",
                                                              "parameters": ["Daniele"]}})
    assert generic.status_code == 422 and "missing: 2" in generic.json()["detail"]
    assert sent_to(sim) == []
