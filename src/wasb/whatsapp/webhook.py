"""Reading Meta's webhook envelope, leniently.

Every entry, change, message and status of a batch becomes an `Item`; unknown
fields stay in `data`, unknown change fields and message types become items of
their own kind. Nothing here raises on a surprising shape: a missing key is a
missing value, and an identity of the wrong type (a list where Meta sends a string)
makes its item carry a `problem` that processing records, instead of an exception
that would take the rest of the body (or the intake's group) down with it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
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
    problem: str | None = None  # why this item cannot be applied: it is recorded as failed


# Job lock keys are stored in a 300-character column: a longer one is shortened, the
# same way on both sides (intake and worker), keeping it unique by a hash.
MAX_LOCK = 200


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _customer(wa_id: str | None, user_id: str | None) -> str:
    # The phone id when there is one (statuses carry it too), the BSUID otherwise.
    return wa_id or user_id or "_"


def _lock(scope: str, customer: str) -> str:
    key = f"{scope}:{customer}"
    if len(key) <= MAX_LOCK:
        return key
    return f"{key[:60]}~{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)


def as_id(value: Any) -> str | None:
    """An id as Meta sends it (a string; template and account ids also come as numbers)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def not_strings(where: str, data: dict, *names: str) -> list[str]:
    """What is wrong with these fields, each a string when present."""
    return [f"`{where}{name}` is {type_name(data[name])}, not a string" for name in names
            if data.get(name) is not None and not isinstance(data[name], str)]


def _joined(problems: list[str]) -> str | None:
    return "; ".join(problems) or None


def parse_envelope(body: Any) -> list[Item]:
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        raise NotAnEnvelope("not a WhatsApp webhook: no `entry` list")
    if body.get("object") not in (None, "whatsapp_business_account"):
        raise NotAnEnvelope(f"not a WhatsApp webhook: object is {body.get('object')!r}")
    items: list[Item] = []
    for entry in _list(body.get("entry")):
        entry = _dict(entry)
        waba_id = as_id(entry.get("id")) or ""
        for change in _list(entry.get("changes")):
            change = _dict(change)
            field_name = change.get("field") if isinstance(change.get("field"), str) else ""
            items.extend(_change_items(waba_id, field_name, _dict(change.get("value"))))
    return items


def _change_items(waba_id: str, field_name: str, value: dict) -> list[Item]:
    if field_name in TEMPLATE_FIELDS:
        return [Item(TEMPLATE, _lock(waba_id, "templates"), value, waba_id=waba_id, field_name=field_name)]
    metadata = _dict(value.get("metadata"))
    phone_number_id = as_id(metadata.get("phone_number_id")) or ""
    if field_name != "messages":
        return [Item(OTHER, _lock(phone_number_id or waba_id, "_"), value, phone_number_id, waba_id, field_name)]

    # A wrong type in an identity names no customer: every item of the change that could
    # be theirs carries the problem (and runs under the number's catch-all lock).
    shared = [f"`metadata.phone_number_id` is {type_name(metadata['phone_number_id'])}, not a string"
              ] if metadata.get("phone_number_id") is not None and not as_id(metadata["phone_number_id"]) else []
    contacts = [_dict(c) for c in _list(value.get("contacts"))]
    for n, contact in enumerate(contacts):
        shared += not_strings(f"contacts[{n}].", contact, "wa_id", "user_id")
    by_wa_id = {c["wa_id"]: c for c in contacts if isinstance(c.get("wa_id"), str) and c["wa_id"]}
    by_user_id = {c["user_id"]: c for c in contacts if isinstance(c.get("user_id"), str) and c["user_id"]}
    items: list[Item] = []
    for message in _list(value.get("messages")):
        message = _dict(message)
        problems = shared + not_strings("messages[].", message, "from", "from_user_id")
        wa_id = _text(message.get("from"))
        contact = by_wa_id.get(wa_id) or by_user_id.get(_text(message.get("from_user_id"))) or (
            contacts[0] if len(contacts) == 1 and not wa_id else {})
        user_id = _text(message.get("from_user_id")) or _text(contact.get("user_id"))
        wa_id = wa_id or _text(contact.get("wa_id"))
        if not problems and not (wa_id or user_id):
            problems.append("the message names no customer (no `from`)")
        items.append(Item(
            MESSAGE, _lock(phone_number_id, "_" if problems else _customer(wa_id, user_id)), message,
            phone_number_id, waba_id, field_name, wa_id=wa_id, user_id=user_id,
            profile_name=_text(_dict(contact.get("profile")).get("name")),
            value_errors=_list(value.get("errors")), problem=_joined(problems)))
    for status in _list(value.get("statuses")):
        status = _dict(status)
        problems = shared + not_strings("statuses[].", status, "recipient_id", "recipient_user_id")
        wa_id = _text(status.get("recipient_id"))
        user_id = _text(status.get("recipient_user_id")) or _text(_dict(by_wa_id.get(wa_id)).get("user_id"))
        items.append(Item(STATUS, _lock(phone_number_id, "_" if problems else _customer(wa_id, user_id)), status,
                          phone_number_id, waba_id, field_name, wa_id=wa_id, user_id=user_id,
                          problem=_joined(problems)))
    if not items and value.get("errors"):
        items.append(Item(OTHER, _lock(phone_number_id, "_"), value, phone_number_id, waba_id, field_name,
                          value_errors=_list(value.get("errors"))))
    return items


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def lock_keys(items: list[Item]) -> list[str]:
    """The distinct customers of a batch, in the order they first appear."""
    return list(dict.fromkeys(item.lock for item in items))


# PostgreSQL's integer, where error codes are stored.
_INT_RANGE = range(-2**31, 2**31)


def first_error(errors: Any) -> tuple[int | None, str | None]:
    """The code and the most telling text of the first of Meta's `errors`, whatever their shape."""
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = first.get("code")
    if isinstance(code, str) and len(code) <= 12 and code.strip().isascii() and code.strip().isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool) or code not in _INT_RANGE:
        code = None
    details = first.get("error_data").get("details") if isinstance(first.get("error_data"), dict) else None
    text = next((t for t in (details, first.get("message"), first.get("title")) if isinstance(t, str) and t), None)
    return code, text


def all_errors(errors: Any) -> list[dict[str, Any]]:
    """Every one of Meta's `errors` (a failed status may carry several), in Meta's order, as
    `{"code", "title", "message", "details", "href"}` with what each gave: a code that is no
    integer is None, a text that is no string is left out."""
    found: list[dict[str, Any]] = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        code, _ = first_error([error])
        data = error.get("error_data")
        kept: dict[str, Any] = {"code": code}
        for key, value in (("title", error.get("title")), ("message", error.get("message")),
                           ("details", data.get("details") if isinstance(data, dict) else None),
                           ("href", error.get("href"))):
            if isinstance(value, str) and value:
                kept[key] = value[:2000]
        found.append(kept)
    return found


def status_conversation(data: dict[str, Any]) -> dict[str, Any] | None:
    """A status's `conversation` object, its known fields only (`id`, `expiration_timestamp`,
    `origin.type`), or None when it has none (Meta leaves it out since v24 and on `failed`)."""
    conversation = data.get("conversation")
    if not isinstance(conversation, dict):
        return None
    kept: dict[str, Any] = {}
    if isinstance(conversation.get("id"), str) and conversation["id"]:
        kept["id"] = conversation["id"][:200]
    expiry = conversation.get("expiration_timestamp")
    if isinstance(expiry, str) and expiry.isascii() and expiry.isdigit() and len(expiry) <= 12:
        expiry = int(expiry)
    if isinstance(expiry, int) and not isinstance(expiry, bool) and 0 <= expiry < 2**40:
        kept["expiration_timestamp"] = expiry
    origin = conversation.get("origin")
    if isinstance(origin, dict) and isinstance(origin.get("type"), str) and origin["type"]:
        kept["origin"] = {"type": origin["type"][:64]}
    return kept or None


def message_time(data: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(data.get("timestamp")), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(timezone.utc)
