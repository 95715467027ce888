from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import AfterValidator

from wasb.campaigns.service import campaign_results
from wasb.reports.analytics import day_bounds
from wasb.reports.dashboard import analytics_report
from wasb.reports.usage import UsageRange, UsageRangeError
from wasb.settings.service import load_settings
from wasb.store.base import utcnow
from wasb.web.api.deps import AppDep, Caller
from wasb.web.errors import errors
from wasb.web.params import no_nul

router = APIRouter(prefix="/api/v1/analytics", tags=["reports"], responses=errors(401))

def parse_span(app, start: str | None, end: str | None) -> UsageRange:
    try:
        return UsageRange.parse(start, end, utcnow().astimezone(app.config.tz).date())
    except UsageRangeError as exc:
        raise HTTPException(422, str(exc))


@router.get("")
def analytics(app: AppDep, who: Caller,
              start: Annotated[str | None, Query(alias="from", max_length=40), AfterValidator(no_nul)] = None,
              end: Annotated[str | None, Query(alias="to", max_length=40), AfterValidator(no_nul)] = None,
              agent: Annotated[str | None, Query(max_length=100), AfterValidator(no_nul)] = None):
    """The dashboard's figures for the local days from..to (default: the last 30), overall or of
    one agent: per day conversations opened, messages in and out, templates and their cost per
    category, windows expired without an answer; first-response and resolution times in
    business seconds (median, p90), overall and per agent. Kept by the `analytics` job.
    `campaigns`: the campaigns started in those days (those the agent sent, with `agent`),
    their funnel and the cost of their delivered messages."""
    span = parse_span(app, start, end)
    with app.db.read_sessions() as session:
        return report_with_campaigns(app, session, span, agent or None)


def report_with_campaigns(app, session, span: UsageRange, agent: str | None) -> dict:
    settings = load_settings(session, app.config)
    report = analytics_report(session, span, app.config.tz, settings, agent)
    since, until = day_bounds(span.first, span.last, app.config.tz)
    report["campaigns"] = campaign_results(session, settings, since, until, created_by=agent)
    return report
