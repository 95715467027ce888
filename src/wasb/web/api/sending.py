"""Sending: `POST /api/v1/conversations/{id}/messages` and `POST /api/v1/people/{id}/messages`.

JSON `{type: text|image|document|template, body?, document_id?, reply_to?, template?}` or
multipart form data with the same fields and a `file`. 201 with the queued row; 409 on a
closed conversation (reopen it first: `POST /api/v1/conversations/{id}/reopen`), for a
free-form message outside the 24-hour window, and for a marketing template to a customer who
opted out of marketing (`reason: marketing_opted_out`).
"""
from __future__ import annotations

from typing import Any, Callable

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from wasb.conversations.service import claim_on_reply
from wasb.outbound.service import (
    ConversationClosed, InvalidMessage, MarketingOptedOut, NotFound, Outgoing, Upload, WindowClosed, queue_message, queue_message_to_person,
)
from wasb.web.api.deps import AppDep, Caller
from wasb.web.api.views import message_view
from wasb.web.errors import errors, links
from wasb.web.params import CrmId, RowId, contains_nul

router = APIRouter(prefix="/api/v1", tags=["sending"], responses=errors(400, 401, 404, 409, 502, 503))

MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # Meta's limit for documents


async def _outgoing(request: Request) -> Outgoing:
    content_type = request.headers.get("content-type", "")
    upload: Upload | None = None
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
        fields: dict[str, Any] = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
        file = form.get("file")
        if isinstance(file, UploadFile):
            upload = Upload(filename=file.filename or "file", mime_type=file.content_type or "application/octet-stream",
                            content=await file.read())
        if isinstance(fields.get("template"), str):
            fields["template"] = _json_field(fields["template"], "template")
    else:
        fields = _json_field(await request.body(), "body")
    if not isinstance(fields, dict):
        raise HTTPException(422, "the request body must be a JSON object")
    if contains_nul(fields):
        raise HTTPException(422, "the message must not contain the NUL character (\\u0000)")
    template = fields.get("template") or {}
    if not isinstance(template, dict):
        raise HTTPException(422, "template must be an object {name, language, parameters?}")
    kind = fields.get("type") or ("document" if upload else "text")
    return Outgoing(
        type=str(kind), body=_text(fields.get("body")), document_id=_text(fields.get("document_id")), upload=upload,
        reply_to=_text(fields.get("reply_to")), template_name=_text(template.get("name")),
        template_language=_text(template.get("language")), template_values=template.get("parameters") or None)


def _json_field(raw: Any, what: str) -> Any:
    try:
        return orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise HTTPException(422, f"the {what} is not valid JSON") from None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


async def _queue(app, call: Callable, outgoing: Outgoing):
    def work():
        with app.db.sessions() as session, session.begin():
            message = call(session)
            return message_view(message)

    try:
        return JSONResponse(status_code=201, content=_jsonable(await run_in_threadpool(work)))
    except NotFound as exc:
        raise HTTPException(404, str(exc))
    except InvalidMessage as exc:
        raise HTTPException(422, str(exc))
    except ConversationClosed as exc:  # the agent reopens it first: nothing goes out unseen
        raise HTTPException(409, str(exc))
    except WindowClosed as exc:
        return JSONResponse(status_code=409, content=_jsonable({
            "detail": str(exc), "window_closed_at": exc.closed_at, "templates": exc.templates}))
    except MarketingOptedOut as exc:
        return opted_out_answer(exc)


def opted_out_answer(exc: MarketingOptedOut) -> JSONResponse:
    """409: the customer opted out of marketing; when and how they did."""
    return JSONResponse(status_code=409, content=_jsonable({
        "detail": str(exc), "reason": "marketing_opted_out", "opted_out_at": exc.changed_at, "source": exc.source}))


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


_SENT = {201: links(GetMedia=("/api/v1/messages/{message_id}/media", "get", {"message_id": "$response.body#/id"}))}


@router.post("/conversations/{conversation_id}/messages", status_code=201, responses=_SENT)
async def send_in_conversation(conversation_id: RowId, request: Request, app: AppDep, who: Caller):
    """An agent's message in the conversation. A logged-in agent (not an API token) who answers an
    unassigned conversation takes it (setting `assign_on_reply`), as in the UI."""
    outgoing = await _outgoing(request)

    def queue(session):
        message = queue_message(app, session, conversation_id, outgoing, who.name)
        if not who.via_token:
            claim_on_reply(session, app.config, conversation_id, who.name)
        return message

    return await _queue(app, queue, outgoing)


@router.post("/people/{person_id}/messages", status_code=201, responses=_SENT)
async def send_to_person(person_id: CrmId, request: Request, app: AppDep, who: Caller):
    outgoing = await _outgoing(request)
    return await _queue(app, lambda s: queue_message_to_person(app, s, person_id, outgoing, who.name), outgoing)
