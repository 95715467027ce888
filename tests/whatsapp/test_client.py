"""The Graph API client against the running simulator: every call, every error class."""
from __future__ import annotations

import base64
import hashlib
import threading

import httpx
import pytest

from tests.support.harness import serving
from wasb.whatsapp import messages
from wasb.whatsapp.client import GraphClient
from wasb.whatsapp.errors import (
    AuthError,
    PermanentError,
    RetryableError,
    WindowClosedError,
    human_message,
)
from wasb.whatsapp.media import sha256_matches

CUSTOMER = "393331234567"


def customer_writes(sim: httpx.Client, wa_id: str = CUSTOMER, text: str = "Hello", **extra) -> str:
    answer = sim.post("/_sim/inbound", json={"from": wa_id, "name": "Mario Rossi", "text": text, **extra})
    answer.raise_for_status()
    return answer.json()["wamid"]


def add_template(sim: httpx.Client, **spec) -> dict:
    spec = {"name": "order_update", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
            "body_text": "Hi {{1}}, your order {{2}} has shipped.", **spec}
    answer = sim.post("/_sim/templates", json=spec)
    answer.raise_for_status()
    return answer.json()


def test_text_inside_the_window_returns_wamid_and_wa_id(sim, graph_client):
    customer_writes(sim)
    result = graph_client.send_text("+" + CUSTOMER, "We are on it", preview_url=True)
    assert result.wamid.startswith("wamid.")
    assert result.wa_id == CUSTOMER
    assert result.input == "+" + CUSTOMER
    sent = sim.get("/_sim/sent").json()
    assert [(s["wamid"], s["type"], s["text"], s["wa_id"]) for s in sent] == [
        (result.wamid, "text", "We are on it", CUSTOMER)]
    assert sent[0]["request"]["text"] == {"preview_url": True, "body": "We are on it"}


def test_reply_context_is_sent_as_context_message_id(sim, graph_client):
    inbound_wamid = customer_writes(sim)
    graph_client.send_text(CUSTOMER, "Answering that", reply_to=inbound_wamid)
    assert sim.get("/_sim/sent").json()[0]["context"] == inbound_wamid


def test_text_to_a_bsuid_user_goes_in_to(sim, graph_client):
    sim.post("/_sim/inbound", json={"user_id": "US.13491208655302741918", "name": "nick", "text": "hi"})
    result = graph_client.send_text(None, "Hello nick", user_id="US.13491208655302741918")
    assert result.user_id == "US.13491208655302741918"
    assert result.wa_id is None
    assert sim.get("/_sim/sent").json()[0]["request"]["to"] == "US.13491208655302741918"


def test_wrong_token_is_auth_error_190(sim, simulator_url, sim_settings):
    client = GraphClient(simulator_url, "v24.0", "not-the-token", sim_settings["phone_number_id"])
    with pytest.raises(AuthError) as caught:
        client.send_text(CUSTOMER, "hi")
    assert caught.value.code == 190
    assert caught.value.http_status == 401
    assert caught.value.fbtrace_id
    assert "not-the-token" not in str(caught.value) + repr(caught.value)
    assert "access token" in human_message(caught.value)


def test_free_form_after_24_hours_is_window_closed_131047(sim, graph_client):
    customer_writes(sim)
    graph_client.send_text(CUSTOMER, "inside the window")
    sim.post("/_sim/clock", json={"advance_seconds": 24 * 3600 + 1}).raise_for_status()
    with pytest.raises(WindowClosedError) as caught:
        graph_client.send_text(CUSTOMER, "too late")
    assert caught.value.code == 131047
    assert "24 hours" in caught.value.details
    assert human_message(caught.value).startswith("More than 24 hours have passed")


def test_free_form_to_a_customer_who_never_wrote_is_window_closed(sim, graph_client):
    with pytest.raises(WindowClosedError):
        graph_client.send_media("393330000000", "image", link="http://127.0.0.1:1/x.jpg")


def test_template_is_accepted_outside_the_window(sim, graph_client):
    add_template(sim)
    result = graph_client.send_template(CUSTOMER, "order_update", "en_US", body=["Mario", "A-17"])
    assert result.message_status == "accepted"
    sent = sim.get("/_sim/sent").json()[0]
    assert sent["template"]["name"] == "order_update"
    assert sent["template"]["rendered"] == "Hi Mario, your order A-17 has shipped."


def test_named_template_parameters_carry_parameter_name(sim, graph_client):
    add_template(sim, name="welcome", body_text="Welcome {{first_name}}!", header_text="Hi {{first_name}}")
    graph_client.send_template(CUSTOMER, "welcome", "en_US", header={"first_name": "Ada"},
                               body={"first_name": "Ada"})
    sent = sim.get("/_sim/sent").json()[0]
    assert sent["template"]["rendered"] == "Welcome Ada!"
    assert sent["template"]["parameters"]["body"] == [
        {"type": "text", "parameter_name": "first_name", "text": "Ada"}]


def test_quick_reply_payload_reaches_the_simulator(sim, graph_client):
    add_template(sim, name="confirm", body_text="Confirm {{1}}?",
                 buttons=[{"type": "QUICK_REPLY", "text": "Yes"}, {"type": "QUICK_REPLY", "text": "No"}])
    graph_client.send_template(CUSTOMER, "confirm", "en_US", body=["the visit"],
                               buttons=[messages.quick_reply_button(0, "confirm-yes")])
    buttons = sim.get("/_sim/sent").json()[0]["template"]["buttons"]
    assert buttons == [{"text": "Yes", "payload": "confirm-yes"}, {"text": "No", "payload": "No"}]


def test_missing_template_language_is_permanent_132001(sim, graph_client):
    add_template(sim)
    with pytest.raises(PermanentError) as caught:
        graph_client.send_template(CUSTOMER, "order_update", "it", body=["Mario", "A-17"])
    assert caught.value.code == 132001


def test_unapproved_template_is_132001(sim, graph_client):
    add_template(sim, status="PENDING")
    with pytest.raises(PermanentError) as caught:
        graph_client.send_template(CUSTOMER, "order_update", "en_US", body=["Mario", "A-17"])
    assert caught.value.code == 132001


def test_wrong_parameter_count_is_132000(sim, graph_client):
    add_template(sim)
    with pytest.raises(PermanentError) as caught:
        graph_client.send_template(CUSTOMER, "order_update", "en_US", body=["Mario"])
    assert caught.value.code == 132000
    assert "(1)" in caught.value.details and "(2)" in caught.value.details


def test_burst_above_the_number_limit_is_retryable_130429(sim, graph_client):
    sim.post("/_sim/limits", json={"messages_per_second": 3}).raise_for_status()
    add_template(sim, body_text="Ping")
    outcomes = []
    for n in range(8):
        try:
            graph_client.send_template(f"39333000000{n}", "order_update", "en_US")
            outcomes.append("ok")
        except RetryableError as error:
            outcomes.append(error.code)
    # Eight sends cannot all fit in one second's budget of three, whatever the timing.
    assert outcomes.count("ok") >= 3
    assert 130429 in outcomes
    assert set(outcomes) <= {"ok", 130429}


def test_burst_to_one_recipient_is_retryable_131056(sim, graph_client):
    sim.post("/_sim/limits", json={"pair_burst": 2, "pair_window_seconds": 3600}).raise_for_status()
    customer_writes(sim)
    graph_client.send_text(CUSTOMER, "one")
    graph_client.send_text(CUSTOMER, "two")
    with pytest.raises(RetryableError) as caught:
        graph_client.send_text(CUSTOMER, "three")
    assert caught.value.code == 131056
    # Another recipient is not affected by this pair's limit.
    customer_writes(sim, "393339999999")
    assert graph_client.send_text("393339999999", "other").wamid


def test_unreachable_media_link_is_permanent_131053(sim, graph_client):
    customer_writes(sim)
    with pytest.raises(PermanentError) as caught:
        graph_client.send_media(CUSTOMER, "document", link="http://127.0.0.1:9/nothing.pdf")
    assert caught.value.code == 131053


def test_reachable_media_link_is_fetched_and_accepted(sim, graph_client):
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    pdf = b"%PDF-1.4 tiny"
    fetched = threading.Event()

    async def serve_pdf(request):
        fetched.set()
        return Response(pdf, media_type="application/pdf")

    customer_writes(sim)
    with serving(Starlette(routes=[Route("/doc.pdf", serve_pdf)])) as url:
        result = graph_client.send_media(CUSTOMER, "document", link=f"{url}/doc.pdf",
                                         caption="Your invoice", filename="invoice.pdf")
    assert fetched.is_set()
    sent = sim.get("/_sim/sent").json()[0]
    assert (sent["wamid"], sent["caption"], sent["filename"]) == (result.wamid, "Your invoice", "invoice.pdf")


def test_malformed_request_is_permanent_100(sim, graph_client):
    with pytest.raises(PermanentError) as caught:
        graph_client.send({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text"})
    assert caught.value.code == 100
    assert caught.value.http_status == 400


def test_media_upload_get_and_download_roundtrip(sim, graph_client):
    content = bytes(range(256)) * 40
    media_id = graph_client.upload_media(content, "image/png", "chart.png")
    info = graph_client.get_media(media_id)
    assert info.id == media_id
    assert info.mime_type == "image/png"
    assert info.file_size == len(content)
    assert info.sha256 == hashlib.sha256(content).hexdigest()
    downloaded = graph_client.download_media(info.url)
    assert downloaded == content
    assert sha256_matches(downloaded, info.sha256)


def test_uploaded_media_can_be_sent_by_id(sim, graph_client):
    customer_writes(sim)
    media_id = graph_client.upload_media(b"GIF89a....", "image/gif", "a.gif")
    graph_client.send_media(CUSTOMER, "image", media_id=media_id, caption="look")
    assert sim.get("/_sim/sent").json()[0]["media_id"] == media_id


def test_unknown_media_id_is_permanent_100(sim, graph_client):
    with pytest.raises(PermanentError) as caught:
        graph_client.get_media("123456789")
    assert caught.value.code == 100


def test_download_needs_the_bearer_token(sim, graph_client):
    info = graph_client.get_media(graph_client.upload_media(b"secret", "text/plain", "s.txt"))
    assert httpx.get(info.url).status_code == 401


def test_customer_media_from_a_webhook_downloads_with_matching_base64_sha256(sim, graph_client, webhook_recorder):
    content = b"\xff\xd8\xff\xe0 a photo"
    answer = sim.post("/_sim/inbound", json={
        "from": CUSTOMER, "name": "Mario", "type": "image", "caption": "my photo",
        "media": {"content_base64": base64.b64encode(content).decode(), "mime_type": "image/jpeg"}}).json()
    image = answer["webhook"]["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    assert image["sha256"] == base64.b64encode(hashlib.sha256(content).digest()).decode()
    info = graph_client.get_media(image["id"])
    data = graph_client.download_media(info.url)
    assert data == content
    assert sha256_matches(data, image["sha256"])


def test_templates_are_listed_across_pages_with_both_languages(sim, graph_client):
    for n in range(5):
        add_template(sim, name=f"tpl_{n}", body_text=f"Template {n}")
    add_template(sim, name="tpl_2", language="it", body_text="Modello 2")
    first_page = httpx.get(f"{graph_client.api_url}/{graph_client.waba_id}/message_templates",
                           params={"limit": 2}, headers={"Authorization": "Bearer sim-test-token"}).json()
    assert "next" in first_page["paging"] and len(first_page["data"]) == 2
    templates = graph_client.list_templates(limit=2)
    assert len(templates) == 6
    assert sorted((t["name"], t["language"]) for t in templates if t["name"] == "tpl_2") == [
        ("tpl_2", "en_US"), ("tpl_2", "it")]
    assert len({t["id"] for t in templates}) == 6


def test_reaction_is_sent_to_a_customer_message(sim, graph_client):
    wamid = customer_writes(sim)
    graph_client.send_reaction(CUSTOMER, wamid, "👍")
    sent = sim.get("/_sim/sent").json()[0]
    assert (sent["type"], sent["context"], sent["emoji"]) == ("reaction", wamid, "👍")


def test_network_failure_is_retryable_without_a_code():
    client = GraphClient("http://127.0.0.1:9", "v24.0", "token", "1")
    with pytest.raises(RetryableError) as caught:
        client.send_text(CUSTOMER, "hi")
    assert caught.value.code is None
    assert "token" not in str(caught.value)
