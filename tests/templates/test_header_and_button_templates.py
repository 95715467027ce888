"""Templates with a document or location header and URL or copy-code buttons, sent from the
product through the simulator, which checks each part the way Meta does: the document by
upload or by a temporary link the simulator really fetches, the button parameters by kind."""
from __future__ import annotations

import pytest

from tests.support.polling import wait_until
from tests.support.wired import module_wired
from tests.templates.flows import meta_has_template, send_template, settings, sync, template_id

CUSTOMER = "393331234567"
PDF = b"%PDF-1.4 fattura F-12"


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "header_templates") as wired:
        meta_has_template(wired.sim, "fattura", header_format="DOCUMENT", body_text="Ecco la fattura {{1}}",
                          buttons=[{"type": "URL", "text": "Paga", "url": "https://pay.example.com/i/{{1}}"},
                                   {"type": "COPY_CODE", "example": "SCONTO5"}])
        meta_has_template(wired.sim, "ritiro", header_format="LOCATION", body_text="Il pacco è pronto")
        sync(wired)
        yield wired


def _document(wired) -> str:
    created = wired.api("POST", "/api/v1/documents", files={"file": ("F-12.pdf", PDF, "application/pdf")})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _status(wired, message_id) -> str:
    (conversation,) = wired.get(f"/api/v1/conversations?phone=%2B{CUSTOMER}&status=open")
    (message,) = [m for m in wired.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
                  if m["id"] == message_id]
    return message["status"]


def _templates_at_meta(wired) -> list[dict]:
    return [m for m in wired.sim.get("/_sim/sent", params={"to": CUSTOMER}).json() if m["type"] == "template"]


def _sent_template(wired, before: int) -> dict:
    """The template Meta accepted after the `before` earlier ones (the send is the worker's job)."""
    sent = wait_until(lambda: _templates_at_meta(wired)[before:], what="the template at Meta")
    assert len(sent) == 1, sent
    return sent[0]


@pytest.mark.parametrize("delivery", ["upload", "link"])
def test_a_document_header_goes_out_with_its_buttons(wired, delivery):
    settings(wired, media_delivery=delivery)
    before = len(_templates_at_meta(wired))
    answer = send_template(wired, template_id(wired, "fattura"), to={"phone": "+" + CUSTOMER},
                           header_document_id=_document(wired),
                           params={"1": "F-12", "button.0": "F-12", "button.1": "SCONTO5"})
    assert answer.status_code == 201, answer.text
    sent = _sent_template(wired, before)
    media = sent["template"]["header_media"]
    assert media["type"] == "document" and media["filename"] == "F-12.pdf"
    assert ("link" in media) == (delivery == "link") and ("id" in media) == (delivery == "upload")
    assert wired.sim.get(f"/_sim/media/{sent['media_id']}").content == PDF  # uploaded, or fetched by Meta
    assert sent["template"]["rendered"] == "Ecco la fattura F-12"
    assert [(a["type"], a.get("url") or a.get("code")) for a in sent["template"]["actions"]] == [
        ("URL", "https://pay.example.com/i/F-12"), ("COPY_CODE", "SCONTO5")]
    wait_until(lambda: _status(wired, answer.json()["id"]) in ("delivered", "read"),
               what="the delivered status of the template")


def test_a_document_header_template_without_its_document_is_refused_before_meta(wired):
    before = len(wired.sim.get("/_sim/sent").json())
    answer = send_template(wired, template_id(wired, "fattura"), to={"phone": "+" + CUSTOMER},
                           params={"1": "F-12", "button.0": "F-12", "button.1": "SCONTO5"})
    assert answer.status_code == 422 and "header_document_id" in answer.json()["detail"]
    assert len(wired.sim.get("/_sim/sent").json()) == before


def test_a_location_header_is_filled_from_its_four_parameters(wired):
    template = template_id(wired, "ritiro")
    described = wired.get(f"/api/v1/templates/{template}")["parameters"]
    assert described["header_media"] == "location"
    assert [p["key"] for p in described["parameters"]] == [
        "header.latitude", "header.longitude", "header.name", "header.address"]
    where = {"header.latitude": "45.4642", "header.longitude": "9.19", "header.name": "Negozio Centro",
             "header.address": "Via Roma 1, Milano"}
    refused = send_template(wired, template, to={"phone": "+" + CUSTOMER}, params={**where, "header.latitude": "north"})
    assert refused.status_code == 422 and "header.latitude must be a number" in refused.json()["detail"]
    before = len(_templates_at_meta(wired))
    answer = send_template(wired, template, to={"phone": "+" + CUSTOMER}, params=where)
    assert answer.status_code == 201, answer.text
    sent = _sent_template(wired, before)
    assert sent["template"]["header_media"] == {"type": "location", "latitude": 45.4642, "longitude": 9.19,
                                               "name": "Negozio Centro", "address": "Via Roma 1, Milano"}
