"""Tickets as the plugin keeps them: the first message in the description, later ones as
comments, and the status telling who has to answer."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from wasb.crm.port import CRM, Comment, CommentAuthor, CrmUser, NewTicket, Ticket
from wasb.domain.naming import ticket_entry, ticket_title
from wasb.settings.service import AdminSettings


@dataclass
class TicketUpdate:
    ticket: Ticket
    created: bool
    comment_id: str | None


def record_customer_message(crm: CRM, settings: AdminSettings, tz: ZoneInfo, *, ticket: Ticket | None,
                            person_id: str, customer_name: str, number_with_prefix: str, text: str,
                            at: datetime, on_comment: Callable[[Ticket, Comment], None] | None = None
                            ) -> TicketUpdate:
    """The first message opens a ticket; later ones become the customer's comments and
    mark the ticket answered. `on_comment` records the new comment before the status
    is written, so a retry after a failed status write does not comment twice."""
    if ticket is None:
        ticket = crm.create_ticket(NewTicket(
            title=ticket_title(at, number_with_prefix, tz), status=settings.status_open,
            priority=settings.ticket_priority, description=ticket_entry(at, text, tz), person_id=person_id,
            assigned_user=settings.reference_user or None))
        return TicketUpdate(ticket, True, None)
    comment = crm.add_comment(ticket.id, text, CommentAuthor.customer(customer_name))
    if on_comment is not None:
        on_comment(ticket, comment)
    crm.set_ticket_status(ticket.id, settings.status_answered)
    return TicketUpdate(ticket, False, comment.id)


def change_ticket_status(crm: CRM, ticket_id: str, status: str) -> Ticket:
    """An agent sets the status by hand (raises CRMNotFound for an unknown ticket)."""
    status = status.strip()
    if not status:
        raise ValueError("a ticket status cannot be empty")
    crm.set_ticket_status(ticket_id, status)
    return crm.get_ticket(ticket_id)


def change_ticket_assignee(crm: CRM, ticket_id: str, user_id: str) -> tuple[Ticket, CrmUser]:
    """An agent gives the ticket to a CRM user (raises CRMNotFound, or ValueError for an
    unknown user): the ticket as it is now, and that user."""
    user = crm.set_ticket_assignee(ticket_id, user_id.strip())
    return crm.get_ticket(ticket_id), user


def ticket_statuses(settings: AdminSettings) -> list[str]:
    """The statuses WASB itself moves tickets through, in the order a ticket lives them."""
    return [settings.status_open, settings.status_waiting, settings.status_answered, settings.status_closed]


def is_ticket_opened_by(ticket: Ticket, first_message_at: datetime, number_with_prefix: str, tz: ZoneInfo) -> bool:
    """Whether this ticket is the one a message opened (its title is made from the
    message's time and number): a retry whose first attempt created the ticket but
    lost the CRM's answer finds it this way instead of opening a second one."""
    return ticket.title == ticket_title(first_message_at, number_with_prefix, tz)


def same_comment_text(stored: str, sent: str) -> bool:
    """Whether a comment read back from the CRM is this text, allowing for a CRM that
    lost characters outside the BMP (`????`) or wrote them in a readable form."""
    if stored == sent:
        return True
    if not any(ord(ch) > 0xFFFF for ch in sent):
        return False
    return _without_astral(stored) == _without_astral(sent)


# What a CRM may have put where emoji were: `????`, `:thumbs_up:`, `[NAME]`.
_EMOJI_STAND_INS = re.compile(r"\?{4}|:[A-Za-z0-9_&.'-]+:|\[[A-Z0-9 -]+\]")


def _without_astral(text: str) -> str:
    """The letters and digits of a text, once emoji and their stand-ins are gone."""
    return "".join(ch for ch in _EMOJI_STAND_INS.sub("", text) if ch.isalnum())
