"""A customer's message: find the customer, the CRM record, the conversation, the ticket.

The worker's hot path, in SQLAlchemy Core: each step is one statement that finds and
writes at once (RETURNING what the next step needs), and no ORM unit of work runs. A
known customer's text on an open conversation and ticket costs: the customer, the
conversation, the ticket read, the comment, the message (and the ticket's status when
it changes); a new customer's: the customer (looked up, then added), the CRM lead, the
ticket, the conversation, the message.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from wasb.campaigns.service import note_reply
from wasb.config import Config
from wasb.contacts.service import (
    WriterRow, add_writer, customer_wrote, display_number, link_person, named_number, phone_of,
)
from wasb.contacts.tables import WaContact
from wasb.conversations.auto_assign import auto_assign
from wasb.conversations.search import due_for_indexing, index_new
from wasb.conversations.service import OpenRow, customer_wrote_in, follow_ticket, held_comments_wait, \
    start_conversation
from wasb.conversations.tables import Conversation, Message
from wasb.conversations.tickets import usable_ticket
from wasb.crm.port import CRM, Comment, NewPerson, Person, Ticket
from wasb.domain.naming import conversation_name
from wasb.domain.phones import with_prefix
from wasb.domain.rendering import changed_number, changed_user_id, lead_source, message_text, render_message
from wasb.domain.statuses import RECEIVED
from wasb.domain.clock import offset
from wasb.domain.window import window_opened_at
from wasb.hooks.service import MESSAGE_RECEIVED, TICKET_CREATED, emit
from wasb.inbound.number_change import follow_number, follow_user_id
from wasb.jobs.queue import JobQueue
from wasb.media.downloads import PENDING as MEDIA_PENDING, enqueue_download
from wasb.settings.service import AdminSettings
from wasb.store.base import utcnow
from wasb.store.upsert import insert_for
from wasb.tickets.service import TicketUpdate, is_ticket_opened_by, record_customer_message, same_comment_text
from wasb.whatsapp.messages import MEDIA_KINDS
from wasb.whatsapp.webhook import Item, first_error, message_time


@dataclass
class Inbound:
    """What processing one customer's items needs, gathered once per job.

    `in_transaction` is the job's CRM call policy (`wasb.runtime`). With the embedded CRM
    the whole job is one transaction and nothing is ever half done: the CRM steps run
    first and each row is written once, with its final values. With an external CRM the
    job commits before every CRM call, so the steps are recorded as they go (the message
    stored `crm_pending` before the ticket is written, then each CRM id) and a retry
    resumes after the last recorded step.
    """

    session: Session
    crm: CRM
    config: Config
    settings: AdminSettings
    queue: JobQueue
    in_transaction: bool
    received_at: datetime | None = None  # when the webhook reached us (the intake's time)


@dataclass(frozen=True)
class Received:
    """A message stored, and who wrote it (their held comments go out next)."""

    message_id: int
    type: str
    contact_id: int
    held_waiting: bool


class AlreadyStored(Exception):
    """The message's wamid is stored already, found when its insert met it: the caller
    undoes the item's writes and hands the item to `receive_again`."""


_messages = Message.__table__
_m = _messages.c
_conversations = Conversation.__table__
_contacts = WaContact.__table__
# Built once: these run for every message.
_by_wamid = select(_m.id, _m.type, _m.conversation_id, _m.crm_pending, _m.crm_comment_id, _m.timestamp).where(
    _m.wamid == bindparam("wamid"))
_inserts: dict[str, Any] = {}
_record_comment = _messages.update().where(_m.id == bindparam("message")).values(
    crm_comment_id=bindparam("comment")).returning(_m.conversation_id)
_record_done = _messages.update().where(_m.id == bindparam("message")).values(
    crm_comment_id=bindparam("comment"), crm_pending=False).returning(_m.conversation_id)
_no_crm_steps = _messages.update().where(_m.id == bindparam("message")).values(crm_pending=False).returning(
    _m.conversation_id)
_react = _messages.update().where(_m.wamid == bindparam("target")).values(reaction=bindparam("emoji_")).returning(
    _m.conversation_id)


def _insert_message(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect not in _inserts:
        _inserts[dialect] = insert_for(dialect, _messages).on_conflict_do_nothing(index_elements=["wamid"]).returning(
            _m.id, _m.conversation_id)
    return _inserts[dialect]


def receive_message(ctx: Inbound, item: Item) -> Received | None:
    """Store a customer's message and write it on their ticket. Raises `AlreadyStored`
    when its wamid turns out to be known (its writes are then the caller's to undo)."""
    data = item.data
    wamid = data.get("id")
    if wamid and not ctx.in_transaction:
        # Steps are committed as they go: a known message must be found before any.
        known = ctx.session.execute(_by_wamid, {"wamid": wamid}).first()
        if known is not None:
            return _resume(ctx, known, data)
    at = message_time(data)
    if ctx.received_at is not None:
        # Stored, shown and counted in the window at this time: never later than we received it.
        at = window_opened_at(at, ctx.received_at + offset())
    change = changed_number(data)
    if change is not None:
        # The entry (and the CRM record) follow the customer to the new number first; the
        # message is then theirs, shown in their conversation and written on their ticket.
        if follow_number(ctx.session, ctx.crm, old_wa_id=change[0], new_wa_id=change[1],
                         phone_prefix=ctx.settings.phone_prefix, default_country=ctx.config.default_country):
            item = replace(item, wa_id=change[1])
    id_change = changed_user_id(data)
    if id_change is not None and follow_user_id(ctx.session, old_user_id=id_change[0], new_user_id=id_change[1],
                                                wa_id=item.wa_id):
        item = replace(item, user_id=id_change[1])
    contact, match = _customer(ctx, item, at)
    conversation = _open_conversation(ctx, contact, match, item.phone_number_id, at, lead_source(data))
    row = _message_row(item, at)
    writes_ticket = (row["type"] != "reaction" and conversation.association_error is None
                     and bool(conversation.crm_person_id) and ctx.settings.auto_ticket)
    text = render_message(data)
    if ctx.in_transaction:
        update = _ticket_steps(ctx, contact, conversation.crm_person_id, conversation.ticket_id, text, at) \
            if writes_ticket else None
        ticket_id = update.ticket.id if update else conversation.ticket_id
        conversation_id = _conversation_id(ctx, contact, conversation, item.phone_number_id, at, ticket_id)
        message_id = _store(ctx, row, conversation_id, comment_id=update.comment_id if update else None,
                            pending=False)
        _received(ctx, contact, item, row, conversation_id, message_id)
        if update is not None and update.created:
            _ticket_created(ctx, update.ticket.id, conversation_id, conversation.crm_person_id)
    else:
        conversation_id = _conversation_id(ctx, contact, conversation, item.phone_number_id, at,
                                           conversation.ticket_id)
        # Stored and marked pending before the ticket is written: should the job stop
        # part-way, a retry resumes the steps not recorded.
        message_id = _store(ctx, row, conversation_id, comment_id=None, pending=writes_ticket)
        # Told with the message's first commit: a CRM step that fails later is resumed, not re-told.
        _received(ctx, contact, item, row, conversation_id, message_id)
        if writes_ticket:
            steps = _Steps(ctx.session, conversation_id, conversation.ticket_id, message_id)
            _record_ticket(ctx, steps, contact, conversation.crm_person_id, text, at, resuming=False)
    if row["type"] == "reaction":
        _apply_reaction(ctx.session, data)
    return Received(message_id, row["type"], contact.id, conversation.held_waiting)


def receive_again(ctx: Inbound, item: Item) -> Received | None:
    """A message whose wamid is stored: finish the CRM steps an earlier attempt did not
    record; a message delivered before is not applied again (it would duplicate comments)."""
    known = ctx.session.execute(_by_wamid, {"wamid": item.data.get("id")}).first()
    return _resume(ctx, known, item.data) if known is not None else None


def _customer(ctx: Inbound, item: Item, at: datetime) -> tuple[WriterRow, tuple[Person | None, str | None] | None]:
    """The customer's address-book entry, and for a new one the CRM record matched to it
    (found or created first, so that the entry is written once, linked)."""
    known = customer_wrote(ctx.session, wa_id=item.wa_id, user_id=item.user_id, profile_name=item.profile_name, at=at)
    if known is not None:
        return known, None
    e164 = phone_of(item.wa_id)
    match = match_person(ctx, None, e164, item.profile_name, item.wa_id or item.user_id or "",
                         source=lead_source(item.data))
    person = match[0]
    contact = add_writer(ctx.session, wa_id=item.wa_id, user_id=item.user_id, profile_name=item.profile_name, at=at,
                         crm_person_id=person.id if person else None, crm_kind=person.kind if person else None)
    return contact, match


def match_person(ctx: Inbound, linked_id: str | None, e164: str | None, profile_name: str | None,
                 number: str, source: str | None = None) -> tuple[Person | None, str | None]:
    """The CRM record of this customer, created as a lead when there is none (with
    `source` as its lead source: the ad the customer came from).

    Returns (person, association error). With several candidates nothing is guessed.
    """
    if linked_id:
        linked = ctx.crm.get_person(linked_id)
        if linked is not None:
            return linked, None
    candidates = ctx.crm.find_people_by_phone(e164) if e164 else []
    if len(candidates) > 1:
        names = ", ".join(f"{p.kind} {p.id} ({p.name})" for p in candidates)
        return None, f"{len(candidates)} CRM records have the number {e164}: {names}"
    person = candidates[0] if candidates else ctx.crm.create_person(NewPerson(
        kind="lead",
        name=profile_name or (e164 or number),
        mobile=with_prefix(e164, ctx.settings.phone_prefix) if e164 else None,
        company=profile_name or None,
        assigned_user=ctx.settings.reference_user or None,
        source=source,
    ))
    return person, None


def _open_conversation(ctx: Inbound, contact: WriterRow, match: tuple[Person | None, str | None] | None,
                       phone_number_id: str, at: datetime, source: str | None = None) -> OpenRow:
    """The customer's open conversation on this number with the message counted in it, or
    the one to start (id None: written once its ticket is known)."""
    if not contact.created:
        found = customer_wrote_in(ctx.session, contact.id, phone_number_id, at)
        if found is not None:
            return found
    if match is None:
        match = match_person(ctx, contact.crm_person_id, contact.phone_e164, contact.profile_name,
                             display_number(contact), source=source)
        person = match[0]
        if person is not None and (person.id, person.kind) != (contact.crm_person_id, contact.crm_kind):
            link_person(ctx.session, contact.id, person.id, person.kind)
    person, problem = match
    held = not contact.created and held_comments_wait(ctx.session, contact.id)
    return OpenRow(None, person.id if person else None, None, problem, held)


def _conversation_id(ctx: Inbound, contact: WriterRow, conversation: OpenRow, phone_number_id: str, at: datetime,
                     ticket_id: str | None) -> int:
    if conversation.id is None:
        started = start_conversation(
            ctx.session, name=conversation_name(at, named_number(contact), ctx.config.tz),
            phone_number_id=phone_number_id, contact_id=contact.id, crm_person_id=conversation.crm_person_id,
            ticket_id=ticket_id, association_error=conversation.association_error, at=at)
        auto_assign(ctx.session, ctx.settings, started, utcnow())
        return started
    if ticket_id != conversation.ticket_id:
        follow_ticket(ctx.session, conversation.id, ticket_id)
    return conversation.id


def _message_row(item: Item, at: datetime) -> dict[str, Any]:
    """The values of an inbound message's row."""
    data = item.data
    kind = data.get("type") or "unknown"
    body = data.get(kind) if isinstance(data.get(kind), dict) else {}
    error_code, error_message = first_error(data.get("errors") or item.value_errors)
    text = body.get("body") if kind == "text" else body.get("caption")
    if kind not in ("text",) + MEDIA_KINDS:
        # Shown as the customer would read it; a referral's ad is shown beside (from `raw`).
        text = message_text(data)
    media = kind in MEDIA_KINDS
    media_id = body.get("id") if media else None
    return dict(
        wamid=data.get("id"), direction="in", type=kind, body=text, media_id=media_id,
        media_mime=body.get("mime_type") if media else None,
        media_filename=body.get("filename") if media else None,
        media_sha256=body.get("sha256") if media else None,
        # Its download is a job of its own: never blocks or repeats this message.
        media_state=MEDIA_PENDING if media_id else None,
        reply_to_wamid=(data.get("context") or {}).get("id"),
        status=RECEIVED, timestamp=at, error_code=error_code, error_message=error_message, raw=data,
    )


def _store(ctx: Inbound, row: dict[str, Any], conversation_id: int, *, comment_id: str | None, pending: bool) -> int:
    stored = ctx.session.execute(_insert_message(ctx.session), {
        **row, "conversation_id": conversation_id, "crm_comment_id": comment_id, "crm_pending": pending}).first()
    if stored is None:
        raise AlreadyStored(row["wamid"])
    if due_for_indexing(stored.id):
        index_new(ctx.session)  # the search index takes the newest messages in a batch
    if row["media_id"]:
        enqueue_download(ctx.session, ctx.queue, stored.id)
    return stored.id


def _received(ctx: Inbound, contact: WriterRow, item: Item, row: dict[str, Any], conversation_id: int,
              message_id: int) -> None:
    emit(ctx.session, MESSAGE_RECEIVED, {
        "conversation_id": conversation_id, "message_id": message_id, "wamid": row["wamid"], "type": row["type"],
        "text": row["body"], "from": item.wa_id or item.user_id, "contact_id": contact.id,
        "profile_name": item.profile_name, "phone_number_id": item.phone_number_id, "timestamp": row["timestamp"],
        "reply_to_wamid": row["reply_to_wamid"]}, conversation_id)
    if contact.campaign_sent_at is not None:  # only then: every other message costs no statement
        note_reply(ctx.session, contact.id, conversation_id, row["timestamp"])


def _ticket_created(ctx: Inbound, ticket_id: str, conversation_id: int, person_id: str | None) -> None:
    emit(ctx.session, TICKET_CREATED, {"ticket_id": ticket_id, "conversation_id": conversation_id,
                                       "crm_person_id": person_id}, conversation_id)


def _apply_reaction(session: Session, data: dict) -> None:
    reaction = data.get("reaction") or {}
    target_wamid = reaction.get("message_id")
    if target_wamid:  # no emoji: the customer removed it
        session.execute(_react, {"target": target_wamid, "emoji_": reaction.get("emoji") or None})


def _number(ctx: Inbound, contact: WriterRow) -> str:
    return with_prefix(contact.phone_e164, ctx.settings.phone_prefix) if contact.phone_e164 \
        else display_number(contact)


def _ticket_steps(ctx: Inbound, contact: WriterRow, person_id: str, ticket_id: str | None, text: str, at: datetime,
                  on_comment=None) -> TicketUpdate:
    ticket = usable_ticket(ctx.crm, ctx.settings, ticket_id, person_id)
    return _write_on(ctx, contact, ticket, person_id, text, at, on_comment)


def _write_on(ctx: Inbound, contact: WriterRow, ticket: Ticket | None, person_id: str, text: str, at: datetime,
              on_comment=None) -> TicketUpdate:
    number = _number(ctx, contact)
    return record_customer_message(
        ctx.crm, ctx.settings, ctx.config.tz, ticket=ticket, person_id=person_id,
        customer_name=contact.profile_name or number, number_with_prefix=number, text=text, at=at,
        on_comment=on_comment)


@dataclass
class _Steps:
    """Where an external CRM's steps are recorded as they succeed (each is committed
    before the next CRM call)."""

    session: Session
    conversation_id: int
    ticket_id: str | None  # the conversation's, as stored
    message_id: int

    def follow(self, ticket_id: str) -> None:
        if ticket_id != self.ticket_id:
            follow_ticket(self.session, self.conversation_id, ticket_id)
            self.ticket_id = ticket_id

    def comment_written(self, written_on: Ticket, comment: Comment) -> None:
        self.follow(written_on.id)
        self.session.execute(_record_comment, {"message": self.message_id, "comment": comment.id})

    def done(self, ticket_id: str, comment_id: str | None) -> None:
        self.follow(ticket_id)
        self.session.execute(_record_done, {"message": self.message_id, "comment": comment_id})


def _record_ticket(ctx: Inbound, steps: _Steps, contact: WriterRow, person_id: str, text: str, at: datetime, *,
                   resuming: bool) -> None:
    ticket = usable_ticket(ctx.crm, ctx.settings, steps.ticket_id, person_id)
    if resuming and ticket is not None and _already_written(ctx, steps, ticket, _number(ctx, contact), text, at):
        return
    update = _write_on(ctx, contact, ticket, person_id, text, at, on_comment=steps.comment_written)
    steps.done(update.ticket.id, update.comment_id)
    if update.created:
        _ticket_created(ctx, update.ticket.id, steps.conversation_id, person_id)


_conversation_of = select(_conversations.c.id, _conversations.c.wa_contact_id, _conversations.c.crm_person_id,
                          _conversations.c.ticket_id, _conversations.c.association_error).where(
    _conversations.c.id == bindparam("conversation_id"))
_writer_by_id = select(_contacts.c.id, _contacts.c.wa_id, _contacts.c.user_id, _contacts.c.phone_e164,
                       _contacts.c.profile_name, _contacts.c.crm_person_id, _contacts.c.crm_kind,
                       _contacts.c.campaign_sent_at).where(
    _contacts.c.id == bindparam("contact_id"))


def _resume(ctx: Inbound, known: Any, data: dict) -> Received | None:
    """An earlier attempt stored the message, then the CRM failed part-way: finish the CRM
    steps it did not record, and only those."""
    if not known.crm_pending:
        return None
    session = ctx.session
    conversation = session.execute(_conversation_of, {"conversation_id": known.conversation_id}).one()
    contact = WriterRow(*session.execute(_writer_by_id, {"contact_id": conversation.wa_contact_id}).one(),
                        created=False)
    if conversation.association_error is not None or not conversation.crm_person_id:
        session.execute(_no_crm_steps, {"message": known.id})
    elif known.crm_comment_id is not None:
        # The comment is written; only the status that follows it failed.
        ctx.crm.set_ticket_status(conversation.ticket_id, ctx.settings.status_answered)
        session.execute(_no_crm_steps, {"message": known.id})
    else:
        steps = _Steps(session, conversation.id, conversation.ticket_id, known.id)
        _record_ticket(ctx, steps, contact, conversation.crm_person_id, render_message(data), known.timestamp,
                       resuming=True)
    return Received(known.id, known.type, contact.id, held_comments_wait(session, contact.id))


def _already_written(ctx: Inbound, steps: _Steps, ticket: Ticket, number: str, text: str, at: datetime) -> bool:
    """After a failure whose cause may have been a lost answer (a timeout), look in the
    CRM before writing again: the ticket this message opened, or its comment."""
    if ticket.id != steps.ticket_id and is_ticket_opened_by(ticket, at, number, ctx.config.tz):
        steps.done(ticket.id, None)
        return True
    # Comments already known as other messages (the customer may send "ok" twice).
    recorded = set(ctx.session.scalars(
        select(_m.crm_comment_id).join(_conversations, _conversations.c.id == _m.conversation_id)
        .where(_conversations.c.ticket_id == ticket.id, _m.crm_comment_id.is_not(None))))
    for comment in ctx.crm.list_comments(ticket.id):
        if comment.customer_name and comment.id not in recorded and same_comment_text(comment.body, text):
            steps.follow(ticket.id)
            ctx.session.execute(_record_comment, {"message": steps.message_id, "comment": comment.id})
            ctx.crm.set_ticket_status(ticket.id, ctx.settings.status_answered)
            steps.done(ticket.id, comment.id)
            return True
    return False
