"""A customer's photo, document or voice note is downloaded from Meta (the simulator)
on receipt, checked against the webhook's sha256, kept by its hash, and served to
agents; a download that fails is retried on its own, never at the message's expense."""
from __future__ import annotations

import base64
import hashlib
import time
from datetime import timedelta

import httpx
from sqlalchemy import update

from tests.support.server import PHONE_NUMBER_ID, WABA_ID
from tests.support.queue_rows import drop_jobs, engine_of, queued_jobs
from wasb.conversations.tables import Message
from wasb.media.downloads import DOWNLOAD_TASK, retry_pending_media
from wasb.store.base import utcnow

# A real 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def send_media(wired, kind: str, content: bytes, mime: str, filename: str | None = None,
               caption: str | None = None, wa_id: str = "393331234567") -> str:
    spec = {"from": wa_id, "name": "Giulia", "type": kind, "caption": caption,
            "media": {"content_base64": base64.b64encode(content).decode(), "mime_type": mime,
                      "filename": filename}}
    answer = wired.sim.post("/_sim/inbound", json=spec)
    assert answer.status_code == 200, answer.text
    assert answer.json()["webhook_status"] == 200
    return answer.json()["wamid"]


def message_by_wamid(wired, wamid: str) -> dict | None:
    for conversation in wired.get("/api/v1/conversations"):
        for message in wired.get(f"/api/v1/conversations/{conversation['id']}")["messages"]:
            if message["wamid"] == wamid:
                return message
    return None


def media_state(wired, wamid: str, *states: str) -> dict | None:
    message = message_by_wamid(wired, wamid)
    return message if message and message["media"]["state"] in states else None


def stored_files(wired) -> list:
    root = wired.app.config.media_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def webhook_with_media(wamid: str, media_id: str, sha256: str, *, timestamp: int | None = None,
                       caption: str = "the broken part", wa_id: str = "393339876543") -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Marco"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(timestamp or int(time.time())),
                          "type": "image", "image": {"caption": caption, "mime_type": "image/png",
                                                     "sha256": sha256, "id": media_id}}]}}]}]}


def upload_to_simulator(wired, content: bytes, mime: str) -> dict:
    answer = wired.sim.post("/_sim/media", files={"file": ("photo.png", content, mime)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_customer_photo_is_downloaded_stored_by_its_hash_and_served(wired):
    wamid = send_media(wired, "image", PNG, "image/png", caption="my receipt")
    message = wired.wait_until(lambda: media_state(wired, wamid, "stored"), what="stored media")
    digest = hashlib.sha256(PNG).hexdigest()
    stored = wired.app.config.media_dir / digest[:2] / digest
    assert stored.read_bytes() == PNG
    assert message["body"] == "my receipt" and message["type"] == "image"
    assert message["media"]["size"] == len(PNG) and message["media"]["error"] is None
    assert message["media"]["url"] == f"/api/v1/messages/{message['id']}/media"

    served = wired.api("GET", message["media"]["url"], token=wired.agent_token)
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["content-disposition"].startswith("inline;")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(wired.url + message["media"]["url"]).status_code == 401  # no token, no file


def test_customer_document_keeps_its_type_and_a_harmless_name(wired):
    wamid = send_media(wired, "document", PDF, "application/pdf",
                       filename='offer "final"\r\nX-Injected: yes.pdf')
    message = wired.wait_until(lambda: media_state(wired, wamid, "stored"), what="stored document")
    served = wired.api("GET", message["media"]["url"])
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert "x-injected" not in served.headers
    disposition = served.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith('inline; filename="offer_final_X-Injected_yes.pdf"')


def test_a_customers_html_file_is_offered_as_a_download_never_shown_as_a_page(wired):
    page = b"<html><script>alert(document.cookie)</script></html>"
    wamid = send_media(wired, "document", page, "text/html", filename="invoice.html")
    message = wired.wait_until(lambda: media_state(wired, wamid, "stored"), what="stored html")
    served = wired.api("GET", message["media"]["url"])
    assert served.content == page
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"


def test_the_same_file_sent_twice_is_kept_once(wired):
    first = send_media(wired, "image", PNG, "image/png")
    second = send_media(wired, "image", PNG, "image/png", wa_id="393330000001")
    one = wired.wait_until(lambda: media_state(wired, first, "stored"), what="first")
    two = wired.wait_until(lambda: media_state(wired, second, "stored"), what="second")
    assert one["id"] != two["id"]
    assert len(stored_files(wired)) == 1
    assert wired.api("GET", two["media"]["url"]).content == PNG


def test_media_not_stored_yet_is_a_clear_409_and_no_media_is_a_404(wired):
    wamid = wired.sim.post("/_sim/inbound", json={"from": "393331234567", "name": "G", "text": "hi"}).json()["wamid"]
    text = wired.wait_until(lambda: message_by_wamid(wired, wamid), what="text message")
    assert text["media"] is None
    assert wired.api("GET", f"/api/v1/messages/{text['id']}/media").status_code == 404
    assert wired.api("GET", "/api/v1/messages/999999/media").status_code == 404


def test_a_file_that_does_not_match_its_sha256_is_retried_then_failed_and_the_message_stays(wired):
    media = upload_to_simulator(wired, PNG, "image/png")
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    assert wired.post_webhook(webhook_with_media("wamid.MISMATCH", media["id"], wrong)).status_code == 200

    first = wired.wait_until(lambda: media_state(wired, "wamid.MISMATCH", "pending")
                             if (m := message_by_wamid(wired, "wamid.MISMATCH")) and m["media"]["error"] else None,
                             what="first failed attempt")
    assert "do not match the sha256" in first["media"]["error"]
    assert stored_files(wired) == []
    for _ in range(5):
        if media_state(wired, "wamid.MISMATCH", "failed"):
            break
        wired.time_passes()  # the retry's backoff has elapsed
        time.sleep(0.3)
    failed = wired.wait_until(lambda: media_state(wired, "wamid.MISMATCH", "failed"), what="failed media")
    assert failed["media"]["error"].startswith("gave up after 3 attempts")
    assert failed["media"]["url"] is None
    assert stored_files(wired) == []
    assert wired.api("GET", f"/api/v1/messages/{failed['id']}/media").status_code == 409
    # The message itself went through untouched: stored once, on a ticket, with its caption.
    assert failed["body"] == "the broken part" and failed["status"] == "received"
    (conversation,) = wired.get("/api/v1/conversations")
    assert conversation["ticket_id"]
    ticket = wired.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    assert "the broken part" in ticket["description"]


def test_media_older_than_seven_days_is_expired_not_retried(wired):
    eight_days_ago = int(time.time()) - 8 * 24 * 3600
    body = webhook_with_media("wamid.OLD", "1234567890123456", "AAAA", timestamp=eight_days_ago)
    assert wired.post_webhook(body).status_code == 200
    expired = wired.wait_until(lambda: media_state(wired, "wamid.OLD", "expired"), what="expired media")
    assert "7 days" in expired["media"]["error"]
    with wired.app.db.read_sessions() as s:
        assert queued_jobs(s, engine_of(wired.app), task=DOWNLOAD_TASK) == []


def test_failing_download_retries_on_its_own_schedule_until_meta_forgets_it(database_url, tmp_path):
    from tests.support.wired import wired_service

    # The service's token is wrong: every download is refused (190), a failure that
    # waiting (an admin fixing the token) can cure, so it is retried, not given up.
    with wired_service(database_url, tmp_path, access_token="not-the-token") as wired:
        wamid = send_media(wired, "image", PNG, "image/png", caption="photo")
        pending = wired.wait_until(lambda: (m := message_by_wamid(wired, wamid)) and m["media"]["error"] and m,
                                   what="first failure")
        assert pending["media"]["state"] == "pending" and "190" in pending["media"]["error"]
        with wired.app.db.read_sessions() as s:
            (job,) = queued_jobs(s, engine_of(wired.app), task=DOWNLOAD_TASK)
        # Its own lock (not the customer's) and a backoff of its own, far from Meta's 7 days.
        assert job.lock == f"media:{pending['id']}"
        wait = (job.scheduled_at - utcnow()).total_seconds()
        assert 5 < wait <= 3600

        # Meanwhile the customer's next message goes through at once.
        text = wired.sim.post("/_sim/inbound", json={"from": "393331234567", "name": "Giulia",
                                                     "text": "did you get it?"}).json()["wamid"]
        assert wired.wait_until(lambda: message_by_wamid(wired, text), what="next message")["body"] == "did you get it?"

        # Time travel: the photo was sent 7 days ago; the next attempt is the last.
        with wired.app.db.sessions() as s, s.begin():
            s.execute(update(Message).where(Message.id == pending["id"])
                      .values(timestamp=utcnow() - timedelta(days=7, minutes=1)))
        wired.time_passes()
        expired = wired.wait_until(lambda: media_state(wired, wamid, "expired"), what="expired")
        assert "no longer has this file" in expired["media"]["error"]


def _first_attempt_over(wired, wamid: str) -> bool:
    message = media_state(wired, wamid, "pending")
    return message is not None and "attempt 1 failed" in (message["media"]["error"] or "")


def test_sync_retries_failed_media_while_meta_keeps_it_and_expires_the_rest(wired):
    media = upload_to_simulator(wired, PNG, "image/png")
    wrong = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    wired.post_webhook(webhook_with_media("wamid.RECENT", media["id"], wrong))
    wired.post_webhook(webhook_with_media("wamid.AGED", media["id"], wrong, wa_id="393330000002"))
    for wamid in ("wamid.RECENT", "wamid.AGED"):
        # The first attempt is over (no download under way that would queue its retry after
        # the jobs are dropped below).
        wired.wait_until(lambda: _first_attempt_over(wired, wamid), what=f"{wamid}'s first attempt over")
    with wired.app.db.sessions() as s, s.begin():  # both downloads gave up; one is a week old
        s.execute(update(Message).where(Message.wamid.in_(["wamid.RECENT", "wamid.AGED"]))
                  .values(media_state="failed"))
        s.execute(update(Message).where(Message.wamid == "wamid.AGED")
                  .values(timestamp=utcnow() - timedelta(days=8)))
        drop_jobs(s, engine_of(wired.app), DOWNLOAD_TASK)

    assert retry_pending_media(wired.app) == {"requeued": 1, "expired": 1}
    assert media_state(wired, "wamid.AGED", "expired")
    with wired.app.db.read_sessions() as s:
        (job,) = queued_jobs(s, engine_of(wired.app), task=DOWNLOAD_TASK)
    assert job.payload["message_id"] == message_by_wamid(wired, "wamid.RECENT")["id"]
