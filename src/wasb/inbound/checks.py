"""What processing reads from an item, checked before anything is written.

Meta sends strings where ids, statuses and texts go; a signed body can still carry a
list or an object there (a bug upstream, a replay tool). Such an item is named
failed with the reason, on its own: the customer's later items go on.
"""
from __future__ import annotations

from typing import Any

from wasb.whatsapp.webhook import MESSAGE, STATUS, TEMPLATE, Item, as_id, type_name, not_strings

# The unique wamid column's width.
MAX_WAMID = 200
# Fields of a message's typed part (`text`, `image`, `reaction`...) stored as text.
_MESSAGE_TEXTS = ("body", "caption", "id", "mime_type", "filename", "sha256", "emoji", "message_id")
_TEMPLATE_TEXTS = ("message_template_name", "message_template_language", "event", "message_template_category",
                   "reason", "new_category", "new_quality_score")


def item_problem(item: Item) -> str | None:
    """Why this item cannot be applied, or None."""
    if item.problem:
        return item.problem
    if item.kind == MESSAGE:
        return _message_problem(item.data)
    if item.kind == STATUS:
        return _status_problem(item.data)
    if item.kind == TEMPLATE:
        return _template_problem(item.data)
    return None


def _message_problem(data: dict) -> str | None:
    wamid = data.get("id")
    if wamid is None or wamid == "":
        # Meta always sends one; without it a redelivery could not be recognised and
        # would be stored (and written to the ticket) again.
        return "the message has no `id`"
    problems = not_strings("messages[].", data, "id", "type")
    if isinstance(wamid, str) and len(wamid) > MAX_WAMID:
        problems.append(f"the message `id` is longer than {MAX_WAMID} characters")
    kind = data.get("type")
    if isinstance(kind, str) and isinstance(data.get(kind), dict):
        problems += not_strings(f"messages[].{kind}.", data[kind], *_MESSAGE_TEXTS)
    context = data.get("context")
    if context is not None and not isinstance(context, dict):
        problems.append(f"`messages[].context` is {type_name(context)}, not an object")
    elif context:
        problems += not_strings("messages[].context.", context, "id")
    return "; ".join(problems) or None


def _status_problem(data: dict) -> str | None:
    problems = not_strings("statuses[].", data, "id", "status")
    if isinstance(data.get("id"), str) and len(data["id"]) > MAX_WAMID:
        problems.append(f"the status `id` is longer than {MAX_WAMID} characters")
    return "; ".join(problems) or None


def _template_problem(data: dict) -> str | None:
    problems = not_strings("", data, *_TEMPLATE_TEXTS)
    if data.get("message_template_id") is not None and as_id(data["message_template_id"]) is None:
        problems.append(f"`message_template_id` is {type_name(data['message_template_id'])}, not an id")
    return "; ".join(problems) or None


NUL_REPLACEMENT = "\ufffd"


def without_nul(value: Any) -> Any:
    """The document with every NUL character in its strings (keys too) replaced by U+FFFD.

    PostgreSQL's text and jsonb cannot hold NUL (`\\u0000`), so a message carrying one
    would fail for ever. The replacement character keeps the place visible to the agent
    and the CRM; the exact bytes stay in the raw body (`inbound_event.body`, bytea).
    Applied on every backend, so a message reads the same on SQLite and PostgreSQL.
    """
    if isinstance(value, str):
        return value.replace("\x00", NUL_REPLACEMENT) if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value
