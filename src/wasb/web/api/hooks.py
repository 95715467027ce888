"""Outgoing webhooks, for admins: `/api/v1/webhooks` (endpoints) and its delivery log.

An endpoint's secret is in the answer that creates it and nowhere else afterwards."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from wasb.hooks.service import (
    EVENTS, DeliveryNotFound, EndpointNotFound, InvalidEndpoint, create_endpoint, delete_endpoint, delivery_log,
    endpoint_view, list_endpoints, resend,
)
from wasb.web.api.deps import Admin, AppDep
from wasb.web.errors import errors
from wasb.web.params import NO_NUL, RowId

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=errors(401, 403))


class EndpointIn(BaseModel):
    url: str = Field(min_length=1, max_length=2000, json_schema_extra=NO_NUL,
                     description="Where the events are POSTed (https:// or http://).")
    events: list[str] = Field(min_length=1, max_length=len(EVENTS),
                              description=f"The events to send: any of {', '.join(EVENTS)}.")


@router.get("")
def get_endpoints(app: AppDep, who: Admin):
    """The registered endpoints (their secrets are never shown again)."""
    with app.db.read_sessions() as session:
        return [endpoint_view(e) for e in list_endpoints(session)]


@router.post("", status_code=201, responses=errors(400))
def post_endpoint(body: EndpointIn, app: AppDep, who: Admin, response: Response):
    """A new endpoint; the answer holds its signing `secret`, shown this once."""
    try:
        with app.db.sessions() as session, session.begin():
            endpoint = create_endpoint(session, body.url, body.events)
            view = {**endpoint_view(endpoint), "secret": endpoint.secret}
    except InvalidEndpoint as exc:
        raise HTTPException(422, str(exc))
    response.headers["cache-control"] = "no-store"
    return view


# `:int`: "/deliveries" is not an endpoint id, so its OPTIONS/405 never advertises DELETE.
@router.delete("/{endpoint_id:int}", status_code=204, responses=errors(404))
def remove_endpoint(endpoint_id: RowId, app: AppDep, who: Admin):
    """The endpoint and its delivery log; nothing more is sent to it."""
    try:
        with app.db.sessions() as session, session.begin():
            delete_endpoint(session, endpoint_id)
    except EndpointNotFound as exc:
        raise HTTPException(404, str(exc))
    return Response(status_code=204)


@router.get("/deliveries")
def get_deliveries(app: AppDep, who: Admin):
    """The latest 100 deliveries, newest first: status, response code, attempts, last error."""
    with app.db.read_sessions() as session:
        return [d.view() for d in delivery_log(session)]


@router.post("/deliveries/{delivery_id}/resend", status_code=201, responses=errors(404))
def resend_delivery(delivery_id: RowId, app: AppDep, who: Admin):
    """The delivery's event sent again, as a new delivery."""
    try:
        with app.db.sessions() as session, session.begin():
            again = resend(session, delivery_id)
            view = {"id": again.id, "event": again.event, "status": again.status}
    except DeliveryNotFound as exc:
        raise HTTPException(404, str(exc))
    app.wake_worker()
    return view
