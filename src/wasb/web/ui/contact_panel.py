"""The contact panel beside a conversation: the customer's CRM record (kind, company, e-mail,
owner), its editable fields, and the person's other conversations and tickets.

Read once with the page, not with each live refresh of the thread: on an external CRM it
costs a few webservice calls (the tickets, the users' names)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wasb.conversations.tables import Conversation
from wasb.crm.port import CRM, Person, Ticket
from wasb.web.ui.views import ConversationPage

OTHER_CONVERSATIONS = 20
TICKETS = 10


@dataclass
class ContactPanel:
    person: Person | None
    owner: str | None = None  # the CRM owner's name (a Users id on vtenext is shown as its name)
    conversations: list[Conversation] = field(default_factory=list)  # newest first, not this one
    tickets: list[Ticket] = field(default_factory=list)  # newest first


def contact_panel(session: Session, crm: CRM, page: ConversationPage) -> ContactPanel:
    conversation, person = page.conversation, page.person
    same_customer = Conversation.wa_contact_id == conversation.wa_contact_id
    if person is not None:  # the person may have written from other numbers too
        same_customer = or_(same_customer, Conversation.crm_person_id == person.id)
    others = list(session.scalars(select(Conversation).where(same_customer, Conversation.id != conversation.id)
                                  .order_by(Conversation.id.desc()).limit(OTHER_CONVERSATIONS)))
    if person is None:
        return ContactPanel(None, conversations=others)
    owner = None
    if person.assigned_user:
        owner = next((u.name for u in crm.list_users() if u.id == person.assigned_user), person.assigned_user)
    return ContactPanel(person, owner, others, crm.list_tickets(person.id, TICKETS))
