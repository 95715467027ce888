"""Campaign pages: the list, the form that prepares one (template first, then its parameters'
sources and the audience), and a campaign's page (counts, cost, preview, who was left out,
live progress, start / pause / resume / cancel, the CSV report)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from wasb.campaigns.audience import CSV_PREFIX
from wasb.campaigns.header import HEADER_FILES
from wasb.campaigns.service import (
    CampaignError, CampaignNotFound, CampaignState, NewCampaign, cancel, create_campaign, excluded, get_campaign,
    list_campaigns, may_send_campaigns, pause, preview, progress, resume, start,
)
from wasb.crm.mapping import SOURCES
from wasb.crm.port import PERSON_KINDS, SEGMENT_FIELDS, CRMError
from wasb.outbound.service import Upload
from wasb.settings.service import load_settings
from wasb.templates.parameters import describe_parameters
from wasb.templates.service import TemplateError, list_templates, parameter_sources
from wasb.web.params import MAX_ROW_ID, RowId
from wasb.web.ui.deps import User, csrf_protected
from wasb.web.ui.i18n import translator
from wasb.web.ui.render import redirect, render

router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(csrf_protected)])

FIXED, CSV_COLUMN = "fixed", "csv"
MAX_UPLOAD = 5_000_000  # bytes of CSV
MAX_HEADER = HEADER_FILES["document"].max_bytes  # the largest a header takes (each kind is checked after)


def _allowed(request: Request, user) -> bool:
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        return may_send_campaigns(load_settings(session, app.config), user.username, user.is_admin)


def _sender(request: Request, user) -> None:
    if not _allowed(request, user):
        raise HTTPException(403, translator(user.language)(
            "Campaigns need an admin, or an agent an admin named in Settings (campaign senders)."))


@router.get("/campaigns")
def campaigns(request: Request, user: User):
    app = request.app.state.wasb
    allowed = _allowed(request, user)
    rows = []
    if allowed:
        with app.db.read_sessions() as session:
            rows = [(c, progress(session, c.id)) for c in list_campaigns(session)]
    return render(request, "ui/campaigns.html", rows=rows, allowed=allowed)


def _form(request: Request, user, *, template_id: int | None, typed: dict | None = None, error: str | None = None,
          status_code: int = 200):
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        templates = list_templates(session, status="APPROVED")
        chosen = next((t for t in templates if t.id == template_id), None)
        described = describe_parameters(chosen) if chosen else None
        slots = described.slots if described else []
        header_rule = HEADER_FILES.get(described.header_media or "") if described else None
        sources = parameter_sources(chosen) if chosen else {}
    owners = []
    try:
        with app.crm_policy.crm_calls(app.db, app.crm) as crm:
            owners = crm.list_users()
    except CRMError:
        pass  # the owner filter is left out while the CRM cannot say who its users are
    return render(request, "ui/campaign_new.html", status_code=status_code, templates=templates, chosen=chosen,
                  slots=slots, sources=sources, crm_sources=SOURCES, owners=owners, kinds=PERSON_KINDS,
                  segment_fields=SEGMENT_FIELDS, typed=typed or {}, error=error,
                  header_media=described.header_media if header_rule else None, header_rule=header_rule)


@router.get("/campaigns/new")
def campaign_new(request: Request, user: User,
                 template: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None):
    _sender(request, user)
    return _form(request, user, template_id=template)


@router.post("/campaigns")
async def campaign_create(request: Request, user: User):
    _sender(request, user)
    _ = translator(user.language)
    form = await request.form()
    typed = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        template_id = int(typed.get("template_id") or 0)
    except ValueError:
        template_id = 0
    mapping, params = {}, {}
    for key, value in typed.items():
        if not key.startswith("source_"):
            continue
        slot, given = key[len("source_"):], typed.get("value_" + key[len("source_"):], "").strip()
        if value == FIXED:
            params[slot] = given
        elif value == CSV_COLUMN:
            mapping[slot] = CSV_PREFIX + given
        else:
            mapping[slot] = value
    upload = form.get("csv")
    csv_text = None
    if typed.get("audience") == "csv":
        content = await upload.read(MAX_UPLOAD + 1) if upload is not None and hasattr(upload, "read") else b""
        if len(content) > MAX_UPLOAD:
            return _form(request, user, template_id=template_id, typed=typed, status_code=422,
                         error=_("The CSV file is larger than 5 MB: split it."))
        csv_text = content.decode("utf-8-sig", errors="replace")
    header = form.get("header_file")
    header_upload = None
    if header is not None and hasattr(header, "read") and header.filename:
        content = await header.read(MAX_HEADER + 1)
        if len(content) > MAX_HEADER:
            return _form(request, user, template_id=template_id, typed=typed, status_code=422,
                         error=_("The header file is larger than 100 MB."))
        header_upload = Upload(header.filename, header.content_type or "application/octet-stream", content)
    new = NewCampaign(name=typed.get("name", ""), template_id=template_id, header=header_upload,
                      kind=typed.get("kind") or None, owner=typed.get("owner") or None,
                      crm_field=typed.get("field") or None, value=typed.get("value") or None, csv_text=csv_text,
                      csv_name=getattr(upload, "filename", None) if csv_text is not None else None,
                      mapping=mapping, params=params)
    app = request.app.state.wasb
    try:
        with app.db.sessions() as session, session.begin():
            campaign_id = create_campaign(app, session, new, user.username).id
    except (CampaignError, TemplateError) as exc:
        return _form(request, user, template_id=template_id, typed=typed, error=str(exc), status_code=422)
    return redirect(request, f"/ui/campaigns/{campaign_id}", ok=_("Campaign prepared: check it, then start it."))


@router.get("/campaigns/{campaign_id}")
def campaign_page(request: Request, user: User, campaign_id: RowId):
    _sender(request, user)
    app = request.app.state.wasb
    with app.db.read_sessions() as session:
        try:
            campaign = get_campaign(session, campaign_id)
        except CampaignNotFound as exc:
            raise HTTPException(404, str(exc))
        shown, left_out, now = preview(session, campaign), excluded(session, campaign.id, limit=200), \
            progress(session, campaign.id)
    return render(request, "ui/campaign.html", campaign=campaign, preview=shown, left_out=left_out, progress=now)


_ACTIONS = {"start": start, "pause": pause, "resume": resume, "cancel": cancel}


@router.post("/campaigns/{campaign_id}/{action}")
def campaign_action(request: Request, user: User, campaign_id: RowId, action: str):
    _sender(request, user)
    _ = translator(user.language)
    if action not in _ACTIONS:
        raise HTTPException(404, f"no action {action!r}")
    app = request.app.state.wasb
    try:
        with app.db.sessions() as session, session.begin():
            _ACTIONS[action](app, session, campaign_id, user.username)
    except CampaignNotFound as exc:
        raise HTTPException(404, str(exc))
    except (CampaignState, TemplateError) as exc:
        return redirect(request, f"/ui/campaigns/{campaign_id}", error=str(exc))
    app.wake_worker()
    done = {"start": _("Campaign started."), "pause": _("Campaign paused."), "resume": _("Campaign resumed."),
            "cancel": _("Campaign cancelled: nobody else gets it.")}[action]
    return redirect(request, f"/ui/campaigns/{campaign_id}", ok=done)
