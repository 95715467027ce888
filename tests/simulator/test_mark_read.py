"""The business marks a customer's message read (blue ticks on their side), perhaps with a
typing indicator, as Meta takes it: `status: read` on the messages endpoint."""
from __future__ import annotations

import shutil

import pytest

from tests.simulator.test_phone_page import phone_browser
from wasb.whatsapp.errors import PermanentError

CUSTOMER = "393331234567"


def mark(sim, sim_settings, body):
    return sim.post(f"/{sim_settings['graph_version']}/{sim_settings['phone_number_id']}/messages",
                    headers={"Authorization": f"Bearer {sim_settings['access_token']}"},
                    json={"messaging_product": "whatsapp", "status": "read", **body})


def test_marking_a_received_message_read_answers_success_and_is_recorded_with_its_typing_indicator(sim, sim_settings):
    wamid = sim.post("/_sim/inbound", json={"from": CUSTOMER, "text": "ciao"}).json()["wamid"]
    answer = mark(sim, sim_settings, {"message_id": wamid, "typing_indicator": {"type": "text"}})
    assert answer.status_code == 200 and answer.json() == {"success": True}
    assert mark(sim, sim_settings, {"message_id": wamid}).json() == {"success": True}
    marks = sim.get("/_sim/read").json()
    assert [(m["wamid"], m["customer"], m["typing"]) for m in marks] == [
        (wamid, CUSTOMER, True), (wamid, CUSTOMER, False)]
    state = sim.get("/phone/api/state", params={"customer": CUSTOMER}).json()
    assert state["business_read_until"] == state["thread"][0]["timestamp"] and state["business_typing"]


def test_an_unknown_message_id_is_metas_invalid_parameter_and_nothing_is_recorded(sim, sim_settings):
    answer = mark(sim, sim_settings, {"message_id": "wamid.NOPE"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 100 and error["message"] == "(#100) Invalid parameter"
    assert error["error_data"]["details"] == "Invalid message_id."
    bad_typing = mark(sim, sim_settings, {"message_id": "wamid.NOPE", "typing_indicator": {"type": "audio"}})
    assert bad_typing.status_code == 400 and bad_typing.json()["error"]["code"] == 100
    assert sim.get("/_sim/read").json() == []


def test_the_graph_client_marks_read_and_raises_metas_refusal(sim, graph_client):
    wamid = sim.post("/_sim/inbound", json={"from": CUSTOMER, "text": "ciao"}).json()["wamid"]
    graph_client.mark_read(wamid, typing_indicator=True)
    assert [(m["wamid"], m["typing"]) for m in sim.get("/_sim/read").json()] == [(wamid, True)]
    with pytest.raises(PermanentError) as refused:
        graph_client.mark_read("wamid.NOPE")
    assert refused.value.code == 100


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_the_phone_page_shows_the_message_read_and_the_business_typing(sim, simulator_url, graph_client):
    wamid = sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Mario Rossi", "text": "ciao"}).json()["wamid"]
    with phone_browser() as page:
        page.goto(f"{simulator_url}/phone#customer={CUSTOMER}")
        page.wait_for_selector("text=ciao")
        assert page.locator('.tick[title="read by the business"]').count() == 0
        graph_client.mark_read(wamid, typing_indicator=True)
        page.wait_for_selector('.tick[title="read by the business"]')
        page.wait_for_selector("text=typing…")


def test_an_injected_code_refuses_the_next_mark_as_read_and_leaves_sends_alone(sim, sim_settings):
    wamid = sim.post("/_sim/inbound", json={"from": CUSTOMER, "text": "ciao"}).json()["wamid"]
    assert sim.post("/_sim/inject", json={"code": 131016, "applies_to": "read"}).status_code == 200
    sent = sim.post(f"/{sim_settings['graph_version']}/{sim_settings['phone_number_id']}/messages",
                    headers={"Authorization": f"Bearer {sim_settings['access_token']}"},
                    json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": "ok"}})
    assert sent.status_code == 200, sent.text
    refused = mark(sim, sim_settings, {"message_id": wamid})
    assert refused.status_code == 503 and refused.json()["error"]["code"] == 131016
    assert mark(sim, sim_settings, {"message_id": wamid}).json() == {"success": True}
    assert sim.post("/_sim/inject", json={"code": 100, "applies_to": "read", "via": "webhook"}).status_code == 400
