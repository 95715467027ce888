"""Webhook bodies exactly as Meta posts them (see ../shared/fixtures/whatsapp/).

Pure functions from the simulator's state to dicts; `delivery` signs and posts them.
"""
from __future__ import annotations

import copy
from typing import Any

from wasb.simulator.state import Customer, Media, Message


def envelope(waba_id: str, value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "changes": [{"value": value, "field": field}]}]}


def _value(display_phone_number: str, phone_number_id: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}}


def contact(customer: Customer) -> dict[str, Any]:
    """`contacts[]`: the profile name, the phone (absent for username-only users), the BSUID."""
    block: dict[str, Any] = {"profile": {"name": customer.name}}
    if customer.wa_id:
        block["wa_id"] = customer.wa_id
    if customer.user_id:
        block["user_id"] = customer.user_id
    if customer.parent_user_id:
        block["parent_user_id"] = customer.parent_user_id
    return block


def inbound_message(customer: Customer, message: Message, display_phone_number: str,
                    media: Media | None = None, media_url: str | None = None) -> dict[str, Any]:
    """One item of `messages[]`, keyed like Meta's (context, from, from_user_id, id, …)."""
    item: dict[str, Any] = {}
    if message.context and message.type != "reaction":
        item["context"] = {"from": display_phone_number, "id": message.context}
    if customer.wa_id:
        item["from"] = customer.wa_id
    if customer.user_id:
        item["from_user_id"] = customer.user_id
    item["id"] = message.wamid
    item["timestamp"] = str(int(message.timestamp))
    item["type"] = message.type
    if message.type == "text":
        item["text"] = {"body": message.text or ""}
        if message.referral:  # the click-to-WhatsApp ad the customer came from
            item["referral"] = dict(message.referral)
    elif message.type == "contacts":
        item["contacts"] = copy.deepcopy(message.part)
    elif message.type == "unsupported":
        item["errors"] = copy.deepcopy(message.errors)
    elif message.part is not None:  # interactive, location, order, system: Meta's shape as built
        item[message.type] = copy.deepcopy(message.part)
    elif message.type == "button":
        payload = (message.template or {}).get("payload") or message.text or ""
        item["button"] = {"payload": payload, "text": message.text or ""}
    elif message.type == "reaction":
        reaction: dict[str, Any] = {"message_id": message.context}
        if message.emoji:  # Meta leaves the key out when the reaction is removed
            reaction["emoji"] = message.emoji
        item["reaction"] = reaction
    elif media is not None:
        body: dict[str, Any] = {}
        if message.caption:
            body["caption"] = message.caption
        if message.type == "document" and media.filename:
            body["filename"] = media.filename
        body["mime_type"] = media.mime_type
        body["sha256"] = media.sha256_b64
        body["id"] = media.id
        if media_url:
            body["url"] = media_url
        if message.type == "audio" and message.voice is not None:  # whether it is a recorded voice note
            body["voice"] = message.voice
        if message.type == "sticker":
            body["animated"] = message.animated
        item[message.type] = body
    return item


def inbound(waba_id: str, phone_number_id: str, display_phone_number: str, customer: Customer,
            item: dict[str, Any], *, with_contacts: bool = True) -> dict[str, Any]:
    value = _value(display_phone_number, phone_number_id)
    if with_contacts:
        value["contacts"] = [contact(customer)]
    value["messages"] = [item]
    return envelope(waba_id, value)


def pricing(message: Message, template_category: str | None, window_open: bool) -> dict[str, Any]:
    """Per-message pricing (PMP, since July 2025): free-form replies and utility templates
    inside the customer-service window are free; everything else is billed regular."""
    if message.type != "template":
        return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                "category": "service"}
    category = (template_category or "utility").lower()
    if category == "utility" and window_open:
        return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                "category": "utility"}
    return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}


def status(message: Message, customer: Customer, status_name: str, timestamp: float, *,
           waba_id: str, phone_number_id: str, display_phone_number: str, graph_version: str,
           price: dict[str, Any] | None = None, errors: list[dict[str, Any]] | None = None,
           conversation_id: str | None = None, conversation_expiry: float | None = None) -> dict[str, Any]:
    """A status webhook. v24+ shape: `sent` is minimal and `pricing` rides on `delivered`;
    before v24 every status carries `conversation` + `pricing` (the conversation's
    `expiration_timestamp` on `sent` only, as Meta gives it). Failed statuses carry
    `errors` and no `contacts`; others carry `contacts` only for BSUID users (2026)."""
    item: dict[str, Any] = {"id": message.wamid, "status": status_name,
                            "timestamp": str(int(timestamp))}
    if message.callback_data:  # Meta echoes the sender's opaque data in every status
        item["biz_opaque_callback_data"] = message.callback_data
    if customer.wa_id:
        item["recipient_id"] = customer.wa_id
    if customer.user_id:
        item["recipient_user_id"] = customer.user_id
    if status_name == "failed":
        item["errors"] = errors or []
    elif price is not None:
        modern = _major(graph_version) >= 24
        if not modern and conversation_id:
            item["conversation"] = {"id": conversation_id}
            if status_name == "sent" and conversation_expiry is not None:
                item["conversation"]["expiration_timestamp"] = str(int(conversation_expiry))
            item["conversation"]["origin"] = {"type": price["category"]}
        if not modern or status_name == "delivered":
            item["pricing"] = dict(price)
    value = _value(display_phone_number, phone_number_id)
    if customer.user_id and status_name != "failed":
        value["contacts"] = [contact(customer)]
    value["statuses"] = [item]
    return envelope(waba_id, value)


def merge_statuses(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Several status webhooks of one number as one batched POST (Meta batches up to 1000
    updates): one change whose `statuses` (and `contacts`, when present) are concatenated."""
    merged = copy.deepcopy(bodies[0])
    value = merged["entry"][0]["changes"][0]["value"]
    for body in bodies[1:]:
        other = body["entry"][0]["changes"][0]["value"]
        value.setdefault("statuses", []).extend(other.get("statuses", []))
        for block in other.get("contacts", []):
            if block not in value.setdefault("contacts", []):
                value["contacts"].append(block)
    return merged


def template_event(waba_id: str, template_id: str, name: str, language: str, category: str,
                   event: str, reason: str, timestamp: float,
                   rejection_info: dict[str, str] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"event": event, "message_template_id": int(template_id),
                             "message_template_name": name, "message_template_language": language,
                             "reason": reason, "message_template_category": category}
    if rejection_info:
        value["rejection_info"] = rejection_info
    return template_change(waba_id, "message_template_status_update", value, timestamp)


def template_change(waba_id: str, field: str, value: dict[str, Any], timestamp: float) -> dict[str, Any]:
    """A WhatsApp Business Account change of one template: status, quality or category."""
    return {"entry": [{"id": waba_id, "time": int(timestamp), "changes": [{"value": value, "field": field}]}],
            "object": "whatsapp_business_account"}


def _major(version: str) -> int:
    try:
        return int(version.lstrip("v").split(".")[0])
    except ValueError:
        return 24
