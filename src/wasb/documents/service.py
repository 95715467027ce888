"""Documents of the embedded CRM: uploaded through the API, checked against what
WhatsApp can send."""
from __future__ import annotations

from wasb.crm.port import CRM, Document
from wasb.domain.filenames import display_filename
from wasb.domain.media_types import LARGEST, MB, WHATSAPP_TYPES, base_mime, whatsapp_type

MAX_DOCUMENT_BYTES = LARGEST  # 100 MB: WhatsApp's largest file (a document)


class DocumentRejected(ValueError):
    """The file cannot be kept as a document (empty, too large, a type WhatsApp refuses)."""


class DocumentsElsewhere(Exception):
    """The CRM is an external one: documents are uploaded there, not here."""


def accepted_types() -> list[str]:
    return sorted(WHATSAPP_TYPES)


def add_document(crm: CRM, filename: str | None, declared_mime: str | None, content: bytes) -> Document:
    add = getattr(crm, "add_document", None)
    if add is None:
        raise DocumentsElsewhere("documents are uploaded in the CRM itself; this CRM has no upload here")
    name = display_filename(filename, fallback="document")
    if not content:
        raise DocumentRejected("the file is empty")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise DocumentRejected(f"the file is {len(content) / MB:.1f} MB; WhatsApp sends files up to "
                               f"{MAX_DOCUMENT_BYTES // MB} MB")
    kind = whatsapp_type(declared_mime, name)
    if kind is None:
        raise DocumentRejected(
            f"WhatsApp does not send {base_mime(declared_mime) or 'files of unknown type'} ({name}); "
            f"it accepts {', '.join(accepted_types())}")
    if len(content) > kind.max_bytes:
        raise DocumentRejected(f"{kind.mime} files go out as {kind.kind} messages, which WhatsApp limits to "
                               f"{kind.max_bytes / MB:g} MB; this one is {len(content) / MB:.1f} MB")
    return add(name, kind.mime, content)
