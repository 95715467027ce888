"""The analytics dashboard (admins and agents) and its CSV: figures the `analytics` job
keeps (wasb.reports.dashboard), drawn as inline SVG (wasb.web.ui.charts)."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from wasb.reports.dashboard import agent_names, csv_rows
from wasb.reports.usage import UsageRange, UsageRangeError
from wasb.web.api.analytics import report_with_campaigns
from wasb.store.base import utcnow
from wasb.web.ui.charts import Series, bar_chart, legend
from wasb.web.ui.deps import User, csrf_protected
from wasb.web.ui.i18n import language_of, translator
from wasb.web.ui.render import render

router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(csrf_protected)])

TextParam = Query(None, max_length=100)


def duration(seconds: float | None) -> str:
    """Business time as people read it: 45 s, 12 min, 3 h 05 min."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _report(request: Request, start: str | None, end: str | None, agent: str | None):
    app = request.app.state.wasb
    span = UsageRange.parse(start, end, utcnow().astimezone(app.config.tz).date())
    with app.db.read_sessions() as session:
        report = report_with_campaigns(app, session, span, agent or None)
        agents = agent_names(session)
    return report, agents


def _charts(report: dict, _) -> list[dict]:
    labels = [date.fromisoformat(d["day"]).strftime("%d/%m") for d in report["days"]]
    days = report["days"]
    messages = [Series(_("Messages in"), [d["messages_in"] for d in days]),
                Series(_("Messages out"), [d["messages_out"] for d in days])]
    opened = Series(_("Conversations opened"), [d["conversations_opened"] for d in days])
    categories = sorted({c for d in days for c in d["templates"]})
    templates = [Series(_("template-category:" + c), [d["templates"].get(c, 0) for d in days])
                 for c in categories]
    costs = [Series(s.label, [d["template_cost"].get(c, 0.0) for d in days]) for s, c in zip(templates, categories)]
    expired = [Series(_("Windows expired without an answer"), [d["windows_expired"] for d in days])]
    money = lambda v: f"{v:.2f}"  # noqa: E731
    return [
        {"id": "chart-messages", "title": _("Conversations and messages per day"),
         "svg": bar_chart(labels, messages, title=_("Conversations and messages per day"), line=opened),
         "legend": legend(messages, opened)},
        {"id": "chart-templates", "title": _("Templates sent per day"),
         "svg": bar_chart(labels, templates, title=_("Templates sent per day"), stacked=True),
         "legend": legend(templates)},
        {"id": "chart-cost", "title": _("Template cost per day ({currency})", currency=report["currency"]),
         "svg": bar_chart(labels, costs, title=_("Template cost per day ({currency})", currency=report["currency"]),
                          stacked=True, fmt=money),
         "legend": legend(costs)},
        {"id": "chart-expired", "title": _("Windows expired without an answer"),
         "svg": bar_chart(labels, expired, title=_("Windows expired without an answer")),
         "legend": legend(expired)},
    ]


@router.get("/analytics")
def analytics_page(request: Request, user: User, start: str | None = Query(None, alias="from", max_length=40),
                   end: str | None = Query(None, alias="to", max_length=40), agent: str | None = TextParam):
    _ = translator(language_of(user, request.headers.get("accept-language", "")))
    try:
        report, agents = _report(request, start, end, agent)
    except UsageRangeError as exc:
        return render(request, "ui/analytics.html", status_code=422, report=None, agents=[], charts=[],
                      error=_("Dates: {reason}", reason=str(exc)), start=start or "", end=end or "",
                      agent=agent or "", duration=duration)
    # The report is the API's JSON (times in ISO 8601); the page shows the update in local time.
    updated = datetime.fromisoformat(report["updated_at"]) if report.get("updated_at") else None
    return render(request, "ui/analytics.html", report=report, agents=agents, charts=_charts(report, _), error=None,
                  start=report["from"], end=report["to"], agent=agent or "", duration=duration, updated=updated)


@router.get("/analytics.csv")
def analytics_csv(request: Request, user: User, start: str | None = Query(None, alias="from", max_length=40),
                  end: str | None = Query(None, alias="to", max_length=40), agent: str | None = TextParam):
    try:
        report, _agents = _report(request, start, end, agent)
    except UsageRangeError as exc:
        return Response(str(exc), status_code=422, media_type="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(csv_rows(report))
    if report["campaigns"]:  # a second table below the days: the campaigns started in them
        writer.writerow([])
        writer.writerow(["campaign", "started_at", "recipients", "sent", "delivered", "read", "replied", "failed",
                         f"cost_{report['currency']}"])
        writer.writerows([c["name"], c["started_at"].isoformat(), c["recipients"], c["sent"], c["delivered"],
                          c["read"], c["replied"], c["failed"], f"{c['cost']:.4f}"] for c in report["campaigns"])
    name = f"wasb-analytics-{report['from']}-{report['to']}" + (f"-{agent}" if agent else "")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'})
