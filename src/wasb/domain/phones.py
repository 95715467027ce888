"""Phone numbers: E.164 inside, the configured prefix in the CRM, any writing accepted."""
from __future__ import annotations

import re

import phonenumbers

_NON_DIAL = re.compile(r"[^\d+]")


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, default_country: str = "IT") -> str:
    """Read a number in any common writing and return it as E.164 (`+393351032246`).

    Accepts `+39 335 103 2246`, `0039 335…`, `393351032246` (a WhatsApp wa_id has
    no plus), and national `335 1032246` read in the default country.
    """
    if raw is None:
        raise InvalidPhone("no phone number")
    text = raw.replace("\u00a0", " ").strip()
    compact = _NON_DIAL.sub("", text)
    if not compact or not any(ch.isdigit() for ch in compact):
        raise InvalidPhone(f"{raw!r} is not a phone number")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    candidates = [compact] if compact.startswith("+") else [compact, "+" + compact]
    for candidate in candidates:
        region = None if candidate.startswith("+") else default_country
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # A wa_id is always international without the plus; accept a possible number in
    # that form even when the metadata does not know the range (new ranges, tests).
    try:
        number = phonenumbers.parse("+" + compact.lstrip("+"), None)
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    raise InvalidPhone(f"{raw!r} is not a valid phone number")


def wa_id_to_e164(wa_id: str) -> str:
    """A WhatsApp id is the international number without `+`."""
    digits = _NON_DIAL.sub("", wa_id).lstrip("+")
    if not digits.isdigit():
        raise InvalidPhone(f"{wa_id!r} is not a WhatsApp phone id")
    return "+" + digits


def e164_to_wa_id(e164: str) -> str:
    return e164.lstrip("+")


def with_prefix(e164: str, prefix: str) -> str:
    """How the number is written into CRM fields: `+39…` or `0039…`."""
    if prefix == "00":
        return "00" + e164.lstrip("+")
    return e164


def same_number(raw: str | None, e164: str, default_country: str = "IT") -> bool:
    if not raw:
        return False
    try:
        return to_e164(raw, default_country) == e164
    except InvalidPhone:
        return False


def country_of(e164: str) -> str | None:
    """The ISO country a number belongs to (`IT` for +39…), None when the ranges do not tell."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


def in_numbering_plan(e164: str) -> bool:
    """Whether a country's numbering plan has this number. `to_e164` also takes numbers that
    are merely possible (a customer's wa_id from a range the metadata does not know yet);
    numbers typed into a list for sending are held to this stricter rule."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False
