"""Canned replies: `GET/POST /api/v1/canned-replies`, `PUT/DELETE /api/v1/canned-replies/{id}`,
and a reply's text filled for a conversation (`GET …/{id}/rendered?conversation_id=`).

Agents manage their own (`shared: false`), admins the team's (`shared: true`); another
user's personal reply is 404 to everybody else.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from wasb.auth.service import Principal
from wasb.auth.tables import User
from wasb.conversations.canned import (
    MAX_BODY_CHARS, MAX_TITLE_CHARS, CannedReplyExists, CannedReplyNotFound, Caller as Owner, InvalidCannedReply,
    NotAllowed, create_reply, delete_reply, fill, placeholder_values, update_reply, visible_replies, visible_reply,
)
from wasb.conversations.service import ConversationNotFound
from wasb.conversations.tables import CannedReply
from wasb.store.ids import MAX_ROW_ID
from wasb.web.api.deps import AppDep, Caller
from wasb.web.errors import errors, links
from wasb.web.params import NO_NUL, QueryText, RowId

router = APIRouter(prefix="/api/v1/canned-replies", tags=["canned replies"], responses=errors(401))


class CannedReplyIn(BaseModel):
    shortcut: str = Field(min_length=1, max_length=33, pattern=r"^/?[A-Za-z0-9_-]{1,32}$",
                          description="Typed after `/` in the composer: letters, digits, `-`, `_` (kept in lower case); "
                                      "unique per owner.")
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS, json_schema_extra=NO_NUL)
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS, json_schema_extra=NO_NUL,
                      description="The text; `{{first_name}}`, `{{last_name}}`, `{{name}}`, `{{phone}}`, `{{agent}}` "
                                  "and `{{ticket_no}}` are filled for the conversation it is used in.")


class NewCannedReply(CannedReplyIn):
    shared: bool = Field(False, description="The team's (admins only), else the caller's own.")


def owner(who: Principal) -> Owner:
    return Owner(user_id=who.user_id, is_admin=who.is_admin)


def reply_view(reply: CannedReply, who: Principal) -> dict:
    shared = reply.owner_id is None
    return {"id": reply.id, "shortcut": reply.shortcut, "title": reply.title, "body": reply.body,
            "shared": shared, "owner_id": reply.owner_id,
            "editable": who.is_admin if shared else reply.owner_id == who.user_id,
            "created_at": reply.created_at, "updated_at": reply.updated_at}


def _refused(exc: Exception) -> HTTPException:
    if isinstance(exc, CannedReplyExists):
        return HTTPException(409, str(exc))
    if isinstance(exc, InvalidCannedReply):
        return HTTPException(422, f"{exc.field}: {exc}")
    if isinstance(exc, NotAllowed):
        return HTTPException(403, str(exc))
    return HTTPException(404, str(exc))


REFUSALS = (InvalidCannedReply, NotAllowed, CannedReplyNotFound)


@router.get("")
def list_replies(app: AppDep, who: Caller, q: QueryText = ""):
    """The team's replies and the caller's own, by shortcut; `q` keeps those whose shortcut or title holds it."""
    with app.db.read_sessions() as session:
        return [reply_view(r, who) for r in visible_replies(session, owner(who), q)]


_ID = {"reply_id": "$response.body#/id"}
_MADE = links(GetCannedReply=("/api/v1/canned-replies/{reply_id}", "get", _ID),
              UpdateCannedReply=("/api/v1/canned-replies/{reply_id}", "put", _ID),
              DeleteCannedReply=("/api/v1/canned-replies/{reply_id}", "delete", _ID))


@router.post("", status_code=201, responses={**errors(400, 403, 409), 201: _MADE})
def create(reply: NewCannedReply, app: AppDep, who: Caller):
    """A new reply: the caller's own, or with `shared` the team's (admins). 409 when its owner
    already has the shortcut."""
    try:
        with app.db.sessions() as session, session.begin():
            return reply_view(create_reply(session, owner(who), shared=reply.shared, shortcut=reply.shortcut,
                                           title=reply.title, body=reply.body), who)
    except REFUSALS as exc:
        raise _refused(exc)


@router.get("/{reply_id}", responses=errors(404))
def get(reply_id: RowId, app: AppDep, who: Caller):
    with app.db.read_sessions() as session:
        try:
            return reply_view(visible_reply(session, owner(who), reply_id), who)
        except CannedReplyNotFound as exc:
            raise _refused(exc)


@router.put("/{reply_id}", responses=errors(400, 403, 404, 409))
def update(reply_id: RowId, reply: CannedReplyIn, app: AppDep, who: Caller):
    """Change a reply: one's own, or a shared one (admins)."""
    try:
        with app.db.sessions() as session, session.begin():
            return reply_view(update_reply(session, owner(who), reply_id, shortcut=reply.shortcut,
                                           title=reply.title, body=reply.body), who)
    except REFUSALS as exc:
        raise _refused(exc)


@router.delete("/{reply_id}", status_code=204, responses=errors(403, 404))
def delete(reply_id: RowId, app: AppDep, who: Caller):
    try:
        with app.db.sessions() as session, session.begin():
            delete_reply(session, owner(who), reply_id)
    except REFUSALS as exc:
        raise _refused(exc)
    return Response(status_code=204)


@router.get("/{reply_id}/rendered", responses=errors(404))
def rendered(reply_id: RowId, app: AppDep, who: Caller,
             conversation_id: Annotated[int, Query(ge=1, le=MAX_ROW_ID, description="The conversation it is for.")]):
    """The reply's text for a conversation, its placeholders filled from the conversation's CRM
    record, ticket and number and the caller's name; `unfilled` names the ones left as written
    (unknown, or no value here)."""
    with app.db.read_sessions() as session:
        try:
            reply = visible_reply(session, owner(who), reply_id)
            # A user's token speaks for that user: {{agent}} is their name, not the token's.
            agent = (session.get(User, who.user_id).username if who.user_id else None) or who.name
            values = placeholder_values(session, app.crm(session), conversation_id, agent)
        except (CannedReplyNotFound, ConversationNotFound) as exc:
            raise HTTPException(404, str(exc))
        text, unfilled = fill(reply.body, values)
    return {"id": reply.id, "conversation_id": conversation_id, "text": text, "unfilled": unfilled}
