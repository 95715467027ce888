"""Tickets as the plugin keeps them: the first message in the description, later ones as
comments, and the status telling who has to answer."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from wasb.crm.port import CRM, CommentAuthor, NewTicket, Ticket
from wasb.domain.naming import ticket_entry, ticket_title
from wasb.settings.service import AdminSettings


@dataclass
class TicketUpdate:
    ticket: Ticket
    created: bool
    comment_id: str | None


def usable_ticket(crm: CRM, settings: AdminSettings, linked_ticket_id: str | None, person_id: str) -> Ticket | None:
    """The conversation's ticket while it is open, else the person's open ticket, else none."""
    if linked_ticket_id:
        linked = crm.get_ticket(linked_ticket_id)
        if linked is not None and linked.status != settings.status_closed:
            return linked
    return crm.find_open_ticket(person_id, settings.status_closed)


def record_customer_message(crm: CRM, settings: AdminSettings, tz: ZoneInfo, *, ticket: Ticket | None,
                            person_id: str, customer_name: str, number_with_prefix: str, text: str,
                            at: datetime) -> TicketUpdate:
    if ticket is None:
        ticket = crm.create_ticket(NewTicket(
            title=ticket_title(at, number_with_prefix, tz), status=settings.status_open,
            priority=settings.ticket_priority, description=ticket_entry(at, text, tz), person_id=person_id,
            assigned_user=settings.reference_user or None))
        return TicketUpdate(ticket, True, None)
    comment = crm.add_comment(ticket.id, text, CommentAuthor.customer(customer_name))
    crm.set_ticket_status(ticket.id, settings.status_answered)
    return TicketUpdate(ticket, False, comment.id)


def change_ticket_status(crm: CRM, ticket_id: str, status: str) -> Ticket:
    """An agent sets the status by hand (raises CRMNotFound for an unknown ticket)."""
    status = status.strip()
    if not status:
        raise ValueError("a ticket status cannot be empty")
    crm.set_ticket_status(ticket_id, status)
    return crm.get_ticket(ticket_id)


def ticket_statuses(settings: AdminSettings) -> list[str]:
    """The statuses WASB itself moves tickets through, in the order a ticket lives them."""
    return [settings.status_open, settings.status_waiting, settings.status_answered, settings.status_closed]
