"""Read receipts and the typing indicator, to the customer.

When an agent opens a conversation (admin setting `mark_read_on_open`), the customer's last
message is marked read at Meta: blue ticks on their side (Meta marks every earlier message
too). While an agent writes, the UI asks for Meta's typing indicator, which is sent the same
way (`status: read` with `typing_indicator`). Both go through the job queue so a page never
waits on Meta, and only inside the 24-hour window.

Once per message: the inbound message's `read_at` (unused otherwise for messages we receive)
says when we asked Meta to mark it read. It is claimed by the transaction that queues the job
(a conditional UPDATE, so two agents opening the page at once queue one call), and given
back if the job gives up on a transient failure, so the next opening tries again.
"""
from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message
from wasb.conversations.window import window_of
from wasb.jobs.queue import Task
from wasb.outbound.channel import channel_for
from wasb.runtime import Runtime
from wasb.settings.service import settings_for_transaction
from wasb.store.base import utcnow
from wasb.whatsapp.errors import PermanentError

log = logging.getLogger(__name__)

READ_TASK = "outbound.mark_read"
# A typing indicator shown late is worse than none (Meta drops it after 25 s anyway).
TYPING_ATTEMPTS = 2


def _last_inbound(session: Session, conversation_id: int) -> Message | None:
    return session.scalars(select(Message).where(
        Message.conversation_id == conversation_id, Message.direction == "in", Message.wamid.is_not(None))
        .order_by(Message.timestamp.desc(), Message.id.desc()).limit(1)).first()


def _in_window(session: Session, conversation_id: int) -> bool:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return False
    return window_of(conversation, session.get(WaContact, conversation.wa_contact_id)).is_open


def queue_read_receipt(rt: Runtime, session: Session, conversation_id: int) -> bool:
    """An agent opened the conversation: queue marking the customer's last message read at
    Meta, unless the setting is off, the window is closed, or it was marked already.
    True when a job was queued. In the caller's transaction."""
    if not settings_for_transaction(session, rt.config).mark_read_on_open:
        return False
    message = _last_inbound(session, conversation_id)
    if message is None or message.read_at is not None or not _in_window(session, conversation_id):
        return False
    claimed = session.execute(update(Message).where(Message.id == message.id, Message.read_at.is_(None))
                              .values(read_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # another request claimed it first
        return False
    rt.queue.enqueue(session, READ_TASK, {"message_id": message.id, "wamid": message.wamid, "typing": False},
                     lock=f"read:{conversation_id}", ref=f"message:{message.id}")
    return True


def queue_typing(rt: Runtime, session: Session, conversation_id: int) -> bool:
    """An agent is writing: queue Meta's typing indicator on the customer's last message (it
    marks that message read too). False when there is none or the window is closed."""
    message = _last_inbound(session, conversation_id)
    if message is None or not _in_window(session, conversation_id):
        return False
    session.execute(update(Message).where(Message.id == message.id, Message.read_at.is_(None))
                    .values(read_at=utcnow()).execution_options(synchronize_session=False))
    rt.queue.enqueue(session, READ_TASK, {"message_id": message.id, "wamid": message.wamid, "typing": True},
                     lock=f"read:{conversation_id}", ref=f"message:{message.id}", max_attempts=TYPING_ATTEMPTS)
    return True


def _mark_read_job(rt: Runtime, session: Session, payload: dict) -> None:
    client = channel_for(rt).client()
    try:
        client.mark_read(payload["wamid"], typing_indicator=bool(payload.get("typing")))
    except PermanentError as exc:
        # Meta will never take it (e.g. a message id it no longer knows): trying again is no use,
        # and a missing blue tick is no reason to fail a job an admin must look at.
        log.warning("mark-as-read of message %s refused by Meta (code %s): %s", payload["message_id"],
                    exc.code, exc.details or exc.message)


def _give_up(rt: Runtime, session: Session, payload: dict, error: str) -> None:
    """Meta stayed unreachable: the next opening of the conversation tries again."""
    if not payload.get("typing"):
        session.execute(update(Message).where(Message.id == payload["message_id"]).values(read_at=None)
                        .execution_options(synchronize_session=False))


MARK_READ = Task(name=READ_TASK, run=_mark_read_job, max_attempts=6, on_give_up=_give_up)
