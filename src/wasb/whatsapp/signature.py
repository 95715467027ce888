"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`."""
from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"


def sign_body(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for this body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """True when the header is the HMAC of exactly these bytes (constant-time compare)."""
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign_body(body, app_secret), header.strip())
