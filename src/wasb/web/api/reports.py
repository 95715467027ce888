from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import AfterValidator

from wasb.reports.usage import UsageRange, UsageRangeError, usage_report
from wasb.store.base import utcnow
from wasb.web.api.deps import AppDep, Caller
from wasb.web.errors import errors
from wasb.web.params import no_nul

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=errors(401))


@router.get("/usage")
def usage(app: AppDep, who: Caller,
          start: Annotated[str | None, Query(alias="from", max_length=40), AfterValidator(no_nul)] = None,
          end: Annotated[str | None, Query(alias="to", max_length=40), AfterValidator(no_nul)] = None):
    """Messages Meta priced, per local day and category (billable count, by pricing model and type)."""
    try:
        span = UsageRange.parse(start, end, utcnow().astimezone(app.config.tz).date())
    except UsageRangeError as exc:
        raise HTTPException(422, str(exc))
    with app.db.read_sessions() as session:
        return usage_report(session, span, app.config.tz)
