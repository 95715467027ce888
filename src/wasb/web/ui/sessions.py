"""The web UI's session: a signed cookie, the user it names, and CSRF.

The cookie holds {user id, CSRF token, expiry, session generation, a fingerprint of the
password hash}, signed with HMAC-SHA256. Nothing secret is in it. Sessions are revocable:
the user's row keeps a session generation, and a cookie of an older generation is no
session. Logging out, a new password and deactivation move the generation on, so they end
every session of that user (logging out on one device logs out the others too: the price
of keeping no per-session rows). The password fingerprint also voids the cookie when the
hash is changed behind the service's back. The signing secret is
`WASB_SESSION_SECRET`, or one generated once and kept in the database so that restarts
and several processes share it.

The middleware also makes cookie sessions usable by the REST API (the UI's fetch
calls): it sets `request.state.user`, and for unsafe methods on /api/ it demands the
X-CSRF-Token header, since a browser sends cookies with cross-site requests too.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie

import orjson
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse

from wasb.auth.service import Principal
from wasb.auth.tables import User
from wasb.settings.tables import Setting
from wasb.store.upsert import insert_for

COOKIE = "wasb_session"
LIFETIME_SECONDS = 12 * 3600  # a working day; then log in again
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_SECRET_KEY = "ui_session_secret"


@dataclass(frozen=True)
class UiUser:
    id: int
    username: str
    is_admin: bool
    language: str

    @property
    def principal(self) -> Principal:
        return Principal(name=self.username, is_admin=self.is_admin, user_id=self.id)


@dataclass(frozen=True)
class SessionData:
    user_id: int | None
    csrf: str
    expires: int
    fingerprint: str = ""
    generation: int = 0


def session_secret(db, configured: str) -> bytes:
    """The configured secret, else the one stored in the database (made on first use)."""
    if configured:
        return configured.encode()
    with db.sessions() as session, session.begin():
        stored = session.scalar(select(Setting.value).where(Setting.key == _SECRET_KEY))
        if not stored:
            stmt = insert_for(db.dialect, Setting.__table__).values(key=_SECRET_KEY, value=secrets.token_hex(32))
            session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
            stored = session.scalar(select(Setting.value).where(Setting.key == _SECRET_KEY))
    return str(stored).encode()


def password_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class CookieSigner:
    def __init__(self, secret: bytes):
        self._key = hashlib.sha256(b"wasb-ui-session:" + secret).digest()

    def _mac(self, data: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, data, hashlib.sha256).digest()).decode().rstrip("=")

    def sign_text(self, text: str) -> str:
        """A MAC for other small values the UI hands the browser (flash messages)."""
        return self._mac(b"flash:" + text.encode())

    def dumps(self, data: SessionData) -> str:
        body = base64.urlsafe_b64encode(orjson.dumps(
            {"u": data.user_id, "c": data.csrf, "e": data.expires, "f": data.fingerprint,
             "g": data.generation})).decode().rstrip("=")
        return f"{body}.{self._mac(body.encode())}"

    def loads(self, value: str, now: float | None = None) -> SessionData | None:
        body, _, mac = value.partition(".")
        if not body or not mac or not hmac.compare_digest(mac, self._mac(body.encode())):
            return None
        try:
            raw = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            data = SessionData(user_id=raw.get("u"), csrf=str(raw["c"]), expires=int(raw["e"]),
                               fingerprint=str(raw.get("f") or ""), generation=int(raw.get("g") or 0))
        except (ValueError, KeyError, TypeError):
            return None
        return data if data.expires > (now or time.time()) else None


def new_session(user: User | None = None) -> SessionData:
    return SessionData(user_id=user.id if user else None, csrf=secrets.token_urlsafe(32),
                       expires=int(time.time()) + LIFETIME_SECONDS,
                       fingerprint=password_fingerprint(user.password_hash) if user else "",
                       generation=user.session_generation if user else 0)


def cookie_header(signer: CookieSigner, data: SessionData | None, *, secure: bool) -> str:
    if data is None:
        value, max_age = "", 0
    else:
        value, max_age = signer.dumps(data), LIFETIME_SECONDS
    flags = f"; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
    return f"{COOKIE}={value}{flags}"


def _cookie_value(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is no session
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


def _header(scope, wanted: bytes) -> str:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return ""


class SessionMiddleware:
    """Pure ASGI (no response buffering), so the server-sent event stream flows freely."""

    def __init__(self, app, *, signer_for, db):
        self.app = app
        self.signer_for = signer_for  # a callable: the signer is made once the app has started
        self.db = db

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        is_ui = path == "/" or path.startswith("/ui")
        is_api = path.startswith("/api/")
        if not (is_ui or is_api):
            return await self.app(scope, receive, send)
        signer = self.signer_for()
        raw = _cookie_value(scope)
        data = signer.loads(raw) if raw else None
        state = scope.setdefault("state", {})
        user = await run_in_threadpool(self._user, data) if data and data.user_id else None
        if data and data.user_id and user is None:
            data = None  # logged out, deactivated, gone or a new password: a fresh anonymous session
        bearer = bool(_header(scope, b"authorization"))
        if user is not None and not (is_api and bearer):
            state["ui_user"] = user
            state["user"] = user.principal
        if data is not None:
            state["csrf"] = data.csrf
        if is_api and user is not None and not bearer and scope["method"] not in SAFE_METHODS:
            sent = _header(scope, CSRF_HEADER.encode())
            if not sent or not hmac.compare_digest(sent, data.csrf):
                response = JSONResponse({"detail": "missing or wrong X-CSRF-Token header"}, status_code=403)
                return await response(scope, receive, send)
        if data is None and is_ui:
            # Every page gets a session, anonymous at first, so that even the login form
            # carries a CSRF token.
            data = new_session()
            state["csrf"] = data.csrf
            secure = scope.get("scheme") == "https"
            set_cookie = cookie_header(signer, data, secure=secure)

            async def send_with_cookie(message):
                if message["type"] == "http.response.start":
                    headers = MutableHeaders(scope=message)
                    if not any(v.startswith(COOKIE + "=") for v in headers.getlist("set-cookie")):
                        headers.append("set-cookie", set_cookie)
                await send(message)

            return await self.app(scope, receive, send_with_cookie)
        return await self.app(scope, receive, send)

    def _user(self, data: SessionData) -> UiUser | None:
        with self.db.read_sessions() as session:
            row = session.get(User, data.user_id)
            if (row is None or not row.active or row.session_generation != data.generation
                    or not hmac.compare_digest(password_fingerprint(row.password_hash), data.fingerprint)):
                return None
            return UiUser(id=row.id, username=row.username, is_admin=row.is_admin, language=row.language or "en")

