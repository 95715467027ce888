"""Matching phone numbers written by hand in the CRM.

Phones are stored exactly as typed (`+39 335 103 2246`, `0039-335-1032246`,
`335 1032246`, even with non-breaking spaces), so an equality in VTQL finds almost
nothing. We ask the CRM for candidates with a LIKE on the number's digits with a
wildcard between each (any separators match), then normalize each candidate here
and keep those whose E.164 form is the number we look for.
"""
from __future__ import annotations

import phonenumbers


def to_e164(raw: str | None, default_region: str) -> str | None:
    """The E.164 form of a number as a person typed it, or None if it is not one."""
    if not raw:
        return None
    text = "".join(ch for ch in raw if ch.isdigit() or ch == "+")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.strip("+"):
        return None
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def like_pattern(e164: str) -> str:
    """`%3%3%5%1%0%3%2%2%4%6%`: the national digits with any separators around them.

    The country code is left out: a number stored in national form has none. Only
    digits and `%` are produced, so the pattern is safe in a literal.
    """
    number = phonenumbers.parse(e164, None)
    digits = str(number.national_number)
    return "%" + "%".join(digits) + "%"
