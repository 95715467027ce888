"""Templates as Meta has them beyond text and quick replies: media and location headers, URL,
copy-code and call buttons, the `fields` of the template list, and the quality and category
webhooks; each send checked the way Meta checks it (132000 for a missing parameter, 132012
for one of the wrong kind)."""
from __future__ import annotations

import pytest

from tests.conftest import load_fixture
from tests.simulator.test_webhooks import shape

CUSTOMER = "393331234567"


def _post(sim, sim_settings, path, **kwargs):
    return sim.request(kwargs.pop("method", "POST"), f"/{sim_settings['graph_version']}/{path}",
                       headers={"Authorization": f"Bearer {sim_settings['access_token']}"}, **kwargs)


def _send(sim, sim_settings, name, components=None):
    template = {"name": name, "language": {"code": "it"}}
    if components is not None:
        template["components"] = components
    return _post(sim, sim_settings, f"{sim_settings['phone_number_id']}/messages",
                 json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template", "template": template})


def _listed(sim, sim_settings, **params):
    return _post(sim, sim_settings, f"{sim_settings['waba_id']}/message_templates", method="GET", params=params)


def _error(answer):
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    return error["code"], error["error_data"]["details"]


def _sent(sim):
    (message,) = [m for m in sim.get("/_sim/sent").json() if m["type"] == "template"]
    return message["template"]


@pytest.fixture
def invoice_template(sim):
    sim.post("/_sim/templates", json={
        "name": "invoice", "language": "it", "header_format": "DOCUMENT", "body_text": "Ecco la fattura {{1}}",
        "buttons": [{"type": "URL", "text": "Paga", "url": "https://pay.example.com/i/{{1}}"},
                    {"type": "PHONE_NUMBER", "text": "Chiamaci", "phone_number": "+390212345678"}],
    }).raise_for_status()


@pytest.mark.usefixtures("invoice_template")
def test_a_media_header_is_listed_with_its_format_and_sent_by_link(sim, sim_settings, graph_client, simulator_url):
    (listed,) = _listed(sim, sim_settings).json()["data"]
    header, body, buttons = listed["components"]
    assert header["type"] == "HEADER" and header["format"] == "DOCUMENT" and header["example"]["header_handle"]
    assert [b["type"] for b in buttons["buttons"]] == ["URL", "PHONE_NUMBER"]

    media_id = graph_client.upload_media(b"%PDF-1.4 fattura", "application/pdf", "fattura.pdf")
    link = f"{simulator_url}/_sim/media/{media_id}"
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "text": "ciao"}).raise_for_status()
    answer = _send(sim, sim_settings, "invoice", [
        {"type": "header", "parameters": [{"type": "document", "document": {"link": link, "filename": "F-12.pdf"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "F-12"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "F-12"}]},
    ])
    assert answer.status_code == 200, answer.text
    sent = _sent(sim)
    assert sent["header_media"] == {"type": "document", "link": link, "filename": "F-12.pdf"}
    assert sent["rendered"] == "Ecco la fattura F-12"
    assert sent["actions"] == [
        {"type": "URL", "text": "Paga", "index": 0, "url": "https://pay.example.com/i/F-12"},
        {"type": "PHONE_NUMBER", "text": "Chiamaci", "index": 1, "phone_number": "+390212345678"}]
    (message,) = [m for m in sim.get("/_sim/sent").json() if m["type"] == "template"]
    assert sim.get(f"/_sim/media/{message['media_id']}").content == b"%PDF-1.4 fattura"  # fetched like Meta


@pytest.mark.usefixtures("invoice_template")
def test_a_media_header_missing_or_of_another_kind_is_refused_like_meta(sim, sim_settings):
    button = {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "F-1"}]}
    body = {"type": "body", "parameters": [{"type": "text", "text": "F-1"}]}
    assert _error(_send(sim, sim_settings, "invoice", [body, button])) == (
        132000, "header: number of localizable_params (0) does not match the expected number of params (1)")
    image = {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/a.png"}}]}
    assert _error(_send(sim, sim_settings, "invoice", [image, body, button])) == (
        132012, "header: Format mismatch, expected DOCUMENT, received IMAGE")
    no_link = {"type": "header", "parameters": [{"type": "document", "document": {}}]}
    code, details = _error(_send(sim, sim_settings, "invoice", [no_link, body, button]))
    assert code == 100 and "['document']['id'] or" in details
    document = {"type": "header", "parameters": [{"type": "document", "document": {"id": "1234"}}]}
    assert _error(_send(sim, sim_settings, "invoice", [document, body]))[0] == 132000  # the URL button's suffix


def test_a_location_header_needs_its_coordinates(sim, sim_settings):
    sim.post("/_sim/templates", json={"name": "pickup", "language": "it", "header_format": "LOCATION",
                                      "body_text": "Ritiro pronto"}).raise_for_status()
    (listed,) = _listed(sim, sim_settings).json()["data"]
    assert listed["components"][0] == {"type": "HEADER", "format": "LOCATION"}
    where = {"latitude": 45.4642, "longitude": 9.19, "name": "Negozio", "address": "Via Roma 1, Milano"}
    bad = _send(sim, sim_settings, "pickup", [{"type": "header", "parameters": [
        {"type": "location", "location": {"latitude": 45.4642}}]}])
    assert _error(bad)[0] == 100 and "['longitude'] is required" in _error(bad)[1]
    answer = _send(sim, sim_settings, "pickup", [{"type": "header", "parameters": [
        {"type": "location", "location": where}]}])
    assert answer.status_code == 200, answer.text
    assert _sent(sim)["header_media"] == {"type": "location", **where}


def test_copy_code_and_dynamic_url_buttons_take_their_own_parameter_kind(sim, sim_settings):
    sim.post("/_sim/templates", json={"name": "coupon", "language": "it", "category": "MARKETING",
                                      "body_text": "Un regalo per te", "buttons": [
                                          {"type": "COPY_CODE", "example": "SPRING25"},
                                          {"type": "URL", "text": "Negozio", "url": "https://shop.example.com"}]}
             ).raise_for_status()
    code_button = {"type": "button", "sub_type": "copy_code", "index": 0,
                   "parameters": [{"type": "coupon_code", "coupon_code": "SPRING25"}]}
    as_url = {**code_button, "sub_type": "url", "parameters": [{"type": "text", "text": "SPRING25"}]}
    assert _error(_send(sim, sim_settings, "coupon", [as_url])) == (
        132012, "button at index 0: Format mismatch, expected sub_type copy_code, received url")
    static_given = {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "x"}]}
    assert _error(_send(sim, sim_settings, "coupon", [code_button, static_given]))[0] == 132000
    too_long = {**code_button, "parameters": [{"type": "coupon_code", "coupon_code": "X" * 16}]}
    assert _error(_send(sim, sim_settings, "coupon", [too_long]))[0] == 100
    assert _send(sim, sim_settings, "coupon", [code_button]).status_code == 200
    assert _sent(sim)["actions"] == [
        {"type": "COPY_CODE", "text": "Copy offer code", "index": 0, "code": "SPRING25"},
        {"type": "URL", "text": "Negozio", "index": 1, "url": "https://shop.example.com"}]


def test_the_template_list_answers_the_fields_asked_for(sim, sim_settings):
    sim.post("/_sim/templates", json={"name": "promo", "language": "it", "status": "PENDING",
                                      "body_text": "Offerta"}).raise_for_status()
    sim.post("/_sim/template-event", json={"name": "promo", "language": "it", "event": "REJECTED",
                                           "reason": "INVALID_FORMAT"}).raise_for_status()
    (default,) = _listed(sim, sim_settings).json()["data"]
    assert "quality_score" not in default and "rejected_reason" not in default and default["status"] == "REJECTED"
    (asked,) = _listed(sim, sim_settings, fields="name,status,quality_score,rejected_reason").json()["data"]
    assert asked == {"name": "promo", "status": "REJECTED", "quality_score": {"score": "UNKNOWN"},
                     "rejected_reason": "INVALID_FORMAT", "id": default["id"]}
    code, details = _error(_listed(sim, sim_settings, fields="name,colour"))
    assert code == 100 and "nonexisting field (colour)" in details


def test_quality_and_category_changes_are_posted_in_metas_shapes(sim, webhook_recorder):
    sim.post("/_sim/templates", json={"name": "promo", "language": "it", "body_text": "Offerta"}).raise_for_status()
    sim.post("/_sim/template-event", json={"name": "promo", "language": "it", "quality": "green"}).raise_for_status()
    quality = sim.post("/_sim/template-event", json={"name": "promo", "language": "it", "quality": "YELLOW"}).json()
    assert quality["webhook_status"] == 200
    assert shape(quality["webhook"]) == shape(load_fixture("template_quality_update.json"))
    value = quality["webhook"]["entry"][0]["changes"][0]["value"]
    assert (value["previous_quality_score"], value["new_quality_score"]) == ("GREEN", "YELLOW")

    category = sim.post("/_sim/template-event", json={"name": "promo", "language": "it",
                                                      "category": "MARKETING"}).json()
    expected = load_fixture("template_category_update.json")
    expected["entry"][0]["changes"][0]["value"]["previous_category"] = "UTILITY"
    assert shape(category["webhook"]) == shape(expected)
    listed = sim.get("/_sim/templates").json()[0]
    assert listed["category"] == "MARKETING" and listed["quality_score"] == {"score": "YELLOW"}
    assert len(webhook_recorder.wait_for(lambda got: got if len(got) >= 3 else [])) == 3
    bad = sim.post("/_sim/template-event", json={"name": "promo", "language": "it", "quality": "purple"})
    assert bad.status_code == 400
