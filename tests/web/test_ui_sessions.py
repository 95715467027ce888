"""The session cookie: signed, expiring, and void once the password changes."""
from __future__ import annotations

import time

from wasb.web.ui.sessions import CookieSigner, SessionData, cookie_header, password_fingerprint


def test_a_signed_session_reads_back_and_a_tampered_one_does_not():
    signer = CookieSigner(b"secret")
    data = SessionData(user_id=7, csrf="c" * 20, expires=int(time.time()) + 60, fingerprint="f")
    value = signer.dumps(data)
    assert signer.loads(value) == data
    body, _, mac = value.partition(".")
    forged = SessionData(user_id=1, csrf=data.csrf, expires=data.expires, fingerprint="f")
    assert signer.loads(signer.dumps(forged).partition(".")[0] + "." + mac) is None
    assert CookieSigner(b"other secret").loads(value) is None
    assert signer.loads("garbage") is None and signer.loads("a.b") is None


def test_an_expired_session_is_refused():
    signer = CookieSigner(b"secret")
    value = signer.dumps(SessionData(user_id=7, csrf="c", expires=int(time.time()) - 1))
    assert signer.loads(value) is None


def test_the_cookie_is_httponly_samesite_and_secure_only_over_https():
    signer = CookieSigner(b"secret")
    data = SessionData(user_id=None, csrf="c", expires=int(time.time()) + 60)
    plain, secure = cookie_header(signer, data, secure=False), cookie_header(signer, data, secure=True)
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    assert secure.endswith("; Secure")


def test_a_new_password_changes_the_fingerprint():
    assert password_fingerprint("$argon2id$a") != password_fingerprint("$argon2id$b")
