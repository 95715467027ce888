"""The customer phone page: served without a build step, and it really talks to the service."""
from __future__ import annotations

import contextlib
import shutil

import pytest


@contextlib.contextmanager
def phone_browser():
    """A Chromium page (the caller opens the phone page on it), closed afterwards."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        try:
            yield browser.new_page()
        finally:
            browser.close()


def received_messages(webhook_recorder) -> list[dict]:
    """Every message the recorded webhooks carried, in the order they came."""
    return [m for w in webhook_recorder.received for m in w.body["entry"][0]["changes"][0]["value"].get("messages", [])]


def test_phone_page_and_its_assets_are_served(sim):
    page = sim.get("/phone")
    assert page.status_code == 200
    assert "/phone/static/phone.js" in page.text and "+15550783881" in page.text
    assert sim.get("/phone/static/phone.js").status_code == 200
    assert sim.get("/phone/static/phone.css").headers["content-type"].startswith("text/css")


def test_phone_state_shows_the_thread_and_the_window(sim, graph_client):
    sim.post("/_sim/inbound", json={"from": "393331234567", "name": "Mario", "text": "hi"})
    graph_client.send_text("393331234567", "hello")
    state = sim.get("/phone/api/state", params={"customer": "393331234567"}).json()
    assert [(m["direction"], m["text"]) for m in state["thread"]] == [("in", "hi"), ("out", "hello")]
    assert state["window_open"] is True
    assert state["customers"][0]["name"] == "Mario"


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_typing_on_the_phone_posts_a_signed_inbound_webhook(sim, simulator_url, webhook_recorder):
    sim.post("/_sim/customers", json={"wa_id": "393331234567", "name": "Mario Rossi"})
    with phone_browser() as page:
        page.goto(f"{simulator_url}/phone#customer=393331234567")
        page.fill("#text", "Typed on the phone")
        page.click("#send")
        page.wait_for_selector("text=Typed on the phone")
    received = webhook_recorder.wait_for(
        lambda got: [w for w in got if "Typed on the phone" in w.raw.decode()])
    message = received[0].body["entry"][0]["changes"][0]["value"]["messages"][0]
    assert received[0].signature_valid
    assert (message["from"], message["type"], message["text"]["body"]) == ("393331234567", "text", "Typed on the phone")


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_the_phone_page_sends_every_other_kind_of_message(sim, simulator_url, webhook_recorder):
    """The buttons under the composer: each posts Meta's shape of its kind (the prompts
    answered with their suggested values; a number change follows the customer)."""
    sim.post("/_sim/customers", json={"wa_id": "393331234500", "name": "Mario Rossi"})
    kinds = [("location", "location"), ("contacts", "contacts"), ("button_reply", "interactive"),
             ("list_reply", "interactive"), ("nfm_reply", "interactive"), ("sticker", "sticker"),
             ("order", "order"), ("ad", "text"), ("unsupported", "unsupported"), ("system", "system")]

    def messages():
        return received_messages(webhook_recorder)

    with phone_browser() as page:
        page.on("dialog", lambda d: d.accept(d.default_value or "393339990001") if d.type == "prompt"
                else d.accept())
        page.goto(f"{simulator_url}/phone#customer=393331234500")
        for n, (button, kind) in enumerate(kinds, start=1):
            page.click(f"#more [data-kind={button}]:not([disabled])")
            webhook_recorder.wait_for(lambda _: len(messages()) >= n)
            assert messages()[-1]["type"] == kind, (button, messages()[-1])
    sent = messages()
    assert sent[7]["referral"]["headline"] == "Winter sale"
    assert sent[4]["interactive"]["type"] == "nfm_reply"
    assert sent[-1]["system"] == {"body": "User Mario Rossi changed from 393331234500 to 393339990001",
                                  "wa_id": "393339990001", "type": "user_changed_number"}
    assert sim.get("/phone/api/state", params={"customer": "393339990001"}).json()["customer"]["wa_id"] == "393339990001"


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_the_phone_page_changes_a_username_only_customers_user_id(sim, simulator_url, webhook_recorder):
    """"New user id" sends Meta's user_changed_user_id with a new BSUID of the same country, and
    the page follows the customer, whose key was the old id."""
    sim.post("/_sim/customers", json={"user_id": "IT.1111111111111111111", "name": "Anna Neri"})

    def systems():
        return [m for m in received_messages(webhook_recorder) if m["type"] == "system"]

    with phone_browser() as page:
        page.on("dialog", lambda d: d.accept(d.default_value) if d.type == "prompt" else d.accept())
        page.goto(f"{simulator_url}/phone#customer=IT.1111111111111111111")
        page.click("#more [data-kind=user_id]:not([disabled])")
        webhook_recorder.wait_for(lambda _: systems())
        new_id = systems()[0]["system"]["user_id"]
        page.wait_for_function("id => document.querySelector('#chat-sub').textContent.includes(id)", arg=new_id)
    (system,) = systems()
    assert system["system"]["type"] == "user_changed_user_id"
    assert new_id.startswith("IT.") and new_id != "IT.1111111111111111111"
    assert sim.get("/phone/api/state", params={"customer": new_id}).json()["customer"]["user_id"] == new_id


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_a_file_shared_from_the_phone_goes_as_photo_video_audio_or_document(sim, simulator_url, webhook_recorder,
                                                                           tmp_path):
    sim.post("/_sim/customers", json={"wa_id": "393331234501", "name": "Mario Rossi"})
    files = [("photo.png", "image"), ("clip.mp4", "video"), ("song.mp3", "audio"), ("offer.pdf", "document")]
    for name, _ in files:
        (tmp_path / name).write_bytes(b"content of " + name.encode())

    with phone_browser() as page:
        page.goto(f"{simulator_url}/phone#customer=393331234501")
        page.wait_for_selector("#chat-name:has-text('Mario Rossi')")
        for n, (name, _) in enumerate(files, start=1):
            page.set_input_files("#file", str(tmp_path / name))
            webhook_recorder.wait_for(lambda _: len(received_messages(webhook_recorder)) >= n)
    sent = received_messages(webhook_recorder)
    assert [m["type"] for m in sent] == [kind for _, kind in files]
    assert sent[2]["audio"]["voice"] is False  # a shared audio file, not a recorded voice note
    assert all(m[m["type"]]["id"] for m in sent)
