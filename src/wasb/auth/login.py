"""Logging in with a password: counted before it is checked, throttled per client, and
alike for every name.

- Per client address: at most CLIENT_MAX_FAILURES failed attempts in CLIENT_WINDOW; then
  the address gets 429 with Retry-After, whatever name it tries. This is what stops one
  guesser, and it locks nobody else out.
- Per account: ACCOUNT_MAX_FAILURES failures in a row, from any addresses, lock the account
  for LOCKOUT: the backstop against guessing from many addresses. It is twice the
  per-client limit, so one address alone can never lock a user out (an admin can unlock).
- Each attempt takes its slot on both counters in one atomic statement BEFORE the
  password is checked: parallel attempts cannot all slip in before the counters move.
  A correct password gives the slot back.
- Unknown names, locked and deactivated accounts are checked against a dummy argon2 hash
  and refused with the answer a wrong password gets: neither the time taken nor the
  answer tells whether a name exists.

The caller runs three steps: `reserve_attempt` and commit, `check_attempt` (argon2, about
0.3 s, outside any transaction: SQLite's write lock is never held while hashing), then
`finish_attempt` and commit.
"""
from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.orm import Session

from wasb.auth.passwords import check_password, hash_password
from wasb.auth.tables import LoginThrottle, User
from wasb.store.base import UTCDateTime, utcnow
from wasb.store.upsert import insert_for

CLIENT_MAX_FAILURES = 10
CLIENT_WINDOW = timedelta(minutes=15)
ACCOUNT_MAX_FAILURES = 2 * CLIENT_MAX_FAILURES
LOCKOUT = timedelta(minutes=15)


@functools.cache
def dummy_hash() -> str:
    """Checked against when there is no account to check (unknown, locked, deactivated), so
    that every refusal costs the same argon2 work. Made by the same hasher as real password
    hashes, so its parameters follow theirs; once per process, on the first refusal."""
    return hash_password(secrets.token_urlsafe(24))


@dataclass(frozen=True)
class Attempt:
    client: str
    # The account whose slot this attempt took; None when there is none to try
    # (unknown name, locked or deactivated account): the attempt will fail.
    user_id: int | None
    password_hash: str
    # Set when the client has used up its attempts: answer 429, check nothing.
    throttled_until: datetime | None = None


def reserve_attempt(session: Session, client: str, username: str, now: datetime | None = None) -> Attempt:
    now = now or utcnow()
    client = (client or "unknown")[:100]
    throttled_until = _count_client(session, client, now)
    if throttled_until is not None:
        return Attempt(client, None, dummy_hash(), throttled_until)
    user = session.execute(select(User.id, User.password_hash, User.active)
                           .where(User.username == username.strip())).first()
    if user is None or not user.active:
        return Attempt(client, None, dummy_hash())
    failures = User.failed_logins + 1
    reached = failures >= ACCOUNT_MAX_FAILURES
    # The attempt that reaches the limit locks at once (a correct password undoes it in
    # finish_attempt); while locked, no attempt gets a slot. An expired lock counts afresh.
    taken = session.execute(
        update(User).where(User.id == user.id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_logins=case((reached, 0), else_=failures),
                locked_until=case((reached, literal(now + LOCKOUT, UTCDateTime())), else_=None))
        .returning(User.id)).first()
    if taken is None:
        return Attempt(client, None, dummy_hash())
    return Attempt(client, user.id, user.password_hash)


def _count_client(session: Session, client: str, now: datetime) -> datetime | None:
    """Count one attempt for the client; when it is over the limit, until when."""
    cutoff = now - CLIENT_WINDOW
    table = LoginThrottle.__table__
    # Windows that ended are forgotten (the table holds only the last 15 minutes' clients).
    session.execute(delete(LoginThrottle).where(LoginThrottle.window_started_at <= cutoff,
                                                LoginThrottle.client != client))
    stmt = insert_for(session.get_bind().dialect.name, table).values(client=client, window_started_at=now,
                                                                     attempts=1)
    expired = table.c.window_started_at <= cutoff
    stmt = stmt.on_conflict_do_update(index_elements=["client"], set_={
        "attempts": case((expired, 1), else_=table.c.attempts + 1),
        "window_started_at": case((expired, literal(now, UTCDateTime())), else_=table.c.window_started_at),
    }).returning(table.c.attempts, table.c.window_started_at)
    attempts, started = session.execute(stmt).one()
    return started + CLIENT_WINDOW if attempts > CLIENT_MAX_FAILURES else None


def check_attempt(attempt: Attempt, password: str) -> bool:
    """The argon2 check: always run (against the dummy hash when there is no account)."""
    matched = check_password(attempt.password_hash, password)
    return matched and attempt.user_id is not None


def finish_attempt(session: Session, attempt: Attempt, correct: bool) -> User | None:
    """The user for a correct password (their failure count cleared, the client's slot
    given back); None otherwise: the failure was already counted."""
    if not correct or attempt.user_id is None:
        return None
    session.execute(update(User).where(User.id == attempt.user_id).values(
        failed_logins=0, locked_until=None, last_login_at=utcnow()))
    session.execute(update(LoginThrottle).where(LoginThrottle.client == attempt.client, LoginThrottle.attempts > 0)
                    .values(attempts=LoginThrottle.attempts - 1))
    user = session.get(User, attempt.user_id)
    return user if user is not None and user.active else None
