""""Send Contact Record" (a CRM record into the WhatsApp address book) and "Flush unsynchronized rows"."""
from tests.outbound.flows import customer_writes, sent_to
from tests.templates.flows import meta_has_template, new_person, send_template, sync, template_id


def test_pushing_a_lead_creates_its_address_book_entry_then_updates_it(wasb, sim):
    lead = new_person(wasb, "Marco Neri", "335 103 2246", kind="lead")  # leads are not pushed on creation
    first = wasb.api("POST", f"/api/v1/people/{lead['id']}/push")
    assert first.status_code == 200, first.text
    entry = first.json()
    assert entry["created"] is True
    assert entry["contact"] | {"id": None} == {"id": None, "wa_id": "393351032246", "user_id": None,
                                               "phone": "+393351032246", "profile_name": "Marco Neri",
                                               "person_id": lead["id"], "kind": "lead"}
    again = wasb.api("POST", f"/api/v1/people/{lead['id']}/push").json()
    assert again["created"] is False and again["contact"]["id"] == entry["contact"]["id"]
    # the customer writing from that number lands on the pushed record
    conversation = customer_writes(sim, wasb)
    assert conversation["person_id"] == lead["id"] and conversation["contact"]["id"] == entry["contact"]["id"]


def test_a_record_without_a_usable_mobile_is_refused_saying_so(wasb, sim):
    nobody = new_person(wasb, "Senza Numero", None)
    answer = wasb.api("POST", f"/api/v1/people/{nobody['id']}/push")
    assert answer.status_code == 422
    assert answer.json()["detail"] == (f"contact {nobody['id']} (Senza Numero) has no mobile number; "
                                       "add one to send the record to WhatsApp")
    assert wasb.api("POST", "/api/v1/people/999999/push").status_code == 404


def test_flush_sends_what_the_worker_has_not_sent_and_reports_it(start_wasb, sim):
    server = start_wasb(WASB_WORKER="false")  # nothing sends but the flush
    meta_has_template(sim, "benvenuto", body_text="Benvenuta {{1}}")
    sync(server)
    sim.post("/_sim/customers", json={"wa_id": "393331234567", "name": "Anna"}).raise_for_status()
    anna = new_person(server, "Anna Bianchi", "+39 333 123 4567")
    nobody = new_person(server, "Carla Rossi", "+39 333 765 4321")  # Meta does not know her number
    sim.post("/_sim/customers", json={"wa_id": "393337654321", "name": "Carla", "on_whatsapp": False})
    template = template_id(server, "benvenuto")
    ok = send_template(server, template, to={"person_id": anna["id"]}, params=["Anna"]).json()
    bad = send_template(server, template, to={"person_id": nobody["id"]}, params=["Carla"]).json()
    assert sent_to(sim, "393331234567") == []
    answer = server.api("POST", "/api/v1/outbox/flush")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["sent"] == [ok["id"]] and report["waiting"] == []
    assert [f["id"] for f in report["failed"]] == [bad["id"]] and report["failed"][0]["code"] == 131026
    (sent,) = sent_to(sim, "393331234567")
    assert sent["template"]["rendered"] == "Benvenuta Anna"
    assert server.api("POST", "/api/v1/outbox/flush").json() == {"sent": [], "failed": [], "waiting": []}
