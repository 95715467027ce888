"""File names that are safe in a URL path and in a Content-Disposition header.

File names come from customers (WhatsApp documents) and from whoever uploaded a CRM
document: they may hold quotes, CR/LF, slashes, `..`, or anything else. Nothing here
trusts them.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_LENGTH = 120


def safe_filename(name: str | None, fallback: str = "file") -> str:
    """ASCII letters, digits, `.`, `_` and `-` only; no leading dots; at most 120 characters.

    `Fattura n°12 "finale".pdf` → `Fattura_n_12_finale_.pdf`; `../../etc/passwd` → `etc_passwd`.
    """
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    # Only the last path segment: a name is never a path.
    segments = [part for part in text.replace("\\", "/").split("/") if part.strip(". ")]
    text = segments[-1] if segments else ""
    text = _UNSAFE.sub("_", text).strip("._-") or ""
    if len(text) > MAX_LENGTH:
        stem, dot, extension = text.rpartition(".")
        keep = extension[:16] if dot and stem else ""
        text = text[: MAX_LENGTH - len(keep) - (1 if keep else 0)].rstrip("._-") + (f".{keep}" if keep else "")
    return text or fallback


def content_disposition(disposition: str, filename: str | None, fallback: str = "file") -> str:
    """`inline` or `attachment` with the name twice: an ASCII `filename="…"` every client
    understands, and RFC 6266's `filename*=UTF-8''…` with the original (percent-encoded,
    so no quote, semicolon or line break can reach the header)."""
    if disposition not in ("inline", "attachment"):
        raise ValueError(f"disposition must be inline or attachment, not {disposition!r}")
    ascii_name = safe_filename(filename, fallback)
    original = "".join(ch for ch in (filename or "") if unicodedata.category(ch)[0] != "C").strip()
    header = f'{disposition}; filename="{ascii_name}"'
    if original and original != ascii_name:
        header += f"; filename*=UTF-8''{quote(original, safe='')}"
    return header


def display_filename(name: str | None, fallback: str = "file") -> str:
    """The name to show and keep (a CRM document's title): the original, Unicode and all,
    but only its last path segment, without control characters, at most 300 characters."""
    text = "".join(ch for ch in (name or "") if unicodedata.category(ch)[0] != "C")
    segments = [part for part in text.replace("\\", "/").split("/") if part.strip(". ")]
    text = segments[-1].strip() if segments else ""
    return text[:300] or fallback
