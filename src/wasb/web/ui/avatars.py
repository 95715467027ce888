"""One colour per person, wherever their avatar shows (inbox, conversation, ticket)."""
from __future__ import annotations

import re
import zlib

TONES = 6  # .avatar-0 … .avatar-5 in app.css


def avatar_tone(key: str | None) -> int:
    """The avatar's colour from a stable key: the phone number (however it is written:
    "+39 335 103 2246", "+393351032246" and "0039 335…" are one person), else the name.
    A row id would give one person a new colour in each conversation."""
    text = (key or "").strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 6:
        text = digits[2:] if digits.startswith("00") else digits
    return zlib.crc32(text.lower().encode()) % TONES
