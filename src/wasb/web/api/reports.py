from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from wasb.reports.usage import UsageRange, UsageRangeError, usage_report
from wasb.store.base import utcnow
from wasb.web.api.deps import AppDep, Caller

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/usage")
def usage(app: AppDep, who: Caller, start: str | None = Query(None, alias="from"),
          end: str | None = Query(None, alias="to")):
    """Messages Meta priced, per local day and category (billable count, by pricing model and type)."""
    try:
        span = UsageRange.parse(start, end, utcnow().astimezone(app.config.tz).date())
    except UsageRangeError as exc:
        raise HTTPException(422, str(exc))
    with app.db.read_sessions() as session:
        return usage_report(session, span, app.config.tz)
