"""Documents of the embedded CRM: uploaded through the API, only what WhatsApp can send."""
from __future__ import annotations

import httpx

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(wired, name: str, content: bytes, mime: str, token: str | None = None) -> httpx.Response:
    return wired.api("POST", "/api/v1/documents", token=token, files={"file": (name, content, mime)})


def test_uploaded_pdf_becomes_a_crm_document(wired):
    created = upload(wired, "Preventivo 2026.pdf", PDF, "application/pdf", token=wired.agent_token)
    assert created.status_code == 201, created.text
    document = created.json()
    assert document["filename"] == "Preventivo 2026.pdf" and document["mime_type"] == "application/pdf"
    assert document["size"] == len(PDF)
    assert wired.get(f"/api/v1/documents/{document['id']}") == document
    content = wired.api("GET", document["content_url"])
    assert content.content == PDF and content.headers["content-type"] == "application/pdf"


def test_type_comes_from_the_extension_when_the_client_does_not_say(wired):
    created = upload(wired, "notes.txt", b"call back on monday", "application/octet-stream")
    assert created.status_code == 201 and created.json()["mime_type"] == "text/plain"


def test_a_path_in_the_uploaded_name_is_dropped(wired):
    created = upload(wired, "../../etc/passwd.pdf", PDF, "application/pdf")
    assert created.status_code == 201 and created.json()["filename"] == "passwd.pdf"


def test_a_type_whatsapp_cannot_send_is_refused_with_the_list_of_accepted_ones(wired):
    refused = upload(wired, "page.html", b"<html></html>", "text/html")
    assert refused.status_code == 422
    assert "text/html" in refused.json()["detail"] and "application/pdf" in refused.json()["detail"]


def test_an_image_over_whatsapps_5_mb_is_refused(wired):
    refused = upload(wired, "big.png", b"\x89PNG" + b"\0" * (5 * 1024 * 1024), "image/png")
    assert refused.status_code == 422 and "5 MB" in refused.json()["detail"]


def test_an_empty_file_is_refused(wired):
    assert upload(wired, "empty.pdf", b"", "application/pdf").status_code == 422


def test_documents_need_a_token(wired):
    assert httpx.post(wired.url + "/api/v1/documents", files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 401
    assert httpx.get(wired.url + "/api/v1/documents/1").status_code == 401


def test_unknown_document_is_404(wired):
    assert wired.api("GET", "/api/v1/documents/999").status_code == 404
    assert wired.api("GET", "/api/v1/documents/not-a-number").status_code == 404
