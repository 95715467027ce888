"""`GET /ui/unread`: what waits for the agent, asked by every page when the live stream
says conversations changed (never on a timer of its own).

It answers the number of the agent's and unassigned open conversations holding unseen
customer messages (the sidebar's badge and the tab title), and, for the conversations the
event named, their latest customer message: the page compares it with what it knew and
shows a browser notification for a new one. The stream itself carries ids only.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from wasb.conversations.unread import MAX_ASKED, latest_customer_message_id, latest_customer_messages, waiting_count
from wasb.store.ids import MAX_ROW_ID
from wasb.web.ui.deps import User
from wasb.web.ui.i18n import translator
from wasb.web.ui.views import display_name, preview_of

router = APIRouter(prefix="/ui", include_in_schema=False)

PREVIEW_CHARS = 140


def waiting_for(request: Request, username: str) -> int:
    """The badge's number, for pages rendered with it."""
    with request.app.state.wasb.db.read_sessions() as session:
        return waiting_count(session, username)


@router.get("/unread")
def unread(request: Request, user: User,
           ids: Annotated[list[Annotated[int, Query(ge=1, le=MAX_ROW_ID)]] | None, Query(max_length=MAX_ASKED)] = None):
    _ = translator(user.language)
    with request.app.state.wasb.db.read_sessions() as session:
        count = waiting_count(session, user.username)
        mark = latest_customer_message_id(session)
        latest = latest_customer_messages(session, user.username, ids or ())
    messages = []
    for item in latest:
        preview = preview_of(item.message)
        text = preview.text
        if preview.kind != "text":  # "image: the caption", or the kind alone
            kind = _("type:" + preview.kind)
            text = f"{kind}: {text}" if text else kind
        if len(text) > PREVIEW_CHARS:
            text = text[:PREVIEW_CHARS - 1] + "…"
        messages.append({"conversation": item.conversation.id, "message": item.message.id,
                         "name": display_name(item.contact), "text": text,
                         "url": f"/ui/conversations/{item.conversation.id}"})
    return {"count": count, "mark": mark, "messages": messages}
