"""Sending, the agent's side: an outbound message is written `queued` and its send job
enqueued in one transaction; the sender (`wasb.outbound.sender`) takes it from there.

Free-form messages (text, image, document) only go out inside the customer-service
window; outside it the agent is told, before anything is queued, when the window closed
and which approved templates can be sent instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.contacts.consent import MARKETING
from wasb.contacts.service import display_number, find_contact, named_number
from wasb.contacts.tables import WaContact
from wasb.conversations.service import conversation_opened, find_open_conversation
from wasb.conversations.tables import CLOSED, OPEN, Conversation, Message
from wasb.conversations.tickets import usable_ticket
from wasb.crm.port import CRM, CommentAuthor, Person
from wasb.domain.naming import conversation_name, local_stamp
from wasb.domain.phones import InvalidPhone, e164_to_wa_id, to_e164
from wasb.domain.statuses import QUEUED
from wasb.domain.clock import window_now
from wasb.domain.window import customer_window
from wasb.jobs.queue import Task
from wasb.outbound.channel import SEND_TASK
from wasb.media.downloads import STORED, media_store
from wasb.outbound.files import store_upload, upload_path
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings, settings_for_transaction
from wasb.store.base import utcnow
from wasb.store.ids import row_id
from wasb.templates.service import TemplateError, find_template, prepare_template
from wasb.templates.tables import Template

MessageType = Literal["text", "image", "document", "template"]
FREE_FORM = ("text", "image", "document")
MAX_TEXT = 4096
MAX_CAPTION = 1024


class OutboundError(ValueError):
    """A message that cannot be queued, with a sentence for the agent."""


class NotFound(OutboundError):
    pass


class ConversationClosed(OutboundError):
    """An agent wrote in a closed conversation: nothing goes out until it is reopened."""


class InvalidMessage(OutboundError):
    pass


class MarketingOptedOut(OutboundError):
    """A marketing template to a customer who opted out: refused before it reaches Meta."""

    def __init__(self, message: str, changed_at: datetime | None, source: str | None):
        super().__init__(message)
        self.changed_at = changed_at
        self.source = source


class WindowClosed(OutboundError):
    def __init__(self, message: str, closed_at: datetime | None, templates: list[dict]):
        super().__init__(message)
        self.closed_at = closed_at
        self.templates = templates


@dataclass(frozen=True)
class Upload:
    filename: str
    mime_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class StoredFile:
    """A file already in the media store (`outbound.files`), named by its digest: a campaign's
    header file, which each of its messages names without reading or hashing it again."""
    sha256: str
    filename: str
    mime_type: str
    size: int
    media_id: str | None = None  # Meta's id of it, when it is uploaded already: the sender sends that


@dataclass(frozen=True)
class Outgoing:
    """What an agent (or a tool) asks to send."""

    type: MessageType
    body: str | None = None            # the text, or the caption of a file
    document_id: str | None = None     # a CRM document (image or document)
    upload: Upload | None = None       # or a file sent with the request
    reply_to: str | None = None        # a message id of the conversation, or a wamid
    template_name: str | None = None
    template_language: str | None = None
    template_values: list | dict | None = None  # a list for {{1}}.. of the body, or an object keyed by
    #                                             parameter ("1", "name", "header.1", "button.0")
    header_document_id: str | None = None  # a CRM document for a template's media header (or `upload`)
    stored: StoredFile | None = None  # or a file already stored (a campaign's header)
    # Set by the ticket process: the CRM comment this message carries (so it is not mirrored
    # back to the ticket), and what wrote the message.
    crm_comment_id: str | None = None
    origin: str | None = None
    mirror: bool = True  # show it on the ticket as the agent's comment (process 2)


def send_lock(phone_number_id: str, contact: WaContact) -> str:
    """One customer's messages leave one at a time, in the order they were written."""
    return f"send:{phone_number_id}:{display_number(contact)}"


# --- queueing --------------------------------------------------------------------------

def queue_message(rt: Runtime, session: Session, conversation_id: int, outgoing: Outgoing,
                  author: str | None) -> Message:
    """Queue `outgoing` in the conversation; `author` is the agent, None for the system (the away message)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    if conversation.status == CLOSED:
        raise ConversationClosed(f"conversation {conversation_id} is closed: reopen it to write in it "
                                 f"(POST /api/v1/conversations/{conversation_id}/reopen)")
    contact = session.get(WaContact, conversation.wa_contact_id)
    return _queue(rt, session, conversation, contact, outgoing, author)


def queue_message_to_person(rt: Runtime, session: Session, person_id: str, outgoing: Outgoing,
                            author: str) -> Message:
    """A message to a CRM person: their open conversation, or a new one (a person never seen on
    WhatsApp gets an address-book entry from their CRM mobile)."""
    person = rt.crm(session).get_person(person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    conversation, contact = conversation_for_person(rt, session, person)
    return _queue(rt, session, conversation, contact, outgoing, author)


def conversation_for_person(rt: Runtime, session: Session, person: Person) -> tuple[Conversation, WaContact]:
    """The person's open conversation on this number, or a new one; raises InvalidMessage when
    they have no WhatsApp entry and no usable mobile."""
    contact = session.scalars(select(WaContact).where(WaContact.crm_person_id == person.id)
                              .order_by(WaContact.id)).first()
    if contact is None:
        if not person.mobile:
            raise InvalidMessage(f"{person.kind} {person.id} ({person.name}) has no mobile number to write to")
        try:
            e164 = to_e164(person.mobile, rt.config.default_country)
        except InvalidPhone as exc:
            raise InvalidMessage(f"the mobile of {person.name} cannot be used: {exc}") from exc
        contact = find_contact(session, wa_id=e164_to_wa_id(e164))
        if contact is None:
            contact = WaContact(wa_id=e164_to_wa_id(e164), phone_e164=e164, profile_name=person.name)
            session.add(contact)
        if contact.crm_person_id is None:
            contact.crm_person_id, contact.crm_kind = person.id, person.kind
        session.flush()
    return _open_conversation(rt, session, contact, person.id), contact


def conversation_for_number(rt: Runtime, session: Session, e164: str) -> tuple[Conversation, WaContact]:
    """The open conversation of the number's address-book entry (made when missing), without
    asking the CRM: the entry's CRM link, if it has one, is the conversation's."""
    contact = find_contact(session, wa_id=e164_to_wa_id(e164))
    if contact is None:
        contact = WaContact(wa_id=e164_to_wa_id(e164), phone_e164=e164)
        session.add(contact)
        session.flush()
    return _open_conversation(rt, session, contact, contact.crm_person_id), contact


def _open_conversation(rt: Runtime, session: Session, contact: WaContact, crm_person_id: str | None) -> Conversation:
    """The customer's open conversation on this number, or a new one an agent opened."""
    conversation = find_open_conversation(session, contact.id, rt.config.phone_number_id)
    if conversation is None:
        now = utcnow()
        conversation = Conversation(
            name=conversation_name(now, named_number(contact), rt.config.tz),
            phone_number_id=rt.config.phone_number_id, wa_contact_id=contact.id,
            crm_person_id=crm_person_id, status=OPEN, started_at=now, unread=0)
        session.add(conversation)
        session.flush()
        conversation_opened(session, conversation.id, contact_id=contact.id,
                            phone_number_id=conversation.phone_number_id,
                            crm_person_id=conversation.crm_person_id, at=now, by="agent")
    return conversation


def _queue(rt: Runtime, session: Session, conversation: Conversation, contact: WaContact, outgoing: Outgoing,
           author: str | None) -> Message:
    settings = settings_for_transaction(session, rt.config)
    _check_shape(outgoing)
    now, window_clock = utcnow(), window_now()
    if outgoing.type in FREE_FORM:
        _check_window(session, rt, contact, window_clock)
    message = Message(
        conversation_id=conversation.id, direction="out", type=outgoing.type, status=QUEUED, timestamp=now,
        author=author, body=outgoing.body or None, reply_to_wamid=_reply_wamid(session, conversation, outgoing),
        send_attempts=0, crm_comment_id=outgoing.crm_comment_id, origin=outgoing.origin)
    if outgoing.type == "template":
        _template(rt, session, conversation, contact, message, outgoing, window_clock)
    elif outgoing.type in ("image", "document"):
        _attach(rt, session, message, outgoing)
    session.add(message)
    session.flush()
    enqueue_send(rt, session, conversation, contact, message)
    if outgoing.mirror and settings.process_conversation_messages:
        if rt.crm_policy.in_transaction:
            # The embedded CRM's comment is a statement of the caller's transaction: the
            # ticket shows it at once, and nothing calls out.
            mirror_to_ticket(rt.crm(session), settings, conversation, message)
        else:  # a remote CRM is called outside the agent's request, by a job with its own retries
            rt.queue.enqueue(session, MIRROR_TASK, {"message_id": message.id},
                             lock=f"ticket:{conversation.id}", ref=f"message:{message.id}")
    return message


def enqueue_send(rt: Runtime, session: Session, conversation: Conversation, contact: WaContact,
                 message: Message) -> None:
    """The message (already `queued`) goes to the sender, after the customer's earlier ones."""
    message.status = QUEUED
    conversation.last_message_at = max(filter(None, [conversation.last_message_at, message.timestamp]))
    rt.queue.enqueue(session, SEND_TASK, {"message_id": message.id},
                      lock=send_lock(conversation.phone_number_id, contact), ref=f"message:{message.id}")


def _template(rt: Runtime, session: Session, conversation: Conversation, contact: WaContact, message: Message,
              outgoing: Outgoing, window_clock: datetime) -> None:
    """Checked against the synced template (approved, parameters) before anything is queued."""
    if contact.marketing_opted_out:  # first: no parameter is worth filling for a refused template
        check_consent(rt, contact, find_template(session, outgoing.template_name, outgoing.template_language))
    try:
        prepared = prepare_template(session, outgoing.template_name, outgoing.template_language,
                                    outgoing.template_values,
                                    header_document=_has_header_file(outgoing))
    except TemplateError as exc:
        raise InvalidMessage(str(exc)) from None
    message.template_name = outgoing.template_name
    message.template_params = {"language": outgoing.template_language, **prepared.parts}
    message.body = message.body or prepared.rendered
    if _has_header_file(outgoing):
        # The header's file is kept like an attachment's: the conversation shows what was sent.
        _attach(rt, session, message, replace(outgoing, document_id=outgoing.header_document_id))
    # The template that (re)opened the conversation outside the window is its starting template.
    if conversation.starting_template is None and not customer_window(
            contact.last_inbound_at, contact.window_closed_at, window_clock).open:
        conversation.starting_template = outgoing.template_name


def _has_header_file(outgoing: Outgoing) -> bool:
    return bool(outgoing.header_document_id or outgoing.upload or outgoing.stored)


def check_consent(rt: Runtime, contact: WaContact, template: Template | None) -> None:
    """Marketing needs the customer's consent; service replies, utility and authentication
    templates do not. (A template never synced is Meta's to judge: 131050 opts them out.)"""
    if not contact.marketing_opted_out or template is None or (template.category or "").upper() != MARKETING:
        return
    since = (f" since {local_stamp(contact.opt_changed_at, rt.config.tz)} ({rt.config.timezone})"
             if contact.opt_changed_at else "")
    how = f", source: {contact.opt_source}" if contact.opt_source else ""
    raise MarketingOptedOut(f"The customer opted out of marketing messages{since}{how}: the marketing template "
                            f"{template.name} ({template.language}) is not sent. Service replies and utility "
                            f"templates still go.", contact.opt_changed_at, contact.opt_source)


def _check_shape(outgoing: Outgoing) -> None:
    if outgoing.type == "text":
        if not (outgoing.body or "").strip():
            raise InvalidMessage("a text message needs a body")
        if len(outgoing.body) > MAX_TEXT:
            raise InvalidMessage(f"a text message is at most {MAX_TEXT} characters")
    elif outgoing.type in ("image", "document"):
        if bool(outgoing.document_id) == bool(outgoing.upload):
            raise InvalidMessage(f"an {outgoing.type} message needs either document_id or an uploaded file")
        if outgoing.body and len(outgoing.body) > MAX_CAPTION:
            raise InvalidMessage(f"a caption is at most {MAX_CAPTION} characters")
    elif outgoing.type == "template":
        if not outgoing.template_name or not outgoing.template_language:
            raise InvalidMessage("a template message needs the template's name and language")
    else:
        raise InvalidMessage(f"unknown message type {outgoing.type!r}; one of text, image, document, template")


def _check_window(session: Session, rt: Runtime, contact: WaContact, now: datetime) -> None:
    window = customer_window(contact.last_inbound_at, contact.window_closed_at, now)
    if window.open:
        return
    templates = approved_templates(session)
    names = ", ".join(f"{t['name']} ({t['language']})" for t in templates) or "none is approved yet"
    if window.never_opened:
        why = "The customer has not written on WhatsApp yet, so only a template can start the conversation"
    else:
        why = (f"The 24-hour customer-service window closed at {local_stamp(window.closed_at, rt.config.tz)} "
               f"({rt.config.timezone}); a template is needed to write again")
    raise WindowClosed(f"{why}. Approved templates: {names}.", window.closed_at, templates)


def approved_templates(session: Session) -> list[dict]:
    rows = session.scalars(select(Template).where(Template.status == "APPROVED", Template.deleted.is_(False))
                           .order_by(Template.name, Template.language)).all()
    return [{"name": t.name, "language": t.language, "category": t.category} for t in rows]


def _reply_wamid(session: Session, conversation: Conversation, outgoing: Outgoing) -> str | None:
    ref = (outgoing.reply_to or "").strip()
    if not ref:
        return None
    if ref.isdigit():  # a message's row id (any digits: '³' or one past the range is no row, not a wamid)
        pk = row_id(ref)
        target = session.get(Message, pk) if pk else None
        if target is None or target.conversation_id != conversation.id or not target.wamid:
            raise InvalidMessage(f"reply_to: message {ref} is not a message of this conversation with a wamid")
        return target.wamid
    return ref


def _attach(rt: Runtime, session: Session, message: Message, outgoing: Outgoing) -> None:
    if outgoing.stored is not None:
        message.media_sha256, message.media_filename = outgoing.stored.sha256, outgoing.stored.filename
        message.media_mime, message.media_id = outgoing.stored.mime_type, outgoing.stored.media_id
        _keep_sent_file(message, upload_path(outgoing.stored.sha256), outgoing.stored.size)
        return
    if outgoing.upload is not None:
        if not outgoing.upload.content:
            raise InvalidMessage("the uploaded file is empty")
        message.media_sha256 = store_upload(rt.config.media_dir, outgoing.upload.content)
        message.media_filename = outgoing.upload.filename
        message.media_mime = outgoing.upload.mime_type
        _keep_sent_file(message, upload_path(message.media_sha256), len(outgoing.upload.content))
        return
    document = rt.crm(session).get_document(outgoing.document_id)
    if document is None:
        raise NotFound(f"no document {outgoing.document_id}")
    message.document_id = document.id
    message.media_filename = document.filename
    message.media_mime = document.mime_type
    # A copy of what was sent: the CRM's document may change or go, the message keeps showing this file.
    stored = media_store(rt.config).put_content(document.content)
    _keep_sent_file(message, stored.path, stored.size)


def _keep_sent_file(message: Message, path: str, size: int) -> None:
    """The file we send is ours from the start: the agent opens it from the media store like a
    customer's downloaded file, never waiting on a download that will not come."""
    message.media_state, message.media_path, message.media_size = STORED, path, size


# --- the ticket ------------------------------------------------------------------------

def comment_text(message: Message) -> str:
    if message.type == "text":
        return message.body or ""
    if message.type == "template":
        label = f"[template {message.template_name}]"
        return f"{label} {message.body}" if message.body else label
    label = f"[{message.type}: {message.media_filename or 'file'}]"
    return f"{label} {message.body}" if message.body else label


def mirror_to_ticket(crm: CRM, settings: AdminSettings, conversation: Conversation, message: Message) -> None:
    """The agent's message shows on the ticket as their comment, and the ticket now waits for
    the customer (the plugin's "Wait For Response")."""
    if message.crm_comment_id or not conversation.crm_person_id or conversation.association_error:
        return
    ticket = usable_ticket(crm, settings, conversation.ticket_id, conversation.crm_person_id)
    if ticket is None:
        return  # nothing to follow up: an agent's message does not open a ticket
    conversation.ticket_id = ticket.id
    author = message.author or settings.reference_user or "WASB"
    comment = crm.add_comment(ticket.id, comment_text(message), CommentAuthor.agent(author))
    crm.set_ticket_status(ticket.id, settings.status_waiting)
    message.crm_comment_id = comment.id


def _mirror_job(rt: Runtime, session: Session, payload: dict) -> None:
    message = session.get(Message, payload["message_id"])
    if message is None:
        return
    conversation = session.get(Conversation, message.conversation_id)
    crm = rt.crm_policy.crm_for_job(session, rt.crm(session))
    mirror_to_ticket(crm, settings_for_transaction(session, rt.config), conversation, message)


MIRROR_TASK = "outbound.mirror_to_ticket"
MIRROR = Task(name=MIRROR_TASK, run=_mirror_job, max_attempts=8, calls_crm=True)

