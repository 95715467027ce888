"""English and Italian, gettext-style: the English text is the key, Italian the value.

A missing translation shows the English text (never a key or a blank), and a test
checks that every string the templates and routes use has its Italian entry.
"""
from __future__ import annotations

from typing import Callable

LANGUAGES = {"en": "English", "it": "Italiano"}

# Labels whose key is not itself English text (settings, states).
EN: dict[str, str] = {
    "setting:auto_ticket": "Open a ticket for each new conversation",
    "setting:phone_prefix": "Default prefix",
    "setting:time_window_days": "Time window (days)",
    "setting:reference_user": "Reference user",
    "setting:ticket_priority": "Ticket priority",
    "setting:status_open": "Ticket status: open",
    "setting:status_waiting": "Ticket status: waiting for the customer",
    "setting:status_answered": "Ticket status: customer answered",
    "setting:status_closed": "Ticket status: closed",
    "help:auto_ticket": "A customer's open ticket is reused; otherwise a new one is opened.",
    "help:phone_prefix": "How numbers are written into the CRM: +39… or 0039….",
    "help:time_window_days": "How far back synchronisation looks at modified records.",
    "help:reference_user": "New leads and tickets are assigned to this user.",
    "health:ok": "Working",
    "health:unhealthy": "Not working",
    "health:unknown": "Not checked yet",
}

IT: dict[str, str] = {}


def language_of(user, accept_language: str = "") -> str:
    if user is not None and user.language in LANGUAGES:
        return user.language
    return "it" if accept_language.lower().startswith("it") else "en"


def _humanize(key: str) -> str:
    return key.partition(":")[2].replace("_", " ").capitalize()


def translator(lang: str) -> Callable[..., str]:
    catalog = IT if lang == "it" else EN

    def _(text: str, **values) -> str:
        translated = catalog.get(text) or EN.get(text)
        if translated is None:
            # A setting a later issue adds shows a readable label until it is translated.
            translated = _humanize(text) if text.startswith("setting:") else text
        return translated.format(**values) if values else translated

    return _
