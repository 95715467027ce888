"""The FastAPI application: webhooks, the REST API and the web UI on one app."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from wasb.bootstrap import App
from wasb.web import webhooks
from wasb.live.feed import Poller
from wasb.web.api import conversations, events, people, settings, tickets
from wasb.web.ui import install_ui


def create_app(wasb: App, *, start: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        poller = Poller(wasb.db)
        if start:
            wasb.start(worker=wasb.config.worker)
            poller.start()
        try:
            yield
        finally:
            if start:
                poller.stop()
                wasb.stop()

    app = FastAPI(title="WASB", version="0.1.0", lifespan=lifespan,
                  description="WhatsApp Business (Meta Cloud API) inside a CRM's customer service.")
    app.state.wasb = wasb

    @app.get("/healthz", tags=["health"])
    def healthz():
        with wasb.db.read_sessions() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok", "crm": wasb.config.crm}

    app.include_router(webhooks.router)
    for module in (people, conversations, tickets, events, settings):
        app.include_router(module.router)
    install_ui(app, wasb)
    return app
