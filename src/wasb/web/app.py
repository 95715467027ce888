"""The FastAPI application: webhooks, the REST API and the web UI on one app."""
from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from wasb.bootstrap import App
from wasb.crm.port import CRMAuthError, CRMError, CRMNotFound, CRMUnavailable
from wasb.web.backlog import service_backlog
from wasb.web.crm_status import crm_status
from wasb.outbound.channel import channel_health
from wasb.outbound.tables import HEALTHY
from wasb.live.feed import Poller
from wasb.web import metrics, public, webhooks
from wasb.web.errors import install_openapi
from wasb.web.api import (
    analytics, campaigns, canned, conversations, documents, events, hooks, jobs, messages, notes, outbox, people, reports, sending,
    settings, templates, tickets,
)
from wasb.web.api import crm as crm_api
from wasb.web.docs import install_docs
from wasb.web.security_headers import SecurityHeadersMiddleware
from wasb.web.slow_clients import BodyTimeoutMiddleware
from wasb.web.ui import install_ui


def create_app(wasb: App, *, start: bool = True, worker_threads: bool | None = None,
               alongside: AbstractContextManager | None = None) -> FastAPI:
    """`worker_threads`: run the jobs in threads of this process (default: WASB_WORKER);
    `wasb serve` says no and runs them in a process `alongside`, entered once the app has
    started and left when it stops (uvicorn ends the process on SIGTERM right after)."""
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        poller = Poller(wasb.db)
        with ExitStack() as stack:
            if start:
                wasb.start(worker=wasb.config.worker if worker_threads is None else worker_threads)
                try:
                    if alongside is not None:  # left last: the web's intake has stopped by then
                        stack.enter_context(alongside)
                finally:
                    stack.callback(wasb.stop)
                poller.start()
                stack.callback(poller.stop)
            yield

    # /docs is served by wasb.web.docs (no CDN); ReDoc has no offline copy here.
    app = FastAPI(title="WASB", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="WhatsApp Business (Meta Cloud API) inside a CRM's customer service.")
    app.state.wasb = wasb

    @app.get("/healthz", tags=["health"])
    def healthz():
        """Always 200 while the service takes webhooks: a CRM problem does not stop
        the intake (events wait for the CRM), it shows as `degraded` with the reason."""
        with wasb.db.read_sessions() as session:
            session.execute(text("SELECT 1"))
            crm = crm_status(wasb.config, wasb.crm_link, wasb.queue, session)
            channel = channel_health(session, wasb.config.phone_number_id)
            behind = service_backlog(wasb.config, wasb.db, wasb.queue, session)
        pending = crm["backlog"]["pending_jobs"]
        # A refused WhatsApp token degrades too: messages wait queued until an admin fixes it.
        ok = crm["state"] == "ok" and channel.status == HEALTHY
        status = "degraded" if not ok else "busy" if behind.busy else "ok"
        return {"status": status, "database": "ok", "crm": wasb.config.crm,
                "crm_state": crm["state"], "crm_auth_failure": crm["auth_failure"],
                "crm_last_error": crm.get("last_error"), "backlog": pending, "queue": behind.view(),
                "channel": channel.view()}

    @app.exception_handler(CRMError)
    async def crm_error(request: Request, exc: CRMError):
        # A read or write the API passes to the CRM: say what happened, not a 500.
        if isinstance(exc, CRMNotFound):
            return JSONResponse(status_code=404, content={"detail": str(exc)})
        code = 503 if isinstance(exc, (CRMUnavailable, CRMAuthError)) else 502
        return JSONResponse(status_code=code, content={"detail": f"the CRM: {exc}"})

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception):
        # The server closes the connection after an unhandled error: say so, so a
        # keep-alive client (Meta's webhook sender) opens a new one instead of reusing it.
        return JSONResponse(status_code=500, content={"detail": "internal error"}, headers={"Connection": "close"})

    app.include_router(webhooks.router)
    app.include_router(public.router)
    app.include_router(metrics.router)
    for module in (people, conversations, notes, canned, sending, messages, documents, tickets, events, settings, crm_api, jobs,
                   reports, analytics, templates, outbox, hooks, campaigns):
        app.include_router(module.router)
    # Innermost: the webhook's answer skips the framework, not the headers or the body deadline.
    app.add_middleware(webhooks.WebhookIntake, wasb=wasb)
    install_ui(app, wasb)
    install_openapi(app)
    install_docs(app)
    app.add_middleware(BodyTimeoutMiddleware, timeout=wasb.config.body_timeout_seconds)
    # Outermost: the headers are on every answer, the session middleware's too.
    app.add_middleware(SecurityHeadersMiddleware, public_url_is_https=wasb.config.public_url.startswith("https://"))
    return app
