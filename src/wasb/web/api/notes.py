"""Private notes: `POST /api/v1/conversations/{id}/notes {body}` and `GET` the list.

A note stays in WASB: it is never queued for WhatsApp and never written to the CRM ticket.
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from wasb.conversations.notes import MAX_NOTE_CHARS, InvalidNote, add_note, notes_of
from wasb.conversations.service import ConversationNotFound
from wasb.conversations.tables import Conversation
from wasb.web.api.deps import AppDep, Caller
from wasb.web.api.views import note_view
from wasb.web.errors import errors
from wasb.web.params import NO_NUL, RowId

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"], responses=errors(401, 404))


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_NOTE_CHARS, json_schema_extra=NO_NUL,
                      description="What the agent notes; seen by agents only.")


@router.post("/{conversation_id}/notes", status_code=201, responses=errors(400))
async def create_note(conversation_id: RowId, note: NoteIn, app: AppDep, who: Caller):
    """A private note in the conversation, by the caller: never sent to the customer, never a
    comment on the ticket. 422 on an empty note."""
    def work():
        with app.db.sessions() as session, session.begin():
            return note_view(add_note(session, conversation_id, who.name, note.body))

    try:
        return await run_in_threadpool(work)
    except InvalidNote as exc:
        raise HTTPException(422, str(exc))
    except ConversationNotFound as exc:
        raise HTTPException(404, str(exc))


@router.get("/{conversation_id}/notes")
def list_notes(conversation_id: RowId, app: AppDep, who: Caller):
    """The conversation's private notes, oldest first (also in `GET /api/v1/conversations/{id}` as `notes`)."""
    with app.db.read_sessions() as session:
        if session.get(Conversation, conversation_id) is None:
            raise HTTPException(404, f"no conversation {conversation_id}")
        return [note_view(n) for n in notes_of(session, conversation_id)]
