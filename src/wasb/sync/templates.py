"""syncTemplates: the template sync of the templates feature, as a scheduled job."""
from __future__ import annotations

from typing import Any

NOT_AVAILABLE = "not available yet"


def sync_templates(app: Any) -> dict:
    """Fetch every template page from Meta and update the template table.

    Hook for the templates feature (issue 4): replace this body with a call to its
    sync function and return its summary (e.g. {"fetched": n, "created": n, ...}).
    """
    return {"note": f"template sync from Meta: {NOT_AVAILABLE}"}


def run_sync_templates(app: Any, ctx) -> dict:
    return sync_templates(app)
