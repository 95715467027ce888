"""`GET /ui/events`: a server-sent event stream telling open pages what changed.

Events carry only ids ("conversation 12 changed"); the page fetches what it shows
again, so a missed event costs nothing but a moment's staleness, and nothing private
travels in the stream. `typing` names the agent writing in a conversation (to other agents).
"""
from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from wasb.live.feed import TYPING, hub, typing_ref
from wasb.web.ui.deps import User

router = APIRouter(prefix="/ui", include_in_schema=False)

HEARTBEAT_SECONDS = 15.0


@router.get("/events")
async def events(request: Request, user: User):
    queue = hub.subscribe()

    async def stream():
        try:
            # Tell the browser how soon to reconnect, and that the stream is open.
            yield b"retry: 2000\nevent: hello\ndata: {}\n\n"
            while True:
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
                for ref in dict.fromkeys(c.ref for c in changes if c.topic == TYPING):
                    conversation, _, name = ref.partition(":")
                    if conversation.isdigit() and ref != typing_ref(int(conversation), user.username):
                        yield b"event: typing\ndata: " + orjson.dumps({"conversation": int(conversation),
                                                                       "user": name}) + b"\n\n"
        finally:
            hub.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
