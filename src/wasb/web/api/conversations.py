from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message
from wasb.domain.phones import InvalidPhone, to_e164
from wasb.web.api.deps import AppDep, Caller
from wasb.web.api.views import conversation_view, message_view
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
    with app.db.read_sessions() as session:
        return [conversation_view(c, contact) for c, contact in session.execute(query)]


@router.get("/{conversation_id}", responses=errors(404))
def get_conversation(conversation_id: RowId, app: AppDep, who: Caller):
    with app.db.read_sessions() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise HTTPException(404, f"no conversation {conversation_id}")
        contact = session.get(WaContact, conversation.wa_contact_id)
        messages = session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                   .order_by(Message.timestamp, Message.id)).all()
        view = conversation_view(conversation, contact)
        view["messages"] = [message_view(m) for m in messages]
        return view
