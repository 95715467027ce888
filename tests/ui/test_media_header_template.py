"""An agent sends a template whose header is a document: the picker asks for the file beside
the parameters, and the customer's phone (the simulator) gets the document, the text and the
URL button filled in, as Meta would deliver them."""
from __future__ import annotations

import pytest

from tests.support.polling import wait_until
from tests.ui.conftest import AGENT, add_users, log_in, shot

CUSTOMER = "393331234567"
PDF = b"%PDF-1.4 preventivo P-7"


@pytest.fixture
def wired(database_url, tmp_path):
    from tests.support.wired import wired_process

    with wired_process(database_url, tmp_path) as (srv, sim):
        add_users(srv)
        sim.post("/_sim/templates", json={
            "name": "preventivo", "language": "it", "header_format": "DOCUMENT",
            "body_text": "Ecco il preventivo {{1}}",
            "buttons": [{"type": "URL", "text": "Accetta", "url": "https://shop.example.com/q/{{1}}"}]}
        ).raise_for_status()
        assert srv.api("POST", "/api/v1/templates/sync").status_code == 200
        yield srv, sim


def test_the_picker_takes_the_header_document_and_the_customer_gets_it(wired, page, tmp_path):
    srv, sim = wired
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Giulia Verdi", "text": "Il preventivo?"}
             ).raise_for_status()
    srv.wait_idle()
    (conversation,) = srv.get("/api/v1/conversations?status=open")
    log_in(page, srv.url, AGENT, next_path=f"/ui/people/{conversation['person_id']}")  # "Send a WhatsApp template"
    page.select_option("#template-id", label="preventivo · it · utility")
    fieldset = page.locator("fieldset.tpl-params:not([disabled])")
    assert fieldset.get_by_label("Header (document)").is_visible()
    quote = tmp_path / "Preventivo P-7.pdf"
    quote.write_bytes(PDF)
    fieldset.get_by_label("Header (document)").set_input_files(str(quote))
    fieldset.get_by_label("{{1}}").first.fill("P-7")
    fieldset.get_by_label("Button 1 {{1}}").fill("P-7")
    shot(page, "template-document-header")
    page.locator("#person-template button[type=submit]").click()

    def delivered():
        sent = [m for m in sim.get("/_sim/sent", params={"to": CUSTOMER}).json() if m["type"] == "template"]
        return sent if sent and sent[-1]["status"] in ("delivered", "read") else None

    (sent,) = wait_until(delivered, what="the template on the customer's phone")
    assert sent["template"]["header_media"]["filename"] == "Preventivo P-7.pdf"
    assert sim.get(f"/_sim/media/{sent['media_id']}").content == PDF
    assert sent["template"]["rendered"] == "Ecco il preventivo P-7"
    assert sent["template"]["actions"][0]["url"] == "https://shop.example.com/q/P-7"
