"""Admin page of the outgoing webhooks: endpoints, their secret shown once, the delivery log."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request

from wasb.hooks.service import (
    EVENTS, DeliveryNotFound, EndpointNotFound, InvalidEndpoint, create_endpoint, delete_endpoint, delivery_log,
    list_endpoints, resend,
)
from wasb.web.params import RowId
from wasb.web.ui.deps import AdminUser, csrf_protected
from wasb.web.ui.i18n import translator
from wasb.web.ui.render import redirect, render

router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(csrf_protected)])


def _page(request: Request, *, new_secret: str | None = None, error: str | None = None, status_code: int = 200,
          typed_url: str = "", typed_events: list[str] | None = None):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        endpoints, log = list_endpoints(session), delivery_log(session)
    response = render(request, "ui/webhooks.html", status_code=status_code, endpoints=endpoints, deliveries=log,
                      events=EVENTS, new_secret=new_secret, error=error, typed_url=typed_url,
                      typed_events=typed_events if typed_events is not None else list(EVENTS))
    if new_secret:  # shown once, in this response only: never cached, never in a redirect
        response.headers["cache-control"] = "no-store"
    return response


def _refusal(_, exc: InvalidEndpoint) -> str:
    reasons = {
        "not_web": _("“{url}” is not a web address: it starts with https:// (or http://) and names a host.",
                     url=exc.value),
        "credentials": _("The address must not hold a user name or password: deliveries are signed instead."),
        "too_long": _("The address is longer than 2000 characters."),
        "unknown_event": _("Unknown event: {events}.", events=exc.value),
        "no_event": _("Choose at least one event."),
    }
    return reasons.get(exc.reason, str(exc))


@router.get("/webhooks")
def webhooks(request: Request, user: AdminUser):
    return _page(request)


@router.post("/webhooks")
async def webhook_create(request: Request, user: AdminUser):
    _ = translator(user.language)
    form = await request.form()
    url, events = str(form.get("url") or ""), [str(e) for e in form.getlist("events")]
    try:
        with request.app.state.wasb.db.sessions() as session, session.begin():
            secret = create_endpoint(session, url, events).secret
    except InvalidEndpoint as exc:
        return _page(request, error=_refusal(_, exc), status_code=422, typed_url=url, typed_events=events)
    return _page(request, new_secret=secret)


@router.post("/webhooks/{endpoint_id}/delete")
def webhook_delete(request: Request, user: AdminUser, endpoint_id: RowId):
    _ = translator(user.language)
    try:
        with request.app.state.wasb.db.sessions() as session, session.begin():
            delete_endpoint(session, endpoint_id)
    except EndpointNotFound as exc:
        raise HTTPException(404, str(exc))
    return redirect(request, "/ui/webhooks", ok=_("Endpoint deleted."))


@router.post("/webhooks/deliveries/{delivery_id}/resend")
def webhook_resend(request: Request, user: AdminUser, delivery_id: RowId):
    _ = translator(user.language)
    app = request.app.state.wasb
    try:
        with app.db.sessions() as session, session.begin():
            again = resend(session, delivery_id).id
    except DeliveryNotFound as exc:
        raise HTTPException(404, str(exc))
    app.wake_worker()
    return redirect(request, "/ui/webhooks", ok=_("Delivery {id} queued again as {new}.", id=delivery_id, new=again))
