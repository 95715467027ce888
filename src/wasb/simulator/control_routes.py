"""The simulator's control API (`/_sim/…`), for tests, demos and the phone page.

No authentication: the simulator is a local development tool. Bodies are JSON; answers are
JSON; a nonsensical request gets 400 `{"error": "<why>"}`.
"""
from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wasb.simulator.simulator import Simulator
from wasb.simulator.state import ALL_TEMPLATE_FIELDS


def _sim(request: Request) -> Simulator:
    return request.app.state.simulator


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    body = orjson.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _bad(why: Exception | str) -> JSONResponse:
    return JSONResponse({"error": str(why)}, status_code=400)


async def inbound(request: Request) -> Response:
    """A customer writes: post the signed webhook, answer once the service has answered."""
    sim = _sim(request)
    try:
        message, body = sim.receive(await _json(request), str(request.base_url))
    except (ValueError, orjson.JSONDecodeError) as exc:
        return _bad(exc)
    status = await sim.poster.post(body)
    # For the phone page: ✓✓ once the service took it, a warning while it refuses.
    message.status = "delivered" if status == 200 else "retrying"
    sim.changed()
    if status != 200:
        async def keep_trying() -> None:  # like Meta, keep posting the same body
            delivered = await sim.poster.deliver(body, first_attempt=2)
            message.status = "delivered" if delivered else "undelivered"
            sim.changed()
        sim.poster.spawn(keep_trying())
    return JSONResponse({"wamid": message.wamid, "webhook_status": status, "webhook": body})


async def customer_media(request: Request) -> Response:
    """Store a file as if a customer's phone uploaded it; answers its media id (for /_sim/inbound)."""
    sim = _sim(request)
    form = await request.form(max_part_size=100 * 1024 * 1024)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return _bad("multipart field 'file' is required")
    content = await upload.read()
    media = sim.store_media(content, upload.content_type or "application/octet-stream",
                            upload.filename, origin="customer")
    return JSONResponse({"id": media.id, "mime_type": media.mime_type, "filename": media.filename,
                         "sha256": media.sha256_b64, "file_size": len(content)})


async def clock(request: Request) -> Response:
    sim = _sim(request)
    try:
        body = await _json(request)
        seconds = float(body.get("advance_seconds", 0))
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        return _bad(exc)
    now = sim.advance(seconds)
    return JSONResponse({"now": now, "offset_seconds": sim.clock_offset})


async def templates(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "GET":
        return JSONResponse([t.graph(ALL_TEMPLATE_FIELDS) for t in sim.templates.values()])
    try:
        template = sim.put_template(await _json(request))
    except (ValueError, orjson.JSONDecodeError) as exc:
        return _bad(exc)
    return JSONResponse(template.graph(ALL_TEMPLATE_FIELDS))


async def template_event(request: Request) -> Response:
    sim = _sim(request)
    try:
        body = sim.template_event(await _json(request))
    except (ValueError, orjson.JSONDecodeError) as exc:
        return _bad(exc)
    status = await sim.poster.post(body)
    if status != 200:
        sim.poster.deliver_later(body, first_attempt=2)
    return JSONResponse({"webhook_status": status, "webhook": body})


async def inject(request: Request) -> Response:
    """Meta's answer to the next send(s): an error code, or a message_status; GET lists what is
    still to come, DELETE forgets it all."""
    sim = _sim(request)
    if request.method == "DELETE":
        sim.injections.clear()
    elif request.method == "POST":
        try:
            sim.inject(await _json(request))
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return _bad(exc)
    return JSONResponse([i.public() for i in sim.injections])


async def template_state(request: Request) -> Response:
    """Paused, disabled or flagged by Meta (or approved again), without a webhook."""
    sim = _sim(request)
    try:
        template = sim.set_template_state(await _json(request))
    except (ValueError, orjson.JSONDecodeError) as exc:
        return _bad(exc)
    return JSONResponse(template.graph(ALL_TEMPLATE_FIELDS))


async def sent(request: Request) -> Response:
    return JSONResponse(_sim(request).sent(request.query_params.get("to")))


async def webhooks(request: Request) -> Response:
    """Every webhook post attempt, oldest first: body, attempt number, the service's status."""
    return JSONResponse(list(_sim(request).poster.log))


async def limits(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "POST":
        try:
            sim.limits.update(await _json(request))
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return _bad(exc)
    return JSONResponse(vars(sim.limits))


async def config(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "POST":
        try:
            body = await _json(request)
            sim.behaviour.update(body)
            if "seed" in body:
                sim.random.seed(body["seed"])
            if body.get("webhook_url"):
                sim.poster.webhook_url = str(body["webhook_url"])
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return _bad(exc)
    return JSONResponse({**vars(sim.behaviour), "webhook_url": sim.poster.webhook_url,
                         "phone_number_id": sim.settings.phone_number_id,
                         "waba_id": sim.settings.waba_id,
                         "display_phone_number": sim.settings.display_phone_number,
                         "graph_version": sim.settings.graph_version})


async def customers(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "POST":
        try:
            body = await _json(request)
            customer = sim.ensure_customer(body.get("wa_id") or body.get("from"), body.get("user_id"),
                                           body.get("name"))
        except (ValueError, orjson.JSONDecodeError) as exc:
            return _bad(exc)
        if "on_whatsapp" in body:
            customer.on_whatsapp = bool(body["on_whatsapp"])
        return JSONResponse(customer.public())
    return JSONResponse([c.public() for c in sim.customers.values()])


async def read(request: Request) -> Response:
    """POST: the customer opens the chat: post `read` for everything delivered to them.
    GET: what the business marked read (`status: read`), oldest first, and whether each
    asked for a typing indicator."""
    sim = _sim(request)
    if request.method == "GET":
        return JSONResponse([m.public() for m in sim.read_marks])
    try:
        body = await _json(request)
    except (ValueError, orjson.JSONDecodeError) as exc:
        return _bad(exc)
    return JSONResponse({"read": sim.mark_read(str(body.get("customer") or body.get("to") or ""))})


async def reset(request: Request) -> Response:
    _sim(request).reset()
    return JSONResponse({"ok": True})


async def media_content(request: Request) -> Response:
    """Media bytes without a token: for the phone page's thumbnails only."""
    media = _sim(request).media.get(request.path_params["media_id"])
    if media is None:
        return Response(status_code=404)
    headers = {"Content-Disposition": f'inline; filename="{media.filename or media.id}"'}
    return Response(media.content, media_type=media.mime_type, headers=headers)


routes = [
    Route("/_sim/inbound", inbound, methods=["POST"]),
    Route("/_sim/media", customer_media, methods=["POST"]),
    Route("/_sim/media/{media_id}", media_content, methods=["GET"]),
    Route("/_sim/clock", clock, methods=["POST"]),
    Route("/_sim/templates", templates, methods=["GET", "POST"]),
    Route("/_sim/template-event", template_event, methods=["POST"]),
    Route("/_sim/inject", inject, methods=["GET", "POST", "DELETE"]),
    Route("/_sim/template-state", template_state, methods=["POST"]),
    Route("/_sim/sent", sent, methods=["GET"]),
    Route("/_sim/webhooks", webhooks, methods=["GET"]),
    Route("/_sim/limits", limits, methods=["GET", "POST"]),
    Route("/_sim/config", config, methods=["GET", "POST"]),
    Route("/_sim/customers", customers, methods=["GET", "POST"]),
    Route("/_sim/read", read, methods=["GET", "POST"]),
    Route("/_sim/reset", reset, methods=["POST"]),
]
