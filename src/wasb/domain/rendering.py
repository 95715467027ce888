"""A readable line for each kind of WhatsApp message, for ticket descriptions and comments.

The message dict is the raw item from the webhook (lenient: any key may be missing).
"""
from __future__ import annotations

from typing import Any


def _join(*parts: Any) -> str:
    return ", ".join(str(p) for p in parts if p not in (None, ""))


def render_message(message: dict[str, Any]) -> str:
    kind = message.get("type") or "unknown"
    body = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        return (body or {}).get("body", "")
    if kind in ("image", "video", "sticker", "audio"):
        caption = body.get("caption")
        return f"[{kind}] {caption}" if caption else f"[{kind}]"
    if kind == "document":
        label = _join(body.get("filename"), body.get("caption"))
        return f"[document] {label}" if label else "[document]"
    if kind == "location":
        label = _join(body.get("name"), body.get("address"))
        coords = _join(body.get("latitude"), body.get("longitude"))
        return f"[location] {label or coords}".rstrip()
    if kind == "contacts":
        names = []
        for card in message.get("contacts") or []:
            name = (card.get("name") or {}).get("formatted_name")
            phones = [p.get("phone") for p in card.get("phones") or [] if p.get("phone")]
            names.append(_join(name, *phones))
        return "[contacts] " + "; ".join(n for n in names if n)
    if kind == "button":
        return (message.get("button") or {}).get("text") or "[button]"
    if kind == "interactive":
        inner = message.get("interactive") or {}
        reply = inner.get("button_reply") or inner.get("list_reply") or {}
        return reply.get("title") or "[interactive]"
    if kind == "order":
        return "[order]"
    if kind == "unsupported" or message.get("errors"):
        errors = message.get("errors")
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        detail = next((t for t in (first.get("title"), first.get("message")) if isinstance(t, str) and t), None)
        return f"[unsupported] {detail}" if detail else "[unsupported]"
    return f"[{kind}]"
