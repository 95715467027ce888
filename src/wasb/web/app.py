"""The FastAPI application: webhooks, the REST API (and later the UI) on one app."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from wasb.bootstrap import App
from wasb.outbound.channel import channel_health
from wasb.outbound.tables import HEALTHY
from wasb.web import webhooks
from wasb.web.api import conversations, events, outbox, people, sending, settings, templates, tickets


def create_app(wasb: App, *, start: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if start:
            wasb.start(worker=wasb.config.worker)
        try:
            yield
        finally:
            if start:
                wasb.stop()

    app = FastAPI(title="WASB", version="0.1.0", lifespan=lifespan,
                  description="WhatsApp Business (Meta Cloud API) inside a CRM's customer service.")
    app.state.wasb = wasb

    @app.get("/healthz", tags=["health"])
    def healthz():
        with wasb.db.read_sessions() as session:
            session.execute(text("SELECT 1"))
            channel = channel_health(session, wasb.config.phone_number_id)
        # 200 either way: the process is alive; a refused token is the admin's to fix.
        return {"status": "ok" if channel.status == HEALTHY else "degraded", "database": "ok",
                "crm": wasb.config.crm, "channel": channel.view()}

    app.include_router(webhooks.router)
    for module in (people, conversations, sending, tickets, events, settings, templates, outbox):
        app.include_router(module.router)
    return app
