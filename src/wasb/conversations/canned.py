"""Canned replies: ready answers agents insert with `/shortcut` in the composer.

Shared ones (no owner) belong to the team and only admins change them; personal ones belong
to one user, who alone sees and changes them. Their placeholders (`{{first_name}}`…) are
filled here, for one conversation, from its CRM record and the agent: one place reads the
record, whatever shows the text.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.conversations.service import ConversationNotFound
from wasb.conversations.tables import CannedReply, Conversation
from wasb.crm.mapping import first_name
from wasb.crm.port import CRM
from wasb.store.base import utcnow

SHORTCUT = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_TITLE_CHARS = 100
MAX_BODY_CHARS = 4096  # a WhatsApp text
PLACEHOLDERS = ("first_name", "last_name", "name", "phone", "agent", "ticket_no")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

# The refusals, fixed sentences (the UI translates them as they are).
BAD_SHORTCUT = "A shortcut is 1 to 32 letters, digits, - or _."
NO_TITLE = "Give the reply a title."
LONG_TITLE = "The title is longer than 100 characters."
NO_BODY = "Write the reply's text."
LONG_BODY = "The text is longer than 4096 characters."
NUL = "The text must not contain the NUL character."
TAKEN_SHARED = "The team already has a reply with this shortcut."
TAKEN_PERSONAL = "You already have a reply with this shortcut."
NEEDS_USER = "Only a user has personal replies: use a user's token, or create a shared one as an admin."
NEEDS_ADMIN = "Only an admin changes the team's shared replies."


class InvalidCannedReply(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class CannedReplyExists(InvalidCannedReply):
    def __init__(self, shared: bool):
        super().__init__("shortcut", TAKEN_SHARED if shared else TAKEN_PERSONAL)


class CannedReplyNotFound(LookupError):
    pass


class NotAllowed(PermissionError):
    pass


@dataclass(frozen=True)
class Caller:
    """Who manages replies: a user (`user_id`), or an API token without one (`None`)."""
    user_id: int | None
    is_admin: bool


def visible_replies(session: Session, caller: Caller, q: str = "") -> list[CannedReply]:
    """The team's replies and the caller's own, by shortcut (the caller's own first on a tie)."""
    mine = CannedReply.owner_id.is_(None) if caller.user_id is None else or_(
        CannedReply.owner_id.is_(None), CannedReply.owner_id == caller.user_id)
    rows = list(session.scalars(select(CannedReply).where(mine)))
    needle = q.strip().lower()
    if needle:
        rows = [r for r in rows if needle in r.shortcut or needle in r.title.lower()]
    return sorted(rows, key=lambda r: (r.shortcut, r.owner_id is None, r.id))


def visible_reply(session: Session, caller: Caller, reply_id: int) -> CannedReply:
    """One reply the caller may see: shared, or their own (another's is "not found", not "forbidden")."""
    reply = session.get(CannedReply, reply_id)
    if reply is None or (reply.owner_id is not None and reply.owner_id != caller.user_id):
        raise CannedReplyNotFound(f"no canned reply {reply_id}")
    return reply


def may_change(reply: CannedReply, caller: Caller) -> bool:
    return caller.is_admin if reply.owner_id is None else reply.owner_id == caller.user_id


def create_reply(session: Session, caller: Caller, *, shared: bool, shortcut: str, title: str,
                 body: str) -> CannedReply:
    if shared and not caller.is_admin:
        raise NotAllowed(NEEDS_ADMIN)
    if not shared and caller.user_id is None:
        raise NotAllowed(NEEDS_USER)
    owner = None if shared else caller.user_id
    shortcut, title, body = _checked(shortcut, title, body)
    _refuse_taken(session, owner, shortcut, None)
    now = utcnow()
    reply = CannedReply(shortcut=shortcut, title=title, body=body, owner_id=owner, created_at=now, updated_at=now)
    session.add(reply)
    _flush(session, owner)
    return reply


def update_reply(session: Session, caller: Caller, reply_id: int, *, shortcut: str, title: str,
                 body: str) -> CannedReply:
    reply = visible_reply(session, caller, reply_id)
    if not may_change(reply, caller):
        raise NotAllowed(NEEDS_ADMIN)
    shortcut, title, body = _checked(shortcut, title, body)
    _refuse_taken(session, reply.owner_id, shortcut, reply.id)
    reply.shortcut, reply.title, reply.body, reply.updated_at = shortcut, title, body, utcnow()
    _flush(session, reply.owner_id)
    return reply


def delete_reply(session: Session, caller: Caller, reply_id: int) -> None:
    reply = visible_reply(session, caller, reply_id)
    if not may_change(reply, caller):
        raise NotAllowed(NEEDS_ADMIN)
    session.delete(reply)
    session.flush()


def _checked(shortcut: str, title: str, body: str) -> tuple[str, str, str]:
    # Shortcuts are matched as typed after "/", in any case: kept in lower case.
    shortcut = (shortcut or "").strip().removeprefix("/").lower()
    title, body = (title or "").strip(), (body or "").strip()
    if not SHORTCUT.fullmatch(shortcut):
        raise InvalidCannedReply("shortcut", BAD_SHORTCUT)
    if not title:
        raise InvalidCannedReply("title", NO_TITLE)
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidCannedReply("title", LONG_TITLE)
    if not body:
        raise InvalidCannedReply("body", NO_BODY)
    if len(body) > MAX_BODY_CHARS:
        raise InvalidCannedReply("body", LONG_BODY)
    for field, text in (("title", title), ("body", body)):
        if "\x00" in text:
            raise InvalidCannedReply(field, NUL)
    return shortcut, title, body


def _flush(session: Session, owner: int | None) -> None:
    # Two saves of one shortcut at once both pass _refuse_taken: the unique index refuses the second.
    try:
        session.flush()
    except IntegrityError:
        raise CannedReplyExists(shared=owner is None)


def _refuse_taken(session: Session, owner: int | None, shortcut: str, except_id: int | None) -> None:
    same_owner = CannedReply.owner_id.is_(None) if owner is None else CannedReply.owner_id == owner
    query = select(CannedReply.id).where(same_owner, CannedReply.shortcut == shortcut)
    if except_id is not None:
        query = query.where(CannedReply.id != except_id)
    if session.scalar(query) is not None:
        raise CannedReplyExists(shared=owner is None)


# --- placeholders ---------------------------------------------------------------------------

def placeholder_values(session: Session, crm: CRM, conversation_id: int, agent: str) -> dict[str, str]:
    """What the placeholders stand for in this conversation: its CRM record (read once here),
    its ticket, its WhatsApp number, the agent. A value the conversation lacks is left out."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    contact = session.get(WaContact, conversation.wa_contact_id)
    person = crm.get_person(conversation.crm_person_id) if conversation.crm_person_id else None
    ticket = crm.get_ticket(conversation.ticket_id) if conversation.ticket_id else None
    values = {"agent": agent}
    if person is not None and person.name.strip():
        name = person.name.strip()
        values.update(name=name, first_name=first_name(person))
        if person.kind != "account" and " " in name:  # a company has no last name
            values["last_name"] = name.split(" ", 1)[1].strip()
    elif contact is not None and (contact.crm_name or contact.profile_name):
        # No CRM record (yet): the name WhatsApp gave, for the name only.
        values["name"] = (contact.crm_name or contact.profile_name).strip()
    # The number the customer writes from is the one the reply goes to; the CRM's is how it was typed there.
    phone = (contact.phone_e164 if contact is not None else None) or (person.mobile if person else None)
    if phone:
        values["phone"] = phone
    if ticket is not None and ticket.number:
        values["ticket_no"] = ticket.number
    return {k: v for k, v in values.items() if v}


def fill(text: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """The text with the known placeholders filled; the others stay as written, so the agent
    sees what is left to do, and are named (in order, once each)."""
    unfilled: list[str] = []

    def put(match: re.Match) -> str:
        key = match.group(1)
        if key in values:
            return values[key]
        if key not in unfilled:
            unfilled.append(key)
        return match.group(0)

    return _PLACEHOLDER.sub(put, text), unfilled
