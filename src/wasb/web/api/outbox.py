"""`POST /api/v1/outbox/flush`: send every queued message now ("Flush unsynchronized rows")."""
from __future__ import annotations

from fastapi import APIRouter

from wasb.outbound import flush_outbox
from wasb.web.api.deps import AppDep, Caller
from wasb.web.errors import errors

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"], responses=errors(401))


@router.post("/flush")
def flush(app: AppDep, who: Caller):
    return flush_outbox(app).view()
