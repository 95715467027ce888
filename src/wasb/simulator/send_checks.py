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
from wasb.simulator.state import PLACEHOLDER, Template

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


def _count_mismatch(part: str, given: int, expected: int) -> MetaError:
    return MetaError(132000, f"{part}: number of localizable_params ({given}) does not match the expected "
                             f"number of params ({expected})")


def template_header_media(template: Template, given: list[Any]) -> dict[str, Any] | None:
    """A template send's header parameter for a media or location header: exactly one, of the
    header's format (an image by `id` or `link`, a location with its coordinates). Returns
    `{"type": kind, …the object}` or None when the header is text or absent."""
    kind = template.header_media
    if kind is None:
        if template.header_text is None and given:
            raise _count_mismatch("header", len(given), 0)
        return None
    if len(given) != 1:
        raise _count_mismatch("header", len(given), 1)
    parameter = given[0]
    received = str(parameter.get("type") or "unknown").upper() if isinstance(parameter, dict) else "UNKNOWN"
    if received != kind.upper():
        raise MetaError(132012, f"header: Format mismatch, expected {kind.upper()}, received {received}")
    content = parameter.get(kind)
    path = f"template['components'][header]['parameters'][0]['{kind}']"
    if kind == "location":
        try:
            check_location(content)
        except MetaError as error:
            raise MetaError(100, str(error.details).replace("location[", f"{path}[", 1)) from None
        return {"type": "location", **content}
    if not isinstance(content, dict) or not (content.get("id") or content.get("link")):
        raise MetaError(100, f"The parameter {path}['id'] or {path}['link'] is required.")
    link = content.get("link")
    if link is not None and (not isinstance(link, str) or not link.startswith(("https://", "http://"))):
        raise MetaError(100, f"Param {path}['link'] must be an http(s) URL.")
    return {"type": kind, **{k: content[k] for k in ("id", "link", "filename") if content.get(k)}}


COUPON_CODE_MAX = 15  # Meta: a copy-code button's code is at most 15 characters


def template_actions(template: Template, given: dict[int, tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """The template's URL, copy-code and call buttons as the customer sees them, each dynamic one
    filled by the send's `button` component of its index (`sub_type` url: the URL's suffix,
    copy_code: the code). A missing or unexpected one is Meta's 132000, a wrong kind 132012."""
    dynamic = template.dynamic_buttons()
    extra = sorted(set(given) - set(dynamic))
    if extra:
        raise _count_mismatch(f"button at index {extra[0]}", len(given[extra[0]][1]), 0)
    actions = []
    for index, button in enumerate(template.buttons):
        kind = str(button.get("type", "QUICK_REPLY")).upper()
        if kind == "QUICK_REPLY":
            continue
        action = {"type": kind, "text": button.get("text", ""), "index": index}
        if kind == "PHONE_NUMBER":
            action["phone_number"] = button.get("phone_number")
        if index not in dynamic:
            if kind == "URL":
                action["url"] = button["url"]
            actions.append(action)
            continue
        sub_type, parameters = given.get(index, ("", []))
        if len(parameters) != 1:
            raise _count_mismatch(f"button at index {index}", len(parameters), 1)
        if sub_type != dynamic[index]:
            raise MetaError(132012, f"button at index {index}: Format mismatch, expected sub_type "
                                    f"{dynamic[index]}, received {sub_type or 'none'}")
        parameter = parameters[0] if isinstance(parameters[0], dict) else {}
        if dynamic[index] == "url":
            suffix = parameter.get("text") if parameter.get("type") == "text" else None
            if not isinstance(suffix, str) or not suffix:
                raise MetaError(132012, f"button at index {index}: a URL button's parameter is "
                                        "{\"type\": \"text\", \"text\": …}")
            action["url"] = PLACEHOLDER.sub(lambda _: suffix, button["url"], count=1)
        else:
            code = parameter.get("coupon_code") if parameter.get("type") == "coupon_code" else None
            if not isinstance(code, str) or not code:
                raise MetaError(132012, f"button at index {index}: a copy-code button's parameter is "
                                        "{\"type\": \"coupon_code\", \"coupon_code\": …}")
            if len(code) > COUPON_CODE_MAX:
                raise MetaError(100, f"Param coupon_code must be at most {COUPON_CODE_MAX} characters long.")
            action["code"] = code
        actions.append(action)
    return actions
