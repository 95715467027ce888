"""Campaigns: `/api/v1/campaigns`. Prepared as a draft (audience, parameters, preview, cost),
then started, paused, resumed or cancelled; progress and a CSV report while and after it runs.

Admins, and the agents named in the `campaign_senders` setting."""
from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from wasb.auth.service import Principal
from wasb.auth.tables import User
from wasb.campaigns.service import (
    REPORT_COLUMNS, CampaignError, CampaignNotFound, CampaignState, NewCampaign, campaign_view, cancel,
    create_campaign, excluded, get_campaign, list_campaigns, may_send_campaigns, pause, preview, recipients,
    report_rows, resume, start,
)
from wasb.settings.service import load_settings
from wasb.templates.service import TemplateError, TemplateNotFound
from wasb.web.api.deps import AppDep, Caller
from wasb.web.errors import errors
from wasb.web.params import NO_NUL, RowId, contains_nul

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"], responses=errors(401, 403))

MAX_CSV = 5_000_000  # characters: 100,000 lines of a number and a few columns


def campaign_sender(app: AppDep, who: Caller) -> Principal:
    with app.db.read_sessions() as session:
        settings = load_settings(session, app.config)
        # A token made for a user sends as that user; one of its own is named `token:<name>`.
        user = session.get(User, who.user_id) if who.user_id else None
        allowed = any(may_send_campaigns(settings, name, who.is_admin)
                      for name in filter(None, (who.name, user.username if user else None)))
    if not allowed:
        raise HTTPException(403, "campaigns need an admin, or an agent named in the campaign_senders setting")
    return who


Sender = Annotated[Principal, Depends(campaign_sender)]


class AudienceIn(BaseModel):
    kind: Literal["lead", "contact", "account"] | None = Field(
        default=None, description="People of this kind (none: every kind); ignored with `csv`.")
    owner: str | None = Field(default=None, max_length=100, json_schema_extra=NO_NUL,
                              description="Only the people this CRM user owns (a user id of GET /api/v1/crm/users).")
    field: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                              description="A CRM field the people must have equal to `value`: company, source, "
                                          "email (vtenext: any field of the module; embedded: a custom field).")
    value: str | None = Field(default=None, max_length=200, json_schema_extra=NO_NUL)
    csv: str | None = Field(default=None, max_length=MAX_CSV, json_schema_extra=NO_NUL,
                            description="A CSV file's text instead of a CRM segment: a number per line (first "
                                        "column, or the column headed phone/mobile/number), other columns "
                                        "usable as `csv.<column>` parameters.")
    csv_name: str | None = Field(default=None, max_length=200, json_schema_extra=NO_NUL)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, json_schema_extra=NO_NUL)
    template_id: int = Field(ge=1, le=2**31 - 1, description="An approved template (GET /api/v1/templates).")
    audience: AudienceIn
    mapping: dict[str, str] = Field(default_factory=dict, max_length=50,
                                    description='Each parameter\'s source: {"1": "person.first_name"} or '
                                                '{"city": "csv.city"}.')
    params: dict[str, Any] = Field(default_factory=dict, max_length=50,
                                   description='Fixed values, the same for everyone: {"2": "20%"}.')
    header_document_id: str | None = Field(
        default=None, max_length=64, json_schema_extra=NO_NUL,
        description="The file of the template's image, video or document header: a CRM document "
                    "(POST /api/v1/documents). Read once; Meta gets it uploaded once for everyone.")


def _http(exc: Exception) -> HTTPException:
    if isinstance(exc, (CampaignNotFound, TemplateNotFound)):
        return HTTPException(404, str(exc))
    if isinstance(exc, CampaignState):
        return HTTPException(409, str(exc))
    return HTTPException(422, str(exc))


@router.get("")
def get_campaigns(app: AppDep, who: Sender):
    """The latest 100 campaigns, newest first, with their progress."""
    with app.db.read_sessions() as session:
        return [campaign_view(session, c) for c in list_campaigns(session)]


@router.post("", status_code=201, responses=errors(400, 404, 503))
def post_campaign(body: CampaignIn, app: AppDep, who: Sender):
    """A draft: every recipient checked (invalid numbers and opted-out customers left out and
    counted), the parameters filled, the first messages previewed and the cost estimated.
    Nothing is sent until `POST /{id}/start`."""
    if contains_nul(body.params) or contains_nul(body.mapping):
        raise HTTPException(422, "params and mapping must not contain the NUL character (\\u0000)")
    audience = body.audience
    new = NewCampaign(name=body.name, template_id=body.template_id, kind=audience.kind, owner=audience.owner,
                      crm_field=audience.field, value=audience.value, csv_text=audience.csv,
                      csv_name=audience.csv_name, mapping=body.mapping, params=body.params,
                      header_document_id=body.header_document_id)
    try:
        with app.db.sessions() as session, session.begin():
            campaign = create_campaign(app, session, new, who.name)
            return _draft_view(session, campaign)
    except (CampaignError, TemplateError) as exc:
        raise _http(exc)


def _draft_view(session, campaign) -> dict:
    left_out = [{"row": r.row, "name": r.name, "phone": r.phone, "reason": r.reason}
                for r in excluded(session, campaign.id, limit=1000)]
    return {**campaign_view(session, campaign), "preview": preview(session, campaign), "excluded_list": left_out}


@router.get("/{campaign_id:int}", responses=errors(404))
def get_one(campaign_id: RowId, app: AppDep, who: Sender):
    """The campaign, its progress (queued, sent, delivered, read, failed with reasons, replied),
    the preview of its next messages and the recipients left out (the first 1,000)."""
    try:
        with app.db.read_sessions() as session:
            return _draft_view(session, get_campaign(session, campaign_id))
    except CampaignNotFound as exc:
        raise _http(exc)


@router.get("/{campaign_id:int}/recipients", responses=errors(404))
def get_recipients(campaign_id: RowId, app: AppDep, who: Sender,
                   state: Literal["pending", "queued", "excluded", "refused", "skipped"] | None = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                   offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0):
    """Recipients in the audience's order: their state and, once sent, their message."""
    try:
        with app.db.read_sessions() as session:
            get_campaign(session, campaign_id)
            return [{"row": r.row, "name": r.name, "phone": r.phone, "country": r.country, "person_id": r.person_id,
                     "state": r.state, "reason": r.reason, "message_id": r.message_id, "parameters": r.param_values,
                     "queued_at": r.queued_at, "replied_at": r.replied_at}
                    for r in recipients(session, campaign_id, state=state, limit=limit, offset=offset)]
    except CampaignNotFound as exc:
        raise _http(exc)


def _life(action):
    def route(campaign_id: RowId, app: AppDep, who: Sender):
        try:
            with app.db.sessions() as session, session.begin():
                view = campaign_view(session, action(app, session, campaign_id, who.name))
        except (CampaignNotFound, CampaignState, TemplateError) as exc:
            raise _http(exc)
        app.wake_worker()
        return view
    route.__doc__ = action.__doc__
    return route


router.post("/{campaign_id:int}/start", responses=errors(404, 409), summary="Start sending")(_life(start))
router.post("/{campaign_id:int}/pause", responses=errors(404, 409), summary="Pause sending")(_life(pause))
router.post("/{campaign_id:int}/resume", responses=errors(404, 409), summary="Resume sending")(_life(resume))
router.post("/{campaign_id:int}/cancel", responses=errors(404, 409), summary="Cancel what is not sent")(_life(cancel))


@router.get("/{campaign_id:int}/report.csv", responses=errors(404))
def report_csv(campaign_id: RowId, app: AppDep, who: Sender):
    """Every recipient and what became of them (state, message status, reason, times), as CSV."""
    with app.db.read_sessions() as session:
        try:
            campaign = get_campaign(session, campaign_id)
        except CampaignNotFound as exc:
            raise _http(exc)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        for row in report_rows(session, campaign.id):
            writer.writerow({k: (v.isoformat() if hasattr(v, "isoformat") else _safe(v)) for k, v in row.items()})
    filename = f"campaign-{campaign_id}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


def _safe(value):
    """A cell a spreadsheet would run as a formula (=, +, -, @) is quoted as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not value[1:].replace(" ", "").isdigit():
        return "'" + value
    return value
