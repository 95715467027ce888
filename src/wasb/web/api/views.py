"""JSON shapes of the read API (a contract other tools use: add fields, never rename)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from wasb.contacts.consent import consent_view
from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, ConversationNote, Message
from wasb.conversations.window import window_of
from wasb.crm.port import Comment, Document, Person, Ticket
from wasb.domain.rendering import map_link, referral, referral_line
from wasb.documents.links import DocumentLink
from wasb.inbound.tables import InboundEvent
from wasb.scheduler.registry import JobSpec
from wasb.scheduler.service import schedule_of
from wasb.scheduler.tables import ScheduledJob


def person_view(person: Person, consent: dict | None = None) -> dict:
    """`consent` (when looked up): whether the person opted out of marketing, since when, why."""
    view = asdict(person)
    if consent is not None:
        view["consent"] = consent
    return view


def ticket_view(ticket: Ticket) -> dict:
    return asdict(ticket)


WHATSAPP_NOTES = {"held": "waiting for the customer's reply"}


def comment_view(comment: Comment, message: Message | None = None) -> dict:
    view = asdict(comment)
    view["author"] = "customer" if comment.customer_name else "agent"
    if message is not None:
        view["whatsapp"] = {"message_id": message.id, "direction": message.direction, "status": message.status,
                            "note": WHATSAPP_NOTES.get(message.status), "reason": message.error_message}
    return view


def note_view(n: ConversationNote) -> dict:
    """A private note: who wrote it and when (never sent, so no status)."""
    return {"id": n.id, "conversation_id": n.conversation_id, "author": n.author, "body": n.body,
            "created_at": n.created_at}


def message_view(m: Message) -> dict:
    return {
        "id": m.id, "wamid": m.wamid, "direction": m.direction, "type": m.type, "body": m.body,
        "status": m.status, "timestamp": m.timestamp, "error": (
            {"code": m.error_code, "message": m.error_message} if m.error_code or m.error_message else None),
        "media": (media_view(m) if m.media_id or m.media_path else None),
        "reply_to": m.reply_to_wamid, "reaction": m.reaction, "author": m.author,
        # Every error Meta gave (a failed status may carry several; `error` is the first),
        # and the `conversation` object of its statuses (not WASB's conversation).
        "errors": message_errors(m), "meta_conversation": m.meta_conversation,
        "template": m.template_name, "pricing": m.pricing,
        "send_attempts": m.send_attempts, "crm_comment_id": m.crm_comment_id,
        "origin": m.origin, "note": WHATSAPP_NOTES.get(m.status),
        # A customer's message: the click-to-WhatsApp ad it came from (Meta's `referral`,
        # as sent) and that ad in a line; where a shared location opens on a map.
        **_inbound_extras(m),
    }


def message_errors(m: Message) -> list[dict]:
    """Meta's errors as the failed status listed them, or the one error a refused send or an
    inbound message got (`{"code", "message"}`, as `error`)."""
    if m.errors:
        return list(m.errors)
    return [{"code": m.error_code, "message": m.error_message}] if m.error_code or m.error_message else []


def _inbound_extras(m: Message) -> dict:
    raw = m.raw if isinstance(m.raw, dict) and m.direction == "in" else {}
    return {"referral": referral(raw), "started_from": referral_line(raw), "map_url": map_link(raw)}


def media_view(m: Message) -> dict:
    """Meta's media id and what the service did with it: `state` is pending, stored,
    failed or expired (a file we send is stored from the start); `url` (stored only) serves the file."""
    return {"id": m.media_id, "mime_type": m.media_mime, "filename": m.media_filename, "state": m.media_state,
            "size": m.media_size, "error": m.media_error,
            "url": f"/api/v1/messages/{m.id}/media" if m.media_state == "stored" else None}


def document_view(d: Document) -> dict:
    return {"id": d.id, "filename": d.filename, "mime_type": d.mime_type, "size": len(d.content),
            "content_url": f"/api/v1/documents/{d.id}/content"}


def link_view(link: DocumentLink) -> dict:
    """The only time the token is shown: it is not stored."""
    return {"id": link.id, "url": link.url, "token": link.token, "document_id": link.document_id,
            "filename": link.filename, "mime_type": link.mime_type, "size": link.size,
            "expires_at": link.expires_at}


def conversation_view(c: Conversation, contact: WaContact | None = None, now: datetime | None = None,
                      last_status: str | None = None) -> dict:
    """`window_expires_at`: the end of the customer's open 24-hour window (at most 24 h
    ahead); null when it is closed or the customer never wrote. `last_status`: the latest
    outgoing message's (`conversations.service.last_outbound_statuses`)."""
    view = {
        "id": c.id, "name": c.name, "status": c.status, "phone_number_id": c.phone_number_id,
        "person_id": c.crm_person_id, "ticket_id": c.ticket_id, "started_at": c.started_at,
        "closed_at": c.closed_at, "last_message_at": c.last_message_at, "last_inbound_at": c.last_inbound_at,
        "starting_template": c.starting_template, "last_message_status": last_status,
        "assigned_user": c.assigned_user, "unread": c.unread, "association_error": c.association_error,
        "window_expires_at": window_of(c, contact, now).expires_at,
        "campaign_id": c.campaign_id,  # the campaign the customer replied to (GET /api/v1/campaigns/{id})
    }
    if contact is not None:
        view["contact"] = {"id": contact.id, "wa_id": contact.wa_id, "user_id": contact.user_id,
                           "phone": contact.phone_e164, "profile_name": contact.profile_name,
                           "consent": consent_view(contact)}
    return view


def event_view(e: InboundEvent) -> dict:
    return {"id": e.id, "received_at": e.received_at, "state": e.state, "processed_at": e.processed_at,
            "error": e.error, "sha256": e.sha256, "size": len(e.body)}


def scheduled_job_view(job: ScheduledJob, spec: JobSpec) -> dict:
    running = job.status == "running"
    return {
        "name": job.name, "description": spec.description, "active": job.active,
        "schedule": schedule_of(job).as_dict(), "status": job.status,
        "attempts": job.attempts, "max_attempts": job.max_attempts,
        "attempts_text": f"{job.attempts} / {job.max_attempts}",
        "queued": job.requested_at is not None, "next_run_at": job.next_run_at,
        "started_at": job.started_at if running else None,
        "progress": ({"done": job.progress_done, "total": job.progress_total}
                     if running and job.progress_done is not None else None),
        "last_run_at": job.last_run_at, "last_duration_seconds": job.last_duration_seconds,
        "last_result": job.last_result, "last_error": job.last_error,
    }
