"""Delivery statuses of our outbound messages: forward only, `failed` final, early ones kept."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message
from wasb.domain import statuses
from wasb.inbound.checks import first_error
from wasb.whatsapp.webhook import Item
from wasb.inbound.messages import message_time
from wasb.conversations.tables import PendingStatus

WINDOW_CLOSED = 131047


def receive_status(session: Session, item: Item) -> None:
    data = item.data
    wamid, status = data.get("id"), data.get("status")
    if not wamid or not status:
        return
    message = session.scalars(select(Message).where(Message.wamid == wamid)).first()
    if message is None:
        message = _by_callback_data(session, wamid, data.get("biz_opaque_callback_data"))
    if message is None:
        # The status raced the send response that stores the wamid: keep it for later.
        session.add(PendingStatus(wamid=wamid, status=status, timestamp=message_time(data), payload=data))
        return
    apply_status(session, message, data)


CALLBACK_PREFIX = "wasb:"


def _by_callback_data(session: Session, wamid: str, callback: Any) -> Message | None:
    """Our outbound row named by the callback data Meta echoes (`wasb:<message id>`), when the
    send's answer (and so the wamid) never reached us: a crash, a lost answer, or a race."""
    if not isinstance(callback, str) or not callback.startswith(CALLBACK_PREFIX):
        return None
    ref = callback.removeprefix(CALLBACK_PREFIX)
    if not ref.isdigit():
        return None
    message = session.get(Message, int(ref))
    if message is None or message.direction != "out" or message.wamid not in (None, wamid):
        return None
    message.wamid = wamid
    session.flush()
    apply_pending_statuses(session, message)
    return message


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
    if data.get("pricing"):
        message.pricing = data["pricing"]
    if status == statuses.FAILED and message.status != statuses.FAILED:
        message.error_code, message.error_message = first_error(data.get("errors"))
        if message.error_code == WINDOW_CLOSED:
            _close_window(session, message, at)
    message.status = new
    conversation = session.get(Conversation, message.conversation_id)
    if conversation is not None and message.direction == "out":
        conversation.last_message_status = new


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
