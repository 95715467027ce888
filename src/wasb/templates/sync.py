"""Templates from Meta: every page of `GET /{waba-id}/message_templates`, upserted by
(name, language); what Meta no longer lists is marked deleted, never dropped (old messages
still name it).

The whole list is read before anything is written: a failure half-way (Meta down, token
refused) changes nothing, rather than marking the unread pages deleted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.runtime import Runtime
from wasb.templates.tables import Template

# What to ask Meta for (its default answer leaves out the quality score and rejection reason).
FIELDS = "id,name,language,status,category,components,parameter_format,quality_score,rejected_reason"
PAGE_SIZE = 100


@dataclass
class SyncSummary:
    seen: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: int = 0

    def view(self) -> dict:
        return {"seen": self.seen, "created": self.created, "updated": self.updated, "deleted": self.deleted,
                "restored": self.restored, "unchanged": self.unchanged}


def _label(name: str, language: str) -> str:
    return f"{name} ({language})"


def _rejected_reason(raw: dict) -> str | None:
    reason = raw.get("rejected_reason")
    return reason if reason and reason != "NONE" else None


def _fields(raw: dict) -> dict[str, Any]:
    return {
        "meta_id": str(raw["id"]) if raw.get("id") else None,
        "category": raw.get("category"),
        "status": raw.get("status"),
        "quality": (raw.get("quality_score") or {}).get("score") if isinstance(raw.get("quality_score"), dict)
        else raw.get("quality_score"),
        "parameter_format": raw.get("parameter_format") or "POSITIONAL",
        "components": raw.get("components") or [],
        "rejected_reason": _rejected_reason(raw),
    }


def apply_templates(session: Session, listed: list[dict]) -> SyncSummary:
    """Bring the table in line with Meta's complete list."""
    summary = SyncSummary()
    rows = {(t.name, t.language): t for t in session.scalars(select(Template))}
    by_meta_id = {t.meta_id: t for t in rows.values() if t.meta_id}
    seen: set[tuple[str, str]] = set()
    for raw in listed:
        name, language = raw.get("name"), raw.get("language")
        if not name or not language or (name, language) in seen:
            continue
        seen.add((name, language))
        summary.seen += 1
        values = _fields(raw)
        # A template deleted and created again under the same name gets a new id at Meta:
        # the id follows (name, language), and no other row may keep it.
        holder = by_meta_id.get(values["meta_id"])
        row = rows.get((name, language))
        if holder is not None and holder is not row:
            holder.meta_id = None
            session.flush()
        if row is None:
            row = Template(name=name, language=language, deleted=False, **values)
            session.add(row)
            rows[(name, language)] = row
            summary.created.append(_label(name, language))
            continue
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if row.deleted:
            row.deleted = False
            summary.restored.append(_label(name, language))
        elif changed:
            summary.updated.append(_label(name, language))
        else:
            summary.unchanged += 1
        for key, value in changed.items():
            setattr(row, key, value)
        if values["meta_id"]:
            by_meta_id[values["meta_id"]] = row
    for key, row in rows.items():
        if key not in seen and not row.deleted:
            row.deleted = True
            summary.deleted.append(_label(*key))
    session.flush()
    return summary


def sync_templates(rt: Runtime) -> SyncSummary:
    """Every template of the WABA from Meta into the table (also the scheduled syncTemplates job).
    Raises the Graph client's errors (`wasb.whatsapp.errors`) when Meta cannot be read."""
    from wasb.outbound.channel import channel_for  # the channel's current token

    listed = list(channel_for(rt).client().iter_templates(PAGE_SIZE, fields=FIELDS))
    with rt.db.sessions() as session, session.begin():
        return apply_templates(session, listed)
