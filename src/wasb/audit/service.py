"""Writing the audit log, in the same transaction as the change it records."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from wasb.audit.tables import AuditEntry
from wasb.store.base import utcnow


def record_change(session: Session, *, actor: str, entity: str, entity_id: str | int, field: str,
                  old: object, new: object, at: datetime | None = None) -> None:
    session.add(AuditEntry(actor=actor, entity=entity, entity_id=str(entity_id), field=field,
                           old=None if old is None else str(old), new=None if new is None else str(new),
                           at=at or utcnow()))
