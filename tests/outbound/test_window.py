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


def _at(stamp):
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_a_webhook_timestamp_in_the_future_never_opens_more_than_24_hours(wasb, sim):
    from datetime import datetime, timedelta, timezone

    sim.post("/_sim/clock", json={"advance_seconds": 24 * 3600 + 59 * 60}).raise_for_status()  # the phone's clock
    before = datetime.now(timezone.utc)
    conversation = customer_writes(sim, wasb)
    after = datetime.now(timezone.utc)
    # counted from when we received it, not the timestamp the webhook carries (a day ahead)
    assert before - timedelta(seconds=1) <= _at(conversation["last_inbound_at"]) <= after
    expires = _at(conversation["window_expires_at"])
    assert expires == _at(conversation["last_inbound_at"]) + timedelta(hours=24)
    assert expires <= after + timedelta(hours=24)


def test_the_conversation_api_gives_the_end_of_the_window_and_null_once_it_closed(wasb, sim, sim_settings):
    from datetime import timedelta

    conversation = old_customer_message(wasb, sim_settings, hours_ago=25)
    assert conversation["window_expires_at"] is None
    assert wasb.get(f"/api/v1/conversations/{conversation['id']}")["window_expires_at"] is None
    sim.post("/_sim/customers", json={"wa_id": CUSTOMER, "name": "Daniele"})
    detail = customer_writes(sim, wasb, text="Eccomi")
    assert detail["id"] == conversation["id"]
    assert _at(detail["window_expires_at"]) == _at(detail["last_inbound_at"]) + timedelta(hours=24)
    one = wasb.get(f"/api/v1/conversations/{conversation['id']}")
    assert one["window_expires_at"] == detail["window_expires_at"]


def test_after_a_131047_the_picker_says_when_the_window_really_closed(wasb, sim, database_url):
    """The phone's clock a day ahead when the customer wrote, then 25 h more: Meta's failed
    status (its own time, 49 h on) says closed; the window closed 24 h after we received the
    customer's message, not at the failure."""
    from datetime import datetime, timedelta, timezone

    from tests.support.ui_http import add_user, logged_in

    sim.post("/_sim/config", json={"async_errors": True}).raise_for_status()
    sim.post("/_sim/clock", json={"advance_seconds": 24 * 3600}).raise_for_status()
    before = datetime.now(timezone.utc)
    conversation = customer_writes(sim, wasb)
    after = datetime.now(timezone.utc)
    sim.post("/_sim/clock", json={"advance_seconds": 25 * 3600}).raise_for_status()
    row = send(wasb, conversation["id"], type="text", body="Ci sentiamo?").json()
    assert wait_status(wasb, conversation["id"], row["id"], "failed")["error"]["code"] == 131047
    refusal = send(wasb, conversation["id"], type="text", body="Ci sentiamo?")
    assert refusal.status_code == 409
    really = _at(refusal.json()["window_closed_at"])
    assert before - timedelta(seconds=1) + timedelta(hours=24) <= really <= after + timedelta(hours=24)
    assert wasb.get(f"/api/v1/conversations/{conversation['id']}")["window_expires_at"] is None
    # the ticket's conversations too: Meta's word is kept on the customer
    (on_ticket,) = wasb.get(f"/api/v1/tickets/{conversation['ticket_id']}")["conversations"]
    assert on_ticket["id"] == conversation["id"] and on_ticket["window_expires_at"] is None
    add_user(database_url, "agent-w", "agent-password-w")
    ui = logged_in(wasb.url, "agent-w", "agent-password-w")
    try:
        page = ui.get(f"/ui/conversations/{conversation['id']}").text
    finally:
        ui.close()
    assert f"The 24-hour window closed at {really.strftime('%Y-%m-%d %H:%M')}" in page  # the service's zone: UTC


def test_in_the_demo_the_phone_pages_clock_moves_the_services_window_too(database_url, tmp_path, sim_settings):
    """`make run` gives both the simulator and the service one clock-offset file: the phone
    page's +24 h closes the window the agent sees, and a message written on the phone then
    opens it for 24 h on that same clock."""
    from datetime import datetime, timedelta, timezone

    import httpx

    from tests.outbound.conftest import server_env
    from tests.support.harness import serving
    from tests.support.inprocess import InProcessService
    from tests.support.jobs import run_job
    from wasb.domain.clock import follow_offset_file
    from wasb.simulator.app import create_app

    clock_file = str(tmp_path / "clock_offset")
    simulator = create_app({**sim_settings, "demo_clock_file": clock_file}, webhook_url="http://127.0.0.1:9/unset")
    with serving(simulator) as sim_url, httpx.Client(base_url=sim_url, timeout=30) as sim:
        overrides = {k.removeprefix("WASB_").lower(): v for k, v in server_env(sim_url, sim_settings).items()}
        service = InProcessService(database_url, tmp_path, demo_clock_file=clock_file, **overrides).start()
        try:
            sim.post("/_sim/config", json={"webhook_url": service.url + "/webhooks/whatsapp", "sent_delay": 0,
                                           "delivered_delay": 0.01, "read_delay": 0.01}).raise_for_status()
            conversation = customer_writes(sim, service)
            assert conversation["window_expires_at"] is not None
            sim.post("/_sim/clock", json={"advance_seconds": 24 * 3600 + 60}).raise_for_status()  # "+24 h"
            assert service.get(f"/api/v1/conversations/{conversation['id']}")["window_expires_at"] is None
            refusal = send(service, conversation["id"], type="text", body="Ci sentiamo?")
            assert refusal.status_code == 409 and "window closed at" in refusal.json()["detail"]
            assert sent_to(sim) == []  # refused on the service's own clock: Meta was not asked
            run_job(service, "closeConversations")  # on the same clock: the conversation closes
            assert service.get(f"/api/v1/conversations/{conversation['id']}")["status"] == "closed"
            before = datetime.now(timezone.utc) + timedelta(hours=24)
            assert sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Daniele", "text": "Eccomi"}).status_code == 200
            service.wait_idle()
            (again,) = [c for c in service.get("/api/v1/conversations") if c["status"] == "open"]
            assert _at(again["last_inbound_at"]) >= before - timedelta(seconds=1)
            assert _at(again["window_expires_at"]) == _at(again["last_inbound_at"]) + timedelta(hours=24)
            assert again["id"] != conversation["id"] and again["status"] == "open"
            assert send(service, again["id"], type="text", body="Bene").status_code == 201
        finally:
            service.stop()
            follow_offset_file(None)
