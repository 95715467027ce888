"""The CRM port: everything the service needs from a CRM, and nothing more.

Two adapters implement it: the embedded CRM (tables in the service database) and
the vtenext / vtiger webservice adapter. Services never reach CRM tables or HTTP
endpoints except through this Protocol. Ids are the CRM's own strings ("12" in the
embedded CRM, "4x123" in vtenext); the service never parses them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

PersonKind = Literal["lead", "contact", "account"]
PERSON_KINDS: tuple[PersonKind, ...] = ("lead", "contact", "account")


@dataclass(frozen=True)
class Person:
    id: str
    kind: PersonKind
    name: str
    mobile: str | None  # as written in the CRM (any common writing)
    email: str | None = None
    company: str | None = None
    assigned_user: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    source: str | None = None  # the lead source (e.g. the WhatsApp ad the customer came from)


# The fields a campaign's segment may filter on, on every CRM (a CRM may know more: vtenext
# takes any field of the module, the embedded CRM its custom fields).
SEGMENT_FIELDS = ("company", "source", "email")


@dataclass(frozen=True)
class Segment:
    """People of one kind, optionally of one owner and with one field equal to a value."""

    kind: PersonKind
    owner: str | None = None  # a CrmUser id
    field: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class NewPerson:
    kind: PersonKind
    name: str
    mobile: str | None  # already written with the configured prefix
    email: str | None = None
    company: str | None = None
    assigned_user: str | None = None
    source: str | None = None  # the lead source: where the customer came from (a WhatsApp ad)


@dataclass(frozen=True)
class Ticket:
    id: str
    number: str
    title: str
    status: str
    priority: str
    description: str
    person_id: str | None
    assigned_user: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None


@dataclass(frozen=True)
class CrmUser:
    """A CRM user a record can be assigned to: `id` is what `assigned_user` holds."""
    id: str
    name: str


TICKET_SORTS = ("modified", "created", "number", "status", "priority")
_TICKET_NUMBER = re.compile(r"(?i)(tt)?\d{1,18}")


@dataclass(frozen=True)
class TicketQuery:
    """What the tickets list asks for: every filter optional, combined with AND."""
    text: str = ""  # a ticket number ("TT12", "12"), else words of the title
    status: str | None = None
    assigned_user: str | None = None  # the CRM's own owner value (embedded: a username)
    untouched_days: int | None = None  # not modified for at least this many days
    sort: str = "number"  # one of TICKET_SORTS; by number, descending: newest first
    descending: bool = True

    @property
    def by_number(self) -> bool:
        """A number is looked for among numbers, anything else among titles: one rule for every
        CRM (VTQL cannot group an OR inside an AND)."""
        return bool(_TICKET_NUMBER.fullmatch(self.text.strip()))


@dataclass(frozen=True)
class NewTicket:
    title: str
    status: str
    priority: str
    description: str
    person_id: str
    assigned_user: str | None = None


@dataclass(frozen=True)
class Comment:
    id: str
    ticket_id: str
    body: str
    # Exactly one of the two is set: an agent (a CRM user) or the customer.
    author_user: str | None
    customer_name: str | None
    created_at: datetime | None = None


@dataclass(frozen=True)
class CommentAuthor:
    """Who writes a comment: a CRM user, or the customer (written on their behalf)."""

    user: str | None = None
    customer_name: str | None = None

    @classmethod
    def agent(cls, user: str) -> "CommentAuthor":
        return cls(user=user)

    @classmethod
    def customer(cls, name: str) -> "CommentAuthor":
        return cls(customer_name=name)


@dataclass(frozen=True)
class Document:
    id: str
    filename: str
    mime_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class Page:
    """One page of a change feed, and the cursor to ask for the next one."""

    items: list
    cursor: str | None


class CRMError(Exception):
    """The CRM could not do what was asked (down, refused, misconfigured)."""


class CRMUnavailable(CRMError):
    """The CRM cannot be reached right now: the caller should retry later."""


class CRMAuthError(CRMError):
    """The CRM refused our credentials: retrying will not help until an admin fixes them."""


class CRMConfigError(CRMAuthError):
    """The CRM, or WASB's settings for it, cannot take this write as they are (a ticket
    status missing from the CRM's picklist, a user whose role may not create tickets).
    Like refused credentials, retrying cannot help until an admin fixes it: the work
    waits (nothing is written wrongly, nothing is lost)."""


class CRMNotFound(CRMError):
    """The record does not exist (or is no longer visible to us)."""


class DuplicateMobile(CRMError):
    def __init__(self, existing: Person):
        super().__init__(f"mobile already used by {existing.kind} {existing.id} ({existing.name})")
        self.existing = existing


class CRM(Protocol):
    # --- people -----------------------------------------------------------
    def find_people_by_phone(self, e164: str) -> list[Person]:
        """Every lead, contact or account whose phone field is this number, in any writing."""

    def get_person(self, person_id: str) -> Person | None: ...

    def create_person(self, new: NewPerson) -> Person: ...

    def update_person(self, person_id: str, *, name: str | None = None, mobile: str | None = None,
                      email: str | None = None, company: str | None = None) -> Person:
        """Each field given is written ("" empties it). `company` is a lead's own field: a
        contact's company is its organisation (an account), so it raises CRMError there."""

    def search_people(self, text: str = "", kind: PersonKind | None = None, limit: int = 50, offset: int = 0) -> list[Person]: ...

    def people_in_segment(self, segment: Segment, limit: int = 100, offset: int = 0) -> list[Person]:
        """The segment's people in a stable order (paging with offset gives each once).
        Raises CRMError when the segment names a field this CRM does not have."""

    def cursor_at(self, when: datetime) -> str:
        """A change cursor that starts the feed at `when` (syncCustomers' time window)."""

    def people_modified_since(self, cursor: str | None, limit: int = 100) -> Page:
        """People modified after the cursor (None: from the beginning), oldest first."""

    # --- consent (a checkbox field an admin names) --------------------------
    def set_person_flag(self, person_id: str, field: str, value: bool) -> None:
        """Tick (True) or untick a checkbox field of the person's record. Raises CRMNotFound."""

    def person_flags(self, person_ids: list[str], field: str) -> dict[str, bool]:
        """That checkbox field of these people, in one call; a person not found is left out."""

    # --- tickets ----------------------------------------------------------
    def find_open_ticket(self, person_id: str, closed_status: str) -> Ticket | None:
        """The person's most recent ticket whose status is not `closed_status`."""

    def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    def list_tickets(self, person_id: str | None = None, limit: int = 50, offset: int = 0,
                     query: TicketQuery | None = None) -> list[Ticket]:
        """Newest first, or as `query` filters and sorts them."""

    def create_ticket(self, new: NewTicket) -> Ticket: ...

    def set_ticket_status(self, ticket_id: str, status: str) -> None: ...

    def set_ticket_assignee(self, ticket_id: str, user_id: str) -> CrmUser:
        """Give the ticket to one of `list_users()` (its `id`) and return that user (their
        name for the agent, without listing the users again); CRMNotFound for an unknown
        ticket, ValueError for a user the CRM does not have."""

    def add_comment(self, ticket_id: str, body: str, author: CommentAuthor) -> Comment: ...

    def list_comments(self, ticket_id: str) -> list[Comment]: ...

    def agent_comments_since(self, cursor: str | None, exclude_user: str | None, limit: int = 100) -> Page:
        """Comments written by CRM users (not `exclude_user`) after the cursor, oldest first."""

    # --- users ------------------------------------------------------------
    def list_users(self) -> list[CrmUser]:
        """The CRM's active users, by name: who a ticket can be assigned to (and filtered by)."""

    # --- documents --------------------------------------------------------
    def get_document(self, document_id: str) -> Document | None: ...
