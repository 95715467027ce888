"""What the simulator posts to the service: shaped like Meta's payloads, signed, retried."""
from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.conftest import load_fixture


CUSTOMER = "393331234567"
BSUID = "US.13491208655302741918"
PARENT_BSUID = "US.ENT.11815799212886844830"


def shape(value):
    """The structure of a payload: keys and value types, lists by their first item."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def without(tree: dict, *path_and_key: str) -> dict:
    """A copy of a shape with one key removed at messages[0] (BSUID extras Meta adds in 2026)."""
    copy = json.loads(json.dumps(tree))
    copy["entry"][0]["changes"][0]["value"]["messages"][0].pop(path_and_key[0], None)
    return copy


def inbound(sim, webhook_recorder, **spec) -> dict:
    answer = sim.post("/_sim/inbound", json=spec)
    assert answer.status_code == 200, answer.text
    wamid = answer.json()["wamid"]
    received = webhook_recorder.wait_for(
        lambda got: [w for w in got if wamid in json.dumps(w.body)])
    assert received[0].signature_valid
    assert answer.json()["webhook_status"] == 200
    return received[0].body


class TestInboundShapes:
    def test_text_from_a_phone_user_is_shaped_like_metas_example(self, sim, webhook_recorder, sim_settings):
        body = inbound(sim, webhook_recorder, **{"from": CUSTOMER, "name": "Sheena Nelson", "text": "Hi"})
        assert shape(body) == shape(load_fixture("inbound_text.json"))
        value = body["entry"][0]["changes"][0]["value"]
        assert body["entry"][0]["id"] == sim_settings["waba_id"]
        assert value["metadata"]["phone_number_id"] == sim_settings["phone_number_id"]
        assert value["contacts"] == [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}]
        assert value["messages"][0]["text"] == {"body": "Hi"}
        assert value["messages"][0]["from"] == CUSTOMER

    def test_image_with_caption_is_shaped_like_metas_example(self, sim, webhook_recorder):
        body = inbound(sim, webhook_recorder, **{
            "from": CUSTOMER, "name": "Sheena", "type": "image", "caption": "Taj Mahal",
            "media": {"content_base64": base64.b64encode(b"jpeg").decode(), "mime_type": "image/jpeg"}})
        assert shape(body) == shape(load_fixture("inbound_image_caption.json"))

    def test_document_is_shaped_like_metas_example(self, sim, webhook_recorder):
        media = sim.post("/_sim/media", files={"file": ("receipt.pdf", b"%PDF", "application/pdf")}).json()
        body = inbound(sim, webhook_recorder, **{"from": CUSTOMER, "name": "Sheena", "type": "document",
                                                 "caption": "my receipt", "media_id": media["id"]})
        assert shape(body) == shape(load_fixture("inbound_document.json"))
        document = body["entry"][0]["changes"][0]["value"]["messages"][0]["document"]
        assert (document["filename"], document["sha256"]) == ("receipt.pdf", media["sha256"])

    def test_reply_from_a_bsuid_user_matches_the_2026_shape(self, sim, webhook_recorder):
        first = inbound(sim, webhook_recorder, **{"from": CUSTOMER, "name": "Test Name", "text": "a"})
        quoted = first["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        body = inbound(sim, webhook_recorder, **{
            "from": CUSTOMER, "user_id": BSUID, "parent_user_id": PARENT_BSUID, "name": "Test Name",
            "text": "replied text", "context": quoted})
        # Meta adds `from_user_id` next to `from` for BSUID users; the rest is exactly pywa's shape.
        assert shape(without(body, "from_user_id")) == shape(load_fixture("inbound_text_reply_context.json"))
        message = body["entry"][0]["changes"][0]["value"]["messages"][0]
        assert message["context"]["id"] == quoted
        assert message["from_user_id"] == BSUID

    def test_quick_reply_tap_is_a_button_message(self, sim, webhook_recorder):
        body = inbound(sim, webhook_recorder, **{
            "from": CUSTOMER, "user_id": BSUID, "parent_user_id": PARENT_BSUID, "name": "Test Name",
            "type": "button", "text": "Yes", "payload": "confirm-yes", "context": "wamid.TEMPLATE"})
        assert shape(without(body, "from_user_id")) == shape(load_fixture("inbound_template_quick_reply_button.json"))
        assert body["entry"][0]["changes"][0]["value"]["messages"][0]["button"] == {
            "payload": "confirm-yes", "text": "Yes"}

    def test_reaction_and_its_removal(self, sim, webhook_recorder):
        spec = {"from": CUSTOMER, "user_id": BSUID, "parent_user_id": PARENT_BSUID, "name": "Test Name",
                "type": "reaction", "message_id": "wamid.OURS"}
        added = inbound(sim, webhook_recorder, **spec, emoji="😮")
        removed = inbound(sim, webhook_recorder, **spec)
        assert shape(without(added, "from_user_id")) == shape(load_fixture("inbound_reaction.json"))
        assert shape(without(removed, "from_user_id")) == shape(load_fixture("inbound_reaction_removed.json"))

    def test_username_only_user_has_no_phone_anywhere(self, sim, webhook_recorder):
        body = inbound(sim, webhook_recorder, user_id=BSUID, name="@sheena", text="hello")
        value = body["entry"][0]["changes"][0]["value"]
        assert value["contacts"] == [{"profile": {"name": "@sheena"}, "user_id": BSUID}]
        assert "from" not in value["messages"][0]
        assert value["messages"][0]["from_user_id"] == BSUID


def test_statuses_arrive_sent_delivered_read_signed_with_pricing(sim, graph_client, webhook_recorder):
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Mario", "text": "hi"})
    wamid = graph_client.send_text(CUSTOMER, "Hello Mario").wamid
    webhook_recorder.wait_for(lambda _: len(webhook_recorder.statuses(wamid)) >= 3)
    statuses = webhook_recorder.statuses(wamid)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert all(w.signature_valid for w in webhook_recorder.received)
    assert all(s["recipient_id"] == CUSTOMER for s in statuses)
    # v24 shape: a minimal "sent", pricing on "delivered" (free: a reply inside the window).
    assert "pricing" not in statuses[0] and "conversation" not in statuses[0]
    assert statuses[1]["pricing"] == {"billable": False, "pricing_model": "PMP",
                                      "type": "free_customer_service", "category": "service"}
    sent_body = next(w.body for w in webhook_recorder.received if w.body["entry"][0]["changes"][0]["value"].get("statuses", [{}])[0].get("status") == "sent")
    assert shape(sent_body) == shape(load_fixture("status_sent_v24_minimal.json"))
    assert sim.get("/_sim/sent").json()[0]["status"] == "read"


def test_marketing_template_is_billed_regular(sim, graph_client, webhook_recorder):
    sim.post("/_sim/templates", json={"name": "promo", "language": "it", "category": "MARKETING",
                                      "body_text": "Sconto!"})
    wamid = graph_client.send_template(CUSTOMER, "promo", "it").wamid
    delivered = webhook_recorder.wait_for(
        lambda _: [s for s in webhook_recorder.statuses(wamid) if s["status"] == "delivered"])
    assert delivered[0]["pricing"] == {"billable": True, "pricing_model": "PMP", "type": "regular",
                                       "category": "marketing"}


def test_webhook_is_retried_until_the_service_answers_200(sim, webhook_recorder):
    webhook_recorder.fail_next.extend([500, 503])
    answer = sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Mario", "text": "again?"}).json()
    assert answer["webhook_status"] == 500
    attempts = webhook_recorder.wait_for(
        lambda got: (lambda mine: mine if mine and mine[-1].answered == 200 else None)(
            [w for w in got if answer["wamid"] in json.dumps(w.body)]))
    assert [w.answered for w in attempts] == [500, 503, 200]
    assert len({w.raw for w in attempts}) == 1  # the same bytes each time
    assert all(w.signature_valid for w in attempts)


def test_statuses_out_of_order_and_duplicated_when_asked(sim, graph_client, webhook_recorder):
    sim.post("/_sim/config", json={"out_of_order": True, "duplicate": True, "seed": 7}).raise_for_status()
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Mario", "text": "hi"})
    wamids = [graph_client.send_text(CUSTOMER, f"message {n}").wamid for n in range(5)]
    webhook_recorder.wait_for(lambda _: all(len(webhook_recorder.statuses(w)) >= 6 for w in wamids))
    orders = []
    for wamid in wamids:
        names = [s["status"] for s in webhook_recorder.statuses(wamid)]
        assert sorted(names) == ["delivered", "delivered", "read", "read", "sent", "sent"]
        orders.append([n for i, n in enumerate(names) if i % 2 == 0])
    assert any(order != ["sent", "delivered", "read"] for order in orders)


def test_async_errors_come_as_a_failed_status_without_contacts(sim, graph_client, webhook_recorder):
    sim.post("/_sim/config", json={"async_errors": True}).raise_for_status()
    result = graph_client.send_text(CUSTOMER, "out of the window")  # accepted, fails later
    failed = webhook_recorder.wait_for(lambda _: webhook_recorder.statuses(result.wamid))
    assert failed[0]["status"] == "failed"
    assert failed[0]["errors"][0]["code"] == 131047
    body = next(w.body for w in webhook_recorder.received if result.wamid in json.dumps(w.body))
    assert "contacts" not in body["entry"][0]["changes"][0]["value"]
    assert shape(body) == shape(load_fixture("status_failed_131047.json"))


def test_read_only_when_the_customer_opens_the_chat(sim, graph_client, webhook_recorder):
    sim.post("/_sim/config", json={"auto_read": False}).raise_for_status()
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Mario", "text": "hi"})
    wamid = graph_client.send_text(CUSTOMER, "unread for now").wamid
    webhook_recorder.wait_for(lambda _: len(webhook_recorder.statuses(wamid)) >= 2)
    assert [s["status"] for s in webhook_recorder.statuses(wamid)] == ["sent", "delivered"]
    assert sim.post("/_sim/read", json={"customer": CUSTOMER}).json() == {"read": 1}
    webhook_recorder.wait_for(lambda _: len(webhook_recorder.statuses(wamid)) >= 3)
    assert webhook_recorder.statuses(wamid)[-1]["status"] == "read"


def test_template_review_event_is_posted_like_meta(sim, graph_client, webhook_recorder):
    sim.post("/_sim/templates", json={"name": "order_confirmation", "language": "en_US",
                                      "status": "PENDING", "body_text": "Thanks"})
    answer = sim.post("/_sim/template-event", json={"name": "order_confirmation", "language": "en_US",
                                                    "event": "APPROVED"}).json()
    assert answer["webhook_status"] == 200
    received = webhook_recorder.wait_for(lambda got: got)
    assert received[0].signature_valid
    assert shape(received[0].body) == shape(load_fixture("template_status_update_approved.json"))
    assert graph_client.send_template(CUSTOMER, "order_confirmation", "en_US").wamid


def test_download_url_expires_after_five_minutes(sim, graph_client):
    from wasb.whatsapp.errors import GraphError

    info = graph_client.get_media(graph_client.upload_media(b"data", "text/plain", "a.txt"))
    sim.post("/_sim/clock", json={"advance_seconds": 301})
    with pytest.raises(GraphError) as caught:
        graph_client.download_media(info.url)
    assert caught.value.http_status == 404
    assert graph_client.download_media(graph_client.get_media(info.id).url) == b"data"


def test_unknown_phone_number_id_is_error_100(sim, simulator_url, sim_settings):
    from wasb.whatsapp.client import GraphClient
    from wasb.whatsapp.errors import PermanentError

    client = GraphClient(simulator_url, "v24.0", sim_settings["access_token"], "999")
    with pytest.raises(PermanentError) as caught:
        client.send_text(CUSTOMER, "hi")
    assert caught.value.code == 100 and caught.value.error_subcode == 33


def test_reset_forgets_everything(sim, graph_client):
    sim.post("/_sim/templates", json={"name": "t", "language": "en", "body_text": "x"})
    graph_client.send_template(CUSTOMER, "t", "en")
    sim.post("/_sim/reset")
    assert sim.get("/_sim/sent").json() == []
    assert sim.get("/_sim/templates").json() == []


def test_statuses_are_batched_into_one_post_when_asked(sim, graph_client, webhook_recorder):
    sim.post("/_sim/config", json={"batch_window": 0.5}).raise_for_status()
    sim.post("/_sim/templates", json={"name": "t", "language": "en", "body_text": "x"})
    wamids = [graph_client.send_template(f"39333000000{n}", "t", "en").wamid for n in range(3)]
    webhook_recorder.wait_for(lambda _: len(webhook_recorder.statuses()) >= 9)
    assert sorted(s["id"] for s in webhook_recorder.statuses()) == sorted(wamids * 3)
    sizes = [len(w.body["entry"][0]["changes"][0]["value"]["statuses"]) for w in webhook_recorder.received]
    assert max(sizes) > 1
    assert all(w.signature_valid for w in webhook_recorder.received)


def test_unreachable_service_gets_the_webhook_once_it_is_back(sim, webhook_recorder):
    sim.post("/_sim/config", json={"webhook_url": "http://127.0.0.1:9/webhooks/whatsapp",
                                   "retry_delays": [0.1] * 50}).raise_for_status()
    answer = sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Mario", "text": "anyone?"}).json()
    assert answer["webhook_status"] is None
    sim.post("/_sim/config", json={"webhook_url": webhook_recorder.url}).raise_for_status()
    received = webhook_recorder.wait_for(lambda got: [w for w in got if answer["wamid"] in w.raw.decode()])
    assert received[0].signature_valid
    attempts = [e["attempt"] for e in sim.get("/_sim/webhooks").json() if answer["wamid"] in json.dumps(e["body"])]
    assert attempts[0] == 1 and attempts[-1] > 1


def test_inbound_audio_says_whether_it_is_a_voice_note(sim, webhook_recorder):
    """Meta's audio webhook carries `voice`: true for a recorded voice note, false for an audio file."""
    media = {"content_base64": base64.b64encode(b"OggS").decode(), "mime_type": "audio/ogg; codecs=opus"}
    note = inbound(sim, webhook_recorder, **{"from": CUSTOMER, "name": "Sheena", "type": "audio", "media": media,
                                             "voice": True})
    song = inbound(sim, webhook_recorder, **{"from": CUSTOMER, "name": "Sheena", "type": "audio", "media": media})
    for body, voice in ((note, True), (song, False)):
        audio = body["entry"][0]["changes"][0]["value"]["messages"][0]["audio"]
        assert set(audio) == {"mime_type", "sha256", "id", "url", "voice"}
        assert audio["voice"] is voice


def test_a_button_reply_always_names_the_template_it_answers(sim, graph_client, webhook_recorder):
    sim.post("/_sim/templates", json={"name": "confirm", "language": "en_US", "body_text": "Come?",
                                      "buttons": ["Yes", "No"]}).raise_for_status()
    inbound(sim, webhook_recorder, **{"from": CUSTOMER, "name": "Test Name", "text": "hi"})
    template_wamid = graph_client.send_template(CUSTOMER, "confirm", "en_US").wamid
    graph_client.send_text(CUSTOMER, "a later free-form message")  # not what a button answers
    body = inbound(sim, webhook_recorder, **{"from": CUSTOMER, "name": "Test Name", "type": "button",
                                             "text": "Yes"})  # the tap, without naming the template
    value = body["entry"][0]["changes"][0]["value"]
    assert value["messages"][0]["context"] == {"from": value["metadata"]["display_phone_number"],
                                               "id": template_wamid}


def test_a_button_reply_to_no_template_is_refused(sim):
    answer = sim.post("/_sim/inbound", json={"from": "393339999999", "name": "New", "type": "button", "text": "Yes"})
    assert answer.status_code == 400 and "template" in answer.text


def test_contacts_are_sent_as_an_array_like_meta_takes_them(sim, simulator_url, sim_settings):
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Mario", "text": "your colleague's number?"})
    url = f"{simulator_url}/v24.0/{sim_settings['phone_number_id']}/messages"
    headers = {"Authorization": f"Bearer {sim_settings['access_token']}"}
    card = {"name": {"formatted_name": "John Smith", "first_name": "John"},
            "phones": [{"phone": "+1 (650) 555-1234", "type": "WORK", "wa_id": "16505551234"}]}
    sent = httpx.post(url, headers=headers, json={"messaging_product": "whatsapp", "to": CUSTOMER,
                                                  "type": "contacts", "contacts": [card]})
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]
    (recorded,) = [m for m in sim.get("/_sim/sent").json() if m["wamid"] == wamid]
    assert recorded["type"] == "contacts" and "John Smith" in recorded["text"]
    for wrong in (card, [], ["John"], [{"phones": []}]):  # an object, empty, not cards, no name
        refused = httpx.post(url, headers=headers, json={"messaging_product": "whatsapp", "to": CUSTOMER,
                                                         "type": "contacts", "contacts": wrong})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == 100, refused.text
