"""What the service remembers about an external CRM between runs: poll cursors.

One row per key (e.g. `agent_comments.cursor`), so each poll keeps its position in
the CRM's change feed across restarts, committed with the rows the poll produced.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, JSONType, UTCDateTime, utcnow


class CrmState(Base):
    __tablename__ = "crm_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[object] = mapped_column(JSONType, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
