"""The embedded CRM: the CRM port over tables in the service database.

It works inside the caller's session, so a customer's message, their lead and their
ticket are written in one transaction.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from wasb.crm.embedded.tables import CrmComment, CrmDocument, CrmPerson, CrmTicket
from wasb.crm.port import (
    Comment, CommentAuthor, CRMNotFound, Document, DuplicateMobile, NewPerson, NewTicket, Page, Person, PersonKind,
    Ticket,
)
from wasb.domain.phones import InvalidPhone, to_e164
from wasb.store.base import utcnow
from wasb.store.ids import row_id
from wasb.store.like import contains_pattern


def _person(row: CrmPerson) -> Person:
    return Person(id=str(row.id), kind=row.kind, name=row.name, mobile=row.mobile, email=row.email,
                  company=row.company, assigned_user=row.assigned_user, created_at=row.created_at,
                  modified_at=row.modified_at)


def _ticket(row: CrmTicket) -> Ticket:
    # The ticket number is derived from the id, as vtenext shows it ("TT24").
    return Ticket(id=str(row.id), number=f"TT{row.id}", title=row.title, status=row.status, priority=row.priority,
                  description=row.description, person_id=str(row.person_id) if row.person_id else None,
                  assigned_user=row.assigned_user, created_at=row.created_at, modified_at=row.modified_at)


def _comment(row: CrmComment) -> Comment:
    return Comment(id=str(row.id), ticket_id=str(row.ticket_id), body=row.body, author_user=row.author_user,
                   customer_name=row.customer_name, created_at=row.created_at)


def _int_id(value: str) -> int | None:
    return row_id(value)


def _cursor(moment: datetime, row_id: int) -> str:
    return f"{moment.isoformat()}|{row_id}"


def _parse_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    stamp, _, row_id = cursor.partition("|")
    return datetime.fromisoformat(stamp), int(row_id or 0)


# Built once: each inbound message of a new customer runs them.
_people_by_phone = select(CrmPerson).where(CrmPerson.mobile_e164 == bindparam("e164"), CrmPerson.deleted.is_(False))
_open_ticket = (select(CrmTicket).where(CrmTicket.person_id == bindparam("person_id"),
                                        CrmTicket.status != bindparam("closed"))
                .order_by(CrmTicket.id.desc()))


class EmbeddedCRM:
    def __init__(self, session: Session, default_country: str = "IT"):
        self.session = session
        self.default_country = default_country
        # Rows this instance has read or written, kept referenced: the session's identity
        # map holds rows weakly, so a ticket read, then commented, then given a status
        # would otherwise be selected again for each step. One instance serves one job.
        self._rows: dict[tuple[type, int], object] = {}

    def _get(self, model, pk: int | None):
        if not pk:
            return None
        row = self._rows.get((model, pk)) or self.session.get(model, pk)
        if row is not None:
            self._rows[(model, pk)] = row
        return row

    def _keep(self, row):
        self._rows[(type(row), row.id)] = row
        return row

    # --- people -----------------------------------------------------------
    def _e164(self, mobile: str | None) -> str | None:
        if not mobile:
            return None
        return to_e164(mobile, self.default_country)

    def _live_person(self, person_id: str) -> CrmPerson | None:
        row = self._get(CrmPerson, _int_id(person_id))
        return row if row is not None and not row.deleted else None

    def _holder_of(self, e164: str, except_id: int | None = None) -> CrmPerson | None:
        query = select(CrmPerson).where(CrmPerson.mobile_e164 == e164)
        if except_id is not None:
            query = query.where(CrmPerson.id != except_id)
        return self.session.scalars(query).first()

    def find_people_by_phone(self, e164: str) -> list[Person]:
        rows = self.session.scalars(_people_by_phone, {"e164": e164}).all()
        return [_person(self._keep(r)) for r in rows]

    def get_person(self, person_id: str) -> Person | None:
        row = self._live_person(person_id)
        return _person(row) if row else None

    def create_person(self, new: NewPerson) -> Person:
        e164 = self._e164(new.mobile)
        if e164 and (holder := self._holder_of(e164)):
            raise DuplicateMobile(_person(holder))
        row = CrmPerson(kind=new.kind, name=new.name, mobile=new.mobile, mobile_e164=e164, email=new.email,
                        company=new.company, assigned_user=new.assigned_user)
        self.session.add(row)
        self.session.flush()
        return _person(self._keep(row))

    def update_person(self, person_id: str, *, name: str | None = None, mobile: str | None = None,
                      email: str | None = None, company: str | None = None) -> Person:
        row = self._live_person(person_id)
        if row is None:
            raise CRMNotFound(f"no person {person_id}")
        if mobile is not None:
            e164 = self._e164(mobile) if mobile else None
            if e164 and (holder := self._holder_of(e164, except_id=row.id)):
                raise DuplicateMobile(_person(holder))
            row.mobile, row.mobile_e164 = mobile or None, e164
        if name is not None:
            row.name = name
        if email is not None:
            row.email = email or None
        if company is not None:
            row.company = company or None
        row.modified_at = utcnow()
        self.session.flush()
        return _person(row)

    def delete_person(self, person_id: str) -> None:
        row = self._live_person(person_id)
        if row is None:
            raise CRMNotFound(f"no person {person_id}")
        # Soft delete, so that sync can see the deletion and unlink the address book.
        row.deleted, row.mobile_e164, row.modified_at = True, None, utcnow()
        self.session.flush()

    def search_people(self, text: str = "", kind: PersonKind | None = None, limit: int = 50,
                      offset: int = 0) -> list[Person]:
        query = select(CrmPerson).where(CrmPerson.deleted.is_(False))
        if kind:
            query = query.where(CrmPerson.kind == kind)
        if text:
            pattern, escape = contains_pattern(text.lower())
            digits, digits_escape = contains_pattern(text)
            conditions = [func.lower(CrmPerson.name).like(pattern, escape=escape),
                          func.lower(CrmPerson.company).like(pattern, escape=escape),
                          func.lower(CrmPerson.email).like(pattern, escape=escape),
                          CrmPerson.mobile.like(digits, escape=digits_escape)]
            try:
                conditions.append(CrmPerson.mobile_e164 == to_e164(text, self.default_country))
            except InvalidPhone:
                pass
            query = query.where(or_(*conditions))
        rows = self.session.scalars(query.order_by(CrmPerson.name, CrmPerson.id).limit(limit).offset(offset))
        return [_person(r) for r in rows]

    def cursor_at(self, when: datetime) -> str:
        """A change cursor starting at `when` (e.g. now minus the sync time window)."""
        return _cursor(when, 0)

    def people_modified_since(self, cursor: str | None, limit: int = 100) -> Page:
        """Deleted people are included (their mobile is None) so that sync can unlink them."""
        query = select(CrmPerson)
        after = _parse_cursor(cursor)
        if after:
            stamp, last_id = after
            query = query.where(or_(CrmPerson.modified_at > stamp,
                                    (CrmPerson.modified_at == stamp) & (CrmPerson.id > last_id)))
        rows = self.session.scalars(query.order_by(CrmPerson.modified_at, CrmPerson.id).limit(limit)).all()
        items = [_person(r) if not r.deleted else Person(id=str(r.id), kind=r.kind, name=r.name, mobile=None,
                                                          modified_at=r.modified_at) for r in rows]
        next_cursor = _cursor(rows[-1].modified_at, rows[-1].id) if rows else cursor
        return Page(items=items, cursor=next_cursor)

    # --- tickets ----------------------------------------------------------
    def _ticket_row(self, ticket_id: str) -> CrmTicket:
        row = self._get(CrmTicket, _int_id(ticket_id))
        if row is None:
            raise CRMNotFound(f"no ticket {ticket_id}")
        return row

    def find_open_ticket(self, person_id: str, closed_status: str) -> Ticket | None:
        pk = _int_id(person_id)
        if pk is None:
            return None
        row = self.session.scalars(_open_ticket, {"person_id": pk, "closed": closed_status}).first()
        return _ticket(self._keep(row)) if row else None

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        try:
            return _ticket(self._ticket_row(ticket_id))
        except CRMNotFound:
            return None

    def list_tickets(self, person_id: str | None = None, limit: int = 50, offset: int = 0) -> list[Ticket]:
        query = select(CrmTicket)
        if person_id is not None:
            query = query.where(CrmTicket.person_id == _int_id(person_id))
        rows = self.session.scalars(query.order_by(CrmTicket.id.desc()).limit(limit).offset(offset))
        return [_ticket(r) for r in rows]

    def create_ticket(self, new: NewTicket) -> Ticket:
        if self._live_person(new.person_id) is None:
            raise CRMNotFound(f"no person {new.person_id}")
        row = CrmTicket(title=new.title, status=new.status, priority=new.priority, description=new.description,
                        person_id=_int_id(new.person_id), assigned_user=new.assigned_user)
        self.session.add(row)
        self.session.flush()
        return _ticket(self._keep(row))

    def set_ticket_status(self, ticket_id: str, status: str) -> None:
        row = self._ticket_row(ticket_id)
        if row.status != status:
            row.status, row.modified_at = status, utcnow()

    def add_comment(self, ticket_id: str, body: str, author: CommentAuthor) -> Comment:
        row = self._ticket_row(ticket_id)
        comment = CrmComment(ticket_id=row.id, body=body, author_user=author.user, customer_name=author.customer_name)
        self.session.add(comment)
        self.session.flush()
        # After the flush: the ticket's one UPDATE then carries this and the status that
        # usually follows (a customer's comment marks the ticket answered).
        row.modified_at = utcnow()
        return _comment(comment)

    def list_comments(self, ticket_id: str) -> list[Comment]:
        pk = _int_id(ticket_id)
        rows = self.session.scalars(select(CrmComment).where(CrmComment.ticket_id == pk).order_by(CrmComment.id))
        return [_comment(r) for r in rows]

    def agent_comments_since(self, cursor: str | None, exclude_user: str | None, limit: int = 100) -> Page:
        # Agents of the embedded CRM comment through WASB itself, which sends at once;
        # there is nothing written behind our back to pick up.
        return Page(items=[], cursor=cursor)

    # --- documents --------------------------------------------------------
    def add_document(self, filename: str, mime_type: str, content: bytes) -> Document:
        row = CrmDocument(filename=filename, mime_type=mime_type, content=content)
        self.session.add(row)
        self.session.flush()
        return Document(id=str(row.id), filename=row.filename, mime_type=row.mime_type, content=row.content)

    def get_document(self, document_id: str) -> Document | None:
        pk = _int_id(document_id)
        row = self.session.get(CrmDocument, pk) if pk else None
        return Document(id=str(row.id), filename=row.filename, mime_type=row.mime_type, content=row.content) if row else None
