"""The CRM port on a vtenext / vtiger CRM, through its webservice.

People are Leads, Contacts and Accounts; tickets are HelpDesk records; comments are
ModComments related to a ticket. Everything the installation may do differently (id
prefixes, which fields exist, where a ticket points at a contact) is read from
`describe`, not assumed.

Choices worth knowing (also in the report of `check`):
- A customer's message is written by the reference user as `<name> wrote:\\n<text>`
  (the original plugin wrote `<name> ha scritto:`; both are read back).
- A comment an agent sends from WASB is written by the reference user too, with the
  agent as its owner (`assigned_user_id`): the poll for agent comments skips the
  reference user's comments, so what WASB writes never comes back as a new message.
- vtiger tickets cannot point at a Lead (REFERENCE_INVALID). There a new WhatsApp
  number becomes a Contact, and a ticket for an existing Lead is linked to a Contact
  with the same mobile (created from the lead if there is none).
- Characters outside the BMP (emoji) are stored as `????` by both CRMs' `utf8` MySQL
  connection. Before the first customer write holding one, the CRM is tried on data
  that is not a customer's: an emoji is written to a free-text field of the login
  user's own Users record (each user may edit it; Users run no customer workflows),
  read back, and the field restored. If it came back mangled, emoji are written in a
  readable form (`:thumbs_up:`). The verdict is kept in the service database
  (`remember`), so no process finds out again. When the try is impossible (the role
  may not edit Users, no such field), customer data is written in the readable form,
  never `????`, and the try is repeated an hour later.
- vtiger runs its "comment added" e-mail workflows for comments created through the
  API: the customer may get an e-mail per comment unless those workflows are off.
"""
from __future__ import annotations

import heapq
import logging
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from wasb.crm.port import (
    PERSON_KINDS,
    SEGMENT_FIELDS,
    Comment,
    CommentAuthor,
    CRMAuthError,
    CrmUser,
    CRMConfigError,
    CRMError,
    CRMNotFound,
    CRMUnavailable,
    Document,
    DuplicateMobile,
    NewPerson,
    NewTicket,
    Page,
    Person,
    PersonKind,
    Segment,
    Ticket,
    TicketQuery,
)
from wasb.crm.vtenext import changes, vtql
from wasb.crm.vtenext.describe import Schema
from wasb.crm.vtenext.phones import like_pattern, to_e164
from wasb.crm.vtenext.text_form import has_astral, readable
from wasb.crm.vtenext.webservice import Webservice, WebserviceError

log = logging.getLogger(__name__)

def _checked(value: object) -> bool:
    """A checkbox as the webservice returns it: "1"/"0" (vtiger), sometimes "on", "yes", "true"."""
    return str(value or "").strip().lower() in ("1", "on", "yes", "true")


KIND_MODULE: dict[PersonKind, str] = {"lead": "Leads", "contact": "Contacts", "account": "Accounts"}
MODULE_KIND: dict[str, PersonKind] = {m: k for k, m in KIND_MODULE.items()}
PEOPLE_MODULES = tuple(KIND_MODULE.values())
# A segment's common fields (wasb.crm.port.SEGMENT_FIELDS) as each module names them.
_SEGMENT_COLUMNS: dict[PersonKind, dict[str, str]] = {
    "lead": {"company": "company", "source": "leadsource", "email": "email"},
    "contact": {"source": "leadsource", "email": "email"},
    "account": {"company": "accountname", "source": "leadsource", "email": "email1"},
}
# Accounts have no `mobile` field on either CRM: their number is in `phone`.
DEFAULT_PHONE_FIELDS: dict[PersonKind, tuple[str, ...]] = {
    "lead": ("mobile",),
    "contact": ("mobile",),
    "account": ("phone",),
}
CUSTOMER_HEADER = re.compile(r"^(?P<name>[^\n]+?) (?:wrote|ha scritto):\n")
# Where the emoji try is written: free-text fields of the login user's own Users record
# on both CRMs, the least visible first (`signature` goes into the user's e-mails).
PROBE_FIELDS = ("description", "address_street", "signature")
PROBE_MARK = "WASB emoji check "
PROBE_TEXT = PROBE_MARK + "\U0001F44D"
# After a try that could not be made, how long customer data is written in the readable
# form before trying again (seconds).
PROBE_RETRY = 3600.0
# "Not found" on these CRMs: a missing or deleted id answers ACCESS_DENIED.
NOT_FOUND_CODES = frozenset({"ACCESS_DENIED", "RECORD_NOT_FOUND", "INVALID_ID_ATTRIBUTE"})
USERS_FRESH_SECONDS = 60.0


class VtenextCRM:
    def __init__(
        self,
        webservice: Webservice,
        *,
        reference_user_id: str | None = None,
        phone_fields: dict[str, list[str] | tuple[str, ...]] | None = None,
        closed_status: str = "Closed",
        crm_timezone: str = "Europe/Rome",
        flavour: str | None = None,
        lead_company_default: str = "WhatsApp",
        default_region: str = "IT",
        stores_astral: bool | None = None,
        remember: Callable[[bool], None] | None = None,
    ):
        if reference_user_id is not None and not vtql.is_record_id(reference_user_id):
            raise ValueError(f"reference_user_id must be a webservice id like 19x1, not {reference_user_id!r}")
        if flavour not in (None, "vtenext", "vtiger"):
            raise ValueError(f"flavour must be vtenext or vtiger, not {flavour!r}")
        self.ws = webservice
        self.schema = Schema(webservice)
        self._reference_user_id = reference_user_id
        self._phone_fields = {**DEFAULT_PHONE_FIELDS, **{k: tuple(v) for k, v in (phone_fields or {}).items()}}
        self.closed_status = closed_status
        self.zone = ZoneInfo(crm_timezone)
        self._flavour = flavour
        self.lead_company_default = lead_company_default
        self.default_region = default_region
        # None: not known yet; False: the CRM turns astral characters into '????'.
        self._astral_ok: bool | None = stores_astral
        self._remember_astral = remember
        self._next_probe = 0.0  # monotonic time before which no new emoji try is made
        self._users: tuple[float, list[CrmUser]] | None = None  # (when read, the active users)
        # One try at a time: a second one would read the first's text as the value to put back.
        self._probe_lock = threading.Lock()
        # What the CRM's clock showed on a record just written, when it disagrees with
        # `crm_timezone` (None: agrees, or nothing written yet).
        self.zone_mismatch: str | None = None
        # Told each change of `zone_mismatch` (the link keeps it for the other processes).
        self.on_zone_mismatch: Callable[[str | None], None] | None = None

    # --- configuration read from the CRM ------------------------------------------

    @property
    def reference_user_id(self) -> str:
        """The CRM user WASB writes as (by default the user it logs in as)."""
        return self._reference_user_id or self.ws.user_id

    def _writers(self) -> tuple[str, str]:
        """Who WASB's own comments are created by: the reference user, and the login
        user (vtiger always makes the session user the creator, whoever owns it)."""
        return self.reference_user_id, self.ws.user_id

    @property
    def flavour(self) -> str:
        if self._flavour is None:
            self._flavour = self.schema.flavour()
        return self._flavour

    @property
    def stores_astral(self) -> bool | None:
        """Whether the CRM keeps emoji; None until the try on the Users record showed it."""
        return self._astral_ok

    def phone_fields(self, kind: PersonKind) -> tuple[str, ...]:
        """The configured phone fields of a kind that this installation has."""
        module = self.schema.module(KIND_MODULE[kind])
        return tuple(f for f in self._phone_fields.get(kind, ()) if module.has(f))

    def leads_can_have_tickets(self) -> bool:
        return "Leads" in self.schema.module("HelpDesk").refers_to("parent_id")

    # --- people -------------------------------------------------------------------

    def find_people_by_phone(self, e164: str) -> list[Person]:
        target = to_e164(e164, self.default_region)
        if target is None:
            return []
        pattern = vtql.quote(like_pattern(target))
        found: list[Person] = []
        for kind in PERSON_KINDS:
            fields = self.phone_fields(kind)
            if not fields:
                continue
            where = vtql.any_of(*(vtql.condition(f, "LIKE", pattern) for f in fields))
            for row in self._query_all(KIND_MODULE[kind], where):
                # LIKE only finds candidates: keep those that ARE this number.
                if any(to_e164(row.get(f), self.default_region) == target for f in fields):
                    found.append(self._person(kind, row))
        return found

    def get_person(self, person_id: str) -> Person | None:
        kind = self._kind_of(person_id)
        if kind is None:
            return None
        row = self._retrieve(person_id)
        return self._person(kind, row) if row else None

    def create_person(self, new: NewPerson) -> Person:
        kind: PersonKind = new.kind
        if kind == "lead" and not self.leads_can_have_tickets():
            # vtiger: a ticket cannot point at a Lead, and every WhatsApp customer gets
            # tickets, so an unknown number becomes a Contact there.
            kind = "contact"
        if new.mobile:
            e164 = to_e164(new.mobile, self.default_region)
            existing = self.find_people_by_phone(e164) if e164 else []
            if existing:
                raise DuplicateMobile(existing[0])
        element = self._person_element(kind, new.name, new.mobile, new.email, new.company)
        element["assigned_user_id"] = self._owner(new.assigned_user)
        if new.source and kind != "account" and self.schema.module(KIND_MODULE[kind]).has("leadsource"):
            # Leads and Contacts both have the standard `leadsource` picklist; the ad's
            # headline is written as it is (a picklist value the admin may add).
            element["leadsource"] = new.source
        row = self._create(KIND_MODULE[kind], element, self._name_fields(kind))
        return self._person(kind, row)

    def update_person(self, person_id: str, *, name: str | None = None, mobile: str | None = None,
                      email: str | None = None, company: str | None = None) -> Person:
        kind = self._kind_of(person_id)
        current = self._retrieve(person_id) if kind else None
        if kind is None or current is None:
            raise CRMNotFound(f"no person {person_id}")
        self._may(KIND_MODULE[kind], "updateable")
        element: dict = {"id": person_id}
        if name is not None:
            if kind == "account":
                element["accountname"] = name
            else:
                first = (current.get("firstname") or "").strip()
                if first and name.startswith(first + " "):
                    element["lastname"] = name[len(first) + 1 :]
                else:
                    element["firstname"], element["lastname"] = "", name
        if mobile is not None:
            fields = self.phone_fields(kind)
            if not fields:
                raise CRMError(f"{KIND_MODULE[kind]} has none of the configured phone fields")
            element[fields[0]] = mobile
        if email is not None:
            element["email1" if kind == "account" else "email"] = email
        if company is not None:
            if kind != "lead":  # a contact's company is the account it belongs to, an account's its name
                raise CRMError(f"only a lead has a company field; a {kind}'s is its organisation")
            element["company"] = company or self.lead_company_default
        row = self._revise(element, self._name_fields(kind))
        return self._person(kind, row)

    # --- consent (a checkbox field an admin names) ----------------------------------

    def set_person_flag(self, person_id: str, field: str, value: bool) -> None:
        kind = self._kind_of(person_id)
        if kind is None:
            raise CRMNotFound(f"no person {person_id}")
        module = KIND_MODULE[kind]
        self._flag_field(module, field)
        self._may(module, "updateable")
        try:
            # A checkbox is "1" or "0" in the webservice, whatever the CRM shows.
            self.ws.revise({"id": person_id, field: "1" if value else "0"})
        except WebserviceError as exc:
            if exc.code in NOT_FOUND_CODES:
                raise CRMNotFound(f"no person {person_id}") from exc
            raise

    def person_flags(self, person_ids: list[str], field: str) -> dict[str, bool]:
        by_module: dict[str, list[str]] = {}
        for person_id in dict.fromkeys(person_ids):
            kind = self._kind_of(person_id)
            if kind is not None:
                by_module.setdefault(KIND_MODULE[kind], []).append(person_id)
        flags: dict[str, bool] = {}
        for module, ids in by_module.items():
            if not self.schema.module(module).has(field):
                continue  # Accounts may lack a field Contacts have: nothing to read there
            for start in range(0, len(ids), vtql.MAX_PAGE):
                chunk = ids[start:start + vtql.MAX_PAGE]
                where = vtql.any_of(*(vtql.condition("id", "=", vtql.quote_id(i)) for i in chunk))
                for row in self.ws.query(vtql.select(module, [field], where, limit=len(chunk), offset=0)):
                    flags[row["id"]] = _checked(row.get(field))
        return flags

    def _flag_field(self, module: str, field: str) -> None:
        """The CRM drops a field it does not have without a word: refuse to write one instead."""
        if not self.schema.module(module).has(field):
            raise CRMConfigError(f"{module} has no field {field!r} (the consent field of the settings): "
                                 f"create it in the CRM or name another one")

    def search_people(
        self, text: str = "", kind: PersonKind | None = None, limit: int = 50, offset: int = 0
    ) -> list[Person]:
        kinds = (kind,) if kind else PERSON_KINDS
        found: list[Person] = []
        for k in kinds:
            where = self._search_condition(k, text)
            if where is None:
                continue
            order = "accountname" if k == "account" else "lastname"
            # One kind pages in the CRM; several are merged here, so each gives
            # the first offset+limit rows and the merge is cut afterwards.
            start, count = (offset, limit) if kind else (0, offset + limit)
            rows = self._query_range(KIND_MODULE[k], where, order, start, count)
            found.extend(self._person(k, r) for r in rows)
        if kind:
            return found
        found.sort(key=lambda p: (p.name.casefold(), p.id))
        return found[offset : offset + limit]

    def people_in_segment(self, segment: Segment, limit: int = 100, offset: int = 0) -> list[Person]:
        module = KIND_MODULE[segment.kind]
        conditions = []
        if segment.owner:
            if not vtql.is_record_id(segment.owner):
                return []  # owners are Users ids here
            conditions.append(vtql.condition("assigned_user_id", "=", vtql.quote_id(segment.owner)))
        if segment.field:
            field = _SEGMENT_COLUMNS.get(segment.kind, {}).get(segment.field, segment.field)
            if not self.schema.module(module).has(field):
                if segment.field in SEGMENT_FIELDS:
                    # A common field this module lacks (a Contact's company, an Account's lead
                    # source): nobody of this kind has it, and a segment of every kind goes on.
                    return []
                raise CRMError(f"{module} has no field {segment.field!r} to choose people by")
            try:
                conditions.append(vtql.condition(field, "=", vtql.quote((segment.value or "").strip())))
            except vtql.VTQLValueError:
                return []  # an empty value: VTQL cannot ask for it, and no campaign wants it
        rows = self._query_range(module, vtql.all_of(*conditions), "id", offset, limit)
        return [self._person(segment.kind, r) for r in rows]

    def cursor_at(self, when: datetime) -> str:
        """A change cursor starting at `when` (e.g. now minus the sync time window),
        written in the CRM's zone as its modifiedtime values are."""
        local = when.astimezone(self.zone) if when.tzinfo else when
        return changes.Cursor(local.strftime("%Y-%m-%d %H:%M:%S")).encode()

    def people_modified_since(self, cursor: str | None, limit: int = 100) -> Page:
        cur = changes.decode(cursor)
        feeds = [self._people_feed(module, cur) for module in PEOPLE_MODULES]
        items: list[Person] = []
        # Each module's feed is in modifiedtime order; merging them lazily gives the
        # oldest changes across the three, and asks the CRM only for pages it needs.
        for kind, row in heapq.merge(*feeds, key=lambda kr: kr[1].get("modifiedtime") or ""):
            cur = cur.after(row)
            items.append(self._person(kind, row))
            if len(items) >= limit:
                break
        return Page(items=items, cursor=cur.encode())

    def _people_feed(self, module: str, cur: changes.Cursor):
        kind = MODULE_KIND[module]
        for row in changes.rows_since(self.ws.query, module, cur):
            yield kind, row

    # --- tickets ------------------------------------------------------------------

    def find_open_ticket(self, person_id: str, closed_status: str | None = None) -> Ticket | None:
        link = self._ticket_link(person_id, create=False)
        if link is None:
            return None
        field, target = link
        where = vtql.all_of(
            vtql.condition(field, "=", vtql.quote_id(target)),
            vtql.condition("ticketstatus", "!=", vtql.quote(closed_status or self.closed_status)),
        )
        rows = list(self._query_all("HelpDesk", where))
        if not rows:
            return None
        # The most recent: ORDER BY takes one column and createdtime ties within a
        # second, so the choice is made here with the record number as tie-breaker.
        newest = max(rows, key=lambda r: (r.get("createdtime") or "", _crmid(r["id"])))
        return self._ticket(newest)

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        if not self._has_prefix(ticket_id, "HelpDesk"):
            return None
        row = self._retrieve(ticket_id)
        return self._ticket(row) if row else None

    def list_tickets(self, person_id: str | None = None, limit: int = 50, offset: int = 0,
                     query: TicketQuery | None = None) -> list[Ticket]:
        wanted = query or TicketQuery()
        conditions = []
        if person_id is not None:
            link = self._ticket_link(person_id, create=False)
            if link is None:
                return []
            conditions.append(vtql.condition(link[0], "=", vtql.quote_id(link[1])))
        text = wanted.text.strip()
        if text and wanted.by_number and not text.isdigit():
            conditions.append(vtql.condition("ticket_no", "=", vtql.quote(text.upper())))
        elif text and wanted.by_number:
            # The CRM numbers tickets with a prefix of its own ("TT" unless an admin changed it).
            conditions.append(vtql.condition("ticket_no", "LIKE", vtql.quote(f"%{text}")))
        elif text:
            conditions.append(vtql.condition("ticket_title", "LIKE", vtql.quote(f"%{text}%")))
        if wanted.status:
            conditions.append(vtql.condition("ticketstatus", "=", vtql.quote(wanted.status)))
        if wanted.assigned_user:
            if not vtql.is_record_id(wanted.assigned_user):
                return []  # owners are Users ids here
            conditions.append(vtql.condition("assigned_user_id", "=", vtql.quote_id(wanted.assigned_user)))
        if wanted.untouched_days:
            before = (datetime.now(timezone.utc) - timedelta(days=wanted.untouched_days)).astimezone(self.zone)
            conditions.append(vtql.condition("modifiedtime", "<", vtql.quote_time(before)))
        # Numbers follow creation; ticket_no itself would sort as text (TT9 after TT10).
        order = {"modified": "modifiedtime", "created": "createdtime", "number": "createdtime",
                 "status": "ticketstatus", "priority": "ticketpriorities"}[wanted.sort]
        rows = self._query_range("HelpDesk", vtql.all_of(*conditions), order, offset, limit,
                                 descending=wanted.descending)
        return [self._ticket(r) for r in rows]

    def list_users(self) -> list[CrmUser]:
        """The active users, by name: read again once USERS_FRESH_SECONDS have passed. Pages and
        their live refreshes name a ticket's owner from it every few seconds, and a CRM's users
        change seldom; an assignment reads them afresh."""
        cached = self._users
        if cached is not None and time.monotonic() - cached[0] < USERS_FRESH_SECONDS:
            return list(cached[1])
        return self._read_users()

    def _read_users(self) -> list[CrmUser]:
        # Owners are Users ids ("19x5"): the agent picks a name, the filter sends the id.
        users = [CrmUser(id=row["id"], name=" ".join(filter(None, (row.get("first_name"), row.get("last_name"))))
                         or row.get("user_name") or row["id"])
                 for row in self._query_all("Users", "", "user_name") if row.get("status", "Active") != "Inactive"]
        users.sort(key=lambda u: u.name.casefold())
        self._users = (time.monotonic(), users)
        return list(users)

    def create_ticket(self, new: NewTicket) -> Ticket:
        status = self._valid_status(new.status)  # before anything is written (vtiger may create a contact)
        self._may("HelpDesk", "createable")
        link = self._ticket_link(new.person_id, create=True)
        if link is None:
            raise CRMNotFound(f"no person {new.person_id} to open a ticket for")
        element = {
            "ticket_title": new.title,
            "ticketstatus": status,
            "ticketpriorities": new.priority,
            "description": new.description,
            "assigned_user_id": self._owner(new.assigned_user),
            link[0]: link[1],
        }
        row = self._create("HelpDesk", element, ("ticket_title", "description"))
        return self._ticket(row)

    def set_ticket_status(self, ticket_id: str, status: str) -> None:
        if not self._has_prefix(ticket_id, "HelpDesk"):
            raise CRMNotFound(f"no ticket {ticket_id}")
        self._may("HelpDesk", "updateable")
        try:
            self.ws.revise({"id": ticket_id, "ticketstatus": self._valid_status(status)})
        except WebserviceError as exc:
            if exc.code in NOT_FOUND_CODES:
                raise CRMNotFound(f"no ticket {ticket_id}") from exc
            raise

    def set_ticket_assignee(self, ticket_id: str, user_id: str) -> CrmUser:
        if not self._has_prefix(ticket_id, "HelpDesk"):
            raise CRMNotFound(f"no ticket {ticket_id}")
        user = next((u for u in self._read_users() if u.id == user_id), None)
        if user is None:  # an inactive user would own it unseen
            raise ValueError(f"no active CRM user {user_id!r}")
        self._may("HelpDesk", "updateable")
        try:
            self.ws.revise({"id": ticket_id, "assigned_user_id": user_id})
        except WebserviceError as exc:
            if exc.code in NOT_FOUND_CODES:
                raise CRMNotFound(f"no ticket {ticket_id}") from exc
            raise
        return user

    def add_comment(self, ticket_id: str, body: str, author: CommentAuthor) -> Comment:
        if not self._has_prefix(ticket_id, "HelpDesk"):
            raise CRMNotFound(f"no ticket {ticket_id}")
        if author.customer_name is not None:
            # One line: the header is how the name is found again when reading back.
            name = " ".join(author.customer_name.split()) or "Customer"
            content, owner = f"{name} wrote:\n{body}", self.reference_user_id
        else:
            name, content, owner = None, body, self._owner(author.user)
        element = {
            "commentcontent": content,
            "related_to": ticket_id,
            "assigned_user_id": owner,
        }
        if self.schema.module("ModComments").has("visibility_comm"):
            # vtenext: left empty, a comment is private to its creator, invisible to agents.
            element["visibility_comm"] = "All"
        try:
            row = self._create("ModComments", element, ("commentcontent",))
        except WebserviceError as exc:
            if exc.code in NOT_FOUND_CODES or exc.code == "REFERENCE_INVALID":
                raise CRMNotFound(f"no ticket {ticket_id}") from exc
            raise
        return Comment(
            id=row["id"],
            ticket_id=ticket_id,
            body=body,
            author_user=None if name else owner,
            customer_name=name,
            created_at=self._time(row.get("createdtime")),
        )

    def list_comments(self, ticket_id: str) -> list[Comment]:
        where = vtql.condition("related_to", "=", vtql.quote_id(ticket_id))
        rows = list(self._query_all("ModComments", where))
        rows.sort(key=lambda r: (r.get("createdtime") or "", _crmid(r["id"])))
        return [self._comment(r) for r in rows]

    def comments_cursor_start(self) -> str:
        """Where the poll for agents' comments starts: just after the newest comment
        the CRM has (every one written in its second counts as seen), or from the
        beginning when there is none. Taken from the CRM's own rows, never from
        WASB's clock: the CRM writes its times in its server's zone, which may not be
        `crm_timezone` (vtiger's installer writes UTC), and a cursor made from our
        clock in the wrong zone would skip every comment until the CRM caught up."""
        newest = self.ws.query(vtql.select("ModComments", "*", "", "modifiedtime", True, limit=1, offset=0))
        time = newest[0].get("modifiedtime") if newest else None
        if not vtql.is_crm_time(time):
            return changes.Cursor(changes.BEGINNING).encode()
        same_second = self._query_all("ModComments", vtql.condition("modifiedtime", "=", vtql.quote_time(time)))
        return changes.Cursor(time, frozenset(r["id"] for r in same_second)).encode()

    def agent_comments_since(self, cursor: str | None, exclude_user: str | None, limit: int = 100) -> Page:
        cur = changes.decode(cursor)
        ticket_prefix = self.schema.module("HelpDesk").id_prefix
        items: list[Comment] = []
        for row in changes.rows_since(self.ws.query, "ModComments", cur):
            # The cursor moves past every row looked at, kept or not, so the comments
            # WASB wrote itself are not read again on the next poll.
            cur = cur.after(row)
            if not str(row.get("related_to") or "").startswith(ticket_prefix + "x"):
                continue
            if row.get("visibility_comm") not in (None, "", "All"):
                continue  # a confidential comment is not for the customer
            comment = self._comment(row)
            creator = row.get("creator") or row.get("assigned_user_id")
            if comment.customer_name is not None or creator == exclude_user or creator in self._writers():
                continue
            items.append(comment)
            if len(items) >= limit:
                break
        return Page(items=items, cursor=cur.encode())

    # --- documents ----------------------------------------------------------------

    def get_document(self, document_id: str) -> Document | None:
        if not self._has_prefix(document_id, "Documents"):
            return None
        row = self._retrieve(document_id)
        if row is None:
            return None
        # `retrieve` on Documents gives the file's name, type and size, not its bytes,
        # and no operation of the documented protocol returns them.
        raise CRMError(
            f"document {document_id} ({row.get('filename') or row.get('notes_title')}) exists, but the "
            "vtenext/vtiger webservice does not return file contents: attach the file in WASB instead"
        )

    # --- mapping ------------------------------------------------------------------

    def _person(self, kind: PersonKind, row: dict) -> Person:
        if kind == "account":
            name, email, company = row.get("accountname") or "", row.get("email1"), row.get("accountname")
        else:
            name = " ".join(p for p in (row.get("firstname"), row.get("lastname")) if p)
            email, company = row.get("email"), row.get("company") if kind == "lead" else None
        mobile = next((row[f] for f in self._phone_fields.get(kind, ()) if row.get(f)), None)
        return Person(
            id=row["id"],
            kind=kind,
            name=name,
            mobile=mobile,
            email=email or None,
            company=company or None,
            assigned_user=row.get("assigned_user_id") or None,
            created_at=self._time(row.get("createdtime")),
            modified_at=self._time(row.get("modifiedtime")),
            source=(row.get("leadsource") or None) if kind != "account" else None,
        )

    def _ticket(self, row: dict) -> Ticket:
        return Ticket(
            id=row["id"],
            number=row.get("ticket_no") or "",
            title=row.get("ticket_title") or "",
            status=row.get("ticketstatus") or "",
            priority=row.get("ticketpriorities") or "",
            description=row.get("description") or "",
            person_id=row.get("contact_id") or row.get("parent_id") or None,
            assigned_user=row.get("assigned_user_id") or None,
            created_at=self._time(row.get("createdtime")),
            modified_at=self._time(row.get("modifiedtime")),
        )

    def _comment(self, row: dict) -> Comment:
        content = row.get("commentcontent") or ""
        creator = row.get("creator") or row.get("assigned_user_id")
        customer = None
        author = creator
        if creator in self._writers():
            match = CUSTOMER_HEADER.match(content)
            if match:
                customer, content, author = match["name"], content[match.end() :], None
            else:
                # Written by WASB for an agent: the agent is the owner.
                author = row.get("assigned_user_id") or creator
        return Comment(
            id=row["id"],
            ticket_id=row.get("related_to") or "",
            body=content,
            author_user=author,
            customer_name=customer,
            created_at=self._time(row.get("createdtime")),
        )

    def _person_element(self, kind, name, mobile, email, company) -> dict:
        if kind == "account":
            element = {"accountname": name}
            if email:
                element["email1"] = email
        else:
            element = {"lastname": name}
            if email:
                element["email"] = email
        if kind == "lead":
            element["company"] = company or self.lead_company_default
        if mobile:
            fields = self.phone_fields(kind)
            if not fields:
                raise CRMError(f"{KIND_MODULE[kind]} has none of the configured phone fields")
            element[fields[0]] = mobile
        return element

    @staticmethod
    def _name_fields(kind: PersonKind) -> tuple[str, ...]:
        return ("accountname",) if kind == "account" else ("firstname", "lastname", "company")

    def _search_condition(self, kind: PersonKind, text: str) -> str | None:
        """'' for every row, None when the text cannot match anything of this kind."""
        text = text.strip()
        if not text:
            return ""
        try:
            pattern = vtql.quote(f"%{text}%")
        except vtql.VTQLValueError:
            return ""
        names = ("accountname",) if kind == "account" else ("firstname", "lastname")
        conditions = [vtql.condition(f, "LIKE", pattern) for f in names]
        e164 = to_e164(text, self.default_region) if sum(c.isdigit() for c in text) >= 6 else None
        if e164:
            digits = vtql.quote(like_pattern(e164))
            conditions += [vtql.condition(f, "LIKE", digits) for f in self.phone_fields(kind)]
        return vtql.any_of(*conditions)

    # --- linking tickets to people --------------------------------------------------

    def _ticket_link(self, person_id: str, *, create: bool) -> tuple[str, str] | None:
        """The HelpDesk field and id a ticket of this person points at."""
        module = self.schema.module_of(person_id, PEOPLE_MODULES) if vtql.is_record_id(person_id) else None
        if module is None:
            return None
        helpdesk = self.schema.module("HelpDesk")
        if module in helpdesk.refers_to("parent_id"):
            return "parent_id", person_id
        if module == "Contacts" and helpdesk.has("contact_id"):
            return "contact_id", person_id  # vtiger: parent_id takes Accounts only
        if module == "Leads":
            contact_id = self._contact_for_lead(person_id, create=create)
            return self._ticket_link(contact_id, create=False) if contact_id else None
        raise CRMError(f"this CRM's tickets cannot point at {module}")

    def _contact_for_lead(self, lead_id: str, *, create: bool) -> str | None:
        """vtiger: the Contact standing in for a Lead on tickets (same mobile)."""
        lead = self._retrieve(lead_id)
        if lead is None:
            return None
        mobile = next((lead[f] for f in self.phone_fields("lead") if lead.get(f)), None)
        e164 = to_e164(mobile, self.default_region)
        if e164:
            for person in self.find_people_by_phone(e164):
                if person.kind == "contact":
                    return person.id
        if not create:
            return None
        element = {"lastname": lead.get("lastname") or lead_id, "assigned_user_id": self.reference_user_id}
        for src, dst in (("firstname", "firstname"), ("email", "email")):
            if lead.get(src):
                element[dst] = lead[src]
        contact_phones = self.phone_fields("contact")
        if mobile and contact_phones:
            element[contact_phones[0]] = mobile
        row = self._create("Contacts", element, ("firstname", "lastname"))
        log.info("created contact %s for lead %s: this CRM's tickets cannot point at leads", row["id"], lead_id)
        return row["id"]

    # --- what the CRM accepts ----------------------------------------------------------

    def invalid_statuses(self, statuses: tuple[str, ...] | list[str], *, describe: bool = True) -> list[str]:
        """Those of `statuses` the CRM's ticket status picklist lacks. With
        describe=False only what is known already is used (no call to the CRM)."""
        helpdesk = self.schema.module("HelpDesk") if describe else self.schema.cached("HelpDesk")
        picklist = helpdesk.picklist("ticketstatus") if helpdesk else ()
        # An installation that describes no values (a text field): nothing to check against.
        return [s for s in dict.fromkeys(statuses) if picklist and s not in picklist]

    def _valid_status(self, status: str) -> str:
        """The API stores any string as a status, and the CRM's UI and filters then show
        a value no one can pick: a status the picklist lacks is refused, and the work
        waits until an admin names a valid one in WASB's settings."""
        if not self.invalid_statuses([status]):
            return status
        # Described again before refusing: the admin may have added the value since.
        self.schema.module("HelpDesk", fresh=True)
        if self.invalid_statuses([status]):
            values = ", ".join(self.schema.module("HelpDesk").picklist("ticketstatus"))
            raise CRMConfigError(
                f"ticket status {status!r} is not one of this CRM's ticket statuses ({values}): choose one of them "
                "in WASB's settings (ticket statuses), or add it to the CRM's picklist")
        return status

    def _may(self, module: str, right: str) -> None:
        """describe's rights for the login user: a write its role may not do fails with
        ACCESS_DENIED on every try; say so and wait for an admin instead."""
        if getattr(self.schema.module(module), right):
            return
        # Described again before refusing: the admin may have given the right since.
        if not getattr(self.schema.module(module, fresh=True), right):
            verb = {"createable": "create", "updateable": "update", "retrieveable": "read"}[right]
            raise CRMConfigError(f"the CRM user {self.ws.username} may not {verb} {module} (describe: {right} false): "
                                 "give its role that right in the CRM")

    # --- webservice plumbing --------------------------------------------------------

    def _kind_of(self, record_id: str) -> PersonKind | None:
        if not vtql.is_record_id(record_id):
            return None
        module = self.schema.module_of(record_id, PEOPLE_MODULES)
        return MODULE_KIND[module] if module else None

    def _has_prefix(self, record_id: str, module: str) -> bool:
        return vtql.is_record_id(record_id) and record_id.split("x", 1)[0] == self.schema.module(module).id_prefix

    def _owner(self, user: str | None) -> str:
        """An owner the CRM accepts: a Users id, else the reference user."""
        if user and self._has_prefix(user, "Users"):
            return user
        return self.reference_user_id

    def _retrieve(self, record_id: str) -> dict | None:
        try:
            return self.ws.retrieve(record_id)
        except WebserviceError as exc:
            if exc.code in NOT_FOUND_CODES:
                return None
            raise

    def _query_all(self, module: str, where: str, order_by: str | None = None):
        """Every matching row, a page of at most 100 (vtiger's cap) at a time."""
        offset = 0
        while True:
            rows = self.ws.query(vtql.select(module, "*", where, order_by, limit=vtql.MAX_PAGE, offset=offset))
            yield from rows
            if len(rows) < vtql.MAX_PAGE:
                return
            offset += len(rows)

    def _query_range(self, module, where, order_by, offset, count, descending=False) -> list[dict]:
        rows: list[dict] = []
        while len(rows) < count:
            n = min(vtql.MAX_PAGE, count - len(rows))
            page = self.ws.query(
                vtql.select(module, "*", where, order_by, descending, limit=n, offset=offset + len(rows))
            )
            rows.extend(page)
            if len(page) < n:
                break
        return rows

    def _create(self, module: str, element: dict, text_fields: tuple[str, ...]) -> dict:
        self._may(module, "createable")
        sent = self._storable(element, text_fields)
        written_at = datetime.now(timezone.utc)
        row = self.ws.create(module, sent)
        self._compare_clock(row.get("modifiedtime"), written_at)
        return row

    def _compare_clock(self, crm_time: str | None, written_at: datetime) -> None:
        """A record just written tells the CRM's zone: its modifiedtime is the CRM's
        wall clock, with no offset. Compared with our clock (to the quarter hour, so a
        few minutes of skew do not count), it shows a `crm_timezone` that is wrong."""
        if not vtql.is_crm_time(crm_time):
            return
        wall = datetime.strptime(crm_time, "%Y-%m-%d %H:%M:%S")
        seen = round((wall - written_at.replace(tzinfo=None)).total_seconds() / 900) * 900
        expected = written_at.astimezone(self.zone).utcoffset().total_seconds()
        mismatch = None
        if seen != expected:
            hours = f"UTC{'+' if seen >= 0 else '-'}{int(abs(seen)) // 3600:02d}:{int(abs(seen)) % 3600 // 60:02d}"
            mismatch = (f"the CRM writes its times in {hours} (seen on a record just written), not in crm_timezone "
                        f"{self.zone.key}: set crm_timezone to the CRM's zone (the comment poll is not affected; "
                        "times shown and the customer sync window are)")
        if mismatch != self.zone_mismatch:
            if mismatch:
                log.warning("%s", mismatch)
            self.zone_mismatch = mismatch
            if self.on_zone_mismatch is not None:
                self.on_zone_mismatch(mismatch)

    def _revise(self, element: dict, text_fields: tuple[str, ...]) -> dict:
        sent = self._storable(element, text_fields)
        try:
            row = self.ws.revise(sent)
        except WebserviceError as exc:
            if exc.code in NOT_FOUND_CODES:
                raise CRMNotFound(f"no record {element.get('id')}") from exc
            raise
        return row

    def _storable(self, element: dict, text_fields: tuple[str, ...]) -> dict:
        """The element as it may be written: emoji in the readable form unless the CRM
        is known to keep them. Decided before the write, never by writing customer data
        and reading it back: the CRM's history would keep the `????` version."""
        if not any(k in text_fields and has_astral(v) for k, v in element.items()):
            return element
        if self._astral_ok is None:
            with self._probe_lock:
                if self._astral_ok is None:  # another thread may have found out meanwhile
                    self._probe_astral()
        if self._astral_ok:
            return element
        return {k: readable(v) if k in text_fields and has_astral(v) else v for k, v in element.items()}

    def _probe_astral(self) -> None:
        """Find out whether the CRM keeps emoji on the login user's own Users record:
        write PROBE_TEXT to a free-text field, read it back, put the old value back.
        A try that cannot be made leaves the verdict unknown (and is made again after
        PROBE_RETRY): a refusal says nothing about the CRM's character set."""
        if time.monotonic() < self._next_probe:
            return
        user_id = self.ws.user_id
        try:
            # Described again after a failed try: the admin may have given the right since.
            users = self.schema.module("Users", fresh=self._next_probe > 0)
            name = next((f for f in PROBE_FIELDS if users.has(f)), None)
            if name is None or not users.updateable:
                raise CRMError(f"the CRM user {self.ws.username} may not edit a free-text field of its own Users "
                               f"record ({', '.join(PROBE_FIELDS)})")
            original = self.ws.retrieve(user_id).get(name)
            if not isinstance(original, str):
                raise CRMError(f"the CRM does not return Users.{name} of {user_id}")
            if original.startswith(PROBE_MARK):
                # Another process is trying right now, or a try was cut short: putting
                # this back would keep the try's text for good.
                raise CRMError(f"Users.{name} of {user_id} holds the text of another emoji check ({original!r}): "
                               "if it stays so, put the user's own text back in the CRM")
            self.ws.revise({"id": user_id, name: PROBE_TEXT})
            try:
                stored = self.ws.retrieve(user_id).get(name)
            finally:
                self._restore(user_id, name, original)
        except (CRMUnavailable, CRMAuthError):
            raise  # the customer write cannot be made either: it waits and comes back here
        except CRMError as exc:
            self._next_probe = time.monotonic() + PROBE_RETRY
            log.warning("could not find out whether the CRM keeps emoji (%s): writing them as :names: for now",
                        exc)
            return
        if stored == PROBE_TEXT:
            self._learnt_astral(True)
        elif isinstance(stored, str) and stored.count("?") > PROBE_TEXT.count("?"):
            self._learnt_astral(False)
            log.warning("the CRM cannot store emoji (they come back as '????'): writing them as :names:")
        else:
            # Changed for another reason: no verdict, readable form until the next try.
            self._next_probe = time.monotonic() + PROBE_RETRY
            log.warning("the CRM's emoji check read back %r instead of %r: writing emoji as :names: for now",
                        stored, PROBE_TEXT)

    def _restore(self, user_id: str, name: str, original: str) -> None:
        try:
            self.ws.revise({"id": user_id, name: original})
        except CRMError:
            log.error("the CRM's emoji check could not put back Users.%s of %s (%s): it now reads %r; "
                      "restore it in the CRM", name, user_id, self.ws.username, PROBE_TEXT)
            raise

    def _learnt_astral(self, verdict: bool) -> None:
        self._astral_ok = verdict
        if self._remember_astral is not None:
            self._remember_astral(verdict)

    def _time(self, value: str | None) -> datetime | None:
        """A CRM time (its zone, no offset) as an aware datetime."""
        if not vtql.is_crm_time(value):
            return None
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=self.zone)


def _crmid(record_id: str) -> int:
    try:
        return int(record_id.split("x", 1)[1])
    except (IndexError, ValueError):
        return 0
