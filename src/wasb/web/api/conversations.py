from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, StrictBool
from fastapi.responses import JSONResponse
from sqlalchemy import select

from wasb.contacts.consent import AGENT, set_marketing_consent
from wasb.contacts.tables import WaContact
from wasb.conversations.service import (
    AnotherConversationOpen, ConversationNotFound, UnknownAgent, assign_conversation, last_outbound_statuses,
    reopen_conversation,
)
from wasb.conversations.service import mark_read as mark_conversation_read
from wasb.conversations.tables import Conversation, Message
from wasb.domain.phones import InvalidPhone, to_e164
from wasb.domain.clock import window_now
from wasb.outbound.read_receipts import queue_read_receipt
from wasb.web.api.deps import AppDep, Caller
from wasb.conversations.notes import notes_of
from wasb.web.api.views import conversation_view, message_view, note_view
from wasb.web.errors import errors
from wasb.web.params import Limit, Offset, OptionalQueryText, RowId

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"], responses=errors(401))


@router.get("")
def list_conversations(app: AppDep, who: Caller, phone: OptionalQueryText = None, status: OptionalQueryText = None,
                       limit: Limit = 50, offset: Offset = 0):
    query = select(Conversation, WaContact).join(WaContact, WaContact.id == Conversation.wa_contact_id)
    if phone:
        try:
            query = query.where(WaContact.phone_e164 == to_e164(phone, app.config.default_country))
        except InvalidPhone as exc:
            raise HTTPException(422, str(exc))
    if status:
        query = query.where(Conversation.status == status)
    query = query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(min(limit, 500)).offset(offset)
    now = window_now()
    with app.db.read_sessions() as session:
        rows = session.execute(query).all()
        last = last_outbound_statuses(session, [c.id for c, _ in rows])
        return [conversation_view(c, contact, now, last.get(c.id)) for c, contact in rows]


@router.get("/{conversation_id}", responses=errors(404))
def get_conversation(conversation_id: RowId, app: AppDep, who: Caller, mark_read: bool = False):
    """`mark_read=true`: the caller shows it to an agent, as the inbox does: unread goes to 0
    and (admin setting `mark_read_on_open`) the customer's last message is marked read at Meta."""
    if mark_read:
        with app.db.sessions() as session, session.begin():
            try:
                mark_conversation_read(session, conversation_id)
            except ConversationNotFound:
                raise HTTPException(404, f"no conversation {conversation_id}")
            queue_read_receipt(app, session, conversation_id)
    with app.db.read_sessions() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise HTTPException(404, f"no conversation {conversation_id}")
        contact = session.get(WaContact, conversation.wa_contact_id)
        messages = session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                   .order_by(Message.timestamp, Message.id)).all()
        view = conversation_view(conversation, contact, last_status=_last_status(session, conversation.id))
        view["messages"] = [message_view(m) for m in messages]
        view["notes"] = [note_view(n) for n in notes_of(session, conversation_id)]
        return view


@router.post("/{conversation_id}/reopen", responses=errors(404, 409))
def reopen(conversation_id: RowId, app: AppDep, who: Caller):
    """A closed conversation open again, so agents can write in it. Idempotent: an open
    one is answered as it is. 409 while the customer has another open conversation on
    the number (its id is `open_conversation_id`): their messages go there."""
    with app.db.sessions() as session, session.begin():
        try:
            conversation = reopen_conversation(session, conversation_id)
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc))
        except AnotherConversationOpen as exc:
            return JSONResponse(status_code=409, content={"detail": str(exc), "open_conversation_id": exc.open_id})
        contact = session.get(WaContact, conversation.wa_contact_id)
        return conversation_view(conversation, contact, last_status=_last_status(session, conversation.id))


class AssigneeIn(BaseModel):
    # null (or "") unassigns; otherwise an active WASB user's username.
    username: str | None = Field(default=None, max_length=100)


@router.put("/{conversation_id}/assignee", responses=errors(400, 404))
def set_assignee(conversation_id: RowId, body: AssigneeIn, app: AppDep, who: Caller):
    """Give the conversation to an agent (an active user), or back to nobody. Emits the
    `conversation.assigned` webhook event when the assignee changes; the same one is answered as it is."""
    username = (body.username or "").strip() or None
    with app.db.sessions() as session, session.begin():
        try:
            conversation = assign_conversation(session, conversation_id, username)
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc))
        except UnknownAgent as exc:
            raise HTTPException(422, str(exc))
        contact = session.get(WaContact, conversation.wa_contact_id)
        return conversation_view(conversation, contact, last_status=_last_status(session, conversation.id))


class ConsentIn(BaseModel):
    # Strict: `0` or "no" is a client's mistake to hear about, not a consent to guess.
    marketing_opted_out: StrictBool


@router.put("/{conversation_id}/consent", responses=errors(400, 404))
def set_consent(conversation_id: RowId, body: ConsentIn, app: AppDep, who: Caller):
    """An agent opts the customer out of marketing templates (or back in), e.g. after a phone
    call. Recorded with the agent's name in the audit log (source `agent`), and written to
    the admin's CRM field; unchanged consent is answered as it is."""
    with app.db.sessions() as session, session.begin():
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise HTTPException(404, f"no conversation {conversation_id}")
        contact = session.get(WaContact, conversation.wa_contact_id)
        set_marketing_consent(app, session, contact, opted_out=body.marketing_opted_out, source=AGENT,
                              actor=who.name)
        return conversation_view(conversation, contact, last_status=_last_status(session, conversation.id))


def _last_status(session, conversation_id: int) -> str | None:
    return last_outbound_statuses(session, [conversation_id]).get(conversation_id)
