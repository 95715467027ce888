from __future__ import annotations

from fastapi import APIRouter, HTTPException

from wasb.inbound.service import EventNotFound, list_events, retry_event
from wasb.web.api.deps import Admin, AppDep, Caller
from wasb.web.api.views import event_view
from wasb.web.errors import errors
from wasb.web.params import Limit, Offset, OptionalQueryText, RowId

router = APIRouter(prefix="/api/v1/inbound-events", tags=["inbound events"], responses=errors(401))


@router.get("")
def list_inbound_events(app: AppDep, who: Caller, state: OptionalQueryText = None, limit: Limit = 100,
                        offset: Offset = 0):
    with app.db.read_sessions() as session:
        return [event_view(e) for e in list_events(session, state, min(limit, 1000), offset)]


@router.post("/{event_id}/retry", responses=errors(403, 404))
def retry(event_id: RowId, app: AppDep, who: Admin):
    with app.db.sessions() as session, session.begin():
        try:
            event = retry_event(session, app.queue, event_id)
        except EventNotFound as exc:
            raise HTTPException(404, str(exc))
        return event_view(event)
