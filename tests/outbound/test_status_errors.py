"""What a status webhook says of our message, kept whole: every error of a failed status
(Meta may list several), the status's `conversation` object and its `pricing`, on the
message, in the API's message JSON and in the conversation an agent reads.

Through a real server (served in the test's process, one for the module) and the simulator:
its `/_sim/inject` with `also` fails a send by a status listing several errors; its
`webhook_version` posts the pre-v24 shape whose statuses carry `conversation`."""
from __future__ import annotations

import copy
import html

import pytest

from tests.conftest import load_fixture
from tests.outbound.conftest import sim_overrides
from tests.outbound.flows import customer_writes, message, send, wait_status
from tests.support.inprocess import module_service
from tests.support.ui_http import add_user, logged_in
from wasb.simulator.meta_errors import CATALOGUE

DONE = ("delivered", "read")


@pytest.fixture(scope="module")
def shared(tmp_path_factory, simulator_url, sim_settings):
    with module_service(tmp_path_factory, "statuserrors", **sim_overrides(simulator_url, sim_settings)) as service:
        add_user(service.database_url, "giulia", "giulia-password")
        yield service


@pytest.fixture
def wasb(shared, sim):
    sim.post("/_sim/config", json={"webhook_url": shared.url + "/webhooks/whatsapp"}).raise_for_status()
    return shared


def conversation_page(wasb, conversation_id) -> str:
    agent = logged_in(wasb.url, "giulia", "giulia-password")
    try:
        page = agent.get(f"/ui/conversations/{conversation_id}")
        assert page.status_code == 200
        return html.unescape(page.text)
    finally:
        agent.close()


def message_html(page: str, message_id: int) -> str:
    """The thread's item of one message: from its `<li>` to the next message's."""
    start = page.index(f'data-msg-id="{message_id}"')
    end = page.find('<li class="msg', start)
    return page[start:end if end > 0 else None]


def test_every_error_of_a_failed_status_is_kept_shown_and_listed_by_the_api(wasb, sim):
    wa_id = "393351000001"
    conversation = customer_writes(sim, wasb, wa_id=wa_id)
    sim.post("/_sim/inject", json={"code": 131049, "also": [131026, 131053], "to": wa_id,
                                   "via": "webhook"}).raise_for_status()
    row = send(wasb, conversation["id"], type="text", body="Offerta!").json()
    failed = wait_status(wasb, conversation["id"], row["id"], "failed", *DONE)
    assert failed["status"] == "failed"
    assert [e["code"] for e in failed["errors"]] == [131049, 131026, 131053]  # Meta's order
    for error, code in zip(failed["errors"], (131049, 131026, 131053)):
        assert error["details"] == CATALOGUE[code][2] and error["title"] == CATALOGUE[code][1]
        assert error["href"].startswith("https://developers.facebook.com/")
    assert failed["error"] == {"code": 131049, "message": CATALOGUE[131049][2]}  # the first, as before

    bubble = message_html(conversation_page(wasb, conversation["id"]), row["id"])
    assert "3 errors" in bubble
    for code in (131049, 131026, 131053):
        assert f"({code})" in bubble and CATALOGUE[code][2] in bubble


def test_a_failed_status_with_one_error_reads_as_before(wasb, sim):
    wa_id = "393351000002"
    conversation = customer_writes(sim, wasb, wa_id=wa_id)
    sim.post("/_sim/inject", json={"code": 131026, "to": wa_id, "via": "webhook"}).raise_for_status()
    row = send(wasb, conversation["id"], type="text", body="Ci sentiamo").json()
    failed = wait_status(wasb, conversation["id"], row["id"], "failed", *DONE)
    assert [e["code"] for e in failed["errors"]] == [131026]
    bubble = message_html(conversation_page(wasb, conversation["id"]), row["id"])
    assert "Not delivered (131026): " in bubble and "errors" not in bubble


def test_a_refused_send_lists_its_one_error_too(wasb, sim):
    wa_id = "393351000003"
    conversation = customer_writes(sim, wasb, wa_id=wa_id)
    sim.post("/_sim/inject", json={"code": 131009, "to": wa_id}).raise_for_status()  # in the answer
    row = send(wasb, conversation["id"], type="text", body="Ci sentiamo").json()
    failed = wait_status(wasb, conversation["id"], row["id"], "failed", *DONE)
    (error,) = failed["errors"]
    assert error["code"] == 131009 and error == failed["error"]


def test_the_status_conversation_and_pricing_are_kept_and_exposed(wasb, sim):
    wa_id = "393351000004"
    sim.post("/_sim/config", json={"webhook_version": "v23.0"}).raise_for_status()  # Meta's pre-v24 shape
    conversation = customer_writes(sim, wasb, wa_id=wa_id)
    row = send(wasb, conversation["id"], type="text", body="Eccomi").json()
    done = wasb.wait_until(lambda: (m := message(wasb, conversation["id"], row["id"]))["status"] == "read"
                           and m["meta_conversation"] and m, what="the message to be read")
    posted = [s for w in sim.get("/_sim/webhooks").json()
              for s in w["body"]["entry"][0]["changes"][0]["value"].get("statuses", []) if s["id"] == done["wamid"]]
    (sent,) = [s for s in posted if s["status"] == "sent"]
    assert done["meta_conversation"] == {
        "id": sent["conversation"]["id"], "expiration_timestamp": int(sent["conversation"]["expiration_timestamp"]),
        "origin": {"type": "service"}}
    assert done["pricing"] == {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                               "category": "service"}


def test_v24_statuses_carry_pricing_and_no_conversation(wasb, sim):
    wa_id = "393351000005"
    conversation = customer_writes(sim, wasb, wa_id=wa_id)
    row = send(wasb, conversation["id"], type="text", body="Eccomi").json()
    done = wait_status(wasb, conversation["id"], row["id"], "read")
    assert done["meta_conversation"] is None
    assert done["pricing"]["category"] == "service" and done["pricing"]["billable"] is False


def test_odd_errors_and_conversation_fields_are_kept_as_far_as_they_make_sense(wasb, sim, sim_settings):
    """Meta's own failed example, with a second error of odd types and a conversation whose
    fields are of the wrong kind: the message keeps what it can read, nothing breaks."""
    wa_id = "393351000006"
    conversation = customer_writes(sim, wasb, wa_id=wa_id)
    sim.post("/_sim/config", json={"auto_read": False, "delivered_delay": 30}).raise_for_status()
    row = send(wasb, conversation["id"], type="text", body="Eccomi").json()
    sent = wasb.wait_until(lambda: (m := message(wasb, conversation["id"], row["id"]))["wamid"] and m,
                           what="Meta's answer")
    body = copy.deepcopy(load_fixture("status_failed_131049_meta_example.json"))
    status = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    status.update(id=sent["wamid"], recipient_id=wa_id, timestamp=str(int(status["timestamp"]) + 10**8))
    status["errors"].append({"code": "131026", "title": 7, "error_data": "gone", "message": "Message undeliverable"})
    status["errors"].append("not an error")
    status["conversation"] = {"id": 42, "expiration_timestamp": "soon", "origin": {"type": "utility"}}
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = sim_settings["phone_number_id"]
    answer = wasb.post_webhook(body, secret=sim_settings["app_secret"])
    assert answer.status_code == 200
    failed = wait_status(wasb, conversation["id"], row["id"], "failed")
    first = load_fixture("status_failed_131049_meta_example.json")["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]
    assert failed["errors"] == [
        {"code": 131049, "title": first["title"], "message": first["message"],
         "details": first["error_data"]["details"], "href": first["href"]},
        {"code": 131026, "message": "Message undeliverable"}]
    assert failed["meta_conversation"] == {"origin": {"type": "utility"}}
