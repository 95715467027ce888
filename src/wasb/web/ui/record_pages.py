"""Tickets, people and templates: the CRM records agents look up while answering."""
from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from wasb.crm.mapping import SOURCES
from wasb.crm.port import PERSON_KINDS, TICKET_SORTS, CRMNotFound, DuplicateMobile, TicketQuery
from wasb.domain.phones import InvalidPhone
from wasb.live.feed import announce_ticket
from wasb.people.service import InvalidEmail, create_person, edit_person
from wasb.settings.service import load_settings
from wasb.tickets.service import change_ticket_assignee, change_ticket_status, ticket_statuses
from wasb.templates.service import TemplateError, TemplateNotFound, get_template, set_parameter_sources
from wasb.web.params import CrmId, OptionalQueryText, PageNumber, QueryText, RowId
from wasb.web.ui import actions
from wasb.web.ui.deps import AdminUser, User, csrf_protected
from wasb.web.ui.meta_reasons import reason_in
from wasb.web.ui.i18n import translator
from wasb.web.ui.template_form import send_template_form
from wasb.web.ui.render import outcome, redirect, render
from wasb.web.ui.views import (
    all_templates, approved_templates, conversations_of_person, prefill, template_choice, ticket_page,
)

router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(csrf_protected)])


# --- tickets -----------------------------------------------------------------------------

UNTOUCHED_DAYS = (1, 7, 30)


@router.get("/tickets")
def tickets(request: Request, user: User, page: PageNumber = 1, q: OptionalQueryText = None,
            status: OptionalQueryText = None, assigned: OptionalQueryText = None, age: OptionalQueryText = None,
            sort: Literal[TICKET_SORTS] = "number", order: Literal["asc", "desc"] = "desc"):
    """The tickets, filtered (a number or words of the title, status, assignee, untouched for
    N days) and sorted by a column; the filters stay in every link of the page."""
    app = request.app.state.wasb
    page = max(page, 1)
    query = TicketQuery(text=q or "", status=status or None, assigned_user=assigned or None,
                        untouched_days=int(age) if age in {str(d) for d in UNTOUCHED_DAYS} else None,
                        sort=sort, descending=order == "desc")
    with app.db.read_sessions() as session:
        crm = app.crm(session)
        rows = crm.list_tickets(None, 51, (page - 1) * 50, query=query)
        people = {pid: crm.get_person(pid) for pid in {t.person_id for t in rows[:50] if t.person_id}}
        statuses = ticket_statuses(load_settings(session, app.config))
        assignees = crm.list_users()
    filters = {"q": q or "", "status": status or "", "assigned": assigned or "", "age": age or "",
               "sort": sort, "order": order}

    def link(**changes) -> str:
        return "/ui/tickets?" + urlencode({k: v for k, v in {**filters, **changes}.items() if v not in ("", None)})

    return render(request, "ui/tickets.html", tickets=rows[:50], people=people, page=page, more=len(rows) > 50,
                  filters=filters, statuses=statuses, assignees=assignees, ages=UNTOUCHED_DAYS, link=link,
                  user_names={u.id: u.name for u in assignees},
                  filtered=any(filters[k] for k in ("q", "status", "assigned", "age")))


@router.get("/tickets/{ticket_id}")
def ticket(request: Request, user: User, ticket_id: CrmId):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        data = ticket_page(session, app.crm(session), ticket_id)
        settings = load_settings(session, app.config)
        users = app.crm(session).list_users() if data is not None else []
    if data is None:
        raise HTTPException(404, f"no ticket {ticket_id}")
    statuses = ticket_statuses(settings)
    if data.ticket.status not in statuses:
        statuses.append(data.ticket.status)
    return render(request, "ui/ticket.html", page=data, statuses=statuses, users=users,
                  user_names={u.id: u.name for u in users})


@router.get("/tickets/{ticket_id}/comments")
def ticket_comments(request: Request, user: User, ticket_id: CrmId):
    """The comment thread again, with its ticks (live updates)."""
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        data = ticket_page(session, app.crm(session), ticket_id)
    if data is None:
        raise HTTPException(404, f"no ticket {ticket_id}")
    return render(request, "ui/_ticket_comments.html", page=data)


@router.get("/tickets/{ticket_id}/facts")
def ticket_facts(request: Request, user: User, ticket_id: CrmId):
    """The ticket's status and dates again (live updates: a customer's reply changes the status)."""
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        ticket = app.crm(session).get_ticket(ticket_id)
        person = app.crm(session).get_person(ticket.person_id) if ticket and ticket.person_id else None
        names = {u.id: u.name for u in app.crm(session).list_users()} if ticket and ticket.assigned_user else {}
    if ticket is None:
        raise HTTPException(404, f"no ticket {ticket_id}")
    return render(request, "ui/_ticket_facts.html", ticket=ticket, person=person, user_names=names)


@router.post("/tickets/{ticket_id}/status")
def ticket_status(request: Request, user: User, ticket_id: CrmId, status: str = Form(...)):
    _ = translator(user.language)
    app = request.app.state.wasb
    try:
        with app.db.sessions() as session, session.begin():
            change_ticket_status(app.crm(session), ticket_id, status)
            announce_ticket(session, ticket_id)
    except CRMNotFound as exc:
        raise HTTPException(404, str(exc))
    except ValueError as exc:
        return outcome(request, f"/ui/tickets/{ticket_id}", error=str(exc), status=422)
    return outcome(request, f"/ui/tickets/{ticket_id}", ok=_("Status set to {status}.", status=status))


@router.post("/tickets/{ticket_id}/assignee")
def ticket_assignee(request: Request, user: User, ticket_id: CrmId, user_id: str = Form("")):
    _ = translator(user.language)
    app = request.app.state.wasb
    try:
        with app.db.sessions() as session, session.begin():
            assignee = change_ticket_assignee(app.crm(session), ticket_id, user_id)[1]
            announce_ticket(session, ticket_id)
            name = assignee.name
    except CRMNotFound as exc:
        raise HTTPException(404, str(exc))
    except ValueError as exc:
        return outcome(request, f"/ui/tickets/{ticket_id}", error=str(exc), status=422)
    return outcome(request, f"/ui/tickets/{ticket_id}", ok=_("Ticket assigned to {name}.", name=name))


@router.post("/tickets/{ticket_id}/comments")
def ticket_comment(request: Request, user: User, ticket_id: CrmId, body: str = Form("")):
    _ = translator(user.language)
    back = f"/ui/tickets/{ticket_id}"
    if not body.strip():
        return outcome(request, back, error=_("Write a comment first."), status=422)
    app = request.app.state.wasb
    try:
        with app.db.sessions() as session, session.begin():
            delivery = actions.add_ticket_comment(app, session, ticket_id=ticket_id, author=user.username,
                                                  body=body.strip())
            template = delivery.template_message.template_name if delivery.template_message else None
            announce_ticket(session, ticket_id)  # also when no conversation carries the comment
    except (ValueError, LookupError) as exc:
        return outcome(request, back, error=str(exc), status=409)
    if delivery.outcome == "held":
        if template:
            said = _("Comment added. The customer's window is closed: it waits for their reply, and the template {name} asks them to write.",  # noqa: E501
                     name=template)
        else:
            said = _("Comment added. The customer's window is closed: it waits for their reply ({reason}).",
                     reason=reason_in(user.language)(delivery.reason))
        return outcome(request, back, ok=said)
    if delivery.outcome == "not_sent":
        return outcome(request, back, error=_("Comment added, but not sent on WhatsApp: {reason}",
                                              reason=reason_in(user.language)(delivery.reason)))
    return outcome(request, back, ok=_("Comment added and sent on WhatsApp."))


# --- people ------------------------------------------------------------------------------

@router.get("/people")
def people(request: Request, user: User, q: QueryText = "", kind: str = "", page: PageNumber = 1):
    app = request.app.state.wasb
    page = max(page, 1)
    with app.db.read_sessions() as session:
        rows = app.crm(session).search_people(q.strip(), kind if kind in PERSON_KINDS else None, 51, (page - 1) * 50)
    return render(request, "ui/people.html", people=rows[:50], q=q, kind=kind, kinds=PERSON_KINDS, page=page,
                  more=len(rows) > 50)


@router.get("/people/new")
def person_new(request: Request, user: User):
    return render(request, "ui/person_form.html", person=None, values={"kind": "lead"}, error=None,
                  kinds=PERSON_KINDS)


@router.post("/people")
def person_create(request: Request, user: User, kind: str = Form("lead"), name: str = Form(""),
                  mobile: str = Form(""), email: str = Form(""), company: str = Form("")):
    _ = translator(user.language)
    values = {"kind": kind, "name": name, "mobile": mobile, "email": email, "company": company}
    error = None
    if kind not in PERSON_KINDS:
        error = _("Choose lead, contact or account.")
    elif not name.strip():
        error = _("A name is needed.")
    if error is None:
        app = request.app.state.wasb
        try:
            with app.db.sessions() as session, session.begin():
                person = create_person(app.crm(session), app.config, load_settings(session, app.config), kind=kind,
                                       name=name, mobile=mobile.strip() or None, email=email.strip() or None,
                                       company=company.strip() or None)
            return redirect(request, f"/ui/people/{person.id}", ok=_("Saved."))
        except InvalidPhone:  # the domain's reason is English: the page says it in the user's language
            error = _("“{value}” is not a valid phone number.", value=mobile.strip())
        except DuplicateMobile as exc:
            error = _("The mobile {mobile} already belongs to {kind} {name}.", mobile=mobile,
                      kind=_(exc.existing.kind), name=exc.existing.name)
    return render(request, "ui/person_form.html", status_code=422, person=None, values=values, error=error,
                  kinds=PERSON_KINDS)


@router.get("/people/{person_id}")
def person(request: Request, user: User, person_id: CrmId):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        crm = app.crm(session)
        record = crm.get_person(person_id)
        if record is None:
            raise HTTPException(404, f"no person {person_id}")
        tickets = crm.list_tickets(person_id, 100, 0)
        conversations = conversations_of_person(session, person_id)
        templates = approved_templates(session) if record.mobile else []
        closed = load_settings(session, app.config).status_closed
    open_ticket = next((t for t in tickets if t.status != closed), None)
    for t in templates:
        t.prefill = prefill(t, record, open_ticket)
    return render(request, "ui/person.html", person=record, tickets=tickets, conversations=conversations,
                  templates=templates)


@router.get("/people/{person_id}/edit")
def person_edit(request: Request, user: User, person_id: CrmId):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        record = app.crm(session).get_person(person_id)
    if record is None:
        raise HTTPException(404, f"no person {person_id}")
    return render(request, "ui/person_form.html", person=record, values={
        "name": record.name, "mobile": record.mobile or "", "kind": record.kind, "email": record.email or "",
        "company": record.company or ""}, error=None, kinds=PERSON_KINDS)


# Where a person's form may send the agent back to: a conversation's page (its contact panel).
_LOCAL_PAGE = re.compile(r"/ui/conversations/\d{1,18}")


@router.post("/people/{person_id}")
def person_update(request: Request, user: User, person_id: CrmId, name: str = Form(""), mobile: str = Form(""),
                  email: str = Form(""), company: str | None = Form(None), back: str = Form("")):
    """The record's page, or the conversation's contact panel (`back`: the page to return to)."""
    _ = translator(user.language)
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        record = app.crm(session).get_person(person_id)
    if record is None:
        raise HTTPException(404, f"no person {person_id}")
    back = back if _LOCAL_PAGE.fullmatch(back) else f"/ui/people/{person_id}"
    error = None if name.strip() else _("A name is needed.")
    if error is None:
        try:
            with app.db.sessions() as session, session.begin():
                edit_person(app.crm(session), app.config, load_settings(session, app.config), person_id, name=name,
                            mobile=mobile.strip() or None, email=email,
                            company=company if record.kind == "lead" else None, session=session,
                            actor=user.username, current=record)
            return redirect(request, back, ok=_("Saved."))
        except InvalidPhone:  # the domain's reason is English: the page says it in the user's language
            error = _("“{value}” is not a valid phone number.", value=mobile.strip())
        except InvalidEmail:
            error = _("“{value}” is not an e-mail address.", value=email.strip())
        except DuplicateMobile as exc:
            error = _("The mobile {mobile} already belongs to {kind} {name}.", mobile=mobile,
                      kind=_(exc.existing.kind), name=exc.existing.name)
    if back != f"/ui/people/{person_id}":  # the panel's form: the error where it was typed
        return outcome(request, back, error=error, status=422)
    return render(request, "ui/person_form.html", status_code=422, person=record,
                  values={"name": name, "mobile": mobile, "kind": record.kind, "email": email,
                          "company": company or ""}, error=error, kinds=PERSON_KINDS)


@router.post("/people/{person_id}/template")
async def person_template(request: Request, user: User, person_id: CrmId):
    def send(app, session, **picked):
        return actions.send_template_to_person(app, session, person_id=person_id, author=user.username, **picked)

    return await send_template_form(request, user, f"/ui/people/{person_id}", send)


@router.post("/people/{person_id}/push")
def person_push(request: Request, user: User, person_id: CrmId):
    _ = translator(user.language)
    app = request.app.state.wasb
    back = f"/ui/people/{person_id}"
    try:
        with app.db.sessions() as session, session.begin():
            actions.push_person(app, session, person_id=person_id)
    except (ValueError, LookupError) as exc:
        return outcome(request, back, error=str(exc), status=422)
    return outcome(request, back, ok=_("Pushed to the WhatsApp address book."))


# --- templates ---------------------------------------------------------------------------

@router.get("/templates")
def templates(request: Request, user: User):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        rows = all_templates(session)
    return render(request, "ui/templates.html", templates=rows)


@router.post("/templates/sync")
def templates_sync(request: Request, user: User):
    _ = translator(user.language)
    try:
        summary = actions.sync_templates(request.app.state.wasb)
    except Exception as exc:  # Meta unreachable, token expired: say so on the page
        return outcome(request, "/ui/templates", error=str(exc), status=502)
    return outcome(request, "/ui/templates",
                   ok=_("{seen} templates at Meta: {new} new, {changed} changed, {gone} gone", **summary))


def _template_page(request: Request, template_id: int, *, chosen: dict[str, str] | None = None,
                   error: str | None = None, status_code: int = 200):
    with request.app.state.wasb.db.read_sessions() as session:
        try:
            choice = template_choice(get_template(session, template_id))
        except TemplateNotFound:
            raise HTTPException(404, f"no template {template_id}")
    return render(request, "ui/template.html", status_code=status_code, t=choice, sources=SOURCES,
                  chosen=choice.sources if chosen is None else chosen, error=error)


@router.get("/templates/{template_id}")
def template_page(request: Request, user: AdminUser, template_id: RowId):
    """Where each parameter's value comes from: a CRM field, or the agent who sends it."""
    return _template_page(request, template_id)


@router.post("/templates/{template_id}/sources")
async def template_sources(request: Request, user: AdminUser, template_id: RowId):
    _ = translator(user.language)
    form = await request.form()
    chosen = {k.removeprefix("source_"): str(v) for k, v in form.items() if k.startswith("source_")}
    app = request.app.state.wasb

    def save() -> str | None:
        try:
            with app.db.sessions() as session, session.begin():
                set_parameter_sources(get_template(session, template_id), chosen)
        except TemplateNotFound:
            raise HTTPException(404, f"no template {template_id}")
        except TemplateError as exc:  # the transaction rolled back: nothing half-saved
            return str(exc)
        return None

    error = await run_in_threadpool(save)
    if error:
        return _template_page(request, template_id, chosen=chosen, error=error, status_code=422)
    return redirect(request, f"/ui/templates/{template_id}", ok=_("Parameter sources saved."))
