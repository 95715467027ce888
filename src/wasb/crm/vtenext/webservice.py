"""The transport to a vtenext / vtiger `webservice.php`: one logged-in session per process.

Protocol facts this follows (see shared/vtenext-webservice.md):
- reads (getchallenge, query, retrieve, describe, listtypes) are GET with query-string
  parameters; writes (login, create, update, revise, delete) are POST with form fields
  (a `query` by POST is refused with ACCESS_DENIED);
- login is `getchallenge` then `login` with accessKey = md5(token + access key);
- vtiger deletes a user's earlier challenge tokens when it issues a new one, so two
  logins in parallel make each other fail: logging in happens under one lock and the
  session is shared by every thread;
- sessions expire (30 min idle): on INVALID_SESSIONID we log in again, once;
- 5 failed logins lock the CRM user: a refused login is retried at most once (never
  when the ledger serializes logins across processes: PostgreSQL), then
  held (`auth_failure`) and no login is attempted until `reset_auth()`. The hold and
  the count of refused logins live in a ledger (wasb.crm.vtenext.memory), which the
  service keeps in its database so that every process (the service, `wasb crm
  check`) shares them, and which never allows the attempt that could be the 5th;
- an unknown operation or a PHP fatal error answers HTTP 500 with an empty body.

Never log the access key or the session name: either one lets a reader act as the
CRM user.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from typing import Any

import httpx

from wasb.crm.port import CRMAuthError, CRMError, CRMUnavailable
from wasb.crm.vtenext.memory import LoginLedger, MemoryLedger

log = logging.getLogger(__name__)


class _RedactSessions(logging.Filter):
    """httpx logs every request URL at INFO, and reads must carry the session name in
    the query string: blank it out before any handler sees it."""

    _SECRET = re.compile(r"(sessionName|accessKey)=[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "sessionName=" in message or "accessKey=" in message:
            record.msg, record.args = self._SECRET.sub(r"\1=***", message), ()
        return True


logging.getLogger("httpx").addFilter(_RedactSessions())

WRITE_OPERATIONS = frozenset({"login", "create", "update", "revise", "delete"})

# Refusals of the credentials themselves: retrying with the same ones cannot help.
AUTH_CODES = frozenset({"INVALID_USER_CREDENTIALS", "INVALID_AUTH_TOKEN", "LOGIN_LOCKED", "IP_BANNED"})
# Of those, the ones where a second attempt is pointless even once: the CRM has
# already locked us out, and every further attempt extends the lock.
NO_RETRY_CODES = frozenset({"LOGIN_LOCKED", "IP_BANNED"})


class WebserviceError(CRMError):
    """The CRM answered `success: false`; `code` is its error code (ACCESS_DENIED, ...)."""

    def __init__(self, code: str, message: str, operation: str):
        super().__init__(f"{operation}: {code}: {message}")
        self.code = code
        self.message = message
        self.operation = operation


class Webservice:
    """A client of one CRM's webservice, logged in as one user, safe to share between threads."""

    def __init__(
        self,
        url: str,
        username: str,
        access_key: str,
        *,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
        ledger: LoginLedger | None = None,
    ):
        base = url.rstrip("/")
        if base.endswith("/webservice.php"):
            base = base[: -len("/webservice.php")]
        self.endpoint = base + "/webservice.php"
        self.username = username
        self._access_key = access_key
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._login_lock = threading.Lock()
        self._session: str | None = None
        self._user_id: str | None = None
        self.ledger: LoginLedger = ledger or MemoryLedger()

    def __repr__(self) -> str:  # no secrets in tracebacks or logs
        return f"Webservice({self.endpoint!r}, user={self.username!r})"

    # --- authentication state, readable by the service for the admin -------------

    @property
    def auth_failure(self) -> str | None:
        """Why logging in is held (the CRM refused our credentials), or None. While
        set, no process sharing the ledger logs in."""
        return self.ledger.hold(self.username)

    def reset_auth(self, *, forget_failures: bool = False) -> None:
        """Allow logging in again (after an admin fixed the user or the access key).
        The count of refused logins stays unless `forget_failures` (the admin has
        unlocked the user in the CRM): only a successful login zeroes it."""
        with self._login_lock:
            self.ledger.clear_hold(self.username, forget_failures=forget_failures)
            self._session = None

    def set_credentials(self, username: str, access_key: str) -> None:
        with self._login_lock:
            self.username = username
            self._access_key = access_key
            self.ledger.clear_hold(username)
            self._session = None

    @property
    def user_id(self) -> str:
        """The webservice id of the logged-in user (`19x1`); logs in if needed."""
        self._ensure_session()
        assert self._user_id is not None
        return self._user_id

    def close(self) -> None:
        self._http.close()

    # --- operations -----------------------------------------------------------------

    def query(self, vtql: str) -> list[dict]:
        return self.call("query", query=vtql)

    def retrieve(self, record_id: str) -> dict:
        return self.call("retrieve", id=record_id)

    def describe(self, module: str) -> dict:
        return self.call("describe", elementType=module)

    def create(self, module: str, element: dict) -> dict:
        return self.call("create", elementType=module, element=json.dumps(element))

    def revise(self, element: dict) -> dict:
        return self.call("revise", element=json.dumps(element))

    def update(self, element: dict) -> dict:
        return self.call("update", element=json.dumps(element))

    def delete(self, record_id: str) -> dict:
        return self.call("delete", id=record_id)

    def call(self, operation: str, **params: str) -> Any:
        """One operation in the shared session, logging in again once if it expired."""
        session = self._ensure_session()
        try:
            return self._send(operation, {**params, "sessionName": session})
        except WebserviceError as exc:
            if exc.code != "INVALID_SESSIONID":
                raise
            log.info("CRM session expired during %s; logging in again", operation)
        session = self._ensure_session(expired=session)
        try:
            return self._send(operation, {**params, "sessionName": session})
        except WebserviceError as exc:
            if exc.code == "INVALID_SESSIONID":
                # A fresh session refused at once: the CRM is misbehaving; try later.
                raise CRMUnavailable(f"the CRM refused a fresh session for {operation}") from exc
            raise

    # --- internals ------------------------------------------------------------------

    def _ensure_session(self, expired: str | None = None) -> str:
        with self._login_lock:
            if expired is not None and self._session == expired:
                self._session = None
            if self._session is not None:
                return self._session
            # One process of the cluster at a time (when the ledger can tell): the others
            # find the hold a refused login set, and make no attempt of their own.
            with self.ledger.turn(self.username) as alone:
                hold = self.ledger.hold(self.username)
                if hold is not None:
                    raise CRMAuthError(f"CRM login disabled until the credentials are fixed: {hold}")
                self._session, self._user_id = self._login(attempts=1 if alone else 2)
            return self._session

    def _login(self, attempts: int = 2) -> tuple[str, str]:
        """Challenge + login, at most `attempts`, each reserved in the ledger first;
        called with the login lock held. A second attempt is for a challenge another
        login clobbered meanwhile: pointless when no login of ours can overlap."""
        user = self.username
        last: WebserviceError | None = None
        refusal: str | None = None
        for attempt in range(1, attempts + 1):
            refusal = self.ledger.reserve(user)
            if refusal is not None:
                if last is None:
                    raise CRMAuthError(f"CRM login disabled until the credentials are fixed: {refusal}")
                break  # the hold is set by the refusal below, with the CRM's own reason
            try:
                challenge = self._send("getchallenge", {"username": user})
                token = str(challenge.get("token", ""))
                key = hashlib.md5((token + self._access_key).encode()).hexdigest()
                result = self._send("login", {"username": user, "accessKey": key})
            except WebserviceError as exc:
                if exc.code not in AUTH_CODES:
                    self.ledger.release(user)
                    raise
                last = exc
                log.warning("CRM login as %s refused (attempt %d): %s", user, attempt, exc.code)
                if exc.code in NO_RETRY_CODES:
                    break
                continue
            except BaseException:
                self.ledger.release(user)  # no answer about the credentials: not a refusal
                raise
            session, user_id = result.get("sessionName"), result.get("userId")
            if not session or not user_id:
                self.ledger.release(user)
                raise CRMUnavailable("the CRM answered login without a session")
            self.ledger.succeeded(user)
            log.info("logged in to the CRM as %s (%s)", user, user_id)
            return str(session), str(user_id)
        assert last is not None
        reason = f"{last.code}: {last.message}" + (f"; {refusal}" if refusal else "")
        self.ledger.set_hold(user, reason)
        raise CRMAuthError(f"the CRM refused the login of {user}: {reason}") from last

    def _send(self, operation: str, params: dict[str, str]) -> Any:
        try:
            if operation in WRITE_OPERATIONS:
                response = self._http.post(self.endpoint, data={"operation": operation, **params})
            else:
                response = self._http.get(self.endpoint, params={"operation": operation, **params})
        except httpx.TimeoutException as exc:
            raise CRMUnavailable(f"the CRM did not answer {operation} in time") from exc
        except httpx.HTTPError as exc:
            raise CRMUnavailable(f"the CRM cannot be reached ({type(exc).__name__})") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "success" not in body:
            # HTTP 500 with an empty body (unknown operation, PHP fatal), an HTML error
            # page from a proxy, ...: a fault of the CRM, to retry later, not a crash.
            raise CRMUnavailable(
                f"the CRM answered {operation} with HTTP {response.status_code} and no webservice answer"
            )
        if body["success"]:
            return body.get("result")
        error = body.get("error") or {}
        raise WebserviceError(str(error.get("code", "UNKNOWN")), str(error.get("message", "")), operation)
