"""syncTemplates: every template of the WABA from Meta into the template table (the table
and the upsert are the templates feature's), on demand and as a scheduled job."""
from __future__ import annotations

from wasb.outbound.channel import channel_for
from wasb.runtime import Runtime
from wasb.templates.sync import FIELDS, PAGE_SIZE, SyncSummary, apply_templates


def sync_from_meta(rt: Runtime) -> SyncSummary:
    """Every template of the WABA from Meta into the table (also the scheduled syncTemplates job).
    Raises the Graph client's errors (`wasb.whatsapp.errors`) when Meta cannot be read."""
    listed = list(channel_for(rt).client().iter_templates(PAGE_SIZE, fields=FIELDS))
    with rt.db.sessions() as session, session.begin():
        return apply_templates(session, listed)


def sync_templates(rt: Runtime) -> dict:
    """Fetch every template page from Meta and update the template table (gone ones marked
    deleted); the summary is the run's report. Meta's errors fail the run with their reason."""
    return sync_from_meta(rt).view()


def run_sync_templates(rt: Runtime, ctx) -> dict:
    return sync_templates(rt)
