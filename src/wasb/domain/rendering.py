"""A readable text for each kind of WhatsApp message: the one place both the conversation
(the stored body of a message that is not text or media) and the ticket (its description
and comments) take it from.

The message dict is the raw item from the webhook (lenient: any key may be missing, or of
a type Meta does not send). Nothing a customer sent is left out of the text: the fields an
agent cannot use (a flow's token, a catalog id) stay in the stored raw item only.
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

# Where a shared location opens: OpenStreetMap needs no account and no key.
MAP_URL = "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
# Number changes: Meta's current `type`, and the one before v12 (`new_wa_id`).
NUMBER_CHANGED = ("user_changed_number", "customer_changed_number")
# The customer's business-scoped user id (BSUID) changed, no phone number shared (Aug 2026).
USER_ID_CHANGED = "user_changed_user_id"


def _join(*parts: Any, sep: str = ", ") -> str:
    return sep.join(str(p).strip() for p in parts if p not in (None, "") and str(p).strip())


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def render_message(message: dict[str, Any]) -> str:
    """The message as an agent reads it in the ticket (a text message with its ad first)."""
    text = message_text(message)
    ad = referral_line(message)
    return f"{ad}\n{text}" if ad else text


def message_text(message: dict[str, Any]) -> str:
    """The message's own text, as the conversation shows it."""
    kind = message.get("type") or "unknown"
    body = _dict(message.get(kind))
    if kind == "text":
        return body.get("body", "") if isinstance(body.get("body"), str) else ""
    if kind == "sticker":
        return "[animated sticker]" if body.get("animated") is True else "[sticker]"
    if kind in ("image", "video", "audio"):
        caption = _text(body.get("caption"))
        return f"[{kind}] {caption}" if caption else f"[{kind}]"
    if kind == "document":
        label = _join(body.get("filename"), body.get("caption"))
        return f"[document] {label}" if label else "[document]"
    if kind == "location":
        return _location(body)
    if kind == "contacts":
        return _contacts(message.get("contacts"))
    if kind == "button":
        return _text(body.get("text")) or _text(body.get("payload")) or "[button]"
    if kind == "interactive":
        return _interactive(body)
    if kind == "order":
        return _order(body)
    if kind == "system":
        return _system(message, body)
    if kind == "unsupported" or message.get("errors"):
        return _unsupported(message.get("errors"))
    return f"[{kind}]"


def map_link(message: dict[str, Any]) -> str | None:
    """Where a location message opens on a map, or None for any other message."""
    if message.get("type") != "location":
        return None
    body = _dict(message.get("location"))
    lat, lon = _coordinate(body.get("latitude")), _coordinate(body.get("longitude"))
    if lat is None or lon is None:
        return None
    return MAP_URL.format(lat=lat, lon=lon)


def _coordinate(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return str(value).strip() if -180 <= number <= 180 else None


def _location(body: dict) -> str:
    place = _join(body.get("name"), body.get("address"))
    lat, lon = _coordinate(body.get("latitude")), _coordinate(body.get("longitude"))
    coords = f"({lat}, {lon})" if lat is not None and lon is not None else ""
    lines = [f"📍 Location: {_join(place, coords, sep=' ')}" if (place or coords) else "📍 Location"]
    url = _text(body.get("url"))
    if url:
        lines.append(url)
    if coords:
        lines.append(MAP_URL.format(lat=lat, lon=lon))
    return "\n".join(lines)


def _contacts(cards: Any) -> str:
    lines = []
    for card in _list(cards):
        card = _dict(card)
        name = _dict(card.get("name"))
        label = _text(name.get("formatted_name")) or _join(name.get("first_name"), name.get("last_name"), sep=" ")
        phones = [_text(_dict(p).get("phone")) or _text(_dict(p).get("wa_id")) for p in _list(card.get("phones"))]
        emails = [_text(_dict(e).get("email")) for e in _list(card.get("emails"))]
        org = _dict(card.get("org"))
        lines.append("👤 Contact card: " + (_join(label, *phones, *emails, org.get("company")) or "—"))
    return "\n".join(lines) or "👤 Contact card"


def contact_cards(message: dict[str, Any]) -> list[dict[str, str | None]]:
    """The contact cards a customer shared, each `{"name", "phone"}` (the card's first
    number, or its WhatsApp id as +digits; None without one): what "Add to CRM" writes.
    Cards without a name are left out (a CRM record needs one)."""
    if message.get("type") != "contacts":
        return []
    found: list[dict[str, str | None]] = []
    for card in _list(message.get("contacts")):
        card = _dict(card)
        name = _dict(card.get("name"))
        label = _text(name.get("formatted_name")) or _join(name.get("first_name"), name.get("last_name"), sep=" ")
        phone = None
        for entry in _list(card.get("phones")):
            entry = _dict(entry)
            wa_id = _text(entry.get("wa_id"))
            phone = _text(entry.get("phone")) or (f"+{wa_id}" if wa_id else None)
            if phone:
                break
        found.append({"name": label or None, "phone": phone})
    return found


def _interactive(body: dict) -> str:
    kind = body.get("type")
    if kind == "nfm_reply" or "nfm_reply" in body:
        return _flow_reply(_dict(body.get("nfm_reply")))
    reply = _dict(body.get("button_reply")) or _dict(body.get("list_reply"))
    return _text(reply.get("title")) or _text(reply.get("id")) or "[interactive]"


def _flow_reply(reply: dict) -> str:
    """A WhatsApp Flow's answer: each field the customer filled as "key: value"."""
    heading = "Address" if reply.get("name") == "address_message" else "Form reply"
    raw = reply.get("response_json")
    try:
        fields = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        # Not the JSON object Meta documents: show what came, not nothing.
        return f"📋 {heading}:\n{raw}" if _text(raw) else f"📋 {heading}: {_text(reply.get('body')) or '—'}"
    lines = [f"{key}: {_value(value)}" for key, value in fields.items() if key != "flow_token"]
    return "\n".join([f"📋 {heading}:", *lines]) if lines else f"📋 {heading}: {_text(reply.get('body')) or '—'}"


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _order(body: dict) -> str:
    """"🛒 Order: 2 × SKU at 10.00 EUR, total 20.00 EUR" (a line per item when several)."""
    items, totals = [], {}
    for item in _list(body.get("product_items")):
        item = _dict(item)
        sku = _text(item.get("product_retailer_id")) or "?"
        quantity, price = _decimal(item.get("quantity")), _decimal(item.get("item_price"))
        currency = _text(item.get("currency")) or ""
        line = f"{quantity.normalize() if quantity is not None else '?'} × {sku}"
        if price is not None:
            line += f" at {_money(price)} {currency}".rstrip()
            if quantity is not None:
                totals[currency] = totals.get(currency, Decimal(0)) + quantity * price
        items.append(line)
    total = "; ".join(f"{_money(amount)} {currency}".rstrip() for currency, amount in totals.items())
    if len(items) <= 1:
        text = f"🛒 Order: {items[0] if items else '—'}" + (f", total {total}" if total else "")
    else:
        text = "\n".join(["🛒 Order:", *items] + ([f"Total {total}"] if total else []))
    note = _text(body.get("text"))
    return f"{text}\n{note}" if note else text


def changed_number(message: dict[str, Any]) -> tuple[str, str] | None:
    """(old wa_id, new wa_id) of a "customer changed number" system message, else None."""
    if message.get("type") != "system":
        return None
    body = _dict(message.get("system"))
    new = _text(body.get("wa_id")) or _text(body.get("new_wa_id"))
    old = _text(message.get("from"))
    if body.get("type") not in NUMBER_CHANGED or not new or not old or new == old:
        return None
    return old, new


def changed_user_id(message: dict[str, Any]) -> tuple[str, str] | None:
    """(previous BSUID, new BSUID) of a "user changed user id" system message, else None. The
    previous one is `system.previous_user_id`, or the id the message comes from."""
    if message.get("type") != "system":
        return None
    body = _dict(message.get("system"))
    new = _text(body.get("user_id"))
    old = _text(body.get("previous_user_id")) or _text(message.get("from_user_id"))
    if body.get("type") != USER_ID_CHANGED or not new or not old or new == old:
        return None
    return old, new


def _system(message: dict, body: dict) -> str:
    change = changed_number(message)
    if change:
        return f"Customer changed number from +{change[0]} to +{change[1]}"
    id_change = changed_user_id(message)
    if id_change:
        return f"Customer's WhatsApp user ID changed from {id_change[0]} to {id_change[1]}"
    return _text(body.get("body")) or f"[system] {body.get('type') or ''}".rstrip()


def _unsupported(errors: Any) -> str:
    first = _dict(errors[0]) if isinstance(errors, list) and errors else {}
    details = _text(_dict(first.get("error_data")).get("details"))
    detail = details or _text(first.get("title")) or _text(first.get("message"))
    return f"[unsupported] {detail}" if detail else "[unsupported]"


def referral(message: dict[str, Any]) -> dict[str, Any] | None:
    """The click-to-WhatsApp ad (or post) the customer came from, when the message says so."""
    found = message.get("referral")
    return found if isinstance(found, dict) and found else None


def referral_line(message: dict[str, Any]) -> str | None:
    """"Started from ad: <headline>" and where the ad is, for a message that came from one."""
    ad = referral(message)
    if ad is None:
        return None
    what = "post" if ad.get("source_type") == "post" else "ad"
    title = _text(ad.get("headline")) or _text(ad.get("body")) or _text(ad.get("source_id")) or "—"
    return _join(f"Started from {what}: {title}", _text(ad.get("source_url")), sep=" · ")


def lead_source(message: dict[str, Any]) -> str | None:
    """What a lead created from this message records as its source (the ad's headline)."""
    ad = referral(message)
    if ad is None:
        return None
    title = _text(ad.get("headline")) or _text(ad.get("source_id")) or _text(ad.get("source_url"))
    return f"WhatsApp ad: {title}"[:200] if title else "WhatsApp ad"
