"""Message templates as Meta knows them; identity is (name, language)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, JSONType, UTCDateTime, utcnow


class Template(Base):
    __tablename__ = "template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meta_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(32))
    quality: Mapped[str | None] = mapped_column(String(32))
    parameter_format: Mapped[str | None] = mapped_column(String(16))
    components: Mapped[list | None] = mapped_column(JSONType)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where each parameter's value comes from (slot key -> `crm.mapping.SOURCES`), set by an
    # admin; a parameter without one is left for the agent to fill. Meta's sync never touches it.
    parameter_sources: Mapped[dict | None] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("name", "language", name="uq_template_name_language"),)
