"""A campaign's media-header file: checked once against what WhatsApp takes for the header's
kind, stored once in the media store, and named by every recipient's message.

Checked here rather than left to Meta: a file Meta refuses would fail every one of ten
thousand messages, one by one."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from wasb.outbound.files import store_upload
from wasb.outbound.service import StoredFile, Upload
from wasb.runtime import Runtime

MB = 1024 * 1024


@dataclass(frozen=True)
class HeaderRule:
    mime_types: frozenset[str] | None  # None: any (a document)
    max_bytes: int


# Meta's supported media (Cloud API, "Supported media types"): what a header of each kind takes.
HEADER_FILES = {
    "image": HeaderRule(frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "video": HeaderRule(frozenset({"video/mp4", "video/3gpp", "video/3gp"}), 16 * MB),
    "document": HeaderRule(None, 100 * MB),
}


class HeaderFileError(ValueError):
    """The header's file is missing, not wanted, or not one WhatsApp takes (422)."""


def take_header_file(rt: Runtime, session: Session, template_name: str, media_kind: str | None,
                     upload: Upload | None, document_id: str | None) -> StoredFile | None:
    """The header's file, stored; None for a template without a media header. A CRM document
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
    mime = (upload.mime_type or "").split(";")[0].strip().lower()
    if not upload.content:
        raise HeaderFileError("the header file is empty")
    if rule.mime_types is not None and mime not in rule.mime_types:
        raise HeaderFileError(f"a {media_kind} header takes {' or '.join(sorted(rule.mime_types))}, "
                              f"not {mime or 'a file of unknown type'} ({upload.filename})")
    if len(upload.content) > rule.max_bytes:
        raise HeaderFileError(f"a {media_kind} header's file is at most {rule.max_bytes // MB} MB; "
                              f"{upload.filename} is {len(upload.content) / MB:.1f} MB")
    sha256 = store_upload(rt.config.media_dir, upload.content)
    return StoredFile(sha256, (upload.filename or "file")[:300], mime or "application/octet-stream",
                      len(upload.content))
