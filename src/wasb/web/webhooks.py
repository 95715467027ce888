"""`/webhooks/whatsapp`: Meta's handshake and the durable intake. No model validation here:
verify, store, answer."""
from __future__ import annotations

import hmac
import logging
import time

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from wasb.metrics import BAD_SIGNATURE, INTAKE_SECONDS, NOT_STORED, TOO_LARGE, WEBHOOKS_RECEIVED, WEBHOOKS_REFUSED
from wasb.whatsapp.signature import HEADER, verify_signature

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/webhooks/whatsapp", include_in_schema=False)
async def handshake(request: Request) -> Response:
    config = request.app.state.wasb.config
    params = request.query_params
    expected = config.verify_token.get_secret_value()
    given = params.get("hub.verify_token", "")
    if params.get("hub.mode") == "subscribe" and expected and hmac.compare_digest(given, expected):
        return PlainTextResponse(params.get("hub.challenge", ""))
    return PlainTextResponse("verify token mismatch", status_code=403)


PATH = "/webhooks/whatsapp"
_ACCEPTED = orjson.dumps({"accepted": True})
_JSON = [(b"content-type", b"application/json")]


class WebhookIntake:
    """`POST /webhooks/whatsapp` as a bare ASGI handler, inside the security headers and the
    body deadline but before routing: the answer Meta waits for costs a signature check and
    a journal append, not a trip through the framework (routing, a Request, dependency
    resolution, a JSONResponse), which cost several times the work itself at a thousand
    webhooks a second. Every other request goes on to the app."""

    def __init__(self, app, *, wasb):
        self.app = app
        self.wasb = wasb

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        config = self.wasb.config
        try:
            body = await _read_limited(scope, receive, config.max_webhook_bytes)
        except ClientGone:
            return
        if body is None:
            WEBHOOKS_REFUSED.labels(TOO_LARGE).inc()
            return await _answer(send, 413, {"error": "body larger than 5 MB"})
        # The intake's latency: from the whole body in hand to the answer (what we control;
        # the network before it is the client's).
        started = time.perf_counter()
        signature = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-hub-signature-256"), None)
        if not verify_signature(body, signature, config.app_secret.get_secret_value()):
            log.warning("webhook refused: missing or wrong %s", HEADER)
            WEBHOOKS_REFUSED.labels(BAD_SIGNATURE).inc()
            return await _answer(send, 401, {"error": "invalid signature"})
        try:
            await self.wasb.intake.store(body)
        except Exception:
            # Nothing took the body (the intake keeps any body it can, failed or not): a
            # proper answer, on a connection that stays usable, and Meta redelivers.
            log.exception("webhook not stored")
            WEBHOOKS_REFUSED.labels(NOT_STORED).inc()
            return await _answer(send, 503, {"error": "not stored, deliver again"}, [(b"retry-after", b"5")])
        WEBHOOKS_RECEIVED.inc()
        INTAKE_SECONDS.observe(time.perf_counter() - started)
        # Durable: the worker makes an event of it (once, whatever is redelivered) and applies it.
        await send({"type": "http.response.start", "status": 200,
                    "headers": _JSON + [(b"content-length", str(len(_ACCEPTED)).encode())]})
        await send({"type": "http.response.body", "body": _ACCEPTED})


async def _answer(send, status: int, content: dict, headers: list | None = None) -> None:
    payload = orjson.dumps(content)
    await send({"type": "http.response.start", "status": status,
                "headers": _JSON + [(b"content-length", str(len(payload)).encode())] + (headers or [])})
    await send({"type": "http.response.body", "body": payload})


async def _read_limited(scope, receive, limit: int) -> bytes | None:
    """The body, or None past `limit` bytes (the rest is not read)."""
    declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class ClientGone(Exception):
    """The client left before its body was complete: nothing to answer."""
