"""The canned replies page: the team's replies and the agent's own, created, changed, deleted.

Agents manage their own; admins the shared ones too. The composer's `/` picker reads the
same replies through the API (`/api/v1/canned-replies`)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from wasb.conversations.canned import (
    PLACEHOLDERS, CannedReplyExists, CannedReplyNotFound, Caller, InvalidCannedReply, NotAllowed, create_reply,
    delete_reply, may_change, update_reply, visible_replies,
)
from wasb.web.params import RowId
from wasb.web.ui.deps import User, csrf_protected
from wasb.web.ui.i18n import translator
from wasb.web.ui.render import redirect, render

router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(csrf_protected)])
PAGE = "/ui/canned-replies"


def _caller(user) -> Caller:
    return Caller(user_id=user.id, is_admin=user.is_admin)


def _page(request: Request, user, *, error: str | None = None, typed: dict | None = None, status_code: int = 200):
    """`typed`: the refused form's values (`id`: the reply's, or "new"), shown as the user left them."""
    with request.app.state.wasb.db.read_sessions() as session:
        replies = visible_replies(session, _caller(user))
        editable = {r.id for r in replies if may_change(r, _caller(user))}
    return render(request, "ui/canned_replies.html", status_code=status_code, replies=replies, editable=editable,
                  error=error, typed=typed or {}, placeholders=PLACEHOLDERS)


def _refused(request: Request, user, exc: Exception, typed: dict):
    _ = translator(user.language)
    status = 409 if isinstance(exc, CannedReplyExists) else 403 if isinstance(exc, NotAllowed) else 422
    return _page(request, user, error=_(str(exc)), typed=typed, status_code=status)


@router.get("/canned-replies")
def canned_replies(request: Request, user: User):
    return _page(request, user)


@router.post("/canned-replies")
def canned_reply_create(request: Request, user: User, shortcut: str = Form(""), title: str = Form(""),
                        body: str = Form(""), scope: str = Form("personal")):
    _ = translator(user.language)
    typed = {"id": "new", "shortcut": shortcut, "title": title, "body": body, "scope": scope}
    try:
        with request.app.state.wasb.db.sessions() as session, session.begin():
            reply = create_reply(session, _caller(user), shared=scope == "shared", shortcut=shortcut, title=title,
                                 body=body)
            made = reply.shortcut
    except (InvalidCannedReply, NotAllowed) as exc:
        return _refused(request, user, exc, typed)
    return redirect(request, PAGE, ok=_("Canned reply /{shortcut} saved.", shortcut=made))


@router.post("/canned-replies/{reply_id}")
def canned_reply_update(request: Request, user: User, reply_id: RowId, shortcut: str = Form(""),
                        title: str = Form(""), body: str = Form("")):
    _ = translator(user.language)
    typed = {"id": reply_id, "shortcut": shortcut, "title": title, "body": body}
    try:
        with request.app.state.wasb.db.sessions() as session, session.begin():
            made = update_reply(session, _caller(user), reply_id, shortcut=shortcut, title=title, body=body).shortcut
    except CannedReplyNotFound:
        return redirect(request, PAGE, error=_("No such canned reply."))
    except (InvalidCannedReply, NotAllowed) as exc:
        return _refused(request, user, exc, typed)
    return redirect(request, PAGE, ok=_("Canned reply /{shortcut} saved.", shortcut=made))


@router.post("/canned-replies/{reply_id}/delete")
def canned_reply_delete(request: Request, user: User, reply_id: RowId):
    _ = translator(user.language)
    try:
        with request.app.state.wasb.db.sessions() as session, session.begin():
            delete_reply(session, _caller(user), reply_id)
    except CannedReplyNotFound:
        return redirect(request, PAGE, error=_("No such canned reply."))
    except NotAllowed as exc:
        return redirect(request, PAGE, error=_(str(exc)))
    return redirect(request, PAGE, ok=_("Canned reply deleted."))
