"""The control API makes the simulator answer a send the way Meta does when something is wrong:
any error code of Meta's table, a paused/disabled/flagged template, a held message."""
from __future__ import annotations

import pytest

from wasb.simulator.meta_errors import CATALOGUE

CUSTOMER = "393331234567"
OTHER = "393339998877"
CODES = [0, 3, 4, 10, 100, 130429, 131000, 131005, 131008, 131009, 131016, 131021, 131026, 131031, 131041,
         131042, 131045, 131047, 131048, 131049, 131051, 131052, 131053, 132000, 132001, 132005, 132007,
         132012, 132015, 132016, 133004, 133010, 135000, 368, 80007, 190]


def send_text(sim, sim_settings, to=CUSTOMER, text="ciao"):
    sim.post("/_sim/inbound", json={"from": to, "text": "hello"}).raise_for_status()  # the window is open
    return sim.post(f"/{sim_settings['graph_version']}/{sim_settings['phone_number_id']}/messages",
                    headers={"Authorization": f"Bearer {sim_settings['access_token']}"},
                    json={"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": text}})


def send_template(sim, sim_settings, name="promo", language="it"):
    return sim.post(f"/{sim_settings['graph_version']}/{sim_settings['phone_number_id']}/messages",
                    headers={"Authorization": f"Bearer {sim_settings['access_token']}"},
                    json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
                          "template": {"name": name, "language": {"code": language}}})


def add_template(sim, name="promo", language="it"):
    sim.post("/_sim/templates", json={"name": name, "language": language, "category": "MARKETING",
                                      "body_text": "Offerta!"}).raise_for_status()


@pytest.mark.parametrize("code", CODES)
def test_an_injected_code_is_answered_in_metas_shape_with_its_status_title_and_details(sim, sim_settings, code):
    injected = sim.post("/_sim/inject", json={"code": code, "to": CUSTOMER})
    assert injected.status_code == 200, injected.text
    answer = send_text(sim, sim_settings)
    status, title, details = CATALOGUE[code]
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["code"] == code and error["message"] == f"(#{code}) {title}" and error["fbtrace_id"]
    assert error["type"] == "OAuthException"
    if code != 190:
        assert error["error_data"] == {"messaging_product": "whatsapp", "details": details}
    # used up: the next send goes out
    assert send_text(sim, sim_settings).status_code == 200
    assert sim.get("/_sim/inject").json() == []


def test_an_injection_lasts_count_sends_only_to_its_number(sim, sim_settings):
    sim.post("/_sim/inject", json={"code": 131000, "to": "+" + CUSTOMER, "count": 2,
                                   "details": "Meta had a bad day"}).raise_for_status()
    assert send_text(sim, sim_settings, to=OTHER).status_code == 200
    first = send_text(sim, sim_settings)
    assert first.status_code == 500 and first.json()["error"]["error_data"]["details"] == "Meta had a bad day"
    assert sim.get("/_sim/inject").json()[0]["remaining"] == 1
    assert send_text(sim, sim_settings).status_code == 500
    assert send_text(sim, sim_settings).status_code == 200
    assert [s["text"] for s in sim.get("/_sim/sent").json()] == ["ciao", "ciao"]  # one to OTHER, one to CUSTOMER


def test_an_injection_for_any_number_and_its_removal(sim, sim_settings):
    sim.post("/_sim/inject", json={"code": 133004, "count": 5}).raise_for_status()
    assert send_text(sim, sim_settings, to=OTHER).status_code == 503
    assert sim.delete("/_sim/inject").json() == []
    assert send_text(sim, sim_settings, to=OTHER).status_code == 200


@pytest.mark.parametrize("body", [{}, {"code": 999}, {"code": 131000, "message_status": "paused"},
                                  {"message_status": "sent"}, {"code": 131000, "count": 0},
                                  {"code": 131000, "via": "carrier-pigeon"}])
def test_a_nonsensical_injection_is_refused(sim, body):
    answer = sim.post("/_sim/inject", json=body)
    assert answer.status_code == 400 and answer.json()["error"]
    assert sim.get("/_sim/inject").json() == []


def test_an_injected_error_via_webhook_is_accepted_then_failed(sim, sim_settings, webhook_recorder):
    sim.post("/_sim/inject", json={"code": 131049, "via": "webhook"}).raise_for_status()
    answer = send_text(sim, sim_settings)
    assert answer.status_code == 200
    wamid = answer.json()["messages"][0]["id"]
    failed = webhook_recorder.wait_for(lambda _: webhook_recorder.statuses(wamid))
    assert failed[0]["status"] == "failed"
    assert failed[0]["errors"][0]["code"] == 131049
    assert failed[0]["errors"][0]["error_data"]["details"] == CATALOGUE[131049][2]


def test_paused_and_disabled_templates_are_refused_with_132015_and_132016_and_listed_so(sim, sim_settings):
    add_template(sim)
    add_template(sim, "promo", "en")
    assert sim.post("/_sim/template-state", json={"name": "promo", "language": "it", "state": "paused"}).json()[
        "status"] == "PAUSED"
    refused = send_template(sim, sim_settings)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 132015
    sim.post("/_sim/template-state", json={"name": "promo", "language": "it", "state": "disabled"}).raise_for_status()
    assert send_template(sim, sim_settings).json()["error"]["code"] == 132016
    listed = sim.get(f"/{sim_settings['graph_version']}/{sim_settings['waba_id']}/message_templates",
                     params={"fields": "language,status,quality_score"}, headers={"Authorization": f"Bearer {sim_settings['access_token']}"}).json()["data"]
    assert {(t["language"], t["status"], t["quality_score"]["score"]) for t in listed} == {
        ("it", "DISABLED", "RED"), ("en", "APPROVED", "UNKNOWN")}
    unknown = sim.post("/_sim/template-state", json={"name": "promo", "language": "it", "state": "asleep"})
    assert unknown.status_code == 400


def test_a_flagged_template_is_listed_red_and_can_still_be_sent(sim, sim_settings):
    add_template(sim)
    sim.post("/_sim/template-state", json={"name": "promo", "language": "it", "state": "flagged"}).raise_for_status()
    (listed,) = sim.get("/_sim/templates").json()
    assert listed["status"] == "FLAGGED" and listed["quality_score"] == {"score": "RED"}
    answer = send_template(sim, sim_settings)
    assert answer.status_code == 200 and answer.json()["messages"][0]["message_status"] == "accepted"


def test_a_held_template_send_answers_held_for_quality_assessment_and_is_sent_later(
        sim, sim_settings, webhook_recorder):
    add_template(sim)
    sim.post("/_sim/inject", json={"message_status": "held_for_quality_assessment",
                                   "hold_seconds": 0.2}).raise_for_status()
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "text": "hello"}).raise_for_status()
    assert send_text(sim, sim_settings).json()["messages"][0].get("message_status") is None  # templates only
    answer = send_template(sim, sim_settings)
    (result,) = answer.json()["messages"]
    assert result["message_status"] == "held_for_quality_assessment"
    statuses = webhook_recorder.wait_for(lambda _: len(webhook_recorder.statuses(result["id"])) >= 2 and
                                         webhook_recorder.statuses(result["id"]))
    assert [s["status"] for s in statuses][:2] == ["sent", "delivered"]


def test_a_paused_answer_is_followed_by_a_failed_status_132015(sim, sim_settings, webhook_recorder):
    add_template(sim)
    sim.post("/_sim/inject", json={"message_status": "paused"}).raise_for_status()
    (result,) = send_template(sim, sim_settings).json()["messages"]
    assert result["message_status"] == "paused"
    failed = webhook_recorder.wait_for(lambda _: webhook_recorder.statuses(result["id"]))
    assert failed[0]["status"] == "failed" and failed[0]["errors"][0]["code"] == 132015
