"""Read models of the UI's pages. Reads may query tables directly (DESIGN.md); every
write goes through a service."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from wasb.campaigns.service import campaign_names
from wasb.contacts.tables import WaContact
from wasb.conversations.notes import notes_of
from wasb.conversations.search import has_message_containing
from wasb.conversations.tables import CLOSED, OPEN, Conversation, ConversationNote, Message
from wasb.conversations.window import Window, window_of
from wasb.domain.clock import window_now
from wasb.crm.port import CRM, Comment, Person, Ticket
from wasb.domain.phones import InvalidPhone, to_e164
from wasb.domain.rendering import contact_cards, map_link, referral
from wasb.store.like import contains_pattern
from wasb.crm.mapping import resolve_available
from wasb.templates.parameters import Slot, describe_parameters
from wasb.templates.service import parameter_sources
from wasb.templates.tables import Template
from wasb.tickets.process import comment_messages
from wasb.whatsapp.messages import MEDIA_KINDS

FILTERS = ("open", "mine", "unassigned", "closed", "all")


def display_name(contact: WaContact | None) -> str:
    if contact is None:
        return "?"
    return contact.profile_name or contact.phone_e164 or contact.wa_id or contact.user_id or f"#{contact.id}"


@dataclass
class InboxRow:
    id: int
    name: str
    phone: str | None
    status: str
    unread: int
    assigned_user: str | None
    association_error: str | None
    window: Window
    last_at: datetime | None
    last: "Preview"
    last_direction: str | None
    last_status: str | None


@dataclass(frozen=True)
class Preview:
    """The inbox's line for a conversation's last message: its kind (the page shows an icon
    and the kind's name in the user's language, never "[image]") and its text."""
    kind: str  # "text", a media kind, "template", or another WhatsApp type ("location", …)
    text: str


def preview_of(message: Message | None) -> Preview:
    if message is None:
        return Preview("text", "")
    if message.type in MEDIA_KINDS:  # the caption, else the file's name
        return Preview(message.type, message.body or message.media_filename or "")
    if message.type == "template" or (message.template_name and not message.body):
        return Preview("template", message.body or message.template_name or "")
    body = message.body or ""
    if message.type == "text":
        return Preview("text", body)
    # Other kinds are stored already rendered for the ticket ("[location] Via Roma 1"): the
    # prefix becomes the icon and the kind's name.
    prefix = f"[{message.type}]"
    return Preview(message.type, body[len(prefix):].strip() if body.startswith(prefix) else body)


# An agent's WhatsApp message mirrored on the ticket (wasb.outbound.service.comment_text):
# "[template name] text" or "[image: file.jpg] caption", stored so in the CRM.
_COMMENT_LABEL = re.compile(r"^\[(?:(?P<template>template) (?P<name>[^\]]+)|(?P<kind>[a-z]+): (?P<file>[^\]]*))\] ?(?P<text>.*)$",
                            re.S)


@dataclass(frozen=True)
class CommentParts:
    kind: str  # "text", "template" or a media kind
    label: str  # the template's or the file's name
    text: str


def comment_parts(body: str | None) -> CommentParts:
    """A ticket comment as the page shows it: the stored "[template …]" prefix becomes a tag
    in the user's language (the CRM keeps its text as it is)."""
    match = _COMMENT_LABEL.match(body or "")
    if not match:
        return CommentParts("text", "", body or "")
    if match["template"]:
        return CommentParts("template", match["name"], match["text"])
    return CommentParts(match["kind"], "" if match["file"] == "file" else match["file"], match["text"])


def inbox_rows(session: Session, *, view: str = "open", q: str = "", me: str = "", country: str = "IT",
               limit: int = 200) -> list[InboxRow]:
    query = select(Conversation, WaContact).join(WaContact, WaContact.id == Conversation.wa_contact_id)
    if view == "closed":
        query = query.where(Conversation.status == CLOSED)
    elif view != "all":
        query = query.where(Conversation.status == OPEN)
    if view == "mine":
        query = query.where(Conversation.assigned_user == me)
    elif view == "unassigned":
        query = query.where(Conversation.assigned_user.is_(None))
    q = q.strip()
    if q:
        query = query.where(_matching(session, q, country))
    query = query.order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc()).limit(limit)
    pairs = session.execute(query).all()
    ids = [c.id for c, _ in pairs]
    last: dict[int, Message] = {}
    if ids:
        newest = select(func.max(Message.id)).where(Message.conversation_id.in_(ids)).group_by(Message.conversation_id)
        for m in session.scalars(select(Message).where(Message.id.in_(newest))):
            last[m.conversation_id] = m
    now = window_now()
    rows = []
    for c, contact in pairs:
        m = last.get(c.id)
        rows.append(InboxRow(
            id=c.id, name=display_name(contact), phone=contact.phone_e164, status=c.status, unread=c.unread or 0,
            assigned_user=c.assigned_user, association_error=c.association_error, window=window_of(c, contact, now),
            last_at=c.last_message_at, last=preview_of(m), last_direction=m.direction if m else None,
            last_status=m.status if m else None))
    return rows


def _matching(session: Session, q: str, country: str):
    """Conversations the search finds: by name, number or a message's text."""
    like, escape = contains_pattern(q.lower())
    digits, digits_escape = contains_pattern(q.replace(" ", ""))
    conditions = [func.lower(WaContact.profile_name).like(like, escape=escape),
                  func.lower(Conversation.name).like(like, escape=escape),
                  WaContact.phone_e164.like(digits, escape=digits_escape),
                  has_message_containing(session, q)]
    try:
        conditions.append(WaContact.phone_e164 == to_e164(q, country))
    except InvalidPhone:
        pass
    return or_(*conditions)


def inbox_counts(session: Session, me: str, *, q: str = "", country: str = "IT") -> dict[str, int]:
    """How many open conversations each tab holds, among those the search finds (the tabs
    then say what the list under them will show); closed ones are not counted: they only grow."""
    is_open = Conversation.status == OPEN
    query = select(
        func.count().filter(is_open),
        func.count().filter(is_open, Conversation.assigned_user == me),
        func.count().filter(is_open, Conversation.assigned_user.is_(None))).select_from(Conversation)
    if q.strip():
        query = query.join(WaContact, WaContact.id == Conversation.wa_contact_id).where(
            _matching(session, q.strip(), country))
    total, mine, unassigned = session.execute(query).one()
    return {"open": total, "mine": mine, "unassigned": unassigned}


@dataclass
class ThreadItem:
    message: Message | None       # None: the item is a private note
    quote: Message | None = None
    media_url: str | None = None
    ad: dict | None = None        # the click-to-WhatsApp ad the message came from (Meta's `referral`)
    map_url: str | None = None    # where a shared location opens
    note: ConversationNote | None = None
    cards: list[dict] = field(default_factory=list)  # contact cards shared: {name, phone}, by position

    @property
    def when(self) -> datetime:
        return self.note.created_at if self.note is not None else self.message.timestamp


def thread_item(message: Message, quote: Message | None, media_url: str | None) -> ThreadItem:
    raw = message.raw if isinstance(message.raw, dict) and message.direction == "in" else {}
    ad = referral(raw)
    if ad is not None:
        url = ad.get("source_url")
        # Only a web address becomes a link (never `javascript:` or the like).
        ad = {"post": ad.get("source_type") == "post",
              "title": ad.get("headline") or ad.get("body") or ad.get("source_id") or "—",
              "url": url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else None}
    return ThreadItem(message, quote, media_url, ad, map_link(raw), cards=contact_cards(raw))


@dataclass
class EarlierConversation:
    conversation: Conversation
    messages: list[Message]


@dataclass
class ConversationPage:
    conversation: Conversation
    contact: WaContact | None
    person: Person | None
    ticket: Ticket | None
    window: Window
    thread: list[ThreadItem] = field(default_factory=list)
    # The customer's conversations before this one, oldest first: a new conversation still
    # shows what was said before it.
    earlier: list[EarlierConversation] = field(default_factory=list)
    last_status: str | None = None  # the latest outgoing message's
    # The campaigns this conversation answers or whose messages it holds: {id: name}.
    campaigns: dict[int, str] = field(default_factory=dict)


# The earlier history shown above a conversation: enough to follow it, not a whole archive.
EARLIER_MESSAGES = 200


def earlier_conversations(session: Session, conversation: Conversation) -> list[EarlierConversation]:
    """The same customer's earlier conversations on this number with their last messages
    (at most EARLIER_MESSAGES in all, the newest), oldest first; reactions are left out."""
    earlier = select(Conversation.id).where(Conversation.wa_contact_id == conversation.wa_contact_id,
                                            Conversation.phone_number_id == conversation.phone_number_id,
                                            Conversation.id < conversation.id)
    messages = list(reversed(session.scalars(
        select(Message).where(Message.conversation_id.in_(earlier), Message.type != "reaction")
        .order_by(Message.timestamp.desc(), Message.id.desc()).limit(EARLIER_MESSAGES)).all()))
    if not messages:
        return []
    by_id = {c.id: c for c in session.scalars(select(Conversation).where(
        Conversation.id.in_({m.conversation_id for m in messages})))}
    groups: list[EarlierConversation] = []
    for m in sorted(messages, key=lambda m: (m.conversation_id, m.timestamp, m.id)):
        if not groups or groups[-1].conversation.id != m.conversation_id:
            groups.append(EarlierConversation(by_id[m.conversation_id], []))
        groups[-1].messages.append(m)
    return groups


def conversation_page(session: Session, crm: CRM, conversation_id: int, media_url=lambda m: None) -> ConversationPage | None:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    contact = session.get(WaContact, conversation.wa_contact_id)
    person = crm.get_person(conversation.crm_person_id) if conversation.crm_person_id else None
    ticket = crm.get_ticket(conversation.ticket_id) if conversation.ticket_id else None
    messages = session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                               .order_by(Message.timestamp, Message.id)).all()
    by_wamid = {m.wamid: m for m in messages if m.wamid}
    missing = {m.reply_to_wamid for m in messages if m.reply_to_wamid and m.reply_to_wamid not in by_wamid}
    if missing:  # a reply to a message of an earlier conversation
        by_wamid.update({m.wamid: m for m in session.scalars(select(Message).where(Message.wamid.in_(missing)))})
    thread = [thread_item(m, by_wamid.get(m.reply_to_wamid) if m.reply_to_wamid else None, media_url(m))
              for m in messages if m.type != "reaction"]
    # Private notes take their place in time among the messages (a stable sort keeps a message first on a tie).
    thread = sorted(thread + [ThreadItem(None, note=n) for n in notes_of(session, conversation_id)],
                    key=lambda item: item.when)
    outgoing = [m for m in messages if m.direction == "out"]
    return ConversationPage(conversation, contact, person, ticket, window_of(conversation, contact), thread,
                            earlier_conversations(session, conversation),
                            last_status=max(outgoing, key=lambda m: m.id).status if outgoing else None,
                            campaigns=campaign_names(session, _campaign_ids(conversation, outgoing)))


def _campaign_ids(conversation: Conversation, outgoing: list[Message]) -> set[int]:
    ids = {conversation.campaign_id} if conversation.campaign_id else set()
    return ids | {int(m.origin.partition(":")[2]) for m in outgoing
                  if (m.origin or "").startswith("campaign:") and m.origin.partition(":")[2].isdigit()}


def conversations_of_person(session: Session, person_id: str) -> list[tuple[Conversation, WaContact]]:
    return session.execute(select(Conversation, WaContact).join(WaContact, WaContact.id == Conversation.wa_contact_id)
                           .where(Conversation.crm_person_id == person_id)
                           .order_by(Conversation.id.desc()).limit(100)).all()


def conversations_of_ticket(session: Session, ticket_id: str) -> list[Conversation]:
    return list(session.scalars(select(Conversation).where(Conversation.ticket_id == ticket_id)
                                .order_by(Conversation.id)))


@dataclass
class TicketPage:
    ticket: Ticket
    person: Person | None
    comments: list[Comment]
    conversations: list[Conversation]
    # An agent's comment → the WhatsApp message that carries it (its ticks, or why it waits).
    deliveries: dict[str, Message] = field(default_factory=dict)


def ticket_page(session: Session, crm: CRM, ticket_id: str) -> TicketPage | None:
    ticket = crm.get_ticket(ticket_id)
    if ticket is None:
        return None
    person = crm.get_person(ticket.person_id) if ticket.person_id else None
    comments = crm.list_comments(ticket_id)
    deliveries = comment_messages(session, [c.id for c in comments if c.author_user])
    shown = {c.id: went_out_at(c, deliveries.get(c.id)) for c in comments}
    if all(shown.values()):
        # A comment held while the window was closed went out when the customer wrote again:
        # it belongs after the reply that released it, where the customer read it.
        comments.sort(key=lambda c: shown[c.id])
    return TicketPage(ticket, person, comments, conversations_of_ticket(session, ticket_id), deliveries)


def went_out_at(comment: Comment, message: Message | None) -> datetime | None:
    """When the customer got an agent's comment on WhatsApp (when it was sent), else when it was written."""
    return message.sent_at if message is not None and message.sent_at else comment.created_at


# --- templates -------------------------------------------------------------------------

@dataclass
class TemplateChoice:
    id: int
    name: str
    language: str
    category: str | None
    status: str | None
    quality: str | None
    header: str
    body: str
    footer: str
    params: list[Slot]
    rejected_reason: str | None = None
    deleted: bool = False
    sources: dict[str, str] = field(default_factory=dict)  # the admin's mapping (slot key -> source)
    prefill: dict[str, str] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)  # the buttons' labels, shown under the preview
    header_media: str | None = None  # image | document | video: the agent attaches the header's file


def _component_text(components: list | None, kind: str) -> str:
    for component in components or []:
        if isinstance(component, dict) and str(component.get("type", "")).upper() == kind:
            return str(component.get("text") or (f"[{component.get('format', '').lower()}]"
                                                  if component.get("format") else ""))
    return ""


def _button_labels(components: list | None) -> list[str]:
    labels = []
    for component in components or []:
        if isinstance(component, dict) and str(component.get("type", "")).upper() == "BUTTONS":
            labels += [str(b.get("text")) for b in component.get("buttons") or [] if isinstance(b, dict) and b.get("text")]
    return labels


def template_choice(t: Template) -> TemplateChoice:
    header, body = _component_text(t.components, "HEADER"), _component_text(t.components, "BODY")
    described = describe_parameters(t)
    return TemplateChoice(t.id, t.name, t.language, t.category, t.status, t.quality, header, body,
                          _component_text(t.components, "FOOTER"), described.slots,
                          t.rejected_reason, t.deleted, parameter_sources(t), buttons=_button_labels(t.components),
                          header_media=described.header_media if described.header_media != "location" else None)


def all_templates(session: Session) -> list[TemplateChoice]:
    return [template_choice(t) for t in session.scalars(select(Template).order_by(Template.name, Template.language))]


def approved_templates(session: Session) -> list[TemplateChoice]:
    rows = session.scalars(select(Template).where(func.upper(Template.status) == "APPROVED",
                                                  Template.deleted.is_(False))
                           .order_by(Template.name, Template.language))
    return [template_choice(t) for t in rows]


def prefill(template: TemplateChoice, person: Person | None, ticket: Ticket | None) -> dict[str, str]:
    """The values the admin's mapping gives for this customer, for the agent to check; a
    parameter without a source (or whose field is empty here) is left for the agent to type."""
    return resolve_available(template.sources, person=person, ticket=ticket)
