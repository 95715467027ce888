"""The ticket a conversation follows: its own while open, else the person's open one."""
from __future__ import annotations

from wasb.crm.port import CRM, Ticket
from wasb.settings.service import AdminSettings


def usable_ticket(crm: CRM, settings: AdminSettings, linked_ticket_id: str | None, person_id: str) -> Ticket | None:
    """The conversation's ticket while it is open, else the person's open ticket, else none."""
    if linked_ticket_id:
        linked = crm.get_ticket(linked_ticket_id)
        if linked is not None and linked.status != settings.status_closed:
            return linked
    return crm.find_open_ticket(person_id, settings.status_closed)
