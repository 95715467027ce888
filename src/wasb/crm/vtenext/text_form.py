"""Text a CRM with a 3-byte `utf8` database can store.

Both vtenext and vtiger open their MySQL connection as `utf8` (3 bytes), so every
character outside the Basic Multilingual Plane (emoji above all) is stored as `????`.
The adapter detects this once per process and from then on writes a readable form
(`:thumbs_up:`) instead; the service keeps the original text in its own tables.
"""
from __future__ import annotations

import unicodedata


def has_astral(text: str | None) -> bool:
    """Whether the text holds a character a 3-byte utf8 database would lose."""
    return bool(text) and any(ord(ch) > 0xFFFF for ch in text)


def readable(text: str) -> str:
    """Emoji as `:name:`; any other character outside the BMP as its Unicode name."""
    import emoji  # here: its tables cost each process 5 MiB, and only a utf8 CRM needs them

    text = emoji.demojize(text)
    out = []
    for ch in text:
        if ord(ch) > 0xFFFF:
            out.append(f"[{unicodedata.name(ch, f'U+{ord(ch):X}')}]")
        else:
            out.append(ch)
    return "".join(out)
