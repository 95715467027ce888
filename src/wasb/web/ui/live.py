"""`GET /ui/events`: a server-sent event stream telling open pages what changed.

Events carry only ids ("conversation 12 changed"); the page fetches what it shows
again, so a missed event costs nothing but a moment's staleness, and nothing private
travels in the stream. `typing` names the agent writing in a conversation (to other agents);
`tickets` carries the ids of tickets changed without a conversation (their status, assignee).
"""
from __future__ import annotations

import asyncio
import logging
import time

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from wasb.auth.service import PRESENCE_EVERY, note_presence
from wasb.live.feed import TICKET, TYPING, hub, typing_ref
from wasb.store.base import utcnow
from wasb.web.ui.deps import User

log = logging.getLogger(__name__)

router = APIRouter(prefix="/ui", include_in_schema=False)

HEARTBEAT_SECONDS = 15.0


async def _present(app, user_id: int) -> None:
    """Note that one of the user's pages listens (auto-assignment's "online")."""
    def note() -> None:
        with app.db.sessions() as session, session.begin():
            note_presence(session, user_id, utcnow())

    try:
        await run_in_threadpool(note)
    except Exception:  # the database may be restarting: presence waits for the next note
        log.warning("could not note a user's presence", exc_info=True)


@router.get("/events")
async def events(request: Request, user: User):
    queue = hub.subscribe()
    app = request.app.state.wasb

    async def stream():
        noted = time.monotonic()
        try:
            await _present(app, user.id)
            # Tell the browser how soon to reconnect, and that the stream is open.
            yield b"retry: 2000\nevent: hello\ndata: {}\n\n"
            while True:
                if time.monotonic() - noted >= PRESENCE_EVERY.total_seconds():
                    noted = time.monotonic()
                    await _present(app, user.id)
                try:
                    changes = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": heartbeat\n\n"
                    continue
                while not queue.empty():  # a burst becomes one event
                    changes = changes + queue.get_nowait()
                ids = sorted({c.ref for c in changes if c.topic == "conversation"}, key=int)
                if ids:
                    yield b"event: conversations\ndata: " + orjson.dumps({"ids": [int(i) for i in ids]}) + b"\n\n"
                tickets = sorted({c.ref for c in changes if c.topic == TICKET})
                if tickets:
                    yield b"event: tickets\ndata: " + orjson.dumps({"ids": tickets}) + b"\n\n"
                for ref in dict.fromkeys(c.ref for c in changes if c.topic == TYPING):
                    conversation, _, name = ref.partition(":")
                    if conversation.isdigit() and ref != typing_ref(int(conversation), user.username):
                        yield b"event: typing\ndata: " + orjson.dumps({"conversation": int(conversation),
                                                                       "user": name}) + b"\n\n"
        finally:
            hub.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
