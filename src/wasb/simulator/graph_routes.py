"""The Graph API endpoints the service calls, answering with Meta's shapes and errors.

    POST /{version}/{phone-number-id}/messages         send a message, or mark one received read
    POST /{version}/{phone-number-id}/media            upload media (multipart)
    GET  /{version}/{media-id}                         media URL, mime type, sha256, size
    DELETE /{version}/{media-id}                       delete media: {"success": true}
    GET  /{version}/{waba-id}/message_templates        templates, paged with limit/after
    GET  /whatsapp_business/attachments/?mid=…         download (bearer token required)
"""
from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wasb.simulator.meta_errors import MetaError, unknown_object
from wasb.simulator.simulator import Simulator, encode_cursor
from wasb.simulator.state import ALL_TEMPLATE_FIELDS

VERSION = re.compile(r"^v\d+\.\d+$")
MAX_UPLOAD_BYTES = 100 * 1024 * 1024


def _sim(request: Request) -> Simulator:
    return request.app.state.simulator


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _check(request: Request) -> Simulator:
    sim = _sim(request)
    version = request.path_params.get("version", "")
    if not VERSION.match(version):
        raise MetaError(100, message=f"Unknown path components: /{version}", details="Unknown version.")
    sim.check_token(request.headers.get("authorization"))
    return sim


def _meta_errors(handler):  # noqa: ANN001, ANN202 - a tiny decorator
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except MetaError as error:
            return error.response()
    return wrapped


async def _parameters(request: Request) -> Any:
    """The request's parameters as Graph reads them: a JSON body only when it is sent as
    `application/json`, form fields (values that are JSON read as JSON) when form-encoded.
    A JSON text sent as `text/plain` (or without a type) is not read at all: Meta then
    finds no parameter, and says the first one it needs is missing."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            return orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise MetaError(100, "The request body is not valid JSON.") from None
    if content_type == "application/x-www-form-urlencoded":
        form = await request.form()
        return {key: _form_value(str(value)) for key, value in form.items()}
    return {}


def _form_value(value: str) -> Any:
    if value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


@_meta_errors
async def send_message(request: Request) -> Response:
    sim = _check(request)
    body = await _parameters(request)
    if isinstance(body, dict) and "status" in body:  # mark as read (and typing), not a send
        sim.business_read(request.path_params["node"], body)
        return JSONResponse({"success": True})
    message, customer = await sim.send_message(request.path_params["node"], body)
    if sim.behaviour.response_delay > 0:
        await asyncio.sleep(sim.behaviour.response_delay)
    contact: dict[str, Any] = {"input": body.get("to") or body.get("recipient")}
    if customer.wa_id:
        contact["wa_id"] = customer.wa_id
    if customer.user_id:
        contact["user_id"] = customer.user_id
    result: dict[str, Any] = {"id": message.wamid}
    if message.type == "template":
        result["message_status"] = message.message_status
    return JSONResponse({"messaging_product": "whatsapp", "contacts": [contact], "messages": [result]})


@_meta_errors
async def upload_media(request: Request) -> Response:
    sim = _check(request)
    if request.path_params["node"] != sim.settings.phone_number_id:
        raise unknown_object(request.path_params["node"], "post")
    try:
        form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
    except Exception:  # noqa: BLE001 - starlette raises several kinds for a broken multipart body
        raise MetaError(100, "The request must be multipart/form-data.") from None
    if form.get("messaging_product") != "whatsapp":
        raise MetaError(100, "The parameter messaging_product is required.")
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise MetaError(100, "The parameter file is required.")
    content = await upload.read()
    mime = str(form.get("type") or upload.content_type or "application/octet-stream")
    if not content:
        raise MetaError(131053, "The uploaded file is empty.")
    media = sim.store_media(content, mime, upload.filename, origin="business")
    return JSONResponse({"id": media.id})


@_meta_errors
async def get_node(request: Request) -> Response:
    sim = _check(request)
    if request.method == "DELETE":
        sim.delete_media(request.path_params["node"], request.query_params.get("phone_number_id"))
        return JSONResponse({"success": True})
    return JSONResponse(sim.media_info(request.path_params["node"], _base_url(request)))


@_meta_errors
async def list_templates(request: Request) -> Response:
    sim = _check(request)
    waba_id = request.path_params["node"]
    if waba_id != sim.settings.waba_id:
        raise unknown_object(waba_id)
    query = request.query_params
    try:
        limit = max(1, min(int(query.get("limit", "25")), 1000))
    except ValueError:
        raise MetaError(100, "Param limit must be a number.") from None
    filters = {k: query[k] for k in ("name", "language", "status", "category") if k in query}
    fields = _template_fields(query.get("fields"))
    page, start, more = sim.template_page(limit, query.get("after"), filters)
    body: dict[str, Any] = {"data": [t.graph(fields) for t in page]}
    if page:
        # Like Graph: cursors on every non-empty page, `next` only when another page exists.
        cursors = {"before": encode_cursor(start), "after": encode_cursor(start + len(page))}
        body["paging"] = {"cursors": cursors}
        if more:
            params = {"limit": str(limit), **filters, "after": cursors["after"]}
            body["paging"]["next"] = f"{_base_url(request)}{request.url.path}?{urlencode(params)}"
    return JSONResponse(body)


def _template_fields(asked: str | None) -> set[str] | None:
    """Graph's `fields=a,b`: exactly those (an unknown one is refused, as Graph does)."""
    if not asked:
        return None
    fields = {f.strip() for f in asked.split(",") if f.strip()}
    unknown = sorted(fields - ALL_TEMPLATE_FIELDS)
    if unknown:
        raise MetaError(100, f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type "
                             "(WhatsAppBusinessHSM)")
    return fields


async def download(request: Request) -> Response:
    sim = _sim(request)
    try:
        sim.check_token(request.headers.get("authorization"))
    except MetaError as error:
        return error.response()
    query = request.query_params
    media = sim.download(query.get("mid", ""), query.get("ext", ""), query.get("hash", ""))
    if media is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    return Response(media.content, media_type=media.mime_type)


routes = [
    Route("/whatsapp_business/attachments/", download, methods=["GET"]),
    Route("/{version}/{node}/messages", send_message, methods=["POST"]),
    Route("/{version}/{node}/media", upload_media, methods=["POST"]),
    Route("/{version}/{node}/message_templates", list_templates, methods=["GET"]),
    Route("/{version}/{node}", get_node, methods=["GET", "DELETE"]),
]
