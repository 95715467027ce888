"""The customer phone page: pick or create a customer and chat with the business as them.

Everything the page does goes through the control API (`/_sim/inbound`, `/_sim/media`,
`/_sim/customers`, `/_sim/read`, `/_sim/clock`); `/phone/api/state` is the one read it polls.
"""
from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from wasb.simulator.simulator import WINDOW_SECONDS, Simulator

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _sim(request: Request) -> Simulator:
    return request.app.state.simulator


async def phone(request: Request) -> Response:
    sim = _sim(request)
    return templates.TemplateResponse(request, "phone.html", {
        "business_number": sim.settings.display_phone_number,
        "phone_number_id": sim.settings.phone_number_id,
    })


async def state(request: Request) -> Response:
    """Customers, and the thread of the selected one, for the page to draw."""
    sim = _sim(request)
    key = request.query_params.get("customer") or ""
    customer = sim.find_customer(key)
    customers = []
    for c in sim.customers.values():
        last = next((m for m in reversed(list(sim.messages.values())) if m.customer == c.key), None)
        customers.append(c.public() | {"last_text": _preview(last) if last else "",
                                       "last_at": last.timestamp if last else None})
    customers.sort(key=lambda c: c["last_at"] or 0, reverse=True)
    window_until = None
    if customer and customer.last_inbound_at is not None:
        window_until = customer.last_inbound_at + WINDOW_SECONDS
    read_until, typing = sim.read_by_business(customer.key) if customer else (None, False)
    return JSONResponse({
        "version": sim.version, "now": sim.now(), "customers": customers,
        "customer": customer.public() if customer else None,
        "window_open": bool(customer and sim.window_open(customer)), "window_until": window_until,
        "thread": sim.thread(customer.key) if customer else [],
        "business_read_until": read_until, "business_typing": typing,
    })


def _preview(message) -> str:  # noqa: ANN001
    if message.type == "reaction":
        return f"reacted {message.emoji}" if message.emoji else "removed a reaction"
    if message.text:
        return message.text
    return {"image": "📷 Photo", "document": "📄 " + (message.filename or "Document")}.get(
        message.type, message.type)


routes = [
    Route("/phone", phone, methods=["GET"]),
    Route("/phone/api/state", state, methods=["GET"]),
    Mount("/phone/static", app=StaticFiles(directory=str(HERE / "static")), name="phone-static"),
]
