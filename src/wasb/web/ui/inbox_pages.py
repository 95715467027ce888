"""The inbox and a conversation: the pages agents live in."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from wasb.auth.service import list_users
from wasb.contacts.consent import AGENT, set_marketing_consent
from wasb.contacts.tables import WaContact
from wasb.conversations.service import (
    AnotherConversationOpen, ConversationNotFound, UnknownAgent, assign_conversation, claim_on_reply,
    close_conversation, mark_read, reopen_conversation,
)
from wasb.conversations.notes import InvalidNote, add_note
from wasb.conversations.tables import Conversation, Message
from wasb.crm.port import DuplicateMobile
from wasb.domain.business_hours import opens_next
from wasb.domain.clock import window_now
from wasb.domain.phones import InvalidPhone
from wasb.domain.rendering import contact_cards
from wasb.live.feed import announce_typing
from wasb.outbound.away import closed_period
from wasb.outbound.read_receipts import queue_read_receipt, queue_typing
from wasb.outbound.service import ConversationClosed
from wasb.people.service import create_person
from wasb.settings.service import load_settings
from wasb.store.ids import MAX_ROW_ID
from wasb.web.params import QueryText, RowId
from wasb.web.ui import actions
from wasb.web.ui.contact_panel import contact_panel
from wasb.web.ui.deps import User, csrf_protected
from wasb.web.ui.i18n import translator
from wasb.web.ui.template_form import send_template_form
from wasb.web.ui.render import outcome, render
from wasb.web.ui.views import FILTERS, approved_templates, conversation_page, inbox_counts, inbox_rows, prefill

router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(csrf_protected)])


def _inbox(request: Request, user, view: str, q: str):
    app = request.app.state.wasb
    view = view if view in FILTERS else "open"
    with app.db.read_sessions() as session:
        rows = inbox_rows(session, view=view, q=q, me=user.username, country=app.config.default_country)
        counts = inbox_counts(session, user.username, q=q, country=app.config.default_country)
        closed = _closed_hours(app, session)
    return view, rows, counts, closed


def _closed_hours(app, session) -> dict | None:
    """Outside business hours: since when, and when the business opens again (None while open)."""
    settings = load_settings(session, app.config)
    since = closed_period(app, settings)
    if since is None:
        return None
    return {"since": since, "opens": opens_next(settings.business_hours_rule(), window_now(), app.tz)}


@router.get("/inbox")
def inbox(request: Request, user: User, view: str = "open", q: QueryText = ""):
    view, rows, counts, closed = _inbox(request, user, view, q)
    return render(request, "ui/inbox.html", view=view, q=q, rows=rows, counts=counts, page=None, current=None,
                  closed_hours=closed)


@router.get("/inbox/list")
def inbox_list(request: Request, user: User, view: str = "open", q: QueryText = "",
               current: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None):
    """The list alone, fetched again by the page when something changes."""
    view, rows, counts, closed = _inbox(request, user, view, q)
    return render(request, "ui/_inbox_list.html", view=view, q=q, rows=rows, counts=counts, current=current,
                  closed_hours=closed)


def _page(request: Request, conversation_id: int, *, read: bool):
    app = request.app.state.wasb
    if read:
        with app.db.sessions() as session, session.begin():
            try:
                mark_read(session, conversation_id)
                queue_read_receipt(app, session, conversation_id)  # blue ticks on the customer's side
            except ConversationNotFound:
                raise HTTPException(404, f"no conversation {conversation_id}")
    with app.db.read_sessions() as session:
        page = conversation_page(session, app.crm(session), conversation_id, actions.media_url)
        if page is None:
            raise HTTPException(404, f"no conversation {conversation_id}")
        templates = approved_templates(session) if not page.window.is_open else []
        agents = list_users(session)
    for t in templates:
        t.prefill = prefill(t, page.person, page.ticket)
    return page, templates, agents


@router.get("/conversations/{conversation_id}")
def conversation(request: Request, user: User, conversation_id: RowId, view: str = "open", q: QueryText = ""):
    page, templates, agents = _page(request, conversation_id, read=True)
    view, rows, counts, closed = _inbox(request, user, view, q)
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        panel = contact_panel(session, app.crm(session), page)
    return render(request, "ui/conversation.html", page=page, templates=templates, agents=agents,
                  view=view, q=q, rows=rows, counts=counts, current=conversation_id, closed_hours=closed,
                  panel=panel)


@router.get("/conversations/{conversation_id}/thread")
def conversation_thread(request: Request, user: User, conversation_id: RowId):
    """The thread and header again (live updates); reading it marks the messages read."""
    page, templates, agents = _page(request, conversation_id, read=True)
    return render(request, "ui/_conversation_live.html", page=page, templates=templates, agents=agents)


@router.post("/conversations/{conversation_id}/typing", status_code=204)
def typing(request: Request, user: User, conversation_id: RowId):
    """The agent is writing (the composer calls this at most every 20 s): the customer sees
    "typing…" until the reply goes out, or 25 s (nothing is sent to Meta outside the window),
    and other agents who have the conversation open are warned."""
    app = request.app.state.wasb
    with app.db.sessions() as session, session.begin():
        if session.get(Conversation, conversation_id) is None:
            raise HTTPException(404, f"no conversation {conversation_id}")
        queue_typing(app, session, conversation_id)
        announce_typing(session, conversation_id, user.username)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/assign")
def assign(request: Request, user: User, conversation_id: RowId, username: str = Form("")):
    _ = translator(user.language)
    with request.app.state.wasb.db.sessions() as session, session.begin():
        try:
            assign_conversation(session, conversation_id, username or None)
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc))
        except UnknownAgent:
            return outcome(request, f"/ui/conversations/{conversation_id}", status=422,
                           error=_("{name} is not an active user.", name=username))
    text = _("Assigned to {name}.", name=username) if username else _("Unassigned.")
    return outcome(request, f"/ui/conversations/{conversation_id}", ok=text)


@router.post("/conversations/{conversation_id}/close")
def close(request: Request, user: User, conversation_id: RowId):
    _ = translator(user.language)
    with request.app.state.wasb.db.sessions() as session, session.begin():
        try:
            close_conversation(session, conversation_id)
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc))
    return outcome(request, f"/ui/conversations/{conversation_id}", ok=_("Conversation closed."))


@router.post("/conversations/{conversation_id}/consent")
def consent(request: Request, user: User, conversation_id: RowId, opted_out: str = Form("")):
    """The agent's control: opt the customer out of marketing templates, or back in."""
    _ = translator(user.language)
    if opted_out not in ("yes", "no"):
        return outcome(request, f"/ui/conversations/{conversation_id}", error=_("Choose opt out or opt in."),
                       status=422)
    app = request.app.state.wasb
    with app.db.sessions() as session, session.begin():
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise HTTPException(404, f"no conversation {conversation_id}")
        contact = session.get(WaContact, conversation.wa_contact_id)
        set_marketing_consent(app, session, contact, opted_out=opted_out == "yes", source=AGENT, actor=user.username)
    text = _("Opted out of marketing.") if opted_out == "yes" else _("Opted back in to marketing.")
    return outcome(request, f"/ui/conversations/{conversation_id}", ok=text)


@router.post("/conversations/{conversation_id}/reopen")
def reopen(request: Request, user: User, conversation_id: RowId):
    _ = translator(user.language)
    back = f"/ui/conversations/{conversation_id}"
    with request.app.state.wasb.db.sessions() as session, session.begin():
        try:
            reopen_conversation(session, conversation_id)
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc))
        except AnotherConversationOpen as exc:
            return outcome(request, back, status=409, error=_(
                "The customer's conversation {id} is open: write there.", id=exc.open_id))
    return outcome(request, back, ok=_("Conversation reopened."))


@router.post("/conversations/{conversation_id}/messages/{message_id}/cards/{card}/crm")
def card_to_crm(request: Request, user: User, conversation_id: RowId, message_id: RowId, card: int,
                kind: str = Form("lead")):
    """"Add to CRM" on a contact card the customer shared: a lead (or a contact, as the agent
    picks) with the card's name and number, through the CRM port (the number checked and
    prefixed as any record's)."""
    _ = translator(user.language)
    back = f"/ui/conversations/{conversation_id}"
    if kind not in ("lead", "contact"):
        return outcome(request, back, error=_("A card becomes a lead or a contact."), status=422)
    app = request.app.state.wasb
    with app.db.sessions() as session, session.begin():
        message = session.get(Message, message_id)
        if message is None or message.conversation_id != conversation_id or message.direction != "in":
            raise HTTPException(404, f"no message {message_id} in conversation {conversation_id}")
        cards = contact_cards(message.raw if isinstance(message.raw, dict) else {})
        if not 0 <= card < len(cards):
            raise HTTPException(404, f"no card {card} in message {message_id}")
        name, phone = cards[card]["name"], cards[card]["phone"]
        if not name:
            return outcome(request, back, error=_("The card has no name: a CRM record needs one."), status=422)
        try:
            person = create_person(app.crm(session), app.config, load_settings(session, app.config), kind=kind,
                                   name=name, mobile=phone, session=session)
        except InvalidPhone:
            return outcome(request, back, status=422,
                           error=_("The card's number {number} is not a valid phone number.", number=phone))
        except DuplicateMobile as exc:
            return outcome(request, back, status=409, error=_(
                "The mobile {mobile} already belongs to {kind} {name}.", mobile=phone, kind=_(exc.existing.kind),
                name=exc.existing.name))
    done = "Lead {name} added to the CRM." if kind == "lead" else "Contact {name} added to the CRM."
    return outcome(request, back, ok=_(done, name=person.name))


@router.post("/conversations/{conversation_id}/notes")
def note(request: Request, user: User, conversation_id: RowId, body: str = Form("")):
    """A private note: stored for agents, never sent, never on the ticket."""
    return _note(request, user, conversation_id, body)


def _note(request: Request, user, conversation_id: int, body: str):
    _ = translator(user.language)
    back = f"/ui/conversations/{conversation_id}"
    with request.app.state.wasb.db.sessions() as session, session.begin():
        try:
            add_note(session, conversation_id, user.username, body)
        except InvalidNote:
            return outcome(request, back, error=_("Write the note first."), status=422)
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc))
    return outcome(request, back, ok=_("Private note saved."))


@router.post("/conversations/{conversation_id}/messages")
async def send_message(request: Request, user: User, conversation_id: RowId, body: str = Form(""),
                       reply_to: str = Form(""), attachment: UploadFile | None = File(None), note: str = Form("")):
    _ = translator(user.language)
    back = f"/ui/conversations/{conversation_id}"
    if note == "on":  # the composer's "Private note" box, posted without JavaScript: nothing is sent
        if attachment is not None and attachment.filename:
            return outcome(request, back, error=_("A private note cannot carry a file."), status=422)
        return await run_in_threadpool(_note, request, user, conversation_id, body)
    file = None
    if attachment is not None and attachment.filename:
        file = actions.Attachment(attachment.filename, attachment.content_type or "application/octet-stream",
                                  await attachment.read())
    if not body.strip() and file is None:
        return outcome(request, back, error=_("Write a message or attach a file."), status=422)
    app = request.app.state.wasb

    def send():
        with app.db.sessions() as session, session.begin():
            actions.send_text(app, session, conversation_id=conversation_id, author=user.username,
                              body=body.strip(), attachment=file, reply_to=reply_to or None)
            claim_on_reply(session, app.config, conversation_id, user.username)

    try:
        await run_in_threadpool(send)
    except ConversationClosed:  # closed since the page was loaded
        return outcome(request, back, error=_("This conversation is closed: reopen it to write to the customer."),
                       status=409)

    except (ValueError, LookupError) as exc:  # the sending service's refusals, e.g. the window closed
        return outcome(request, back, error=str(exc), status=409)
    return outcome(request, back, ok=_("Message queued."))


@router.post("/conversations/{conversation_id}/template")
async def send_template(request: Request, user: User, conversation_id: RowId):
    def send(app, session, **picked):
        message = actions.send_template(app, session, conversation_id=conversation_id, author=user.username,
                                        **picked)
        claim_on_reply(session, app.config, conversation_id, user.username)
        return message

    return await send_template_form(request, user, f"/ui/conversations/{conversation_id}", send)
