"""The WhatsApp channel as the sender uses it: the Graph client with the current token,
the rate limits, and the channel's health (shown in /healthz and the settings).

The access token can be replaced at run time (admin setting `access_token`, stored in the
database); the client then uses it instead of WASB_ACCESS_TOKEN, without a restart.
"""
from __future__ import annotations

import hashlib
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from wasb.jobs.queue import JobQueue
from wasb.outbound.ratelimit import PairPacer, TokenBucket, tier_capacity
from wasb.outbound.tables import HEALTHY, UNHEALTHY, ChannelHealth
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings, load_settings
from wasb.store.base import utcnow
from wasb.whatsapp.client import GraphClient

SETTINGS_TTL_SECONDS = 2.0
# While Meta refuses the token, one send a while checks whether it was fixed elsewhere.
AUTH_RETRY_SECONDS = 30.0
SEND_TASK = "outbound.send"


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class Channel:
    """One per runtime (process): what the sender needs between jobs."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        # Chosen once by the wiring: this process's own, or shared through the database.
        self.bucket, self.pacer = (rt.send_limits(self.phone_number_id) if rt.send_limits is not None
                                   else (TokenBucket(tier_capacity(80)), PairPacer()))
        self._lock = threading.Lock()
        self._settings: AdminSettings | None = None
        self._settings_at = 0.0
        self._clients: dict[str, GraphClient] = {}

    @property
    def phone_number_id(self) -> str:
        return self.rt.config.phone_number_id

    def settings(self, session: Session | None = None) -> AdminSettings:
        """The admin settings, re-read at most every 2 s (not once per message at 1,000/s)."""
        with self._lock:
            if self._settings is not None and time.monotonic() - self._settings_at < SETTINGS_TTL_SECONDS:
                return self._settings
        if session is not None:
            fresh = load_settings(session, self.rt.config)
        else:
            with self.rt.db.read_sessions() as s:
                fresh = load_settings(s, self.rt.config)
        with self._lock:
            self._settings, self._settings_at = fresh, time.monotonic()
            self.bucket.configure(tier_capacity(fresh.send_rate_per_second))
        return fresh

    def forget_settings(self) -> None:
        with self._lock:
            self._settings = None

    def token(self) -> str:
        return self.settings().access_token or self.rt.config.access_token.get_secret_value()

    def client(self) -> GraphClient:
        """The Graph client for the current token (one HTTP connection pool for all)."""
        token = self.token()
        base: GraphClient = self.rt.graph
        if token == self.rt.config.access_token.get_secret_value():
            return base
        with self._lock:
            client = self._clients.get(token)
            if client is None:
                self._clients = {token: base.with_token(token)}  # the old token is of no use
                client = self._clients[token]
            return client


# One Channel per runtime (its rate limits and token cache live as long as the runtime).
_channels: "weakref.WeakKeyDictionary[Runtime, Channel]" = weakref.WeakKeyDictionary()
_channels_lock = threading.Lock()


def channel_for(rt: Runtime) -> Channel:
    with _channels_lock:
        channel = _channels.get(rt)
        if channel is None:
            channel = _channels[rt] = Channel(rt)
        return channel


# --- health -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Health:
    status: str
    reason: str | None
    since: Any
    error_code: int | None = None

    def view(self) -> dict:
        return {"status": self.status, "reason": self.reason, "since": self.since, "error_code": self.error_code}


def channel_health(session: Session, phone_number_id: str) -> Health:
    row = session.get(ChannelHealth, phone_number_id)
    if row is None:
        return Health(HEALTHY, None, None)
    return Health(row.status, row.reason, row.since, row.error_code)


def mark_unhealthy(session: Session, phone_number_id: str, reason: str, code: int | None,
                   token: str | None) -> None:
    """`token`: the one Meta refused (sends then wait for a new one); None when the token
    worked but the account or number is restricted (sends go on, the health tells why)."""
    row = session.get(ChannelHealth, phone_number_id)
    now = utcnow()
    if row is None:
        row = ChannelHealth(phone_number_id=phone_number_id, since=now)
        session.add(row)
    if row.status != UNHEALTHY:
        row.since = now
    row.status, row.reason, row.error_code = UNHEALTHY, reason, code
    row.checked_at, row.token_fingerprint = now, fingerprint(token) if token else None


def mark_healthy(session: Session, phone_number_id: str) -> None:
    row = session.get(ChannelHealth, phone_number_id)
    if row is not None and row.status != HEALTHY:
        row.status, row.reason, row.error_code, row.since = HEALTHY, None, None, utcnow()
        row.checked_at = utcnow()


def auth_wait_seconds(session: Session, phone_number_id: str, token: str) -> float:
    """How long to hold a send because Meta refused this very token recently (0: go)."""
    row = session.get(ChannelHealth, phone_number_id)
    if row is None or row.status != UNHEALTHY or row.token_fingerprint != fingerprint(token):
        return 0.0
    elapsed = (utcnow() - row.checked_at).total_seconds()
    return max(0.0, AUTH_RETRY_SECONDS - elapsed)


def resume_sending(session: Session, queue: JobQueue) -> int:
    """A new token was saved: the sends waiting for it are due now."""
    return queue.run_now(session, [SEND_TASK])
