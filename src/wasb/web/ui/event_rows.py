"""The inbound events page's rows: what each webhook was (its type and a one-line detail)
and its payload, read from the stored body."""
from __future__ import annotations

import json
from dataclasses import dataclass

from wasb.inbound.tables import InboundEvent

PAYLOAD_LIMIT = 20_000  # characters shown; the rest is cut with a mark (the API has the size)


@dataclass(frozen=True)
class EventRow:
    event: InboundEvent
    kind: str  # "message", "status", "mixed", Meta's field name (e.g. "message_template_status_update") or "unreadable"
    detail: str
    payload: str  # pretty-printed, shown escaped in a collapsible <pre>


def event_row(event: InboundEvent) -> EventRow:
    raw = bytes(event.body or b"")
    try:
        body = json.loads(raw)
    except ValueError:
        return EventRow(event, "unreadable", "", _cut(raw.decode("utf-8", "replace")))
    kind, detail = _describe(body)
    return EventRow(event, kind, detail, _cut(json.dumps(body, indent=2, ensure_ascii=False)))


def _cut(text: str) -> str:
    return text if len(text) <= PAYLOAD_LIMIT else text[:PAYLOAD_LIMIT] + "\n…"


def _describe(body) -> tuple[str, str]:
    kinds: list[str] = []
    details: list[str] = []
    entries = body.get("entry") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            if not isinstance(change, dict):
                continue
            value = change.get("value") if isinstance(change.get("value"), dict) else {}
            for message in _dicts(value.get("messages")):
                kinds.append("message")
                text = message.get("text", {}).get("body") if isinstance(message.get("text"), dict) else None
                details.append(" ".join(filter(None, [str(message.get("type") or "?"), f"← {message.get('from')}"
                                                      if message.get("from") else "", (text or "")[:80]])))
            for status in _dicts(value.get("statuses")):
                kinds.append("status")
                details.append(" ".join(filter(None, [str(status.get("status") or "?"),
                                                      f"→ {status.get('recipient_id')}" if status.get("recipient_id") else ""])))
            if not value.get("messages") and not value.get("statuses"):
                kinds.append(str(change.get("field") or "unknown"))
                event = value.get("event") or value.get("message_template_name")
                if event:
                    details.append(str(event))
    distinct = sorted(set(kinds))
    kind = distinct[0] if len(distinct) == 1 else ("mixed" if distinct else "unknown")
    return kind, "; ".join(details)[:300]


def _dicts(items) -> list[dict]:
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
