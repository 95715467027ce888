"""The 24-hour customer-service window: refused up front on our clock, and Meta's 131047
is authoritative when our clock says open."""
import time

from tests.outbound.flows import CUSTOMER, customer_writes, message, send, sent_to, wait_status


def approve_template(sim, wasb, name, status="APPROVED", language="it"):
    sim.post("/_sim/templates", json={"name": name, "language": language, "category": "UTILITY",
                                      "status": "PENDING", "body_text": "Buongiorno {{1}}, la ricontattiamo"})
    sim.post("/_sim/template-event", json={"name": name, "language": language, "event": status}).raise_for_status()
    wasb.wait_idle()


def old_customer_message(wasb, sim_settings, hours_ago):
    stamp = str(int(time.time() - hours_ago * 3600))
    body = {"object": "whatsapp_business_account", "entry": [{"id": sim_settings["waba_id"], "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": sim_settings["phone_number_id"]},
            "contacts": [{"profile": {"name": "Daniele"}, "wa_id": CUSTOMER}],
            "messages": [{"from": CUSTOMER, "id": "wamid.old-1", "timestamp": stamp, "type": "text",
                          "text": {"body": "Buongiorno"}}]}}]}]}
    assert wasb.post_webhook(body, secret=sim_settings["app_secret"]).status_code == 200
    wasb.wait_idle()
    (conversation,) = wasb.get("/api/v1/conversations")
    return conversation


def test_a_free_form_message_after_24_hours_is_refused_and_names_the_approved_templates(wasb, sim, sim_settings):
    approve_template(sim, wasb, "richiamo")
    approve_template(sim, wasb, "promo", status="REJECTED")
    conversation = old_customer_message(wasb, sim_settings, hours_ago=25)
    answer = send(wasb, conversation["id"], type="text", body="Ci sentiamo?")
    assert answer.status_code == 409, answer.text
    refusal = answer.json()
    assert "window closed at" in refusal["detail"] and "template" in refusal["detail"]
    assert "richiamo (it)" in refusal["detail"] and "promo" not in refusal["detail"]
    assert refusal["templates"] == [{"name": "richiamo", "language": "it", "category": "UTILITY"}]
    assert refusal["window_closed_at"] is not None
    assert wasb.get(f"/api/v1/conversations/{conversation['id']}")["messages"][-1]["direction"] == "in"
    # a template may go out any time
    sim.post("/_sim/customers", json={"wa_id": CUSTOMER, "name": "Daniele"})
    row = send(wasb, conversation["id"], type="template",
               template={"name": "richiamo", "language": "it", "parameters": ["Daniele"]}).json()
    wait_status(wasb, conversation["id"], row["id"], "read")
    (sent,) = sent_to(sim)
    assert sent["type"] == "template" and sent["template"]["rendered"] == "Buongiorno Daniele, la ricontattiamo"


def test_meta_refusing_with_131047_fails_the_message_and_closes_the_window(wasb, sim):
    conversation = customer_writes(sim, wasb)
    sim.post("/_sim/clock", json={"advance_seconds": 25 * 3600}).raise_for_status()
    row = send(wasb, conversation["id"], type="text", body="Ci sentiamo?").json()
    assert row["status"] == "queued"  # our clock still says open
    failed = wait_status(wasb, conversation["id"], row["id"], "failed")
    assert failed["error"]["code"] == 131047 and "24 hours" in failed["error"]["message"]
    assert sent_to(sim) == []
    again = send(wasb, conversation["id"], type="text", body="Ci sentiamo?")
    assert again.status_code == 409 and "window closed at" in again.json()["detail"]


def test_a_failed_status_with_131047_fails_the_message_and_closes_the_window(wasb, sim):
    sim.post("/_sim/config", json={"async_errors": True}).raise_for_status()
    conversation = customer_writes(sim, wasb)
    sim.post("/_sim/clock", json={"advance_seconds": 25 * 3600}).raise_for_status()
    row = send(wasb, conversation["id"], type="text", body="Ci sentiamo?").json()
    failed = wait_status(wasb, conversation["id"], row["id"], "failed")
    assert failed["error"]["code"] == 131047 and failed["wamid"]
    assert send(wasb, conversation["id"], type="text", body="Ci sentiamo?").status_code == 409
    # the customer writes again: the window is open again
    customer_writes(sim, wasb, text="Eccomi")
    assert send(wasb, conversation["id"], type="text", body="Bene").status_code == 201
