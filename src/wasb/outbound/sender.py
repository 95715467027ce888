"""The sender: takes a `queued` message to Meta, once.

    look        the row is still `queued` (anything else: done, or an unconfirmed send)
    hold        the channel's token was refused → wait for a new one (no attempt spent)
    pace        per-recipient pacing and the number's token bucket (no attempt spent)
    prepare     upload the file (or make its temporary link): harmless if repeated
    record      status `sending`, attempt time → COMMIT, before anything leaves
    call        POST /messages with biz_opaque_callback_data = "wasb:<id>"
    store       the wamid, status `sent`, statuses that raced the answer

Never sent twice: a row found `sending` without a wamid is not sent again. Meta echoes our
callback data in its status webhooks, and `inbound.statuses` links them to the row; when no
status comes within the grace period the row is failed with a sentence saying so, and an
agent decides.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wasb.contacts.service import display_number
from wasb.contacts.consent import MARKETING, META_ERROR, STOPPED_MARKETING, set_marketing_consent
from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message, PendingStatus
from wasb.documents.links import create_link
from wasb.domain import statuses
from wasb.domain.clock import window_now
from wasb.domain.statuses import FAILED, QUEUED, SENDING, SENT
from wasb.jobs.backoff import backoff_seconds
from wasb.jobs.queue import JobQueue, Task, last_line
from wasb.jobs.worker import Defer
from wasb.metrics import MESSAGES_SENT
from wasb.outbound.channel import (
    AUTH_RETRY_SECONDS, SEND_TASK, Channel, auth_wait_seconds, channel_for, channel_health, mark_healthy,
    mark_unhealthy,
)
from wasb.outbound.tables import HEALTHY
from wasb.outbound.files import read_upload, uploaded_media_id
from wasb.outbound.held import hold_refused_comment
from wasb.outbound.statuses import apply_pending_statuses, mark_template_of
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings
from wasb.store.base import utcnow
from wasb.store.conflicts import run_again_if_aborted
from wasb.store.engine import Database
from wasb.templates.service import find_template
from wasb.whatsapp import messages
from wasb.whatsapp.messages import SendResult
from wasb.whatsapp.errors import (
    ACCOUNT_CODES, TEMPLATE_STATUS_BY_CODE, AuthError, GraphError, OutcomeUnknownError, PermanentError,
    RetryableError, WindowClosedError, agent_message, human_message,
)

log = logging.getLogger(__name__)

CONFIRM_TASK = "outbound.confirm"
CALLBACK_PREFIX = "wasb:"
NOT_CONFIRMED = "not confirmed by WhatsApp; not re-sent to avoid a duplicate"
# Meta's throughput refusals: wait and try again, never a failure of the message.
THROUGHPUT_CODES = frozenset({4, 80007, 130429, 131056})
# Meta's answer to a template send under pacing: accepted, but not sent yet. The row stays
# `sending` with its wamid until a status webhook says sent (or failed).
HELD_ANSWERS = frozenset({"held_for_quality_assessment", "paused"})
HELD_NOTE = "WhatsApp is holding this message for a quality check of its template; it is not sent yet."
# Longer than the Graph client's timeout: a send younger than this may still be under way
# in another process (PostgreSQL deployments run several).
IN_FLIGHT = timedelta(seconds=45)


class Hold(Defer):
    """Not now, and why: `kind` is rate | pacing | auth | in_flight."""

    def __init__(self, seconds: float, reason: str, kind: str):
        super().__init__(seconds, reason)
        self.kind = kind


@dataclass
class Sent:
    message_id: int
    outcome: str  # sent | failed | unconfirmed | done
    detail: str | None = None


def callback_data(message_id: int) -> str:
    return f"{CALLBACK_PREFIX}{message_id}"


_in_flight: set[int] = set()
_in_flight_lock = threading.Lock()


# --- the task ---------------------------------------------------------------------------

def _send_job(rt: Runtime, session: Session, payload: dict) -> None:
    deliver(rt, payload["message_id"])


def _send_group(rt: Runtime, payloads: list[dict]) -> list[BaseException | None]:
    return send_group(rt, [p["message_id"] for p in payloads])


def _give_up(rt: Runtime, session: Session, payload: dict, error: str) -> None:
    """Meta kept failing (5xx, network) through every attempt: the agent has to know."""
    message = session.get(Message, payload["message_id"])
    if message is None or message.status != QUEUED:
        return
    message.status = FAILED
    message.error_message = message.error_message or last_line(error, "unknown error")


# Either engine's worker hands over every claimed send at once (one per customer): their attempts are
# recorded in one commit, the calls to Meta overlap, their wamids are stored in one commit.
SEND = Task(name=SEND_TASK, run=_send_job, max_attempts=12, on_give_up=_give_up, run_group=_send_group)


def _confirm_job(rt: Runtime, session: Session, payload: dict) -> None:
    """A send whose answer never came: still no status from Meta after the grace period → failed."""
    message = session.get(Message, payload["message_id"])
    if message is None or message.status != SENDING or message.wamid:
        return
    grace = timedelta(seconds=rt.config.send_confirm_grace_seconds)
    age = utcnow() - (message.send_attempted_at or utcnow())
    if age < grace:
        raise Defer((grace - age).total_seconds(), "waiting for Meta to confirm the send")
    message.status = FAILED
    message.error_code = None
    message.error_message = NOT_CONFIRMED


CONFIRM = Task(name=CONFIRM_TASK, run=_confirm_job, max_attempts=8, batchable=True)


# --- sending ----------------------------------------------------------------------------

CALLS_AT_ONCE = 16


def deliver(rt: Runtime, message_id: int) -> Sent:
    """Take one message to Meta. Raises `Hold` (not now) or a `RetryableError` (the worker's
    counted retries); every other outcome is written on the row."""
    (outcome,) = send_group(rt, [message_id])
    if isinstance(outcome, BaseException):
        raise outcome
    with rt.db.read_sessions() as s:
        row = s.get(Message, message_id)
    return Sent(message_id, row.status if row else "done")


def send_group(rt: Runtime, message_ids: list[int]) -> list[BaseException | None]:
    """Send these messages (of different customers); for each, None when its job is over,
    or what to raise for it (`Hold`, `RetryableError`)."""
    channel = channel_for(rt)
    outcome: dict[int, BaseException | None] = {}
    with rt.db.read_sessions() as s:
        found = s.execute(select(Message, Conversation, WaContact)
                          .join(Conversation, Conversation.id == Message.conversation_id)
                          .join(WaContact, WaContact.id == Conversation.wa_contact_id)
                          .where(Message.id.in_(message_ids))).all()
        settings = channel.settings(s)
        token = channel.token()
        auth_wait = auth_wait_seconds(s, channel.phone_number_id, token)
        if auth_wait > 0:  # an admin may have saved a new token since the settings were read (in the web process)
            channel.forget_settings()
            settings = channel.settings(s)
            token = channel.token()
            auth_wait = auth_wait_seconds(s, channel.phone_number_id, token)
        # As stored, whichever process marked it: a send that succeeds puts it right.
        unhealthy = channel_health(s, channel.phone_number_id).status != HEALTHY
    ready: list[tuple[Message, dict]] = []
    sendable = []
    for row, conversation, contact in found:
        if row.direction != "out" or row.status != QUEUED:
            outcome[row.id] = _catch(_unconfirmed, rt, row) if row.status == SENDING and not row.wamid else None
            continue
        if auth_wait > 0:
            outcome[row.id] = Hold(auth_wait, "WhatsApp refused the access token; waiting for an administrator "
                                              "to update it", "auth")
            continue
        sendable.append((row, contact))
    # The group's recipients paced at once (one statement when the pacing is shared).
    waits = channel.pacer.try_take_many([display_number(contact) for _, contact in sendable]) if sendable else []
    for (row, contact), wait in zip(sendable, waits):
        if wait > 0:
            outcome[row.id] = Hold(wait, "pacing messages to this customer (WhatsApp's per-recipient limit)",
                                   "pacing")
            continue
        try:
            ready.append((row, _prepare(rt, channel, row, contact, settings)))
        except GraphError as error:
            outcome[row.id] = _catch(_refused, rt, channel, row, error, token)
        except _CannotSend as problem:
            _fail(rt, row.id, None, str(problem))
            outcome[row.id] = None
    taken = _record_attempts(rt.db, [row for row, _ in ready])
    for row, _ in ready:
        if row.id not in taken:
            outcome[row.id] = None  # another sender (a flush) has it
    ready = [(row, body) for row, body in ready if row.id in taken]
    with _in_flight_lock:
        _in_flight.update(taken)
    try:
        if len(ready) == 1:
            answers = [_call(channel, ready[0][1])]
        elif ready:
            with ThreadPoolExecutor(min(CALLS_AT_ONCE, len(ready)), thread_name_prefix="wasb-send") as pool:
                answers = list(pool.map(lambda item: _call(channel, item[1]), ready))
        else:
            answers = []
    finally:
        with _in_flight_lock:
            _in_flight.difference_update(taken)
    accepted = [(row, answer) for (row, _), answer in zip(ready, answers) if isinstance(answer, SendResult)]
    MESSAGES_SENT.inc(len(accepted))
    if accepted:
        stopped = _store_results(rt.db, channel, accepted, unhealthy)
        for row, _ in accepted:
            if row.id in stopped:  # Meta's 131050 arrived before its answer did
                _stopped_marketing(rt, row)
    for (row, _), answer in zip(ready, answers):
        if isinstance(answer, SendResult):
            outcome[row.id] = None
        elif isinstance(answer, OutcomeUnknownError):
            log.warning("message %s: the answer to the send was lost (%s); waiting for Meta's status", row.id, answer)
            _schedule_confirm(rt.db, rt.queue, row.id, rt.config.send_confirm_grace_seconds)
            outcome[row.id] = None
        else:
            outcome[row.id] = _catch(_refused, rt, channel, row, answer, token)
    return [outcome.get(i) for i in message_ids]


def _catch(fn, *args) -> BaseException | None:
    try:
        fn(*args)
    except (Hold, RetryableError) as raised:
        return raised
    return None


def _call(channel: Channel, body: dict) -> SendResult | GraphError:
    """One POST, when the number's bucket has a token for it (waits are short: a group is at
    most a claim's worth of messages). The token goes back once the answer is in: Meta counted
    the message at some moment before that."""
    wait = channel.bucket.try_take()
    while wait > 0:
        time.sleep(wait)
        wait = channel.bucket.try_take()
    try:
        return channel.client().send(body)
    except GraphError as error:
        return error
    finally:
        channel.bucket.release()


class _CannotSend(Exception):
    pass


def _prepare(rt: Runtime, channel: Channel, row: Message, contact: WaContact, settings: AdminSettings) -> dict:
    """The exact body to POST (files uploaded first, or linked)."""
    to, user_id = contact.wa_id, contact.user_id
    reply_to = row.reply_to_wamid
    if row.type == "text":
        body = messages.text_message(to, row.body or "", preview_url="http" in (row.body or ""),
                                     reply_to=reply_to, user_id=user_id)
    elif row.type == "template":
        params = row.template_params or {}
        if contact.marketing_opted_out and _is_marketing(rt, row.template_name, params.get("language")):
            raise _CannotSend("The customer opted out of marketing messages after this marketing template was "
                              "queued: it was not sent.")
        components = []
        if params.get("header_location"):
            components.append(messages.location_header(params["header_location"]))
        elif params.get("header_media"):
            media_id, link = _media_ref(rt, channel, row, settings)
            components.append(messages.header_component(media_kind=params["header_media"], media_id=media_id,
                                                        link=link, filename=row.media_filename))
        elif params.get("header"):
            components.append(messages.header_component(params["header"]))
        if params.get("body"):
            components.append(messages.body_component(params["body"]))
        components.extend(params.get("buttons") or [])
        body = messages.template_message(to, row.template_name, params.get("language") or "en", components,
                                         reply_to=reply_to, user_id=user_id)
    elif row.type in ("image", "document"):
        media_id, link = _media_ref(rt, channel, row, settings)
        body = messages.media_message(to, row.type, media_id=media_id, link=link, caption=row.body,
                                      filename=row.media_filename, reply_to=reply_to, user_id=user_id)
    else:
        raise _CannotSend(f"messages of type {row.type!r} cannot be sent")
    body["biz_opaque_callback_data"] = callback_data(row.id)
    return body


def _media_ref(rt: Runtime, channel: Channel, row: Message, settings: AdminSettings) -> tuple[str | None, str | None]:
    """The file of a media message or of a template's media header: (uploaded media id, None),
    or (None, a temporary link) when the admin chose links for CRM documents."""
    if row.media_id:
        return row.media_id, None
    if settings.media_delivery == "link" and row.document_id:
        return None, _document_link(rt, row)
    return _upload(rt, channel, row), None


def _is_marketing(rt: Runtime, name: str | None, language: str | None) -> bool:
    with rt.db.read_sessions() as s:
        template = find_template(s, name or "", language or "") if name and language else None
    return template is not None and (template.category or "").upper() == MARKETING


def _file_bytes(rt: Runtime, row: Message) -> bytes:
    if row.document_id:
        with rt.db.read_sessions() as s:
            document = rt.crm(s).get_document(row.document_id)
        if document is None:
            raise _CannotSend(f"the document {row.document_id} no longer exists in the CRM")
        return document.content
    content = read_upload(rt.config.media_dir, row.media_sha256 or "")
    if content is None:
        raise _CannotSend("the uploaded file is no longer in the media store")
    return content


def _upload(rt: Runtime, channel: Channel, row: Message) -> str:
    if row.media_sha256 and not row.document_id:
        with rt.db.read_sessions() as s:
            number = s.scalar(select(Conversation.phone_number_id).where(Conversation.id == row.conversation_id))
            media_id = uploaded_media_id(s, row.media_sha256, number) if number else None
        if media_id:
            _keep_media_id(rt, row, media_id)
            return media_id
    media_id = channel.client().upload_media(_file_bytes(rt, row), row.media_mime or "application/octet-stream",
                                             row.media_filename or "file")
    _keep_media_id(rt, row, media_id, media_uploaded_at=utcnow())
    return media_id


def _keep_media_id(rt: Runtime, row: Message, media_id: str, **uploaded) -> None:
    # Kept, so a retry sends the same upload (Meta keeps uploaded media for 30 days).
    with rt.db.sessions() as s, s.begin():
        s.execute(update(Message).where(Message.id == row.id).values(media_id=media_id, **uploaded))


def _document_link(rt: Runtime, row: Message) -> str:
    base_url = rt.config.public_url
    if not base_url:
        raise _CannotSend("media_delivery=link needs WASB_PUBLIC_URL: the address WhatsApp fetches links from")
    with rt.db.sessions() as s, s.begin():
        link = create_link(s, rt.config, rt.crm(s), rt.queue, row.document_id, base_url)
        return link.url


def _record_attempts(db: Database, rows: list[Message]) -> set[int]:
    """The attempts are on disk before the calls: after a crash the rows say `sending`.
    Aborted by PostgreSQL for a deadlock with a worker applying statuses, it runs again
    (nothing was called yet) instead of failing the group's attempt."""
    if not rows:
        return set()
    return run_again_if_aborted(lambda: _record_attempts_once(db, rows))


def _record_attempts_once(db: Database, rows: list[Message]) -> set[int]:
    with db.sessions() as s, s.begin():
        taken = set(s.scalars(
            update(Message).where(Message.id.in_([r.id for r in rows]), Message.status == QUEUED)
            .values(status=SENDING, send_attempted_at=utcnow(), send_attempts=Message.send_attempts + 1)
            .returning(Message.id)).all())
    return taken


def _store_results(db: Database, channel: Channel, accepted: list[tuple[Message, SendResult]],
                   unhealthy: bool) -> set[int]:
    """A group's wamids in one transaction (a handful of statements, not a few per message).

    Meta has these messages already: were this transaction lost, each would wait
    IN_FLIGHT and its customer's later messages behind it. So when PostgreSQL aborts it for a
    deadlock with another worker applying the statuses of the same messages, it runs again."""
    return run_again_if_aborted(lambda: _store_results_once(db, channel, accepted, unhealthy))


def _store_results_once(db: Database, channel: Channel, accepted: list[tuple[Message, SendResult]],
                        unhealthy: bool) -> set[int]:
    """Returns the messages a raced status failed with 131050 (the customer stopped marketing)."""
    wamid_of = {message.id: result.wamid for message, result in accepted}
    held = {message.id: result.message_status for message, result in accepted
            if result.message_status in HELD_ANSWERS}
    with db.sessions() as s, s.begin():
        # Locked in id order, as another sender's group would be (no deadlock between two of them).
        rows = s.scalars(select(Message).where(Message.id.in_(list(wamid_of))).order_by(Message.id)
                         .with_for_update()).all()
        now = utcnow()
        for row in rows:
            if row.wamid is None:
                row.wamid = wamid_of[row.id]  # (a status webhook with our callback data may have linked it)
            if row.id in held:
                # Accepted but held by Meta: sent-pending, not failed; its status webhook decides.
                if held[row.id] == "paused":  # the template was paused while the message waited
                    mark_template_of(s, row, "PAUSED")
                if row.status == SENDING:
                    row.error_code, row.error_message = None, HELD_NOTE
                continue
            row.status = statuses.next_status(row.status, SENT)
            row.sent_at = row.sent_at or now
            if row.status != FAILED:
                row.error_code = row.error_message = None
        s.flush()
        raced = set(s.scalars(select(PendingStatus.wamid).where(PendingStatus.wamid.in_([r.wamid for r in rows]))))
        for row in rows:
            if row.wamid in raced:
                apply_pending_statuses(s, row)
        if unhealthy:
            mark_healthy(s, channel.phone_number_id)
        return {row.id for row in rows if row.status == FAILED and row.error_code == STOPPED_MARKETING}


def _refused(rt: Runtime, channel: Channel, row: Message, error: GraphError, token: str) -> Sent:
    """Meta answered with an error: nothing went out."""
    if isinstance(error, AuthError):
        with rt.db.sessions() as s, s.begin():
            _back_to_queue(s, row.id, error)
            mark_unhealthy(s, channel.phone_number_id, human_message(error), error.code, token)
        log.error("WhatsApp refused the access token (code %s); messages stay queued", error.code)
        raise Hold(AUTH_RETRY_SECONDS, human_message(error), "auth")
    if isinstance(error, RetryableError):
        with rt.db.sessions() as s, s.begin():
            attempts = _back_to_queue(s, row.id, error)
        if error.code in THROUGHPUT_CODES:
            raise Hold(backoff_seconds(max(1, attempts), base=0.5, cap=30), human_message(error), "rate")
        raise error  # the worker counts the attempt and backs off
    if isinstance(error, (WindowClosedError, PermanentError)):
        reason = agent_message(error)
        _fail(rt, row.id, error.code, reason, window_closed=isinstance(error, WindowClosedError))
        if error.code in ACCOUNT_CODES or error.code in TEMPLATE_STATUS_BY_CODE:
            _note_meta_state(rt, channel, row, error)
        if error.code == STOPPED_MARKETING:
            _stopped_marketing(rt, row)
        return Sent(row.id, "failed", reason)
    raise error


def _note_meta_state(rt: Runtime, channel: Channel, row: Message, error: GraphError) -> None:
    """A refusal that says something beyond this message: the account or number is restricted
    (the channel's health shows it until a send goes through), or the template is paused or
    disabled (the catalogue shows it, and stops offering it)."""
    with rt.db.sessions() as s, s.begin():
        if error.code in ACCOUNT_CODES:
            mark_unhealthy(s, channel.phone_number_id, human_message(error), error.code, None)
            log.error("WhatsApp restricted the account or number (code %s)", error.code)
        elif row.type == "template":
            mark_template_of(s, row, TEMPLATE_STATUS_BY_CODE[error.code])


def _stopped_marketing(rt: Runtime, row: Message) -> None:
    """Meta says the customer stopped marketing messages in WhatsApp: they are opted out here
    too, so the next marketing template is refused before it reaches Meta."""
    with rt.db.sessions() as s, s.begin():
        conversation = s.get(Conversation, row.conversation_id)
        contact = s.get(WaContact, conversation.wa_contact_id) if conversation else None
        if contact is not None:
            set_marketing_consent(rt, s, contact, opted_out=True, source=META_ERROR, actor="meta")


def _back_to_queue(session: Session, message_id: int, error: GraphError) -> int:
    row = session.get(Message, message_id, with_for_update=True)
    if row.status in (QUEUED, SENDING) and not row.wamid:
        row.status = QUEUED
        # The latest problem, shown while the message waits (cleared once it is sent).
        row.error_code, row.error_message = error.code, human_message(error)
    return row.send_attempts or 0


def _fail(rt: Runtime, message_id: int, code: int | None, reason: str, window_closed: bool = False) -> None:
    with rt.db.sessions() as s, s.begin():
        row = s.get(Message, message_id, with_for_update=True)
        if window_closed:  # Meta is authoritative about the window, whatever our clock says
            conversation = s.get(Conversation, row.conversation_id)
            contact = s.get(WaContact, conversation.wa_contact_id)
            contact.window_closed_at = window_now()  # on the window's clock (the demo's moves with the phone's)
        if row.status in (QUEUED, SENDING):
            row.error_code, row.error_message = code, reason
            # A ticket comment waits for the customer's reply instead (wasb.outbound.held).
            if not (window_closed and _hold_comment(rt, s, row)):
                row.status = FAILED


def _hold_comment(rt: Runtime, session: Session, row: Message) -> bool:
    return hold_refused_comment(rt, session, row)


def _unconfirmed(rt: Runtime, row: Message) -> Sent:
    """A row left `sending` without a wamid: under way elsewhere, or the answer was lost."""
    with _in_flight_lock:
        here = row.id in _in_flight
    age = utcnow() - (row.send_attempted_at or utcnow())
    # With SQLite one process sends, so a send not under way here was cut short by a crash.
    elsewhere = rt.db.dialect != "sqlite" and age < IN_FLIGHT
    if here or elsewhere:
        raise Hold(1.0 if here else (IN_FLIGHT - age).total_seconds(), "a send of this message is under way",
                   "in_flight")
    remaining = rt.config.send_confirm_grace_seconds - age.total_seconds()
    _schedule_confirm(rt.db, rt.queue, row.id, max(0.0, remaining))
    return Sent(row.id, "unconfirmed", "waiting for Meta's status webhook; not re-sent")


def _schedule_confirm(db: Database, queue: JobQueue, message_id: int, delay: float) -> None:
    with db.sessions() as s, s.begin():
        queue.enqueue(s, CONFIRM_TASK, {"message_id": message_id}, ref=f"message:{message_id}",
                      delay_seconds=delay)


# --- the outbox -------------------------------------------------------------------------

@dataclass
class FlushReport:
    sent: list[int] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    waiting: list[dict] = field(default_factory=list)

    def view(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "waiting": self.waiting}


def flush(rt: Runtime, timeout: float = 30.0) -> FlushReport:
    """Send every queued message now, in order per customer, within the rate limits.

    Waits for the number's bucket (up to `timeout` in all); a customer being paced, a refused
    token or Meta's trouble leave the rest waiting, each with the reason. Safe beside the
    worker: only one of them can move a row from `queued` to `sending`.
    """
    deadline = time.monotonic() + timeout
    with rt.db.read_sessions() as s:
        rows = s.execute(
            select(Message.id, Conversation.wa_contact_id).join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.direction == "out", Message.status == QUEUED).order_by(Message.id)).all()
    held: dict[int, str] = {}  # contact → why its messages wait (their order is kept)
    stop_reason: str | None = None
    for message_id, contact_id in rows:
        if stop_reason or contact_id in held:
            continue
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                stop_reason = "the flush ran out of time"
                break
            try:
                deliver(rt, message_id)
            except Hold as hold:
                if hold.kind == "rate" and hold.seconds < remaining:
                    time.sleep(hold.seconds)
                    continue
                if hold.kind == "auth":
                    stop_reason = hold.reason
                else:
                    held[contact_id] = hold.reason
            except RetryableError as error:
                held[contact_id] = human_message(error)
            break
    return _report(rt.db, [r[0] for r in rows], [r[1] for r in rows], held, stop_reason)


def _report(db: Database, ids: list[int], contacts: list[int], held: dict[int, str], stop: str | None) -> FlushReport:
    report = FlushReport()
    if not ids:
        return report
    contact_of = dict(zip(ids, contacts))
    with db.read_sessions() as s:
        rows = s.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.id)).all()
    for row in rows:
        if row.status in (SENT, statuses.DELIVERED, statuses.READ):
            report.sent.append(row.id)
        elif row.status == FAILED:
            report.failed.append({"id": row.id, "code": row.error_code, "reason": row.error_message})
        else:
            reason = (stop or held.get(contact_of[row.id]) or row.error_message
                      or ("waiting for Meta to confirm the send" if row.status == SENDING else "queued"))
            report.waiting.append({"id": row.id, "status": row.status, "reason": reason})
    return report
