"""Templates as the service knows them: listing, and the checks before one is queued.

Only APPROVED, not deleted templates go out, and their parameters are checked here
against the synced components (a template never synced is left to Meta's judgement).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.crm.mapping import SOURCES
from wasb.templates.parameters import (
    ParameterError, Slot, as_mapping, check_values, describe_parameters, message_parts, render_body,
)
from wasb.templates.tables import Template

APPROVED = "APPROVED"


class TemplateError(ValueError):
    """A template that cannot be sent as asked, with the reason."""


class TemplateNotFound(TemplateError):
    pass


@dataclass(frozen=True)
class PreparedTemplate:
    template: Template | None
    parts: dict[str, Any]  # body, header, header_media, buttons (see parameters.message_parts)
    rendered: str | None   # the body as the customer reads it, when known


def template_view(t: Template) -> dict:
    return {"id": t.id, "meta_id": t.meta_id, "name": t.name, "language": t.language, "category": t.category,
            "status": t.status, "quality": t.quality, "parameter_format": t.parameter_format,
            "rejected_reason": t.rejected_reason, "deleted": t.deleted, "components": t.components,
            "updated_at": t.updated_at, "parameters": describe_parameters(t).view(),
            "parameter_sources": parameter_sources(t)}


def parameter_sources(template: Template) -> dict[str, str]:
    """The admin's sources for the parameters the template has now (a parameter Meta's last
    sync removed, or a source no longer offered, counts as unmapped)."""
    keys = set(describe_parameters(template).keys)
    return {k: v for k, v in (template.parameter_sources or {}).items() if k in keys and v in SOURCES}


def unmapped(template: Template) -> list[Slot]:
    """The parameters no source fills: an agent types them, and the fallback cannot send."""
    sources = parameter_sources(template)
    return [s for s in describe_parameters(template).slots if s.key not in sources]


def set_parameter_sources(template: Template, sources: Mapping[str, str]) -> None:
    """Replace the template's sources; an empty source means "ask the agent"."""
    keys = describe_parameters(template).keys
    chosen = {str(k): str(v) for k, v in sources.items() if v}
    unknown = [k for k in chosen if k not in keys]
    if unknown:
        raise TemplateError(f"{template.name} ({template.language}) has no parameter {', '.join(unknown)}; "
                            f"it takes: {', '.join(keys) or 'no parameters'}")
    bad = [f"{k}: {v!r}" for k, v in chosen.items() if v not in SOURCES]
    if bad:
        raise TemplateError(f"not a parameter source ({'; '.join(bad)}); one of {', '.join(SOURCES)}")
    template.parameter_sources = chosen or None


def list_templates(session: Session, *, status: str | None = None, name: str | None = None,
                   language: str | None = None, category: str | None = None,
                   include_deleted: bool = False) -> list[Template]:
    query = select(Template)
    if status:
        query = query.where(Template.status == status.upper())
    if name:
        query = query.where(Template.name == name)
    if language:
        query = query.where(Template.language == language)
    if category:
        query = query.where(Template.category == category.upper())
    if not include_deleted:
        query = query.where(Template.deleted.is_(False))
    return list(session.scalars(query.order_by(Template.name, Template.language)))


def get_template(session: Session, template_id: int) -> Template:
    template = session.get(Template, template_id)
    if template is None:
        raise TemplateNotFound(f"no template {template_id}")
    return template


def find_template(session: Session, name: str, language: str) -> Template | None:
    return session.scalars(select(Template).where(Template.name == name, Template.language == language)).first()


def mark_status_from_meta(session: Session, name: str | None, language: str | None, status: str) -> bool:
    """Meta refused a send because of the template's state (paused, disabled): the catalogue
    says so at once, without waiting for the status webhook or the next sync. Only a known
    template is changed (a row made up here would have no components)."""
    if not name or not language:
        return False
    template = find_template(session, name, language)
    if template is None or template.status == status:
        return False
    template.status = status
    return True


def check_sendable(template: Template) -> None:
    label = f"the template {template.name} ({template.language})"
    if template.deleted:
        raise TemplateError(f"{label} no longer exists at Meta (deleted); only approved templates can be sent")
    if template.status != APPROVED:
        reason = f": {template.rejected_reason}" if template.rejected_reason else ""
        raise TemplateError(f"{label} is {template.status or 'not reviewed'}{reason}; "
                            "only approved templates can be sent")


def prepare_template(session: Session, name: str, language: str,
                     values: Sequence[Any] | Mapping[str, Any] | None, *,
                     header_document: bool = False) -> PreparedTemplate:
    """Check a template message before it is queued; raises TemplateError with the reason."""
    template = find_template(session, name, language)
    if template is None:
        # Never synced: Meta has the last word (132001 if it does not exist there either).
        return PreparedTemplate(None, {"body": values or None, "header": None, "header_media": None,
                                       "buttons": []}, None)
    check_sendable(template)
    parameters = describe_parameters(template)
    try:
        checked = check_values(parameters, as_mapping(parameters, values), header_document=header_document)
    except ParameterError as exc:
        raise TemplateError(f"{template.name} ({template.language}): {exc}") from None
    return PreparedTemplate(template, message_parts(parameters, checked),
                            render_body(template, {s.placeholder: checked[s.key] for s in parameters.slots
                                                   if s.component == "body"}))


__all__ = ["list_templates", "get_template", "prepare_template", "parameter_sources", "set_parameter_sources",
           "unmapped",
           "TemplateError", "TemplateNotFound", "template_view", "check_sendable", "find_template",
           "mark_status_from_meta"]
