from __future__ import annotations

from fastapi import APIRouter, HTTPException

from wasb.conversations.tables import Message
from wasb.domain.media_types import extension_for
from wasb.media.downloads import STORED, media_store
from wasb.media.store import OutsideStore
from wasb.web.api.deps import AppDep, Caller
from wasb.web.errors import errors
from wasb.web.files import file_response
from wasb.web.params import RowId

router = APIRouter(prefix="/api/v1/messages", tags=["messages"], responses=errors(401))


@router.get("/{message_id}/media", responses=errors(404, 409, 410))
def get_media(message_id: RowId, app: AppDep, who: Caller):
    """The file of a media message (a customer's photo, document, voice note, video)."""
    with app.db.read_sessions() as session:
        message = session.get(Message, message_id)
    if message is None or not (message.media_id or message.media_path):  # ours has no id until it is sent
        raise HTTPException(404, f"message {message_id} has no media")
    if message.media_state != STORED or not message.media_path:
        raise HTTPException(409, f"the media of message {message_id} is {message.media_state or 'not stored'}"
                                 + (f": {message.media_error}" if message.media_error else ""))
    try:
        path = media_store(app.config).resolve(message.media_path)
    except OutsideStore:
        raise HTTPException(404, f"message {message_id} has no media")
    if not path.is_file():
        raise HTTPException(410, f"the media file of message {message_id} is missing from the media store")
    return file_response(path, message.media_mime, message.media_filename or f"{message.type}-{message.id}{extension_for(message.media_mime)}")
