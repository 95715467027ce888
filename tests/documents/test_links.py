"""Temporary public document links: WhatsApp fetches the copy once, without login;
after that, or after the TTL, the link is gone, and no URL reaches anything else."""
from __future__ import annotations

import http.client
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, text, update

from tests.support.wired import wired_service
from tests.support.queue_rows import engine_of, queued_jobs
from wasb.documents.tables import DocumentLinkRecord
from wasb.store.base import utcnow

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_document(wired, name: str = "Offerta n. 12.pdf", content: bytes = PDF, mime: str = "application/pdf") -> dict:
    created = wired.api("POST", "/api/v1/documents", files={"file": (name, content, mime)})
    assert created.status_code == 201, created.text
    return created.json()


def make_link(wired, document_id: str) -> dict:
    created = wired.api("POST", f"/api/v1/documents/{document_id}/links", token=wired.agent_token)
    assert created.status_code == 201, created.text
    return created.json()


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    """A request with the path exactly as written (httpx would clean up `..`)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def link_files(wired) -> list:
    root = wired.app.config.media_dir / "links"
    return sorted(root.iterdir()) if root.exists() else []


def test_link_is_served_once_without_login_then_gone(wired):
    document = make_document(wired)
    link = make_link(wired, document["id"])
    assert link["url"] == f"{wired.url}/public/media/{link['token']}/Offerta_n._12.pdf"
    assert len(link["token"]) >= 43  # 32 random bytes
    assert len(link_files(wired)) == 1

    first = httpx.get(link["url"])  # Meta's fetcher: no Authorization header
    assert first.status_code == 200 and first.content == PDF
    assert first.headers["content-type"] == "application/pdf"
    assert first.headers["cache-control"] == "no-store"

    assert httpx.get(link["url"]).status_code == 404

    def deleted():
        with wired.app.db.read_sessions() as s:
            return s.scalars(select(DocumentLinkRecord).where(DocumentLinkRecord.deleted_at.is_not(None))).first()

    record = wired.wait_until(deleted, what="the copy deleted")
    assert record.fetched_at is not None and link_files(wired) == []


def test_simulated_whatsapp_fetches_the_link_like_meta(wired):
    """The simulator, like Meta's fetcher, downloads a link given in a send."""
    link = make_link(wired, make_document(wired)["id"])
    wired.sim.post("/_sim/inbound", json={"from": "393331234567", "name": "G", "text": "send it"})
    sent = wired.sim.post(f"/v24.0/{wired.app.config.phone_number_id}/messages",
                          headers={"Authorization": f"Bearer {wired.app.config.access_token.get_secret_value()}"},
                          json={"messaging_product": "whatsapp", "to": "393331234567", "type": "document",
                                "document": {"link": link["url"], "filename": link["filename"]}})
    assert sent.status_code == 200, sent.text
    assert httpx.get(link["url"]).status_code == 404  # WhatsApp had it: it is gone


def test_head_does_not_use_the_link_up(wired):
    link = make_link(wired, make_document(wired)["id"])
    head = httpx.head(link["url"])
    assert head.status_code == 200 and head.headers["content-length"] == str(len(PDF))
    assert httpx.get(link["url"]).content == PDF


def test_link_base_url_is_the_configured_public_address(database_url, tmp_path):
    with wired_service(database_url, tmp_path, public_url="https://wasb.example.com/") as wired:
        link = make_link(wired, make_document(wired)["id"])
    assert link["url"].startswith("https://wasb.example.com/public/media/")


def test_link_not_fetched_within_its_ttl_is_refused_and_removed(wired):
    link = make_link(wired, make_document(wired)["id"])
    with wired.app.db.sessions() as s, s.begin():  # time travel: the TTL has passed
        s.execute(update(DocumentLinkRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert httpx.get(link["url"]).status_code == 404
    assert link_files(wired) == []


def test_cleanup_job_removes_an_expired_link_nobody_asked_for(wired):
    link = make_link(wired, make_document(wired)["id"])
    with wired.app.db.read_sessions() as s:
        (job,) = queued_jobs(s, engine_of(wired.app), task="document_link.remove")
    assert abs((job.scheduled_at - utcnow()).total_seconds() - 600) < 60  # due after the 10-minute TTL
    with wired.app.db.sessions() as s, s.begin():
        s.execute(update(DocumentLinkRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    wired.time_passes()

    def deleted():
        with wired.app.db.read_sessions() as s:
            return s.scalars(select(DocumentLinkRecord)).one().deleted_at

    wired.wait_until(deleted, what="cleanup")
    assert link_files(wired) == []
    assert httpx.get(link["url"]).status_code == 404


def test_ttl_follows_the_admin_setting(wired):
    assert wired.api("PUT", "/api/v1/settings", json={"document_link_ttl_minutes": 2}).status_code == 200
    link = make_link(wired, make_document(wired)["id"])
    with wired.app.db.read_sessions() as s:
        record = s.scalars(select(DocumentLinkRecord)).one()
    assert record.expires_at - record.created_at == timedelta(minutes=2)
    assert link["expires_at"]


def test_the_token_is_not_kept_in_the_database(wired):
    link = make_link(wired, make_document(wired)["id"])
    with wired.app.db.read_sessions() as s:
        rows = s.execute(text("SELECT * FROM document_link")).all()
    assert rows and all(link["token"] not in str(value) for row in rows for value in row)


def test_unknown_token_and_unknown_document_are_404(wired):
    assert httpx.get(f"{wired.url}/public/media/{'A' * 43}/x.pdf").status_code == 404
    assert httpx.get(f"{wired.url}/public/media/short/x.pdf").status_code == 404
    assert wired.api("POST", "/api/v1/documents/999/links").status_code == 404


def test_no_url_escapes_the_store_or_uses_the_link_up(wired, tmp_path):
    secret = tmp_path / "secret.txt"  # beside the media directory, never to be served
    secret.write_text("TOP SECRET")
    link = make_link(wired, make_document(wired)["id"])
    token, filename = link["token"], link["filename"]
    attempts = [
        "/public/media/../../etc/passwd",
        "/public/media/%2e%2e/%2e%2e/etc/passwd",
        "/public/media/..%2f..%2fetc/passwd",
        f"/public/media/{token}/..%2f..%2fsecret.txt",
        f"/public/media/{token}/../secret.txt",
        f"/public/media/{token}/%2e%2e%2fsecret.txt",
        f"/public/media/{token}/other-name.pdf",
        f"/public/media/{token[:20]}/{token[20:]}/{filename}",  # a token with a slash
        f"/public/media/{token}%2f..%2f/{filename}",
        f"/public/media/..%2f{token}/{filename}",
        f"/public/media/{token}/{filename}/..",
        f"/public/media/{token}/",
        "/public/media/links/" + filename,
        "/public/media/%00/" + filename,
    ]
    for path in attempts:
        status, body = raw_get(wired.url, path)
        assert status == 404, path
        assert b"TOP SECRET" not in body and b"root:" not in body and PDF not in body, path
    # None of that used the link up: WhatsApp still gets it.
    assert httpx.get(link["url"]).content == PDF


def test_a_forged_host_header_does_not_move_the_link(database_url, tmp_path):
    with wired_service(database_url, tmp_path, public_url="https://wasb.example.com") as wired:
        document = make_document(wired)
        created = wired.api("POST", f"/api/v1/documents/{document['id']}/links", token=wired.agent_token,
                            headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
        assert created.status_code == 201, created.text
    assert created.json()["url"].startswith("https://wasb.example.com/public/media/")
    assert "evil.example" not in created.text


def test_without_a_public_url_no_link_is_made_and_the_error_says_why(database_url, tmp_path):
    with wired_service(database_url, tmp_path, public_url="") as wired:
        document = make_document(wired)
        refused = wired.api("POST", f"/api/v1/documents/{document['id']}/links", token=wired.agent_token,
                            headers={"Host": "evil.example"})
        assert refused.status_code == 503
        assert "WASB_PUBLIC_URL" in refused.json()["detail"] and "evil.example" not in refused.text
        assert link_files(wired) == []
