from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from wasb.contacts.tables import WaContact
from wasb.conversations.service import last_outbound_statuses
from wasb.conversations.tables import Conversation
from wasb.crm.port import TICKET_SORTS, CRMNotFound, TicketQuery
from wasb.live.feed import announce_ticket
from wasb.tickets.process import CommentError, TicketNotFound, comment_messages, comment_to_whatsapp
from wasb.tickets.service import change_ticket_assignee
from wasb.web.api.deps import AppDep, Caller
from wasb.web.api.views import comment_view, conversation_view, ticket_view
from wasb.web.errors import errors
from wasb.web.params import BodyText, CrmId, Limit, Offset, OptionalQueryText

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=errors(401, 502, 503))


@router.get("")
def list_tickets(app: AppDep, who: Caller, person: OptionalQueryText = None, limit: Limit = 50, offset: Offset = 0,
                 q: OptionalQueryText = None, status: OptionalQueryText = None, assigned_user: OptionalQueryText = None,
                 untouched_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
                 sort: Literal[TICKET_SORTS] = "number", order: Literal["asc", "desc"] = "desc"):
    """Newest first by default. `q`: a ticket number (TT12, 12) or words of the title;
    `assigned_user`: the CRM's owner (a username in the embedded CRM, a Users id such as 19x1
    in vtenext); `untouched_days`: not modified for at least this many days."""
    query = TicketQuery(text=q or "", status=status or None, assigned_user=assigned_user or None,
                        untouched_days=untouched_days, sort=sort, descending=order == "desc")
    with app.db.read_sessions() as session:
        return [ticket_view(t) for t in app.crm(session).list_tickets(person, min(limit, 500), offset, query=query)]


@router.get("/{ticket_id}", responses=errors(404))
def get_ticket(ticket_id: CrmId, app: AppDep, who: Caller):
    with app.db.read_sessions() as session:
        crm = app.crm(session)
        ticket = crm.get_ticket(ticket_id)
        if ticket is None:
            raise HTTPException(404, f"no ticket {ticket_id}")
        view = ticket_view(ticket)
        comments = crm.list_comments(ticket_id)
        messages = comment_messages(session, [c.id for c in comments])
        view["comments"] = [comment_view(c, messages.get(c.id)) for c in comments]
        conversations = session.scalars(select(Conversation).where(Conversation.ticket_id == ticket_id)
                                        .order_by(Conversation.id)).all()
        # With their customer: Meta's 131047 (kept on the customer) closes the window too.
        last = last_outbound_statuses(session, [c.id for c in conversations])
        view["conversations"] = [conversation_view(c, session.get(WaContact, c.wa_contact_id), last_status=last.get(c.id))
                                 for c in conversations]
        return view


class TicketAssigneeIn(BaseModel):
    # One of the CRM's active users: a username on the embedded CRM, a Users id (19x5) on vtenext/vtiger.
    user_id: str = Field(min_length=1, max_length=100)


@router.put("/{ticket_id}/assignee", responses=errors(400, 404))
def set_assignee(ticket_id: CrmId, body: TicketAssigneeIn, app: AppDep, who: Caller):
    """Give the ticket to one of the CRM's active users (the ids the tickets filter takes);
    422 for a user the CRM does not have or who is inactive. 200 with the ticket."""
    with app.db.sessions() as session, session.begin():
        try:
            ticket = change_ticket_assignee(app.crm(session), ticket_id, body.user_id)[0]
            announce_ticket(session, ticket_id)
            return ticket_view(ticket)
        except CRMNotFound as exc:
            raise HTTPException(404, str(exc))
        except ValueError as exc:
            raise HTTPException(422, str(exc))


class CommentIn(BaseModel):
    body: BodyText = Field(min_length=1, max_length=20000)


@router.post("/{ticket_id}/comments", status_code=201, responses=errors(400, 404))
def add_comment(ticket_id: CrmId, body: CommentIn, app: AppDep, who: Caller):
    """An agent's comment: on the ticket, and to the customer on WhatsApp (process 1)."""
    with app.db.sessions() as session, session.begin():
        try:
            view = comment_to_whatsapp(app, session, ticket_id, body.body, who.name).view()
            announce_ticket(session, ticket_id)  # also when no conversation carries the comment
            return view
        except TicketNotFound as exc:
            raise HTTPException(404, str(exc))
        except CommentError as exc:
            raise HTTPException(422, str(exc))
