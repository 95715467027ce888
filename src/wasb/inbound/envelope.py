"""Reading Meta's webhook envelope, leniently.

Every entry, change, message and status of a batch becomes an `Item`; unknown
fields stay in `data`, unknown change fields and message types become items of
their own kind. Nothing here raises on a surprising shape: a missing key is a
missing value.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MESSAGE = "message"
STATUS = "status"
TEMPLATE = "template"
OTHER = "other"

TEMPLATE_FIELDS = {
    "message_template_status_update", "message_template_quality_update", "template_category_update",
    "message_template_components_update",
}


class NotAnEnvelope(ValueError):
    """The body is JSON but not a WhatsApp Business webhook."""


@dataclass
class Item:
    kind: str
    lock: str  # "<phone_number_id>:<customer>" — one customer's items run in order
    data: dict[str, Any]
    phone_number_id: str = ""
    waba_id: str = ""
    field_name: str = ""
    wa_id: str | None = None
    user_id: str | None = None
    profile_name: str | None = None
    value_errors: list = field(default_factory=list)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _customer(wa_id: str | None, user_id: str | None) -> str:
    # The phone id when there is one (statuses carry it too), the BSUID otherwise.
    return wa_id or user_id or "_"


def parse_envelope(body: Any) -> list[Item]:
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        raise NotAnEnvelope("not a WhatsApp webhook: no `entry` list")
    if body.get("object") not in (None, "whatsapp_business_account"):
        raise NotAnEnvelope(f"not a WhatsApp webhook: object is {body.get('object')!r}")
    items: list[Item] = []
    for entry in _list(body.get("entry")):
        entry = _dict(entry)
        waba_id = str(entry.get("id") or "")
        for change in _list(entry.get("changes")):
            change = _dict(change)
            items.extend(_change_items(waba_id, str(change.get("field") or ""), _dict(change.get("value"))))
    return items


def _change_items(waba_id: str, field_name: str, value: dict) -> list[Item]:
    if field_name in TEMPLATE_FIELDS:
        return [Item(TEMPLATE, f"{waba_id}:templates", value, waba_id=waba_id, field_name=field_name)]
    phone_number_id = str(_dict(value.get("metadata")).get("phone_number_id") or "")
    if field_name != "messages":
        return [Item(OTHER, f"{phone_number_id or waba_id}:_", value, phone_number_id, waba_id, field_name)]

    contacts = [_dict(c) for c in _list(value.get("contacts"))]
    by_wa_id = {c.get("wa_id"): c for c in contacts if c.get("wa_id")}
    by_user_id = {c.get("user_id"): c for c in contacts if c.get("user_id")}
    items: list[Item] = []
    for message in _list(value.get("messages")):
        message = _dict(message)
        wa_id = message.get("from") or None
        contact = by_wa_id.get(wa_id) or by_user_id.get(message.get("from_user_id")) or (
            contacts[0] if len(contacts) == 1 and not wa_id else {})
        user_id = message.get("from_user_id") or contact.get("user_id")
        wa_id = wa_id or contact.get("wa_id")
        items.append(Item(
            MESSAGE, f"{phone_number_id}:{_customer(wa_id, user_id)}", message, phone_number_id, waba_id, field_name,
            wa_id=wa_id, user_id=user_id, profile_name=_dict(contact.get("profile")).get("name"),
            value_errors=_list(value.get("errors"))))
    for status in _list(value.get("statuses")):
        status = _dict(status)
        wa_id = status.get("recipient_id") or None
        user_id = status.get("recipient_user_id") or _dict(by_wa_id.get(wa_id)).get("user_id")
        items.append(Item(STATUS, f"{phone_number_id}:{_customer(wa_id, user_id)}", status, phone_number_id, waba_id,
                          field_name, wa_id=wa_id, user_id=user_id))
    if not items and value.get("errors"):
        items.append(Item(OTHER, f"{phone_number_id}:_", value, phone_number_id, waba_id, field_name,
                          value_errors=_list(value.get("errors"))))
    return items


def lock_keys(items: list[Item]) -> list[str]:
    """The distinct customers of a batch, in the order they first appear."""
    return list(dict.fromkeys(item.lock for item in items))
