from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from wasb.contacts.push import PersonNotFound, PushError, push_person
from wasb.crm.port import DuplicateMobile
from wasb.domain.phones import InvalidPhone
from wasb.people.service import create_person, find_people
from wasb.settings.service import load_settings
from wasb.web.api.deps import AppDep, Caller
from wasb.web.api.views import person_view

router = APIRouter(prefix="/api/v1/people", tags=["people"])


class NewPersonIn(BaseModel):
    kind: Literal["lead", "contact", "account"]
    name: str = Field(min_length=1, max_length=200)
    mobile: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)


@router.post("", status_code=201)
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
def search(app: AppDep, who: Caller, phone: str | None = None, q: str = "", kind: str | None = None,
           limit: int = 50, offset: int = 0):
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


@router.get("/{person_id}")
def get(person_id: str, app: AppDep, who: Caller):
    with app.db.read_sessions() as session:
        person = app.crm(session).get_person(person_id)
    if person is None:
        raise HTTPException(404, f"no person {person_id}")
    return person_view(person)


@router.post("/{person_id}/push")
def push(person_id: str, app: AppDep, who: Caller):
    """"Send Contact Record": the record's mobile into the WhatsApp address book, linked to it."""
    with app.db.sessions() as session, session.begin():
        try:
            return push_person(app, session, person_id).view()
        except PersonNotFound as exc:
            raise HTTPException(404, str(exc))
        except PushError as exc:
            raise HTTPException(422, str(exc))
