"""Every error code Meta may answer a send with, injected through the simulator's control API:
what the product does about it is what Meta documents, and it shows.

    retried     transient (Meta's trouble, rate limits): tried again until the injection runs
                out, then sent; nothing failed
    held        the token or its permissions are refused: the message waits, the channel is unhealthy
    failed      permanent: failed with our sentence and Meta's own words on the message
    account     failed, and the channel's health names the restriction until a send goes through
    template    failed, and the template is marked paused/disabled in the catalogue
"""
from __future__ import annotations

import pytest

from tests.outbound.flows import CUSTOMER, customer_writes, message, send, sent_to, wait_status
from wasb.simulator.meta_errors import CATALOGUE
from wasb.whatsapp.errors import HUMAN_MESSAGES

RETRIED = [1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004]
HELD = [0, 3, 10, 190, 131005]
FAILED = [100, 131008, 131009, 131021, 131026, 131049, 131051, 131052, 131053, 132000, 132001, 132005,
          132007, 132012, 135000]
ACCOUNT = [368, 131031, 131042, 131045, 131048, 133010]
TEMPLATE = [132015, 132016]
DONE = ("sent", "delivered", "read")


def inject(sim, **spec):
    answer = sim.post("/_sim/inject", json=spec)
    assert answer.status_code == 200, answer.text


def meta_has_template(sim, wasb, name="promo", language="it"):
    sim.post("/_sim/templates", json={"name": name, "language": language, "category": "MARKETING",
                                      "body_text": "Offerta per {{1}}!"}).raise_for_status()
    synced = wasb.api("POST", "/api/v1/templates/sync")
    assert synced.status_code == 200, synced.text


def send_template(wasb, conversation_id, name="promo", language="it"):
    answer = send(wasb, conversation_id, type="template",
                  template={"name": name, "language": language, "parameters": ["Daniele"]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def catalogued(wasb, name="promo"):
    (template,) = wasb.get(f"/api/v1/templates?name={name}")
    return template


def assert_metas_words(row, code):
    assert row["status"] == "failed" and row["error"]["code"] == code
    assert HUMAN_MESSAGES[code] in row["error"]["message"]
    assert CATALOGUE[code][2] in row["error"]["message"]  # what Meta said, verbatim


@pytest.mark.parametrize("code", RETRIED)
def test_a_transient_error_is_retried_and_the_message_sent_once_it_is_over(wasb, sim, code):
    conversation = customer_writes(sim, wasb)
    inject(sim, code=code, to=CUSTOMER, count=2)
    row = send(wasb, conversation["id"], type="text", body="Ci sentiamo domani").json()
    done = wait_status(wasb, conversation["id"], row["id"], *DONE, "failed", timeout=30)
    assert done["status"] in DONE and done["error"] is None
    assert done["send_attempts"] == 3  # two refused, the third went through
    assert [s["text"] for s in sent_to(sim)] == ["Ci sentiamo domani"]
    assert sim.get("/_sim/inject").json() == []


@pytest.mark.parametrize("code", HELD)
def test_a_refused_token_or_permission_keeps_the_message_queued_and_the_channel_unhealthy(wasb, sim, code):
    conversation = customer_writes(sim, wasb)
    inject(sim, code=code, to=CUSTOMER)
    row = send(wasb, conversation["id"], type="text", body="Ci sentiamo domani").json()
    health = wasb.wait_until(lambda: (h := wasb.get("/healthz"))["channel"]["status"] == "unhealthy" and h,
                             20, "the channel to be unhealthy")
    assert health["channel"]["error_code"] == code and health["channel"]["reason"] == HUMAN_MESSAGES[code]
    waiting = message(wasb, conversation["id"], row["id"])
    assert waiting["status"] == "queued" and waiting["error"]["code"] == code
    assert sent_to(sim) == []


@pytest.mark.parametrize("code", FAILED)
def test_a_permanent_error_fails_the_message_with_metas_words(wasb, sim, code):
    conversation = customer_writes(sim, wasb)
    inject(sim, code=code, to=CUSTOMER)
    if 132000 <= code < 133000:  # the template family: Meta answers it to template sends
        meta_has_template(sim, wasb)
        row = send_template(wasb, conversation["id"])
    else:
        row = send(wasb, conversation["id"], type="text", body="Ci sentiamo domani").json()
    failed = wait_status(wasb, conversation["id"], row["id"], *DONE, "failed")
    assert_metas_words(failed, code)
    assert failed["send_attempts"] == 1 and sent_to(sim) == []
    assert wasb.get(f"/api/v1/conversations/{conversation['id']}")["last_message_status"] == "failed"
    assert wasb.get("/healthz")["channel"]["status"] == "healthy"  # nothing wrong with the channel


def test_an_injected_131047_fails_the_message_and_closes_the_window(wasb, sim):
    conversation = customer_writes(sim, wasb)
    inject(sim, code=131047, to=CUSTOMER)
    row = send(wasb, conversation["id"], type="text", body="Ci sentiamo domani").json()
    failed = wait_status(wasb, conversation["id"], row["id"], *DONE, "failed")
    assert_metas_words(failed, 131047)
    again = send(wasb, conversation["id"], type="text", body="Ci sentiamo?")
    assert again.status_code == 409 and "window closed at" in again.json()["detail"]


@pytest.mark.parametrize("code", ACCOUNT)
def test_an_account_restriction_fails_the_message_and_shows_in_the_channels_health_until_a_send_works(
        wasb, sim, code):
    conversation = customer_writes(sim, wasb)
    inject(sim, code=code)
    row = send(wasb, conversation["id"], type="text", body="Ci sentiamo domani").json()
    failed = wait_status(wasb, conversation["id"], row["id"], *DONE, "failed")
    assert_metas_words(failed, code)
    health = wasb.get("/healthz")["channel"]
    assert health["status"] == "unhealthy" and health["error_code"] == code
    assert health["reason"] == HUMAN_MESSAGES[code]
    # The token works: the next message is not held for it, and it going out heals the channel.
    after = send(wasb, conversation["id"], type="text", body="Riprovo").json()
    wait_status(wasb, conversation["id"], after["id"], *DONE)
    assert wasb.get("/healthz")["channel"]["status"] == "healthy"


@pytest.mark.parametrize("code", TEMPLATE)
def test_a_template_refused_as_paused_or_disabled_fails_and_is_marked_so_in_the_catalogue(wasb, sim, code):
    conversation = customer_writes(sim, wasb)
    meta_has_template(sim, wasb)
    inject(sim, code=code, to=CUSTOMER)
    row = send_template(wasb, conversation["id"])
    failed = wait_status(wasb, conversation["id"], row["id"], *DONE, "failed")
    assert_metas_words(failed, code)
    expected = {132015: "PAUSED", 132016: "DISABLED"}[code]
    assert catalogued(wasb)["status"] == expected
    refused = send(wasb, conversation["id"], type="template",
                   template={"name": "promo", "language": "it", "parameters": ["Daniele"]})
    assert refused.status_code == 422 and expected in refused.json()["detail"]


def test_a_template_paused_at_meta_without_a_webhook_is_learnt_from_the_refusal(wasb, sim):
    conversation = customer_writes(sim, wasb)
    meta_has_template(sim, wasb)
    sim.post("/_sim/template-state", json={"name": "promo", "language": "it", "state": "paused"}).raise_for_status()
    row = send_template(wasb, conversation["id"])
    failed = wait_status(wasb, conversation["id"], row["id"], *DONE, "failed")
    assert failed["error"]["code"] == 132015 and HUMAN_MESSAGES[132015] in failed["error"]["message"]
    assert catalogued(wasb)["status"] == "PAUSED"
    # The next sync reads Meta's list: the quality score comes with it.
    wasb.api("POST", "/api/v1/templates/sync").raise_for_status()
    assert (catalogued(wasb)["status"], catalogued(wasb)["quality"]) == ("PAUSED", "RED")


def test_a_send_held_for_quality_assessment_stays_pending_then_goes_out(wasb, sim):
    conversation = customer_writes(sim, wasb)
    meta_has_template(sim, wasb)
    inject(sim, message_status="held_for_quality_assessment", to=CUSTOMER, hold_seconds=5)
    row = send_template(wasb, conversation["id"])
    held = wasb.wait_until(lambda: (m := message(wasb, conversation["id"], row["id"]))["wamid"] and m,
                           20, "Meta to answer the send")
    assert held["status"] == "sending" and "quality check" in held["error"]["message"]
    assert held["error"]["code"] is None
    (sent,) = sent_to(sim)
    assert sent["message_status"] == "held_for_quality_assessment" and sent["wamid"] == held["wamid"]
    done = wait_status(wasb, conversation["id"], row["id"], "delivered", "read", "failed", timeout=30)
    assert done["status"] in ("delivered", "read") and done["error"] is None


def test_a_send_answered_paused_marks_the_template_and_fails_when_meta_says_so(wasb, sim):
    conversation = customer_writes(sim, wasb)
    meta_has_template(sim, wasb)
    inject(sim, message_status="paused", to=CUSTOMER)
    row = send_template(wasb, conversation["id"])
    failed = wait_status(wasb, conversation["id"], row["id"], *DONE, "failed")
    assert failed["status"] == "failed" and failed["wamid"]
    assert failed["error"]["code"] == 132015 and CATALOGUE[132015][2] in failed["error"]["message"]
    assert catalogued(wasb)["status"] == "PAUSED"


def test_an_error_injected_as_a_failed_status_webhook_fails_the_sent_message(wasb, sim):
    conversation = customer_writes(sim, wasb)
    inject(sim, code=131049, to=CUSTOMER, via="webhook")
    row = send(wasb, conversation["id"], type="text", body="Offerta!").json()
    failed = wait_status(wasb, conversation["id"], row["id"], "failed")
    assert failed["wamid"] and failed["error"]["code"] == 131049
    assert failed["error"]["message"] == CATALOGUE[131049][2]
