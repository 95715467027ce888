from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from wasb.conversations.tables import Conversation
from wasb.web.api.deps import AppDep, Caller
from wasb.web.api.views import comment_view, conversation_view, ticket_view

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


@router.get("")
def list_tickets(app: AppDep, who: Caller, person: str | None = None, limit: int = 50, offset: int = 0):
    with app.db.read_sessions() as session:
        return [ticket_view(t) for t in app.crm(session).list_tickets(person, min(limit, 500), offset)]


@router.get("/{ticket_id}")
def get_ticket(ticket_id: str, app: AppDep, who: Caller):
    with app.db.read_sessions() as session:
        crm = app.crm(session)
        ticket = crm.get_ticket(ticket_id)
        if ticket is None:
            raise HTTPException(404, f"no ticket {ticket_id}")
        view = ticket_view(ticket)
        view["comments"] = [comment_view(c) for c in crm.list_comments(ticket_id)]
        conversations = session.scalars(select(Conversation).where(Conversation.ticket_id == ticket_id)
                                        .order_by(Conversation.id)).all()
        view["conversations"] = [conversation_view(c) for c in conversations]
        return view
