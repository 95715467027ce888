"""Meta's checks of a send's body beyond its envelope: who it goes to (`recipient_type`),
and the parts whose shape Meta validates before accepting anything: contact cards,
interactive messages, locations.

Each check raises `MetaError` as Graph answers a malformed send: code 100, message
"(#100) Invalid parameter", `error_data.details` naming the parameter (Meta's wording,
"The parameter X is required." / "Param X must be …"). Limits are those of Meta's
message reference (reply buttons: 1–3, titles up to 20 characters; lists: up to 10 rows
in up to 10 sections, row titles up to 24 characters; coordinates in range).
"""
from __future__ import annotations

from typing import Any

from wasb.simulator.meta_errors import MetaError

RECIPIENT_TYPES = ("individual", "group")
INTERACTIVE_TYPES = ("button", "list", "cta_url", "flow", "product", "product_list", "catalog_message",
                     "location_request_message", "call_permission_request")
# The interactive kinds whose `body.text` Meta requires (a product message may go without).
NEEDS_BODY = ("button", "list", "cta_url", "flow", "product_list", "catalog_message",
              "location_request_message", "call_permission_request")
BODY_MAX = 4096
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_BUTTON_MAX = 20
ROW_TITLE_MAX = 24
ROW_ID_MAX = 200
ROW_DESCRIPTION_MAX = 72
SECTION_TITLE_MAX = 24
MAX_ROWS = 10
MAX_SECTIONS = 10


def _required(path: str) -> MetaError:
    return MetaError(100, f"The parameter {path} is required.")


def _text(container: Any, key: str, path: str, limit: int | None = None, *, required: bool = True) -> None:
    value = container.get(key) if isinstance(container, dict) else None
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        raise _required(f"{path}['{key}']")
    if limit is not None and len(value) > limit:
        raise MetaError(100, f"Param {path}['{key}'] must be at most {limit} characters long.")


def _object(container: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = container.get(key)
    if not isinstance(value, dict):
        raise _required(f"{path}['{key}']")
    return value


def check_recipient_type(body: dict[str, Any]) -> bool:
    """True when the send is addressed to a group. Meta takes `individual` (the default) or
    `group`; anything else is an invalid parameter."""
    kind = body.get("recipient_type", "individual")
    if kind not in RECIPIENT_TYPES:
        raise MetaError(100, f"Param recipient_type must be one of {{{', '.join(t.upper() for t in RECIPIENT_TYPES)}}}"
                             f" - got \"{kind}\".")
    return kind == "group"


def group_unknown() -> MetaError:
    """A group send to an id that is no group of this number: Groups API's 131041."""
    return MetaError(131041)


def check_contact_cards(cards: Any) -> None:
    """`type: contacts`: a non-empty array of cards, each with `name.formatted_name`. An
    object (one card not wrapped in an array) is refused as Meta refuses it."""
    if cards is None:
        raise _required("contacts")
    if not isinstance(cards, list):
        raise MetaError(100, "Param contacts must be an array.")
    if not cards:
        raise MetaError(100, "Param contacts must contain at least 1 element.")
    for n, card in enumerate(cards):
        if not isinstance(card, dict):
            raise MetaError(100, f"Param contacts[{n}] must be an object.")
        _text(_object(card, "name", f"contacts[{n}]"), "formatted_name", f"contacts[{n}]['name']")


def check_location(location: Any) -> None:
    """`type: location`: latitude and longitude (numbers in range); name and address optional."""
    if not isinstance(location, dict):
        raise _required("location")
    for key, bound in (("latitude", 90.0), ("longitude", 180.0)):
        value = location.get(key)
        if value is None or value == "":
            raise _required(f"location['{key}']")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise MetaError(100, f"Param location['{key}'] must be a number.") from None
        if not -bound <= number <= bound:
            raise MetaError(100, f"Param location['{key}'] must be between {-bound:g} and {bound:g}.")
    for key in ("name", "address"):
        if key in location and not isinstance(location[key], str):
            raise MetaError(100, f"Param location['{key}'] must be a string.")


def check_interactive(interactive: Any) -> str:
    """`type: interactive`: its `type`, `body.text` where Meta requires one, and an `action`
    shaped for the kind (reply buttons, list sections and rows, a CTA URL, a flow).
    Answers the text the customer sees first (the body)."""
    if not isinstance(interactive, dict):
        raise _required("interactive")
    kind = interactive.get("type")
    if kind is None:
        raise _required("interactive['type']")
    if kind not in INTERACTIVE_TYPES:
        raise MetaError(100, f"Param interactive['type'] must be one of "
                             f"{{{', '.join(t.upper() for t in INTERACTIVE_TYPES)}}} - got \"{kind}\".")
    if kind in NEEDS_BODY:
        _text(_object(interactive, "body", "interactive"), "text", "interactive['body']", BODY_MAX)
    action = _object(interactive, "action", "interactive")
    if kind == "button":
        _check_buttons(action)
    elif kind == "list":
        _check_list(action)
    elif kind in ("cta_url", "flow"):
        if action.get("name") != kind:
            raise MetaError(100, f"Param interactive['action']['name'] must be \"{kind}\".")
        parameters = _object(action, "parameters", "interactive['action']")
        if kind == "cta_url":
            _text(parameters, "display_text", "interactive['action']['parameters']", BUTTON_TITLE_MAX)
            _text(parameters, "url", "interactive['action']['parameters']")
    body = interactive.get("body")
    return str(body.get("text") or "") if isinstance(body, dict) else ""


def _check_buttons(action: dict[str, Any]) -> None:
    path = "interactive['action']['buttons']"
    buttons = action.get("buttons")
    if buttons is None:
        raise _required(path)
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise MetaError(100, f"Param {path} must contain at least 1 and at most 3 elements.")
    ids: set[str] = set()
    for n, button in enumerate(buttons):
        where = f"{path}[{n}]"
        if not isinstance(button, dict) or button.get("type") != "reply":
            raise MetaError(100, f"Param {where}['type'] must be one of {{REPLY}}.")
        reply = _object(button, "reply", where)
        _text(reply, "id", f"{where}['reply']", BUTTON_ID_MAX)
        _text(reply, "title", f"{where}['reply']", BUTTON_TITLE_MAX)
        if reply["id"] in ids:
            raise MetaError(100, f"Param {where}['reply']['id'] must be unique.")
        ids.add(reply["id"])


def _check_list(action: dict[str, Any]) -> None:
    _text(action, "button", "interactive['action']", LIST_BUTTON_MAX)
    path = "interactive['action']['sections']"
    sections = action.get("sections")
    if sections is None:
        raise _required(path)
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
        raise MetaError(100, f"Param {path} must contain at least 1 and at most {MAX_SECTIONS} elements.")
    rows_in_all = 0
    ids: set[str] = set()
    for n, section in enumerate(sections):
        where = f"{path}[{n}]"
        if not isinstance(section, dict):
            raise MetaError(100, f"Param {where} must be an object.")
        # A title tells sections apart: Meta asks for one as soon as there are two.
        _text(section, "title", where, SECTION_TITLE_MAX, required=len(sections) > 1)
        rows = section.get("rows")
        if not isinstance(rows, list) or not rows:
            raise _required(f"{where}['rows']")
        rows_in_all += len(rows)
        for m, row in enumerate(rows):
            row_path = f"{where}['rows'][{m}]"
            if not isinstance(row, dict):
                raise MetaError(100, f"Param {row_path} must be an object.")
            _text(row, "id", row_path, ROW_ID_MAX)
            _text(row, "title", row_path, ROW_TITLE_MAX)
            _text(row, "description", row_path, ROW_DESCRIPTION_MAX, required=False)
            if row["id"] in ids:
                raise MetaError(100, f"Param {row_path}['id'] must be unique.")
            ids.add(row["id"])
    if rows_in_all > MAX_ROWS:
        raise MetaError(100, f"Param {path} must contain at most {MAX_ROWS} rows in all.")
