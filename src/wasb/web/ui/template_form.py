"""The template picker's POST, shared by the conversation page and a CRM record's page."""
from __future__ import annotations

from typing import Callable

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request

from wasb.outbound.service import MarketingOptedOut
from wasb.store.ids import row_id
from wasb.web.ui.actions import Attachment
from wasb.web.ui.i18n import translator
from wasb.web.ui.render import outcome, wants_json


async def send_template_form(request: Request, user, back: str, send: Callable[..., object]):
    """Read the picked template and its `param_*` fields, and queue it with `send(app, session,
    template_id=…, params=…, header=…)` in one transaction; answer with the page's outcome."""
    _ = translator(user.language)
    form = await request.form()
    template_id = row_id(str(form.get("template_id") or ""))
    if template_id is None:
        return outcome(request, back, error=_("Choose a template."), status=422)
    params = {k.removeprefix("param_"): str(v) for k, v in form.items() if k.startswith("param_")}
    upload = form.get("header_file")
    header = (Attachment(upload.filename, upload.content_type or "application/octet-stream", await upload.read())
              if isinstance(upload, UploadFile) and upload.filename else None)
    # Nothing is guessed for the agent: an empty parameter is refused here, field by field,
    # before the services would refuse the first one (the page keeps what was typed).
    empty = {key: _("Fill in {{{{{name}}}}}: the customer would read it empty.", name=key.rpartition(".")[2])
             for key, value in params.items() if not value.strip()}
    if empty:
        return _refused(request, back, _("Fill in every parameter before sending."), empty)
    app = request.app.state.wasb

    def queue():
        with app.db.sessions() as session, session.begin():
            send(app, session, template_id=template_id, params=params, header=header)

    try:
        await run_in_threadpool(queue)
    except MarketingOptedOut:  # refused before reaching Meta: the agent is told why, in their language
        return outcome(request, back, error=_("The customer opted out of marketing messages: marketing templates "
                                              "are not sent to them. Service replies and utility templates "
                                              "still go."), status=409)
    except (ValueError, LookupError) as exc:
        return outcome(request, back, error=str(exc), status=422)
    return outcome(request, back, ok=_("Template queued."))


def _refused(request: Request, back: str, message: str, fields: dict[str, str]):
    if wants_json(request):
        return JSONResponse({"ok": False, "message": message, "fields": fields}, status_code=422)
    return outcome(request, back, error=message + " " + " ".join(fields.values()), status=422)
