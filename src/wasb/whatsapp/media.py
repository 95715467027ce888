"""Media metadata as Meta gives it, and checking downloaded bytes against its hash.

Meta is not consistent about the hash: webhooks carry `sha256` as base64
("SfInY0gG…GUI="), `GET /{media-id}` answers it as 64 hex digits. Both are accepted.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MediaInfo:
    """`GET /{media-id}`: where to download it (a short-lived URL) and what it should be."""
    id: str
    url: str
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | None = None

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> MediaInfo:
        size = body.get("file_size")
        try:
            file_size = int(size) if size is not None else None  # Meta sends it as a string
        except (TypeError, ValueError):
            file_size = None
        return cls(id=str(body.get("id", "")), url=str(body.get("url", "")),
                   mime_type=body.get("mime_type"), sha256=body.get("sha256"), file_size=file_size)


def sha256_matches(content: bytes, expected: str | None) -> bool:
    """True when `content` hashes to `expected`, given as hex or as base64."""
    if not expected:
        return False
    digest = hashlib.sha256(content).digest()
    expected = expected.strip()
    if len(expected) == 64:
        try:
            return hmac.compare_digest(digest, bytes.fromhex(expected))
        except ValueError:
            pass
    try:
        return hmac.compare_digest(digest, base64.b64decode(expected, validate=True))
    except (binascii.Error, ValueError):
        return False
