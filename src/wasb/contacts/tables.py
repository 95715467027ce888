"""The WhatsApp address book: who a customer is on WhatsApp, linked to a CRM record."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, UTCDateTime, utcnow


class WaContact(Base):
    __tablename__ = "wa_contact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Since 2026 a business-scoped user id; the phone may be missing (username users).
    user_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    wa_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    phone_e164: Mapped[str | None] = mapped_column(String(32), index=True)
    profile_name: Mapped[str | None] = mapped_column(String(200))
    crm_person_id: Mapped[str | None] = mapped_column(String(64), index=True)
    crm_kind: Mapped[str | None] = mapped_column(String(16))
    # The linked record's name as the CRM has it (kept by syncCustomers), beside the
    # WhatsApp profile name the customer chose.
    crm_name: Mapped[str | None] = mapped_column(String(200))
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when Meta answered 131047: the window is closed whatever our clock says,
    # until the customer writes again.
    window_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Consent (wasb.contacts.consent): opted out of marketing templates, since when and
    # why (keyword, agent, meta_error, crm). Service replies and utility templates still go.
    marketing_opted_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    opt_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opt_source: Mapped[str | None] = mapped_column(String(16))
    # When a campaign's message last went to this customer, until they answer it
    # (wasb.campaigns): their next message looks up the campaign only then.
    campaign_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)
