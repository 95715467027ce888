"""Status webhooks: the outbound message each one names, found by wamid or by our callback data."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.conversations.tables import Message, PendingStatus
from wasb.outbound.statuses import apply_pending_statuses, apply_status
from wasb.whatsapp.webhook import Item, message_time


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
