"""A campaign's media-header file: checked once against what WhatsApp takes for the header's
kind, stored once in the media store, and named by every recipient's message.

Checked here rather than left to Meta: a file Meta refuses would fail every one of ten
thousand messages, one by one."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from wasb.domain.media_types import LARGEST, MB, WHATSAPP_TYPES, base_mime
from wasb.outbound.files import store_upload
from wasb.outbound.service import StoredFile, Upload
from wasb.runtime import Runtime


@dataclass(frozen=True)
class HeaderRule:
    mime_types: frozenset[str] | None  # None: any (a document)
    max_bytes: int


def _rule(kind: str) -> HeaderRule:
    """An image or video header takes the types WhatsApp sends as that kind (domain.media_types)."""
    types = [t for t in WHATSAPP_TYPES.values() if t.kind == kind]
    return HeaderRule(frozenset(t.mime for t in types), max(t.max_bytes for t in types))


HEADER_FILES = {"image": _rule("image"), "video": _rule("video"), "document": HeaderRule(None, LARGEST)}


class HeaderFileError(ValueError):
    """The header's file is missing, not wanted, or not one WhatsApp takes (422)."""


def check_header_file(rt: Runtime, session: Session, template_name: str, media_kind: str | None,
                      upload: Upload | None, document_id: str | None) -> Upload | None:
    """The header's file, checked; None for a template without a media header. A CRM document
    is read now, once: the dispatch never calls the CRM."""
    given = upload is not None or bool(document_id)
    rule = HEADER_FILES.get(media_kind or "")
    if rule is None:
        if given:
            raise HeaderFileError(f"the template {template_name} has no image, video or document header: "
                                  "it takes no header file")
        return None
    if not given:
        raise HeaderFileError(f"the template {template_name} has a {media_kind} header: give its file "
                              "(header_document_id, a CRM document; or the form's header file)")
    if upload is None:
        document = rt.crm(session).get_document(document_id)
        if document is None:
            raise HeaderFileError(f"no document {document_id}")
        upload = Upload(document.filename, document.mime_type, document.content)
    mime = base_mime(upload.mime_type)
    if not upload.content:
        raise HeaderFileError("the header file is empty")
    if rule.mime_types is not None and mime not in rule.mime_types:
        raise HeaderFileError(f"a {media_kind} header takes {' or '.join(sorted(rule.mime_types))}, "
                              f"not {mime or 'a file of unknown type'} ({upload.filename})")
    if len(upload.content) > rule.max_bytes:
        raise HeaderFileError(f"a {media_kind} header's file is at most {rule.max_bytes // MB} MB; "
                              f"{upload.filename} is {len(upload.content) / MB:.1f} MB")
    return Upload((upload.filename or "file")[:300], mime or "application/octet-stream", upload.content)


def store_header_file(rt: Runtime, upload: Upload) -> StoredFile:
    """Kept in the media store once the whole campaign is checked: nothing is left there for a
    campaign that was refused."""
    return StoredFile(store_upload(rt.config.media_dir, upload.content), upload.filename, upload.mime_type,
                      len(upload.content))
