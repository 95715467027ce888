"""The FastAPI application: webhooks, the REST API (and later the UI) on one app."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from wasb.bootstrap import App
from wasb.web import public, webhooks
from wasb.web.api import conversations, documents, events, messages, people, settings, tickets


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
        return {"status": "ok", "database": "ok", "crm": wasb.config.crm}

    app.include_router(webhooks.router)
    app.include_router(public.router)
    for module in (people, conversations, messages, documents, tickets, events, settings):
        app.include_router(module.router)
    return app
