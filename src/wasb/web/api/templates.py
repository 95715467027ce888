"""Templates: `GET /api/v1/templates`, `POST /api/v1/templates/sync`, and the "Send Template"
action `POST /api/v1/templates/{id}/send`."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, Field

from wasb.outbound.service import InvalidMessage, MarketingOptedOut, NotFound
from wasb.crm.mapping import MappingError
from wasb.outbound.templates import TemplateSend, send_template
from wasb.sync.templates import sync_from_meta
from wasb.templates.service import (
    TemplateError, TemplateNotFound, get_template, list_templates, set_parameter_sources, template_view,
)
from wasb.web.api.deps import Admin, AppDep, Caller
from wasb.web.api.sending import opted_out_answer
from wasb.web.api.views import message_view
from wasb.web.errors import errors
from wasb.web.params import BodyText, OptionalQueryText, RowId, contains_nul
from wasb.whatsapp.errors import GraphError, human_message

router = APIRouter(prefix="/api/v1/templates", tags=["templates"], responses=errors(401))


@router.get("")
def list_(app: AppDep, who: Caller, status: OptionalQueryText = None, name: OptionalQueryText = None,
          language: OptionalQueryText = None, category: OptionalQueryText = None, include_deleted: bool = False):
    with app.db.read_sessions() as session:
        return [template_view(t) for t in list_templates(session, status=status, name=name, language=language,
                                                         category=category, include_deleted=include_deleted)]


# `:int` keeps `/sync` from matching the id: `GET /templates/sync` is then a 405, not a 422.
@router.get("/{template_id:int}", responses=errors(404))
def get(template_id: RowId, app: AppDep, who: Caller):
    with app.db.read_sessions() as session:
        try:
            return template_view(get_template(session, template_id))
        except TemplateNotFound as exc:
            raise HTTPException(404, str(exc))


@router.put("/{template_id:int}/parameter-sources", responses=errors(400, 403, 404))
def put_parameter_sources(template_id: RowId, app: AppDep, who: Admin,
                          sources: dict[str, Annotated[str, Field(max_length=64)]] = Body(...)):
    """Where each parameter's value comes from (`{"1": "person.first_name"}`, one of
    `crm.mapping.SOURCES`); a parameter left out is typed by the agent. Replaces the whole mapping."""
    try:
        with app.db.sessions() as session, session.begin():
            template = get_template(session, template_id)
            set_parameter_sources(template, sources)
            session.flush()
            return template_view(template)
    except TemplateNotFound as exc:
        raise HTTPException(404, str(exc))
    except TemplateError as exc:
        raise HTTPException(422, str(exc))


@router.post("/sync", responses=errors(502))
def sync(app: AppDep, who: Caller):
    try:
        return sync_from_meta(app).view()
    except GraphError as exc:
        raise HTTPException(502, f"the templates could not be read from WhatsApp: {human_message(exc)}")


class Recipient(BaseModel):
    person_id: BodyText | None = Field(default=None, max_length=64)
    phone: BodyText | None = Field(default=None, max_length=40)


class TemplateSendIn(BaseModel):
    to: Recipient
    params: list[Any] | dict[str, Any] | None = None
    mapping: dict[str, str] | None = None
    header_document_id: BodyText | None = Field(default=None, max_length=64)
    ticket_id: BodyText | None = Field(default=None, max_length=64)


@router.post("/{template_id:int}/send", status_code=201, responses=errors(400, 404, 409))
def send(template_id: RowId, body: TemplateSendIn, app: AppDep, who: Caller):
    if contains_nul(body.params) or contains_nul(body.mapping):
        raise HTTPException(422, "params and mapping must not contain the NUL character (\\u0000)")
    request = TemplateSend(person_id=body.to.person_id, phone=body.to.phone, params=body.params,
                           mapping=body.mapping, header_document_id=body.header_document_id,
                           ticket_id=body.ticket_id)
    try:
        with app.db.sessions() as session, session.begin():
            return message_view(send_template(app, session, template_id, request, who.name))
    except (TemplateNotFound, NotFound) as exc:
        raise HTTPException(404, str(exc))
    except (TemplateError, MappingError, InvalidMessage) as exc:
        raise HTTPException(422, str(exc))
    except MarketingOptedOut as exc:
        return opted_out_answer(exc)
