"""What WhatsApp accepts as media, and how a file of each type may be shown to a browser.

The table is Meta's list of supported media types and their size limits (Cloud API,
"Supported media types"). A file outside it can be stored, but never sent.
"""
from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaType:
    mime: str
    kind: str  # the WhatsApp message type it goes out as: image, document, audio, video, sticker
    max_bytes: int
    extensions: tuple[str, ...]


WHATSAPP_TYPES: dict[str, MediaType] = {t.mime: t for t in (
    MediaType("audio/aac", "audio", 16 * MB, (".aac",)),
    MediaType("audio/amr", "audio", 16 * MB, (".amr",)),
    MediaType("audio/mpeg", "audio", 16 * MB, (".mp3",)),
    MediaType("audio/mp4", "audio", 16 * MB, (".m4a",)),
    MediaType("audio/ogg", "audio", 16 * MB, (".ogg", ".opus")),
    MediaType("text/plain", "document", 100 * MB, (".txt",)),
    MediaType("application/pdf", "document", 100 * MB, (".pdf",)),
    MediaType("application/msword", "document", 100 * MB, (".doc",)),
    MediaType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document", 100 * MB,
              (".docx",)),
    MediaType("application/vnd.ms-excel", "document", 100 * MB, (".xls",)),
    MediaType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document", 100 * MB,
              (".xlsx",)),
    MediaType("application/vnd.ms-powerpoint", "document", 100 * MB, (".ppt",)),
    MediaType("application/vnd.openxmlformats-officedocument.presentationml.presentation", "document", 100 * MB,
              (".pptx",)),
    MediaType("image/jpeg", "image", 5 * MB, (".jpg", ".jpeg")),
    MediaType("image/png", "image", 5 * MB, (".png",)),
    MediaType("image/webp", "sticker", 500 * 1024, (".webp",)),
    MediaType("video/mp4", "video", 16 * MB, (".mp4",)),
    MediaType("video/3gpp", "video", 16 * MB, (".3gp",)),
)}

LARGEST = max(t.max_bytes for t in WHATSAPP_TYPES.values())

# Types a browser may render in place on our own origin. Anything else (HTML, SVG,
# scripts, unknown types) is offered as a download, so a file a customer sent can never
# run as a page of the service.
INLINE_TYPES = frozenset({
    "image/jpeg", "image/png", "image/webp", "image/gif",
    "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg",
    "video/mp4", "video/3gpp", "application/pdf", "text/plain",
})


def base_mime(mime: str | None) -> str:
    """`image/jpeg; charset=…` → `image/jpeg`, lower-case; '' for nothing."""
    return (mime or "").split(";", 1)[0].strip().lower()


def whatsapp_type(mime: str | None, filename: str | None = None) -> MediaType | None:
    """The supported type of a file, from its declared MIME type or, when that says
    nothing useful (`application/octet-stream`), from its extension."""
    found = WHATSAPP_TYPES.get(base_mime(mime))
    if found is not None:
        return found
    if base_mime(mime) in ("", "application/octet-stream") and filename and "." in filename:
        extension = "." + filename.rsplit(".", 1)[1].lower()
        return next((t for t in WHATSAPP_TYPES.values() if extension in t.extensions), None)
    return None


def shown_inline(mime: str | None) -> bool:
    return base_mime(mime) in INLINE_TYPES


def extension_for(mime: str | None) -> str:
    """`.jpg` for image/jpeg; '' when the type is not one of WhatsApp's."""
    found = WHATSAPP_TYPES.get(base_mime(mime))
    return found.extensions[0] if found else ""
