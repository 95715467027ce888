"""The embedded CRM: the CRM port over tables in the service database.

It works inside the caller's session, so a customer's message, their lead and their
ticket are written in one transaction.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from wasb.auth.tables import User
from wasb.crm.embedded.tables import CrmComment, CrmDocument, CrmPerson, CrmTicket
from wasb.crm.port import (
    Comment, CommentAuthor, CRMError, CrmUser, CRMNotFound, Document, DuplicateMobile, NewPerson, NewTicket, Page, Person, PersonKind,
    SEGMENT_FIELDS, Segment, Ticket, TicketQuery,
)
from wasb.domain.phones import InvalidPhone, to_e164
from wasb.store.base import utcnow
from wasb.store.ids import row_id
from wasb.store.like import contains_pattern
from wasb.store.upsert import insert_or_nothing


# A checkbox custom field (set_person_flag) holds a JSON boolean, which reads "true" on
# PostgreSQL and 1 on SQLite: either writing asks for a ticked one on both databases (vtenext
# writes a ticked checkbox "1"), "0" or "false" for an unticked one.
_CHECKBOX_SPELLINGS = {"1": ("1", "true"), "true": ("1", "true"), "0": ("0", "false"), "false": ("0", "false")}


def _person(row: CrmPerson) -> Person:
    return Person(id=str(row.id), kind=row.kind, name=row.name, mobile=row.mobile, email=row.email,
                  company=row.company, assigned_user=row.assigned_user, created_at=row.created_at,
                  modified_at=row.modified_at, source=row.source)


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


_people = CrmPerson.__table__
_tickets = CrmTicket.__table__
_comments = CrmComment.__table__
_PERSON = (_people.c.id, _people.c.kind, _people.c.name, _people.c.mobile, _people.c.email, _people.c.company,
           _people.c.assigned_user, _people.c.created_at, _people.c.modified_at, _people.c.source)
# A ticket's modified time counts its comments: read from its last comment rather than
# written on the ticket by each one, so a comment costs one INSERT (the inbound worker
# writes one per customer message).
_last_comment = (select(func.max(_comments.c.created_at)).where(_comments.c.ticket_id == _tickets.c.id)
                 .scalar_subquery())
_modified = type_coerce(case((_last_comment > _tickets.c.modified_at, _last_comment),
                             else_=_tickets.c.modified_at), _tickets.c.modified_at.type).label("modified_at")
_TICKET = (_tickets.c.id, _tickets.c.title, _tickets.c.status, _tickets.c.priority, _tickets.c.description,
           _tickets.c.person_id, _tickets.c.assigned_user, _tickets.c.created_at, _modified)


def _person_of(row) -> Person:
    return Person(id=str(row.id), kind=row.kind, name=row.name, mobile=row.mobile, email=row.email,
                  company=row.company, assigned_user=row.assigned_user, created_at=row.created_at,
                  modified_at=row.modified_at, source=row.source)


def _ticket_of(row) -> Ticket:
    return Ticket(id=str(row.id), number=f"TT{row.id}", title=row.title, status=row.status, priority=row.priority,
                  description=row.description, person_id=str(row.person_id) if row.person_id else None,
                  assigned_user=row.assigned_user, created_at=row.created_at, modified_at=row.modified_at)


# Built once: the inbound worker runs them for every message.
_people_by_phone = select(*_PERSON).where(_people.c.mobile_e164 == bindparam("e164"), _people.c.deleted.is_(False))
_live_person = select(*_PERSON).where(_people.c.id == bindparam("id"), _people.c.deleted.is_(False))
_open_ticket = (select(*_TICKET).where(_tickets.c.person_id == bindparam("person_id"),
                                       _tickets.c.status != bindparam("closed"))
                .order_by(_tickets.c.id.desc()).limit(1))
_ticket_by_id = select(*_TICKET).where(_tickets.c.id == bindparam("id"))
_new_ticket = _tickets.insert().returning(*_TICKET[:-1], _tickets.c.modified_at)


_new_comment = _comments.insert().returning(_comments.c.id, _comments.c.created_at)
_status_now = bindparam("stamp", type_=_tickets.c.modified_at.type)
_new_status = bindparam("new_status", type_=_tickets.c.status.type)
_set_status = (_tickets.update().where(_tickets.c.id == bindparam("ticket"))
               .values(status=_new_status,
                       modified_at=case((_tickets.c.status == _new_status, _tickets.c.modified_at),
                                        else_=_status_now))
               .returning(_tickets.c.id))


class EmbeddedCRM:
    def __init__(self, session: Session, default_country: str = "IT"):
        self.session = session
        self.default_country = default_country
        # What this instance has read or written (one instance serves one job, inside
        # its transaction): a ticket read, then commented, then given a status is
        # selected once; a person created here has no ticket yet.
        self._people: dict[int, Person] = {}
        self._tickets: dict[int, Ticket] = {}
        self._ticketless: set[int] = set()

    # --- people -----------------------------------------------------------
    def _e164(self, mobile: str | None) -> str | None:
        if not mobile:
            return None
        return to_e164(mobile, self.default_country)

    def _live_person(self, person_id: str) -> CrmPerson | None:
        pk = _int_id(person_id)
        row = self.session.get(CrmPerson, pk) if pk else None
        return row if row is not None and not row.deleted else None

    def _known(self, person: Person) -> Person:
        self._people[int(person.id)] = person
        return person

    def _holder_of(self, e164: str, except_id: int | None = None) -> CrmPerson | None:
        query = select(CrmPerson).where(CrmPerson.mobile_e164 == e164)
        if except_id is not None:
            query = query.where(CrmPerson.id != except_id)
        return self.session.scalars(query).first()

    def find_people_by_phone(self, e164: str) -> list[Person]:
        return [self._known(_person_of(r)) for r in self.session.execute(_people_by_phone, {"e164": e164})]

    def get_person(self, person_id: str) -> Person | None:
        pk = _int_id(person_id)
        if pk is None:
            return None
        if pk in self._people:
            return self._people[pk]
        row = self.session.execute(_live_person, {"id": pk}).first()
        return self._known(_person_of(row)) if row is not None else None

    def create_person(self, new: NewPerson) -> Person:
        e164 = self._e164(new.mobile)
        now = utcnow()
        # One statement: the unique mobile refuses a second holder (a deleted person's
        # mobile is cleared, so only a live one can hold it).
        add = insert_or_nothing(self.session.get_bind().dialect.name, _people, _PERSON)
        row = self.session.execute(add, {
            "kind": new.kind, "name": new.name, "mobile": new.mobile, "mobile_e164": e164, "email": new.email,
            "company": new.company, "assigned_user": new.assigned_user, "source": new.source, "deleted": False,
            "created_at": now,
            "modified_at": now}).first()
        if row is None:  # the mobile is held (only it can conflict)
            raise DuplicateMobile(_person(self._holder_of(e164)))
        self._ticketless.add(row.id)
        return self._known(_person_of(row))

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
            if row.kind != "lead":  # as on vtenext/vtiger: a contact's company is its organisation
                raise CRMError(f"only a lead has a company field; a {row.kind}'s is its organisation")
            row.company = company or None
        row.modified_at = utcnow()
        self.session.flush()
        self._people.pop(row.id, None)
        return _person(row)

    def set_person_flag(self, person_id: str, field: str, value: bool) -> None:
        row = self._live_person(person_id)
        if row is None:
            raise CRMNotFound(f"no person {person_id}")
        if (row.custom_fields or {}).get(field) is value:
            return
        row.custom_fields = {**(row.custom_fields or {}), field: value}  # a new dict: the JSON column is written
        row.modified_at = utcnow()
        self.session.flush()
        self._people.pop(row.id, None)

    def person_flags(self, person_ids: list[str], field: str) -> dict[str, bool]:
        ids = [pk for pk in map(_int_id, person_ids) if pk is not None]
        if not ids:
            return {}
        rows = self.session.execute(select(_people.c.id, _people.c.custom_fields)
                                    .where(_people.c.id.in_(ids), _people.c.deleted.is_(False)))
        return {str(pk): bool((fields or {}).get(field)) for pk, fields in rows}

    def delete_person(self, person_id: str) -> None:
        row = self._live_person(person_id)
        if row is None:
            raise CRMNotFound(f"no person {person_id}")
        # Soft delete, so that sync can see the deletion and unlink the address book.
        row.deleted, row.mobile_e164, row.modified_at = True, None, utcnow()
        self.session.flush()
        self._people.pop(row.id, None)

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

    def people_in_segment(self, segment: Segment, limit: int = 100, offset: int = 0) -> list[Person]:
        query = select(CrmPerson).where(CrmPerson.deleted.is_(False), CrmPerson.kind == segment.kind)
        if segment.owner:
            query = query.where(CrmPerson.assigned_user == segment.owner)
        if segment.field:
            wanted = (segment.value or "").strip().lower()
            if segment.field in SEGMENT_FIELDS:
                query = query.where(func.lower(getattr(CrmPerson, segment.field)) == wanted)
            else:  # a custom field of the record
                column = func.lower(CrmPerson.custom_fields[segment.field].as_string())
                query = query.where(column.in_(_CHECKBOX_SPELLINGS.get(wanted, (wanted,))))
        rows = self.session.scalars(query.order_by(CrmPerson.id).limit(limit).offset(offset))
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
    def _ticket(self, ticket_id: str) -> Ticket:
        found = self.get_ticket(ticket_id)
        if found is None:
            raise CRMNotFound(f"no ticket {ticket_id}")
        return found

    def _keep_ticket(self, ticket: Ticket) -> Ticket:
        self._tickets[int(ticket.id)] = ticket
        return ticket

    def find_open_ticket(self, person_id: str, closed_status: str) -> Ticket | None:
        pk = _int_id(person_id)
        if pk is None or pk in self._ticketless:
            return None
        row = self.session.execute(_open_ticket, {"person_id": pk, "closed": closed_status}).first()
        return self._keep_ticket(_ticket_of(row)) if row is not None else None

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        pk = _int_id(ticket_id)
        if pk is None:
            return None
        if pk in self._tickets:
            return self._tickets[pk]
        row = self.session.execute(_ticket_by_id, {"id": pk}).first()
        return self._keep_ticket(_ticket_of(row)) if row is not None else None

    def list_tickets(self, person_id: str | None = None, limit: int = 50, offset: int = 0,
                     query: TicketQuery | None = None) -> list[Ticket]:
        wanted = query or TicketQuery()
        statement = select(*_TICKET)
        if person_id is not None:
            statement = statement.where(_tickets.c.person_id == _int_id(person_id))
        text = wanted.text.strip()
        if text and wanted.by_number:
            statement = statement.where(_tickets.c.id == int(text.upper().removeprefix("TT")))
        elif text:
            pattern, escape = contains_pattern(text)
            statement = statement.where(_tickets.c.title.ilike(pattern, escape=escape))  # any case, as VTQL (MySQL) compares
        if wanted.status:
            statement = statement.where(_tickets.c.status == wanted.status)
        if wanted.assigned_user:
            statement = statement.where(_tickets.c.assigned_user == wanted.assigned_user)
        if wanted.untouched_days:
            statement = statement.where(_modified < utcnow() - timedelta(days=wanted.untouched_days))
        column = {"modified": _modified, "created": _tickets.c.created_at, "number": _tickets.c.id,
                  "status": _tickets.c.status, "priority": _tickets.c.priority}[wanted.sort]
        order = (column.desc(), _tickets.c.id.desc()) if wanted.descending else (column.asc(), _tickets.c.id.asc())
        rows = self.session.execute(statement.order_by(*order).limit(limit).offset(offset))
        return [_ticket_of(r) for r in rows]

    def create_ticket(self, new: NewTicket) -> Ticket:
        if self.get_person(new.person_id) is None:
            raise CRMNotFound(f"no person {new.person_id}")
        now = utcnow()
        row = self.session.execute(_new_ticket, {
            "title": new.title, "status": new.status, "priority": new.priority, "description": new.description,
            "person_id": _int_id(new.person_id), "assigned_user": new.assigned_user, "created_at": now,
            "modified_at": now}).first()
        self._ticketless.discard(row.person_id)
        return self._keep_ticket(_ticket_of(row))

    def set_ticket_status(self, ticket_id: str, status: str) -> None:
        pk = _int_id(ticket_id)
        known = self._tickets.get(pk) if pk else None
        if known is not None and known.status == status:
            return
        now = utcnow()
        if pk is None or self.session.execute(_set_status, {"ticket": pk, "new_status": status, "stamp": now}).first() is None:
            raise CRMNotFound(f"no ticket {ticket_id}")
        if known is not None:
            self._tickets[pk] = replace(known, status=status, modified_at=now)

    def set_ticket_assignee(self, ticket_id: str, user_id: str) -> CrmUser:
        ticket = self._ticket(ticket_id)
        user = next((u for u in self.list_users() if u.id == user_id), None)
        if user is None:
            raise ValueError(f"no active user {user_id!r}")
        if ticket.assigned_user == user_id:
            return user
        now = utcnow()
        self.session.execute(_tickets.update().where(_tickets.c.id == int(ticket.id))
                             .values(assigned_user=user_id, modified_at=now))
        self._tickets[int(ticket.id)] = replace(ticket, assigned_user=user_id, modified_at=now)
        return user

    def add_comment(self, ticket_id: str, body: str, author: CommentAuthor) -> Comment:
        ticket = self._ticket(ticket_id)
        row = self.session.execute(_new_comment, {
            "ticket_id": int(ticket.id), "body": body, "author_user": author.user,
            "customer_name": author.customer_name, "created_at": utcnow()}).first()
        self._tickets[int(ticket.id)] = replace(ticket, modified_at=row.created_at)
        return Comment(id=str(row.id), ticket_id=ticket.id, body=body, author_user=author.user,
                       customer_name=author.customer_name, created_at=row.created_at)

    def list_comments(self, ticket_id: str) -> list[Comment]:
        pk = _int_id(ticket_id)
        rows = self.session.scalars(select(CrmComment).where(CrmComment.ticket_id == pk).order_by(CrmComment.id))
        return [_comment(r) for r in rows]

    def agent_comments_since(self, cursor: str | None, exclude_user: str | None, limit: int = 100) -> Page:
        # Agents of the embedded CRM comment through WASB itself, which sends at once;
        # there is nothing written behind our back to pick up.
        return Page(items=[], cursor=cursor)

    # --- users ------------------------------------------------------------
    def list_users(self) -> list[CrmUser]:
        # The embedded CRM's users are WASB's own: a ticket is assigned to a username.
        names = self.session.scalars(select(User.username).where(User.active.is_(True)).order_by(User.username))
        return [CrmUser(id=name, name=name) for name in names]

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
