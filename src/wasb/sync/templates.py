"""syncTemplates: the template sync of the templates feature, as a scheduled job."""
from __future__ import annotations

from wasb.runtime import Runtime
from wasb.templates.sync import sync_templates as sync_from_meta


def sync_templates(rt: Runtime) -> dict:
    """Fetch every template page from Meta and update the template table (gone ones marked
    deleted); the summary is the run's report. Meta's errors fail the run with their reason."""
    return sync_from_meta(rt).view()


def run_sync_templates(rt: Runtime, ctx) -> dict:
    return sync_templates(rt)
