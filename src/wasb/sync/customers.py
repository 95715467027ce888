"""syncCustomers: the WhatsApp address book and the CRM's people, kept in step both ways.

Limited to records changed within the last `time_window_days`, and incremental: each
direction keeps a cursor in the database (`sync_cursor`), so a run reads only what
changed since the last one and its cost follows the number of changes, not the size
of the CRM. A cursor older than the window is dropped and the feed restarts at the
window's start.

CRM → address book (`people_modified_since`):
- a person with a mobile gets an entry (number, CRM link, kind, name);
- a changed number or name updates it (an entry WhatsApp never spoke through moves
  to the new number; one it did stays that customer's and is unlinked);
- a deleted or number-less record unlinks the entries linked by number (a BSUID-only
  customer, linked through their conversation, keeps the link while the record lives).

- the admin's consent checkbox (`consent_crm_field`), read for the page in one call, moves
  the linked entries' marketing opt-out when the record changed after WASB's last consent
  change (source `crm`; WASB's own changes are written to the CRM as they happen).

Address book → CRM (`wa_contact.modified_at`): WhatsApp fills only what the CRM
lacks — the profile name of a record named after its number (or BSUID), a phone
learnt for a BSUID-only customer. The CRM stays authoritative for what people typed.

Every change that overwrites something is written to the audit log. Two CRM records
with the same number are reported in the run's result (both ids), never merged: the
existing link is left as it is.

No CRM call is made while a write transaction is open (on SQLite it holds the one write
lock, and the webhook intake would wait for the CRM's answer): each page is read, the
CRM is asked, then what it answered is written in a short transaction.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wasb.audit.service import record_change
from wasb.contacts.consent import FROM_CRM, record_consent
from wasb.contacts.tables import WaContact
from wasb.crm.port import CRM, DuplicateMobile, Person
from wasb.domain.phones import InvalidPhone, e164_to_wa_id, to_e164, wa_id_to_e164, with_prefix
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings, load_settings
from wasb.store.upsert import insert_for
from wasb.sync.tables import SyncCursor

PAGE = 500
CRM_FEED = "syncCustomers.crm"
BOOK_FEED = "syncCustomers.address_book"
# Address-book rows younger than this may belong to a transaction still committing
# (on PostgreSQL commits land out of clock order); the next run reads them.
SETTLE = timedelta(seconds=5)
# An id above every row's: "all of this instant has been read".
END_OF_INSTANT = 2**31 - 1  # wa_contact.id is a 32-bit integer
_NUMBER_LIKE = re.compile(r"^[\s+()\d.\-/]*$")


@dataclass
class CustomerSyncReport:
    crm_changes: int = 0
    created: int = 0
    linked: int = 0
    updated: int = 0
    unlinked: int = 0
    consent_changes: int = 0
    book_changes: int = 0
    crm_names_filled: int = 0
    crm_mobiles_filled: int = 0
    duplicates: list[dict] = field(default_factory=list)
    unreadable_numbers: list[dict] = field(default_factory=list)

    def add(self, other: "CustomerSyncReport") -> None:
        """Count in what a page's applied transaction found."""
        for name in (f.name for f in fields(self)):
            if isinstance(getattr(other, name), int):  # the counters; the lists are merged below
                setattr(self, name, getattr(self, name) + getattr(other, name))
        for found in other.duplicates:
            self.duplicate(found["number"], *found["ids"])
        self.unreadable_numbers.extend(other.unreadable_numbers)

    def duplicate(self, number: str, *ids: str) -> None:
        found = sorted(set(ids))
        for known in self.duplicates:
            if known["number"] == number:
                known["ids"] = sorted(set(known["ids"]) | set(found))
                return
        self.duplicates.append({"number": number, "ids": found})

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class _KnownPeople:
    """The CRM's answers to `get_person`, asked before the write transaction: inside it
    a person not asked yet is noted (and taken as absent), and the page is applied again
    once the CRM has answered for them, so no CRM call happens under the write lock."""

    def __init__(self) -> None:
        self.people: dict[str, Person | None] = {}
        self.missing: set[str] = set()

    def get_person(self, person_id: str) -> Person | None:
        if person_id not in self.people:
            self.missing.add(person_id)
        return self.people.get(person_id)

    def ask(self, crm: CRM) -> None:
        for person_id in sorted(self.missing):
            self.people[person_id] = crm.get_person(person_id)
        self.missing.clear()


class _NotAllKnown(Exception):
    """The page needs CRM answers not asked yet: its transaction is undone, they are asked."""


@dataclass
class _Run:
    session: Session
    crm: _KnownPeople
    settings: AdminSettings
    country: str
    actor: str
    now: datetime
    report: CustomerSyncReport
    # The admin's consent checkbox of the page's people, as the CRM answered (empty: no field named).
    consent: dict[str, bool] = field(default_factory=dict)

    def audit(self, entity: str, entity_id: Any, name: str, old: Any, new: Any) -> None:
        record_change(self.session, actor=self.actor, entity=entity, entity_id=entity_id, field=name,
                      old=old, new=new, at=self.now)


def run_sync_customers(rt: Runtime, ctx) -> dict:
    now = ctx.now()
    with rt.db.read_sessions() as s:
        settings = load_settings(s, rt.config)
    window_start = now - timedelta(days=settings.time_window_days)
    report = CustomerSyncReport()
    crm_to_address_book(rt, ctx, settings, window_start, report)
    address_book_to_crm(rt, ctx, settings, window_start, report)
    return report.as_dict()


# --- cursors ------------------------------------------------------------------------


def _stored_cursor(session: Session, name: str, window_start: datetime) -> str | None:
    row = session.get(SyncCursor, name)
    if row is None or row.value is None or row.synced_at < window_start:
        return None  # never synced, or not within the window: start at the window
    return row.value


def _save_cursor(session: Session, name: str, value: str | None, now: datetime) -> None:
    stmt = insert_for(session.get_bind().dialect.name, SyncCursor.__table__).values(
        name=name, value=value, synced_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value, "synced_at": now}))


# --- CRM → address book ---------------------------------------------------------------


def crm_to_address_book(rt: Runtime, ctx, settings: AdminSettings, window_start: datetime,
                        report: CustomerSyncReport) -> None:
    now = ctx.now()
    with rt.db.read_sessions() as s:
        cursor = _stored_cursor(s, CRM_FEED, window_start)
    if not cursor:
        with rt.crm_calls() as crm:
            cursor = crm.cursor_at(window_start)
    while True:
        # Read the page outside the write transaction (an external CRM answers over
        # HTTP): the write lock is held only while the page is applied.
        with rt.crm_calls() as crm:
            page = crm.people_modified_since(cursor, limit=PAGE)
            consent = (crm.person_flags([p.id for p in page.items], settings.consent_crm_field)
                       if settings.consent_crm_field and page.items else {})
        known = _KnownPeople()
        while True:
            applied = CustomerSyncReport()
            try:
                with rt.db.sessions() as s, s.begin():
                    run = _Run(s, known, settings, rt.config.default_country, ctx.actor, now, applied, consent)
                    apply_crm_people(run, page.items)
                    if known.missing:
                        raise _NotAllKnown()
                    _save_cursor(s, CRM_FEED, page.cursor, now)
            except _NotAllKnown:
                with rt.crm_calls() as crm:  # the page's transaction is closed: no lock held
                    known.ask(crm)
                continue
            break
        report.add(applied)
        report.crm_changes += len(page.items)
        ctx.progress(report.crm_changes, None)
        cursor = page.cursor
        if len(page.items) < PAGE:
            return


def _read_number(run: _Run, person: Person) -> str | None:
    if not person.mobile:
        return None
    try:
        return to_e164(person.mobile, run.country)
    except InvalidPhone:
        run.report.unreadable_numbers.append({"id": person.id, "mobile": person.mobile})
        return None


def apply_crm_people(run: _Run, people: list[Person]) -> None:
    """One page of the CRM's change feed, applied to the address book."""
    if not people:
        return
    numbers = {p.id: _read_number(run, p) for p in people}
    linked: dict[str, list[WaContact]] = defaultdict(list)
    for entry in run.session.scalars(select(WaContact).where(WaContact.crm_person_id.in_(list(numbers)))):
        linked[entry.crm_person_id].append(entry)
    wanted = {n for n in numbers.values() if n}
    by_number: dict[str, WaContact] = {}
    if wanted:
        query = select(WaContact).where(or_(WaContact.phone_e164.in_(wanted),
                                            WaContact.wa_id.in_([e164_to_wa_id(n) for n in wanted])))
        for entry in run.session.scalars(query):
            by_number.setdefault(entry.phone_e164 or wa_id_to_e164(entry.wa_id), entry)
    for person in people:
        number = numbers[person.id]
        if number is None:
            _drop_number(run, person, linked.get(person.id, []))
        else:
            _keep_number(run, person, number, numbers, linked.get(person.id, []), by_number)
    if run.consent:
        _apply_consent(run, {p.id: p for p in people})


def _apply_consent(run: _Run, people: dict[str, Person]) -> None:
    """The CRM's consent checkbox onto the entries linked to its people. A change made in
    WASB after the record's last modification wins (the CRM has not been told yet, or is
    being told): only a newer CRM edit moves the consent."""
    for entry in run.session.scalars(select(WaContact).where(WaContact.crm_person_id.in_(list(run.consent)))):
        wanted = run.consent.get(entry.crm_person_id)
        person = people.get(entry.crm_person_id)
        if wanted is None or person is None or bool(entry.marketing_opted_out) == wanted:
            continue
        if entry.opt_changed_at and person.modified_at and person.modified_at <= entry.opt_changed_at:
            continue
        if record_consent(run.session, entry, opted_out=wanted, source=FROM_CRM, actor=run.actor, at=run.now):
            run.report.consent_changes += 1


def _drop_number(run: _Run, person: Person, entries: list[WaContact]) -> None:
    """A deleted or number-less record: unlink the entries it was linked to by number."""
    if not entries:
        return
    gone = any(e.phone_e164 is None for e in entries) and run.crm.get_person(person.id) is None
    for entry in entries:
        if entry.phone_e164 is None and not gone:
            continue  # a BSUID-only customer: linked by their conversation, not by a number
        _unlink(run, entry)


def _keep_number(run: _Run, person: Person, number: str, numbers: dict[str, str | None],
                 entries: list[WaContact], by_number: dict[str, WaContact]) -> None:
    holder = by_number.get(number)
    if holder is not None and holder.crm_person_id not in (None, person.id):
        other = holder.crm_person_id
        if other in numbers:
            others_number = numbers[other]
        else:
            found = run.crm.get_person(other)
            others_number = _read_number(run, found) if found else None
        if others_number == number:
            run.report.duplicate(number, other, person.id)
            return  # never merged, never guessed: the existing link stays
        # The other record no longer has this number: it is this record's now.
        run.audit("wa_contact", holder.id, "crm_person_id", other, person.id)
        holder.crm_person_id = person.id
        run.report.linked += 1
    elif holder is None:
        holder = _entry_for_new_number(run, person, number, entries)
        by_number[number] = holder
    elif holder.crm_person_id is None:
        run.audit("wa_contact", holder.id, "crm_person_id", None, person.id)
        holder.crm_person_id = person.id
        run.report.linked += 1
    _describe(run, holder, person)
    for entry in entries:
        if entry is not holder and entry.phone_e164 is not None and entry.phone_e164 != number:
            _unlink(run, entry)  # the record's old number


def _entry_for_new_number(run: _Run, person: Person, number: str, entries: list[WaContact]) -> WaContact:
    # An entry created by an earlier sync, that WhatsApp never spoke through, just
    # follows the record to its new number; a real WhatsApp identity stays its own.
    movable = next((e for e in entries if e.user_id is None and e.last_inbound_at is None
                    and e.phone_e164 not in (None, number)), None)
    if movable is not None:
        run.audit("wa_contact", movable.id, "phone_e164", movable.phone_e164, number)
        movable.phone_e164, movable.wa_id = number, e164_to_wa_id(number)
        run.report.updated += 1
        return movable
    entry = WaContact(wa_id=e164_to_wa_id(number), phone_e164=number, crm_person_id=person.id,
                      crm_kind=person.kind, crm_name=person.name)
    run.session.add(entry)
    run.report.created += 1
    return entry


def _describe(run: _Run, entry: WaContact, person: Person) -> None:
    if entry.id is None:
        return  # created just now, already described
    changed = False
    for name, value in (("crm_kind", person.kind), ("crm_name", person.name)):
        old = getattr(entry, name)
        if old != value:
            if old is not None:
                run.audit("wa_contact", entry.id, name, old, value)
            setattr(entry, name, value)
            changed = True
    if changed:
        run.report.updated += 1


def _unlink(run: _Run, entry: WaContact) -> None:
    run.audit("wa_contact", entry.id, "crm_person_id", entry.crm_person_id, None)
    entry.crm_person_id = entry.crm_kind = entry.crm_name = None
    run.report.unlinked += 1


# --- address book → CRM ---------------------------------------------------------------


def _book_cursor(value: str | None, window_start: datetime) -> tuple[datetime, int]:
    if not value:
        return window_start, 0
    stamp, _, row_id = value.partition("|")
    return datetime.fromisoformat(stamp), int(row_id or 0)


def address_book_to_crm(rt: Runtime, ctx, settings: AdminSettings, window_start: datetime,
                        report: CustomerSyncReport) -> None:
    now = ctx.now()
    upper = now - SETTLE
    with rt.db.read_sessions() as s:
        after, after_id = _book_cursor(_stored_cursor(s, BOOK_FEED, window_start), window_start)
    while True:
        # Read the page, then ask the CRM with no transaction open, then write the answers.
        with rt.db.read_sessions() as s:
            entries = s.scalars(
                select(WaContact)
                .where(WaContact.modified_at >= after, WaContact.modified_at <= upper,
                       or_(WaContact.modified_at > after, WaContact.id > after_id),
                       WaContact.crm_person_id.is_not(None),
                       # Only entries with something WhatsApp told us can fill a gap.
                       or_(WaContact.profile_name.is_not(None), WaContact.user_id.is_not(None)))
                .order_by(WaContact.modified_at, WaContact.id).limit(PAGE)).all()
            if len(entries) == PAGE:
                # Read before filling: a filled entry's modified_at moves on.
                after, after_id = entries[-1].modified_at, entries[-1].id
            else:
                # Everything up to `upper` has been looked at, including the entries
                # the filter skipped: the next run starts there, not at the last match.
                after, after_id = upper, END_OF_INSTANT
        with rt.crm_calls() as crm:
            filled = [fill_crm_gaps(crm, settings, entry, report) for entry in entries]
        with rt.db.sessions() as s, s.begin():
            run = _Run(s, _KnownPeople(), settings, rt.config.default_country, ctx.actor, now, report)
            for done in filter(None, filled):
                record_filled(run, done)
            _save_cursor(s, BOOK_FEED, f"{after.isoformat()}|{after_id}", now)
        report.book_changes += len(entries)
        ctx.progress(report.crm_changes + report.book_changes, None)
        if len(entries) < PAGE:
            return


def lacks_name(name: str | None, entry: WaContact) -> bool:
    """A CRM name nobody typed: empty, or the number / BSUID the record was named after."""
    text = (name or "").strip()
    placeholders = {entry.wa_id, entry.user_id, entry.phone_e164, f"contact-{entry.id}"}
    return not text or text in placeholders or bool(_NUMBER_LIKE.match(text))


@dataclass(frozen=True)
class Filled:
    """What `fill_crm_gaps` wrote in the CRM, to record in the address book and the audit log."""

    entry_id: int
    person_id: str
    before: Person
    after: Person
    fields: tuple[str, ...]


def fill_crm_gaps(crm: CRM, settings: AdminSettings, entry: WaContact, report: CustomerSyncReport) -> Filled | None:
    """Fill the CRM record's gaps from what WhatsApp told us (CRM calls only: no transaction
    may be open, `record_filled` writes the outcome)."""
    person = crm.get_person(entry.crm_person_id)
    if person is None:
        return None  # deleted in the CRM: its change feed unlinks the entry
    changes: dict[str, str] = {}
    if entry.profile_name and lacks_name(person.name, entry) and person.name != entry.profile_name:
        changes["name"] = entry.profile_name
    if entry.phone_e164 and not person.mobile:
        holders = [p for p in crm.find_people_by_phone(entry.phone_e164) if p.id != person.id]
        if holders:
            report.duplicate(entry.phone_e164, person.id, *(p.id for p in holders))
        else:
            changes["mobile"] = with_prefix(entry.phone_e164, settings.phone_prefix)
    if not changes:
        return None
    try:
        updated = crm.update_person(person.id, **changes)
    except DuplicateMobile as exc:  # written in the CRM between our check and the update
        report.duplicate(entry.phone_e164, person.id, exc.existing.id)
        changes.pop("mobile")
        if not changes:
            return None
        updated = crm.update_person(person.id, **changes)
    return Filled(entry.id, person.id, person, updated, tuple(changes))


def record_filled(run: _Run, filled: Filled) -> None:
    if "name" in filled.fields:
        run.audit("crm_person", filled.person_id, "name", filled.before.name, filled.after.name)
        run.report.crm_names_filled += 1
        entry = run.session.get(WaContact, filled.entry_id)
        if entry is not None:
            entry.crm_name = filled.after.name
    if "mobile" in filled.fields:
        run.audit("crm_person", filled.person_id, "mobile", filled.before.mobile, filled.after.mobile)
        run.report.crm_mobiles_filled += 1
