"""Tickets written straight into the embedded CRM, for the tests of the tickets list."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from wasb.crm.embedded.crm import EmbeddedCRM
from wasb.crm.embedded.tables import CrmTicket
from wasb.crm.port import NewPerson, NewTicket
from wasb.store.base import utcnow
from wasb.store.engine import open_database

# key, title, status, assignee, days untouched
THREE = [("screen", "Broken screen", "Open", "ada", 0),
         ("late", "Late delivery", "Closed", "bruno", 10),
         ("refund", "Refund for the broken case", "Answered", None, 2)]


def three_tickets(database_url: str) -> dict[str, str]:
    """The tickets of THREE, oldest first, for one customer; their numbers by key."""
    db = open_database(database_url)
    made = {}
    try:
        with db.sessions() as session, session.begin():
            crm = EmbeddedCRM(session)
            person = crm.create_person(NewPerson(kind="lead", name="Giulia Bianchi", mobile="+393331112222"))
            for key, title, status, owner, idle in THREE:
                ticket = crm.create_ticket(NewTicket(title=title, status=status, priority="Low", description="…",
                                                     person_id=person.id, assigned_user=owner))
                session.execute(update(CrmTicket).where(CrmTicket.id == int(ticket.id))
                                .values(modified_at=utcnow() - timedelta(days=idle)))
                made[key] = ticket.number
    finally:
        db.dispose()
    return made
