"""Template status, category and quality webhooks keep the template table current."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.whatsapp.webhook import Item
from wasb.templates.tables import Template


def receive_template_event(session: Session, item: Item) -> None:
    value = item.data
    meta_id = str(value.get("message_template_id") or "")
    name = value.get("message_template_name")
    language = value.get("message_template_language")
    template = None
    if meta_id:
        template = session.scalars(select(Template).where(Template.meta_id == meta_id)).first()
    if template is None and name and language:
        template = session.scalars(select(Template).where(Template.name == name, Template.language == language)).first()
    if template is None:
        if not (name and language):
            return  # nothing to key it on; the raw event is kept in inbound_event
        template = Template(name=name, language=language, meta_id=meta_id or None)
        session.add(template)
    if meta_id and not template.meta_id:
        template.meta_id = meta_id
    if item.field_name == "message_template_status_update":
        template.status = value.get("event") or template.status
        if value.get("message_template_category"):
            template.category = value["message_template_category"]
        reason = value.get("reason")
        template.rejected_reason = reason if reason and reason != "NONE" else None
        if template.status == "DELETED" if template.status else False:
            template.deleted = True
    elif item.field_name == "template_category_update":
        template.category = value.get("new_category") or template.category
    elif item.field_name == "message_template_quality_update":
        template.quality = value.get("new_quality_score") or template.quality
    session.flush()
