"""`/webhooks/whatsapp`: Meta's handshake and the durable intake. No model validation here:
verify, store, answer."""
from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

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


async def _read_limited(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/webhooks/whatsapp", include_in_schema=False)
async def receive(request: Request) -> Response:
    app = request.app.state.wasb
    body = await _read_limited(request, app.config.max_webhook_bytes)
    if body is None:
        return JSONResponse({"error": "body larger than 5 MB"}, status_code=413)
    if not verify_signature(body, request.headers.get(HEADER), app.config.app_secret.get_secret_value()):
        log.warning("webhook refused: missing or wrong %s", HEADER)
        return JSONResponse({"error": "invalid signature"}, status_code=401)
    try:
        await app.intake.store(body)
    except Exception:
        # Nothing took the body (the intake keeps any body it can, failed or not): a
        # proper answer, on a connection that stays usable, and Meta redelivers.
        log.exception("webhook not stored")
        return JSONResponse({"error": "not stored, deliver again"}, status_code=503, headers={"Retry-After": "5"})
    # Durable: the worker makes an event of it (once, whatever is redelivered) and applies it.
    return JSONResponse({"accepted": True})
