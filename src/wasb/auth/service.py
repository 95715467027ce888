"""Users and API tokens: create, authenticate."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wasb.auth.passwords import check_password, hash_password
from wasb.auth.tables import ApiToken, User
from wasb.store.base import utcnow

TOKEN_PREFIX = "wasb_"


class UserExists(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    """Who is calling: a logged-in user or an API token."""

    name: str
    is_admin: bool
    user_id: int | None = None


def create_user(session: Session, username: str, password: str, *, is_admin: bool = False,
                language: str = "en") -> User:
    username = username.strip()
    if not username:
        raise ValueError("a user needs a name")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserExists(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), is_admin=is_admin, language=language)
    session.add(user)
    session.flush()
    return user


def first_admin(session: Session) -> User | None:
    return session.scalars(select(User).where(User.is_admin.is_(True)).order_by(User.id)).first()


def _token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, *, is_admin: bool = False, user_id: int | None = None) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_token_hash(token), is_admin=is_admin, user_id=user_id))
    session.flush()
    return token


def authenticate_token(session: Session, token: str) -> Principal | None:
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _token_hash(token),
                                                 ApiToken.revoked_at.is_(None))).first()
    if row is None:
        return None
    return Principal(name=f"token:{row.name}", is_admin=row.is_admin, user_id=row.user_id)


def touch_token(session: Session, token: str) -> None:
    session.execute(update(ApiToken).where(ApiToken.token_hash == _token_hash(token)).values(last_used_at=utcnow()))


# --- logging in (the web UI) -------------------------------------------------

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
# Checked against when the user does not exist, so that an unknown name costs as
# much time as a wrong password and names cannot be probed by timing.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$aF0aeIF2upyJubD1XA/bTQ$PfGKq+NIz5bJwY9S2Yu6AUdYiXIzjywGpZBt9CF0GUQ"


@dataclass(frozen=True)
class LoginOutcome:
    """A user for a correct password; otherwise none, and `locked_until` if the account is locked."""

    user: User | None
    locked_until: datetime | None = None


def log_in(session: Session, username: str, password: str, now: datetime | None = None) -> LoginOutcome:
    """Check a password. After 5 failures in a row the account is locked for 15 minutes,
    during which even the right password is refused. Failures are counted in the
    caller's transaction, so the caller must commit a refused outcome too."""
    now = now or utcnow()
    user = session.scalars(select(User).where(User.username == username.strip())).first()
    if user is None:
        check_password(_DUMMY_HASH, password)
        return LoginOutcome(None)
    if user.locked_until and user.locked_until > now:
        return LoginOutcome(None, user.locked_until)
    if not check_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
        session.flush()
        return LoginOutcome(None, user.locked_until if user.locked_until and user.locked_until > now else None)
    user.failed_logins, user.locked_until = 0, None
    session.flush()
    return LoginOutcome(user)


def principal_of(user: User) -> Principal:
    return Principal(name=user.username, is_admin=user.is_admin, user_id=user.id)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def unlock_user(session: Session, user_id: int) -> None:
    session.execute(update(User).where(User.id == user_id).values(failed_logins=0, locked_until=None))


def set_language(session: Session, user_id: int, language: str) -> None:
    session.execute(update(User).where(User.id == user_id).values(language=language))


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def revoke_token(session: Session, token_id: int) -> bool:
    result = session.execute(update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=utcnow()))
    return result.rowcount > 0
