from __future__ import annotations

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from starlette.responses import Response

from wasb.crm.port import CRMError
from wasb.documents.links import DocumentNotFound, PublicUrlMissing, create_link, public_base_url
from wasb.documents.service import MAX_DOCUMENT_BYTES, DocumentRejected, DocumentsElsewhere, add_document
from wasb.domain.filenames import content_disposition
from wasb.domain.media_types import shown_inline
from wasb.web.api.deps import AppDep, Caller
from wasb.web.api.views import document_view, link_view
from wasb.web.errors import errors, links
from wasb.web.params import CrmId

router = APIRouter(prefix="/api/v1/documents", tags=["documents"], responses=errors(401, 502, 503))

# Multipart framing around the file: boundaries, part headers.
_ENVELOPE = 64 * 1024


_DOCUMENT = {"document_id": "$response.body#/id"}


@router.post("", status_code=201, responses={**errors(400, 409, 413), 201: links(
    GetDocument=("/api/v1/documents/{document_id}", "get", _DOCUMENT),
    GetDocumentContent=("/api/v1/documents/{document_id}/content", "get", _DOCUMENT),
    LinkDocument=("/api/v1/documents/{document_id}/links", "post", _DOCUMENT))})
def upload(request: Request, app: AppDep, who: Caller, file: UploadFile = File(...)):
    """Upload a document to the embedded CRM (multipart field `file`)."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_DOCUMENT_BYTES + _ENVELOPE:
        raise HTTPException(413, f"files up to {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB")
    content = file.file.read(MAX_DOCUMENT_BYTES + 1)
    with app.db.sessions() as session, session.begin():
        try:
            document = add_document(app.crm(session), file.filename, file.content_type, content)
        except DocumentRejected as exc:
            status = 413 if len(content) > MAX_DOCUMENT_BYTES else 422
            raise HTTPException(status, str(exc))
        except DocumentsElsewhere as exc:
            raise HTTPException(409, str(exc))
    return document_view(document)


def _document(app, document_id: str):
    with app.db.read_sessions() as session:
        try:
            document = app.crm(session).get_document(document_id)
        except CRMError as exc:
            raise HTTPException(502, f"the CRM could not give document {document_id}: {exc}")
    if document is None:
        raise HTTPException(404, f"no document {document_id}")
    return document


@router.get("/{document_id}", responses=errors(404))
def get(document_id: CrmId, app: AppDep, who: Caller):
    return document_view(_document(app, document_id))


@router.get("/{document_id}/content", responses=errors(404))
def content(document_id: CrmId, app: AppDep, who: Caller):
    document = _document(app, document_id)
    disposition = "inline" if shown_inline(document.mime_type) else "attachment"
    return Response(document.content, media_type=document.mime_type, headers={
        "Content-Disposition": content_disposition(disposition, document.filename),
        "X-Content-Type-Options": "nosniff"})


@router.post("/{document_id}/links", status_code=201, responses=errors(404, 503))
def create_document_link(document_id: CrmId, app: AppDep, who: Caller):
    """A temporary public URL to a copy of the document, for WhatsApp to fetch once."""
    try:
        base_url = public_base_url(app.config)
    except PublicUrlMissing as exc:
        raise HTTPException(503, str(exc))
    with app.db.sessions() as session, session.begin():
        try:
            link = create_link(session, app.config, app.crm(session), app.queue, document_id, base_url)
        except DocumentNotFound as exc:
            raise HTTPException(404, str(exc))
        except CRMError as exc:
            raise HTTPException(502, f"the CRM could not give document {document_id}: {exc}")
    return link_view(link)
