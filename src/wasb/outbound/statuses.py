"""Delivery statuses of our outbound messages: forward only, `failed` final, early ones kept.

The inbound worker (`wasb.inbound.statuses`) finds the message a status webhook names; the
sender applies the statuses that raced its answer once it knows the wamid."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message
from wasb.domain import statuses
from wasb.hooks.service import MESSAGE_STATUS, emit
from wasb.conversations.tables import PendingStatus
from wasb.templates.service import mark_status_from_meta
from wasb.whatsapp.errors import TEMPLATE_STATUS_BY_CODE
from wasb.whatsapp.webhook import all_errors, first_error, message_time, status_conversation

WINDOW_CLOSED = 131047


def apply_status(session: Session, message: Message, data: dict) -> None:
    status = data.get("status") or ""
    at: datetime = message_time(data)
    new = statuses.next_status(message.status, status)
    if status == statuses.SENT and message.sent_at is None:
        message.sent_at = at
    elif status == statuses.DELIVERED and message.delivered_at is None:
        message.delivered_at = at
    elif status == statuses.READ and message.read_at is None:
        message.read_at = at
    if isinstance(data.get("pricing"), dict) and data["pricing"]:
        message.pricing = data["pricing"]
    meta_conversation = status_conversation(data)
    if meta_conversation is not None:
        # Meta gives the expiry on `sent` only: a later status of the same conversation adds
        # to what is known, it does not forget it.
        known = message.meta_conversation or {}
        same = known.get("id") == meta_conversation.get("id")
        message.meta_conversation = {**known, **meta_conversation} if same else meta_conversation
    if status == statuses.FAILED and message.status != statuses.FAILED:
        message.error_code, message.error_message = first_error(data.get("errors"))
        message.errors = all_errors(data.get("errors")) or None
        if message.error_code == WINDOW_CLOSED:
            _close_window(session, message, at)
        if message.error_code in TEMPLATE_STATUS_BY_CODE and message.type == "template":
            mark_template_of(session, message, TEMPLATE_STATUS_BY_CODE[message.error_code])
    elif message.status == statuses.SENDING and new != statuses.SENDING:
        # Out of `sending` at last (a send held by Meta, or one whose answer was lost): the
        # note about the wait, or an earlier try's problem, is over.
        message.error_code = message.error_message = message.errors = None
    changed = new != message.status
    message.status = new
    if changed and message.direction == "out":
        emit(session, MESSAGE_STATUS, {
            "conversation_id": message.conversation_id, "message_id": message.id, "wamid": message.wamid,
            "status": new, "at": at, "error_code": message.error_code, "error_message": message.error_message},
            message.conversation_id)


def _close_window(session: Session, message: Message, at: datetime) -> None:
    """Meta is authoritative about the window, even when our clock says it is open."""
    conversation = session.get(Conversation, message.conversation_id)
    contact = session.get(WaContact, conversation.wa_contact_id) if conversation else None
    if contact is not None:
        contact.window_closed_at = at


def apply_pending_statuses(session: Session, message: Message) -> int:
    """Statuses that arrived before we knew the wamid, applied once we do."""
    if not message.wamid:
        return 0
    pending = session.scalars(select(PendingStatus).where(PendingStatus.wamid == message.wamid)
                              .order_by(PendingStatus.timestamp, PendingStatus.id)).all()
    for row in pending:
        apply_status(session, message, row.payload)
    if pending:
        session.execute(delete(PendingStatus).where(PendingStatus.wamid == message.wamid))
    return len(pending)


def mark_template_of(session: Session, message: Message, status: str) -> None:
    """What Meta said of a template message tells the catalogue its template's state (paused,
    disabled)."""
    mark_status_from_meta(session, message.template_name, (message.template_params or {}).get("language"), status)
