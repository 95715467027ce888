"""Campaigns: an approved template sent to a segment of people, one row per recipient.

A recipient row is written for every number the segment gave, the excluded ones too (opted
out, invalid, a repeated number), so the report lists what was left out and why. The
message a recipient got is an ordinary outbound message: its status (sent, delivered, read,
failed with Meta's reason) is read from there, never copied."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, BigId, JSONType, UTCDateTime, utcnow

# A campaign's life: prepared and previewed (draft), sending (running), held (paused), ended.
DRAFT, RUNNING, PAUSED, CANCELLED, DONE = "draft", "running", "paused", "cancelled", "done"
# A recipient's: waiting for its turn, handed to the sender, left out before sending, refused
# when its turn came (the reason says why), or not sent because the campaign was cancelled.
PENDING, QUEUED, EXCLUDED, REFUSED, SKIPPED = "pending", "queued", "excluded", "refused", "skipped"
# Why a recipient was left out.
OPTED_OUT, INVALID, DUPLICATE = "opted_out", "invalid", "duplicate"


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[int] = mapped_column(ForeignKey("template.id"))
    template_name: Mapped[str] = mapped_column(String(512))
    template_language: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    # Who: {"kind", "owner", "field", "value"} of the CRM, or {"csv": file name, "rows": n}.
    audience: Mapped[dict] = mapped_column(JSONType)
    # Each parameter's source: a CRM field ("person.first_name"), a CSV column ("csv.city"),
    # or a fixed value written in `params`.
    mapping: Mapped[dict] = mapped_column(JSONType, default=dict)
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counted once, when the audience is taken: what the preview and the report show.
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # to be sent
    opted_out: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    estimated_cost: Mapped[float] = mapped_column(Float, default=0.0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Why the sending stopped by itself (the template was paused or disabled at Meta).
    note: Mapped[str | None] = mapped_column(Text)
    # The file of a media header (image, video, document), kept once in the media store by its
    # digest: every recipient's message names it, and Meta gets it uploaded once.
    header_sha256: Mapped[str | None] = mapped_column(String(100))
    header_filename: Mapped[str | None] = mapped_column(String(300))
    header_mime: Mapped[str | None] = mapped_column(String(100))
    header_size: Mapped[int | None] = mapped_column(BigInteger)


class CampaignRecipient(Base):
    __tablename__ = "campaign_recipient"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer)  # the CSV's line, or the order the CRM gave
    person_id: Mapped[str | None] = mapped_column(String(64))
    person_kind: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(100))  # as the CRM or the CSV wrote it
    wa_id: Mapped[str | None] = mapped_column(String(32))  # None: not a usable number
    country: Mapped[str | None] = mapped_column(String(2))
    # The parameters this recipient fills (from their CRM record or their CSV line).
    param_values: Mapped[dict | None] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    wa_contact_id: Mapped[int | None] = mapped_column(Integer)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_campaign_recipient_state", "campaign_id", "state", "id"),
        Index("ix_campaign_recipient_contact", "wa_contact_id", "queued_at"),
    )
