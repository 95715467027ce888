"""What a template needs filled in, read from its components, and the checks Meta would do.

Pure functions, no I/O. A caller fills *keys*:

    "1", "2"…            body placeholders of a positional template ({{1}}, {{2}})
    "first_name"…         body placeholders of a named template ({{first_name}})
    "header.1" / "header.first_name"   a text header's placeholder
    "button.0"            the variable part of dynamic URL button 0 (or a copy-code button's code)

    "header.latitude", "header.longitude", "header.name", "header.address"   a location header

and a media header (image, document, video) is filled with a CRM document (`header_document_id`).
Checking here first turns Meta's 132000 (wrong count) and 132012 (wrong format) into a
sentence before anything is queued.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
POSITIONAL = "POSITIONAL"
NAMED = "NAMED"
MEDIA_HEADERS = {"IMAGE": "image", "DOCUMENT": "document", "VIDEO": "video"}
LOCATION = "location"
LOCATION_FIELDS = (("latitude", 90.0), ("longitude", 180.0), ("name", None), ("address", None))
MAX_VALUE = 1024
# Meta refuses parameters with new lines, tabs or more than four consecutive spaces.
_BAD_WHITESPACE = re.compile(r"[\r\n\t]+| {5,}")


class ParameterError(ValueError):
    """The values given do not fit the template; the message says which and why."""


@dataclass(frozen=True)
class Slot:
    key: str
    component: str  # header | body | button
    placeholder: str
    example: str | None = None
    index: int | None = None  # the button's position
    sub_type: str | None = None  # url | copy_code (buttons)

    def view(self) -> dict:
        view = {"key": self.key, "component": self.component, "placeholder": self.placeholder,
                "example": self.example}
        if self.component == "button":
            view.update(index=self.index, sub_type=self.sub_type)
        return view


@dataclass(frozen=True)
class TemplateParameters:
    format: str
    slots: list[Slot] = field(default_factory=list)
    header_media: str | None = None  # image | document | video: needs header_document_id; location: its slots
    known: bool = True  # False: the components were never synced, nothing can be checked

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.slots]

    def view(self) -> dict:
        return {"format": self.format, "known": self.known, "header_media": self.header_media,
                "parameters": [s.view() for s in self.slots]}


def _distinct(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _component(components: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    for component in components:
        if str(component.get("type", "")).upper() == kind:
            return component
    return None


def _examples(component: Mapping[str, Any] | None, part: str, placeholders: list[str]) -> dict[str, str]:
    """Meta's sample values: `{part}_text` (positional, [[…]] or […]) or `{part}_text_named_params`."""
    example = (component or {}).get("example") or {}
    named = example.get(f"{part}_text_named_params")
    if isinstance(named, list):
        return {str(p.get("param_name")): str(p.get("example")) for p in named if isinstance(p, Mapping)}
    values = example.get(f"{part}_text")
    if isinstance(values, list) and values and isinstance(values[0], list):
        values = values[0]
    if isinstance(values, list):
        return {name: str(value) for name, value in zip(placeholders, values)}
    return {}


def describe_parameters(template: Any) -> TemplateParameters:
    """The keys a caller fills for this template (a Template row, or anything with
    `components` and `parameter_format`)."""
    components = template.components
    if not components:
        return TemplateParameters(format=template.parameter_format or POSITIONAL, known=False)
    slots: list[Slot] = []
    header_media = None
    names: list[str] = []
    header = _component(components, "HEADER")
    if header is not None:
        header_format = str(header.get("format") or "TEXT").upper()
        if header_format in MEDIA_HEADERS:
            header_media = MEDIA_HEADERS[header_format]
        elif header_format == "LOCATION":
            header_media = LOCATION
            slots += [Slot(f"header.{name}", "header", name) for name, _ in LOCATION_FIELDS]
        elif header_format == "TEXT":
            placeholders = _distinct(PLACEHOLDER.findall(str(header.get("text") or "")))
            examples = _examples(header, "header", placeholders)
            slots += [Slot(f"header.{p}", "header", p, examples.get(p)) for p in placeholders]
            names += placeholders
    body = _component(components, "BODY")
    if body is not None:
        placeholders = _distinct(PLACEHOLDER.findall(str(body.get("text") or "")))
        examples = _examples(body, "body", placeholders)
        slots += [Slot(p, "body", p, examples.get(p)) for p in placeholders]
        names += placeholders
    buttons = _component(components, "BUTTONS")
    for index, button in enumerate((buttons or {}).get("buttons") or []):
        kind = str(button.get("type") or "").upper()
        example = button.get("example")
        example = str(example[0]) if isinstance(example, list) and example else (str(example) if example else None)
        if kind == "URL" and PLACEHOLDER.search(str(button.get("url") or "")):
            slots.append(Slot(f"button.{index}", "button", "1", example, index, "url"))
        elif kind == "COPY_CODE":
            slots.append(Slot(f"button.{index}", "button", "code", example, index, "copy_code"))
    declared = str(template.parameter_format or "").upper()
    fmt = declared if declared in (POSITIONAL, NAMED) else (
        NAMED if any(not n.isdigit() for n in names) else POSITIONAL)
    return TemplateParameters(format=fmt, slots=slots, header_media=header_media)


def _clean(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ParameterError(f"parameter {key} must be text, not {type(value).__name__}")
    text = _BAD_WHITESPACE.sub(" ", str(value)).strip()
    if not text:
        raise ParameterError(f"parameter {key} is empty; WhatsApp refuses empty parameters")
    if len(text) > MAX_VALUE:
        raise ParameterError(f"parameter {key} is {len(text)} characters long; at most {MAX_VALUE}")
    return text


def as_mapping(parameters: TemplateParameters, values: Sequence[Any] | Mapping[str, Any] | None) -> dict[str, Any]:
    """Values keyed by slot key: a list fills the body's positional placeholders in order."""
    if values is None:
        return {}
    if isinstance(values, Mapping):
        return {str(k): v for k, v in values.items()}
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ParameterError("params must be a list (positional body values) or an object keyed by parameter")
    if parameters.format == NAMED:
        body = [s.key for s in parameters.slots if s.component == "body"]
        raise ParameterError(f"this template has named parameters ({', '.join(body)}); give params as an object")
    return {str(i): v for i, v in enumerate(values, start=1)}


def _slot_label(slot: Slot) -> str:
    if slot.component == "button":
        return f"{slot.key} (dynamic part of button {slot.index})"
    return f"{slot.key} ({slot.component} {{{{{slot.placeholder}}}}})"


def check_values(parameters: TemplateParameters, values: Mapping[str, Any], *,
                 header_document: bool = False) -> dict[str, str]:
    """Every slot filled with text, nothing unknown: the cleaned values, or ParameterError."""
    if not parameters.known:
        return {k: _clean(k, v) for k, v in values.items()}
    unknown = [k for k in values if k not in parameters.keys]
    if unknown:
        takes = ", ".join(parameters.keys) or "no parameters"
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}; this template takes: {takes}")
    missing = [s for s in parameters.slots if values.get(s.key) is None]
    if missing:
        raise ParameterError(f"this template needs {len(parameters.slots)} parameter(s); missing: "
                             + ", ".join(_slot_label(s) for s in missing))
    needs_document = parameters.header_media in MEDIA_HEADERS.values()
    if needs_document and not header_document:
        raise ParameterError(f"this template has a {parameters.header_media} header: "
                             "give header_document_id (a CRM document)")
    if header_document and not needs_document:
        raise ParameterError("this template has no media header; header_document_id does not apply")
    cleaned = {s.key: _clean(s.key, values[s.key]) for s in parameters.slots}
    if parameters.header_media == LOCATION:
        for name, bound in LOCATION_FIELDS:
            if bound is None:
                continue
            try:
                number = float(cleaned[f"header.{name}"])
            except ValueError:
                raise ParameterError(f"parameter header.{name} must be a number (decimal degrees)") from None
            if not -bound <= number <= bound:
                raise ParameterError(f"parameter header.{name} must be between {-bound:g} and {bound:g}")
    return cleaned


def message_parts(parameters: TemplateParameters, values: Mapping[str, str]) -> dict[str, Any]:
    """What the sender needs to build the components: body and header values (a list when
    positional, a dict when named), the media header kind, and the button components."""
    named = parameters.format == NAMED

    def part(component: str) -> list[str] | dict[str, str] | None:
        slots = [s for s in parameters.slots if s.component == component]
        if not slots:
            return None
        if named:
            return {s.placeholder: values[s.key] for s in slots}
        return [values[s.key] for s in slots]

    if not parameters.known:
        # Never synced: pass the body values as given (Meta has the last word).
        body_keys = [k for k in values if not k.startswith(("header.", "button."))]
        body: Any = ([values[k] for k in sorted(body_keys, key=int)] if all(k.isdigit() for k in body_keys)
                     else {k: values[k] for k in body_keys}) if body_keys else None
        return {"body": body, "header": None, "header_media": None, "buttons": []}
    buttons = []
    for slot in parameters.slots:
        if slot.component != "button":
            continue
        parameter = ({"type": "text", "text": values[slot.key]} if slot.sub_type == "url"
                     else {"type": "coupon_code", "coupon_code": values[slot.key]})
        buttons.append({"type": "button", "sub_type": slot.sub_type, "index": str(slot.index),
                        "parameters": [parameter]})
    if parameters.header_media == LOCATION:
        location: dict[str, Any] = {name: values[f"header.{name}"] for name, _ in LOCATION_FIELDS}
        for name, _ in LOCATION_FIELDS[:2]:
            location[name] = float(location[name])
        return {"body": part("body"), "header": None, "header_media": LOCATION, "header_location": location,
                "buttons": buttons}
    return {"body": part("body"), "header": part("header"), "header_media": parameters.header_media,
            "buttons": buttons}


def render_body(template: Any, values: Mapping[str, str]) -> str | None:
    """The body text as the customer reads it (for the conversation and the ticket)."""
    body = _component(template.components or [], "BODY")
    if body is None:
        return None
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), str(body.get("text") or ""))
