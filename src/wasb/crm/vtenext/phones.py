"""Matching phone numbers written by hand in the CRM.

Phones are stored exactly as typed (`+39 335 103 2246`, `0039-335-1032246`,
`335 1032246`, even with non-breaking spaces), so an equality in VTQL finds almost
nothing. We ask the CRM for candidates with a LIKE on the number's digits with a
wildcard between each (any separators match), then normalize each candidate with the
service's own rule (`wasb.domain.phones`) and keep those that are the same number.
"""
from __future__ import annotations

import phonenumbers

from wasb.domain.phones import InvalidPhone
from wasb.domain.phones import to_e164 as _to_e164


def to_e164(raw: str | None, default_region: str) -> str | None:
    """The E.164 form of a number as a person typed it, or None if it is not one."""
    if not raw:
        return None
    try:
        return _to_e164(raw, default_region)
    except InvalidPhone:
        return None


def like_pattern(e164: str) -> str:
    """`%3%3%5%1%0%3%2%2%4%6%`: the national digits with any separators around them.

    The country code is left out: a number stored in national form has none. Only
    digits and `%` are produced, so the pattern is safe in a literal.
    """
    number = phonenumbers.parse(e164, None)
    digits = str(number.national_number)
    return "%" + "%".join(digits) + "%"
