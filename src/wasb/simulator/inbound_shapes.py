"""The typed part of a customer's message for the kinds Meta sends as data, not files:
interactive replies (buttons, list picks, flows), locations, contact cards, orders, number
changes, unsupported messages, and the click-to-WhatsApp ad a text may come from.

Each builder reads the control API's spec (`/_sim/inbound`) and answers the part exactly
as Meta's messages webhook carries it (https://developers.facebook.com/documentation/
business-messaging/whatsapp/webhooks/reference/messages/...), or raises ValueError saying
what the spec lacks.
"""
from __future__ import annotations

import json
from typing import Any

SHAPED_TYPES = ("interactive", "location", "contacts", "order", "system", "unsupported")
REFERRAL_FIELDS = ("source_url", "source_id", "source_type", "body", "headline", "media_type", "image_url",
                   "video_url", "thumbnail_url", "ctwa_clid", "welcome_message")
# What Meta sends for a message type it cannot show (131051).
UNSUPPORTED_ERROR = {"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                     "error_data": {"details": "Message type is currently not supported."}}


def _object(spec: dict[str, Any], key: str) -> dict[str, Any]:
    value = spec.get(key)
    if not isinstance(value, dict):
        raise ValueError(f"`{key}` must be an object")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")
    return value


def interactive(spec: dict[str, Any]) -> dict[str, Any]:
    """`interactive`: a reply button tapped, a list row picked, or a flow completed."""
    given = spec.get("interactive") if isinstance(spec.get("interactive"), dict) else spec
    for kind in ("button_reply", "list_reply"):
        if kind in given:
            reply = _object(given, kind)
            part = {"id": _text(reply.get("id"), f"{kind}.id"), "title": _text(reply.get("title"), f"{kind}.title")}
            if kind == "list_reply" and reply.get("description"):
                part["description"] = str(reply["description"])
            return {"type": kind, kind: part}
    if "nfm_reply" in given:
        reply = _object(given, "nfm_reply")
        response = reply.get("response_json")
        if isinstance(response, dict):  # Meta sends it as a JSON string
            response = json.dumps(response)
        _text(response, "nfm_reply.response_json")
        if not isinstance(json.loads(response), dict):
            raise ValueError("nfm_reply.response_json must be a JSON object")
        return {"type": "nfm_reply", "nfm_reply": {"name": reply.get("name") or "flow",
                                                   "body": reply.get("body") or "Sent",
                                                   "response_json": response}}
    raise ValueError("an interactive reply needs button_reply, list_reply or nfm_reply")


def location(spec: dict[str, Any]) -> dict[str, Any]:
    given = spec.get("location") if isinstance(spec.get("location"), dict) else spec
    part: dict[str, Any] = {}
    for axis, bound in (("latitude", 90), ("longitude", 180)):
        value = given.get(axis)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not -bound <= value <= bound:
            raise ValueError(f"a location needs {axis}, a number within ±{bound}")
        part[axis] = value
    for key in ("name", "address", "url"):
        if given.get(key):
            part[key] = str(given[key])
    return part


def contacts(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """`contacts`: an array of cards (Meta's shape), each with at least a formatted name."""
    cards = spec.get("contacts")
    if not isinstance(cards, list) or not cards:
        raise ValueError("`contacts` must be a non-empty array of contact cards")
    for n, card in enumerate(cards):
        if not isinstance(card, dict) or not isinstance(card.get("name"), dict) \
                or not card["name"].get("formatted_name"):
            raise ValueError(f"contacts[{n}] needs name.formatted_name")
        if not isinstance(card.get("phones", []), list):
            raise ValueError(f"contacts[{n}].phones must be an array")
    return cards


def order(spec: dict[str, Any]) -> dict[str, Any]:
    given = _object(spec, "order")
    items = given.get("product_items")
    if not isinstance(items, list) or not items:
        raise ValueError("an order needs product_items, a non-empty array")
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"product_items[{n}] must be an object")
        _text(item.get("product_retailer_id"), f"product_items[{n}].product_retailer_id")
        _text(item.get("currency"), f"product_items[{n}].currency")
        for key in ("quantity", "item_price"):
            if isinstance(item.get(key), bool) or not isinstance(item.get(key), (int, float)):
                raise ValueError(f"product_items[{n}].{key} must be a number")
    part: dict[str, Any] = {"catalog_id": _text(str(given.get("catalog_id") or ""), "order.catalog_id")}
    if given.get("text"):
        part["text"] = str(given["text"])
    part["product_items"] = [dict(i) for i in items]
    return part


def number_change(name: str, old_wa_id: str, new_wa_id: str) -> dict[str, Any]:
    """`system` (user_changed_number): `wa_id` is the new number; `from` stays the old one."""
    return {"body": f"User {name} changed from {old_wa_id} to {new_wa_id}", "wa_id": new_wa_id,
            "type": "user_changed_number"}


def user_id_change(name: str, old_user_id: str, new_user_id: str, old_parent: str | None,
                   new_parent: str | None) -> dict[str, Any]:
    """`system` (user_changed_user_id): the customer's BSUID changed and no phone number can
    be shared; the new ids beside the previous ones (Meta's changelog, 11 Aug 2026)."""
    part: dict[str, Any] = {"body": f"User {name} changed from {old_user_id} to {new_user_id}",
                            "type": "user_changed_user_id", "user_id": new_user_id,
                            "previous_user_id": old_user_id}
    if new_parent:
        part["parent_user_id"] = new_parent
    if old_parent:
        part["previous_parent_user_id"] = old_parent
    return part


def referral(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The ad a text came from (only Meta's documented keys, `source_type` "ad" unless given)."""
    if spec.get("referral") is None:
        return None
    given = _object(spec, "referral")
    unknown = sorted(set(given) - set(REFERRAL_FIELDS))
    if unknown:
        raise ValueError(f"unknown referral field(s): {', '.join(unknown)}")
    part = {"source_type": "ad"} | {k: given[k] for k in REFERRAL_FIELDS if given.get(k) not in (None, "")}
    _text(part.get("source_url"), "referral.source_url")
    return part
