"""A customer's photo, sent through the simulator, shows in the conversation as an image."""
from __future__ import annotations

import base64

import pytest

from tests.support.wired import wired_service
from tests.ui.conftest import ADMIN, add_agent, log_in, shot

# A real 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


@pytest.fixture
def wired(database_url, tmp_path):
    from wasb.auth.service import create_user

    with wired_service(database_url, tmp_path) as w:
        with w.app.db.sessions() as session, session.begin():
            create_user(session, *ADMIN, is_admin=True)
        yield w


def test_a_customers_photo_appears_live_as_a_preview_served_to_the_logged_in_agent(wired, page):
    log_in(page, wired.url)
    page.locator("body[data-live='on']").wait_for(state="attached")
    answer = wired.sim.post("/_sim/inbound", json={
        "from": "393331234567", "name": "Giulia", "type": "image", "caption": "the broken part",
        "media": {"content_base64": base64.b64encode(PNG).decode(), "mime_type": "image/png"}})
    assert answer.status_code == 200, answer.text
    page.locator("#inbox-list .conv", has_text="Giulia").click()
    image = page.locator(".msg-in .media-img img")
    image.wait_for()  # live: shown once the download has stored the file
    assert image.get_attribute("alt") == "the broken part"
    assert page.evaluate("document.querySelector('.msg-in .media-img img').naturalWidth") == 1
    served = page.request.get(wired.url + image.get_attribute("src"))
    assert served.status == 200 and served.body() == PNG
    shot(page, "conversation-media-laptop")


@pytest.mark.parametrize("language, pending", [("en", "downloading…"), ("it", "download in corso…")])
def test_a_document_the_agent_sends_is_shown_as_a_file_the_agent_opens(wired_ui, page, language, pending):
    agent = add_agent(wired_ui.server, language)
    wired_ui.customer_writes("393331234567", "Mi manda il preventivo?", name="Giulia Verdi")
    (conversation,) = wired_ui.server.wait_until(
        lambda: wired_ui.server.get("/api/v1/conversations?phone=%2B393331234567"), what="the conversation")
    log_in(page, wired_ui.url, agent, next_path=f"/ui/conversations/{conversation['id']}")
    pdf = b"%PDF-1.4\n" + b"preventivo " * 200
    page.locator("#attachment").set_input_files(files=[{"name": "preventivo.pdf", "mimeType": "application/pdf",
                                                         "buffer": pdf}])
    page.locator("#composer button[type=submit]").click()
    link = page.locator("#thread .msg-out a.media-file", has_text="preventivo.pdf")
    link.wait_for()
    wired_ui.server.wait_until(lambda: wired_ui.sent_to("393331234567"), what="the document at the phone")
    page.reload()  # after the sender uploaded it to Meta, still the agent's file
    assert page.locator("#thread .msg-out", has_text="preventivo.pdf").locator(".media-pending").count() == 0
    assert pending not in page.locator("#thread").inner_text()
    served = page.request.get(wired_ui.url + link.get_attribute("href"))
    assert served.status == 200 and served.body() == pdf


