from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from wasb.contacts.consent import AGENT, entries_of, person_consent, set_marketing_consent
from wasb.contacts.push import PersonNotFound, PushError, push_person
from wasb.crm.port import DuplicateMobile
from wasb.domain.phones import InvalidPhone
from wasb.people.service import create_person, find_people
from wasb.settings.service import load_settings
from wasb.web.api.conversations import ConsentIn
from wasb.web.api.deps import AppDep, Caller
from wasb.web.api.views import person_view
from wasb.web.errors import errors, links
from wasb.web.params import BodyText, CrmId, Limit, Offset, OptionalQueryText, QueryText

router = APIRouter(prefix="/api/v1/people", tags=["people"], responses=errors(401, 502, 503))


class NewPersonIn(BaseModel):
    kind: Literal["lead", "contact", "account"]
    name: BodyText = Field(min_length=1, max_length=200)
    mobile: BodyText | None = Field(default=None, max_length=40)
    email: BodyText | None = Field(default=None, max_length=200)
    company: BodyText | None = Field(default=None, max_length=200)


_PERSON = {"person_id": "$response.body#/id"}


@router.post("", status_code=201, responses={**errors(400, 409), 201: links(
    GetPerson=("/api/v1/people/{person_id}", "get", _PERSON),
    PushPerson=("/api/v1/people/{person_id}/push", "post", _PERSON),
    SendToPerson=("/api/v1/people/{person_id}/messages", "post", _PERSON))})
def create(body: NewPersonIn, app: AppDep, who: Caller):
    with app.db.sessions() as session, session.begin():
        settings = load_settings(session, app.config)
        try:
            person = create_person(app.crm(session), app.config, settings, kind=body.kind, name=body.name,
                                   mobile=body.mobile, email=body.email, company=body.company, session=session)
        except InvalidPhone as exc:
            raise HTTPException(422, str(exc))
        except DuplicateMobile as exc:
            existing = exc.existing
            return JSONResponse(status_code=409, content={
                "detail": f"the mobile {body.mobile} already belongs to {existing.kind} {existing.id} ({existing.name})",
                "existing": {"id": existing.id, "kind": existing.kind, "name": existing.name}})
    return person_view(person)


@router.get("")
def search(app: AppDep, who: Caller, phone: OptionalQueryText = None, q: QueryText = "",
           kind: Literal["lead", "contact", "account"] | None = None, limit: Limit = 50, offset: Offset = 0):
    with app.db.read_sessions() as session:
        crm = app.crm(session)
        if phone:
            try:
                people = find_people(crm, app.config, phone)
            except InvalidPhone as exc:
                raise HTTPException(422, str(exc))
        else:
            people = crm.search_people(q, kind, min(limit, 500), offset)
    return [person_view(p) for p in people]


@router.get("/{person_id}", responses=errors(404))
def get(person_id: CrmId, app: AppDep, who: Caller):
    with app.db.read_sessions() as session:
        person = app.crm(session).get_person(person_id)
        consent = person_consent(session, person_id) if person is not None else None
    if person is None:
        raise HTTPException(404, f"no person {person_id}")
    return person_view(person, consent)


@router.put("/{person_id}/consent", responses=errors(400, 404))
def set_consent(person_id: CrmId, body: ConsentIn, app: AppDep, who: Caller):
    """Opt a CRM person out of marketing templates (or back in) by hand: every WhatsApp entry
    of theirs, or a new one from their mobile when they have none yet (source `agent`)."""
    with app.db.sessions() as session, session.begin():
        person = app.crm(session).get_person(person_id)
        if person is None:
            raise HTTPException(404, f"no person {person_id}")
        entries = entries_of(session, person_id)
        if not entries:
            try:
                entries = [push_person(app, session, person_id).contact]
            except PushError as exc:
                raise HTTPException(422, f"{exc}: the consent is kept on the WhatsApp address book")
        for entry in entries:
            set_marketing_consent(app, session, entry, opted_out=body.marketing_opted_out, source=AGENT,
                                  actor=who.name)
        return person_view(person, person_consent(session, person_id))


@router.post("/{person_id}/push", responses=errors(404))
def push(person_id: CrmId, app: AppDep, who: Caller):
    """"Send Contact Record": the record's mobile into the WhatsApp address book, linked to it."""
    with app.db.sessions() as session, session.begin():
        try:
            return push_person(app, session, person_id).view()
        except PersonNotFound as exc:
            raise HTTPException(404, str(exc))
        except PushError as exc:
            raise HTTPException(422, str(exc))
