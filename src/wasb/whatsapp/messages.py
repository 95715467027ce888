"""Request bodies for `POST /{phone-number-id}/messages`, as plain dicts, and what Meta answers.

Pure functions, no I/O, so the sender can store the exact body it is about to send
(and a test can compare it) before anything leaves the process.

About the recipient: since 2026 a customer may be known only by a business-scoped
user id (BSUID, e.g. "US.13491208655302741918") instead of a phone. Meta's exact request
field for BSUID recipients is not settled in what we have read, so every body addresses
the customer with `to`, holding the phone (wa_id) or the BSUID we were given. This is
the one place to change if Meta requires a different field (`address`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MEDIA_KINDS = ("image", "document", "audio", "video", "sticker")

# Positional values (`{{1}}`, `{{2}}`…) as a sequence, named ones (`{{first_name}}`) as a mapping.
TemplateValues = Sequence[str] | Mapping[str, str]


def address(to: str | None, user_id: str | None = None) -> dict[str, str]:
    """The recipient part of a message body: a phone (wa_id) or, failing that, a BSUID."""
    recipient = to or user_id
    if not recipient:
        raise ValueError("a message needs a recipient: to= (phone) or user_id= (BSUID)")
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient}


def _with_context(body: dict[str, Any], reply_to: str | None) -> dict[str, Any]:
    if reply_to:
        body["context"] = {"message_id": reply_to}
    return body


def text_message(to: str | None, body: str, *, preview_url: bool = False,
                 reply_to: str | None = None, user_id: str | None = None) -> dict[str, Any]:
    return _with_context(
        {**address(to, user_id), "type": "text", "text": {"preview_url": preview_url, "body": body}},
        reply_to,
    )


def media_message(to: str | None, kind: str, *, media_id: str | None = None, link: str | None = None,
                  caption: str | None = None, filename: str | None = None,
                  reply_to: str | None = None, user_id: str | None = None) -> dict[str, Any]:
    if kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media kind {kind!r}; one of {', '.join(MEDIA_KINDS)}")
    if bool(media_id) == bool(link):
        raise ValueError("give exactly one of media_id= (uploaded) or link= (public URL)")
    media: dict[str, Any] = {"id": media_id} if media_id else {"link": link}
    # Meta rejects a caption on audio and stickers, and a filename on anything but documents.
    if caption and kind in ("image", "document", "video"):
        media["caption"] = caption
    if filename and kind == "document":
        media["filename"] = filename
    return _with_context({**address(to, user_id), "type": kind, kind: media}, reply_to)


def reaction_message(to: str | None, message_id: str, emoji: str, *,
                     user_id: str | None = None) -> dict[str, Any]:
    """A reaction to one of the customer's messages; an empty emoji removes it."""
    return {**address(to, user_id), "type": "reaction",
            "reaction": {"message_id": message_id, "emoji": emoji}}


def template_message(to: str | None, name: str, language: str,
                     components: Sequence[Mapping[str, Any]] | None = None, *,
                     reply_to: str | None = None, user_id: str | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = [dict(c) for c in components]
    return _with_context({**address(to, user_id), "type": "template", "template": template}, reply_to)


def text_parameters(values: TemplateValues) -> list[dict[str, str]]:
    """Text parameters, positional (a list) or named (a mapping, sent with `parameter_name`)."""
    if isinstance(values, Mapping):
        return [{"type": "text", "parameter_name": k, "text": str(v)} for k, v in values.items()]
    return [{"type": "text", "text": str(v)} for v in values]


def body_component(values: TemplateValues) -> dict[str, Any]:
    return {"type": "body", "parameters": text_parameters(values)}


def header_component(values: TemplateValues | None = None, *, media_kind: str | None = None,
                     media_id: str | None = None, link: str | None = None,
                     filename: str | None = None) -> dict[str, Any]:
    """A header: text values, or one image/document/video given by uploaded id or link (a
    document with the file name the customer sees)."""
    if media_kind:
        media: dict[str, Any] = {"id": media_id} if media_id else {"link": link}
        if filename and media_kind == "document":
            media["filename"] = filename
        return {"type": "header", "parameters": [{"type": media_kind, media_kind: media}]}
    return {"type": "header", "parameters": text_parameters(values or [])}


def location_header(location: Mapping[str, Any]) -> dict[str, Any]:
    """A location header: latitude and longitude (numbers), name and address."""
    return {"type": "header", "parameters": [{"type": "location", "location": dict(location)}]}


def quick_reply_button(index: int, payload: str) -> dict[str, Any]:
    """The payload the customer's tap on quick-reply button `index` sends back to us."""
    return {"type": "button", "sub_type": "quick_reply", "index": str(index),
            "parameters": [{"type": "payload", "payload": payload}]}


@dataclass(frozen=True)
class SendResult:
    """What Meta answered to an accepted message."""
    wamid: str
    wa_id: str | None = None
    input: str | None = None
    user_id: str | None = None
    message_status: str | None = None  # "accepted", or "held_for_quality_assessment"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> SendResult:
        messages = body.get("messages") or [{}]
        contacts = body.get("contacts") or [{}]
        first, contact = messages[0] or {}, contacts[0] or {}
        wamid = first.get("id")
        if not wamid:
            raise ValueError("Meta's answer carries no messages[0].id")
        return cls(wamid=wamid, wa_id=contact.get("wa_id"), input=contact.get("input"),
                   user_id=contact.get("user_id"), message_status=first.get("message_status"),
                   raw=dict(body))
