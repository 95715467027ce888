"""LIKE patterns for "contains this text", with the text's own wildcards taken literally.

Every search that builds a LIKE from what a person typed uses this: a `%` or `_` typed into
a search box must find the records containing it, not every record."""
from __future__ import annotations

_LIKE_SPECIALS = ("\\", "%", "_")


def contains_pattern(text: str) -> tuple[str, str | None]:
    """`(pattern, escape)` for `column.like(pattern, escape=escape)`: `%text%` literally."""
    if not any(ch in text for ch in _LIKE_SPECIALS):
        # No ESCAPE clause: SQLite hands only a plain LIKE to the FTS5 index.
        return f"%{text}%", None
    for ch in _LIKE_SPECIALS:
        text = text.replace(ch, "\\" + ch)
    return f"%{text}%", "\\"
