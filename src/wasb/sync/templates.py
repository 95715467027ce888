"""syncTemplates: the template sync of the templates feature, as a scheduled job."""
from __future__ import annotations

from typing import Any

from wasb.templates.sync import sync_templates as sync_from_meta


def sync_templates(app: Any) -> dict:
    """Fetch every template page from Meta and update the template table (gone ones marked
    deleted); the summary is the run's report. Meta's errors fail the run with their reason."""
    return sync_from_meta(app).view()


def run_sync_templates(app: Any, ctx) -> dict:
    return sync_templates(app)
