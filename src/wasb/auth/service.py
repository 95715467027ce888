"""Users and API tokens: create, authenticate."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from wasb.auth.passwords import hash_password
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
    # Set when a token's "last used" is due to be written (see note_token_use).
    token_id: int | None = None
    # An API token (an integration), not a person logged in: it never takes conversations.
    via_token: bool = False


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


def _token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, *, is_admin: bool = False, user_id: int | None = None) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_token_hash(token), is_admin=is_admin, user_id=user_id))
    session.flush()
    return token


# "Last used" is kept to the minute or so an admin needs to tell a live token from a dead
# one, not per request: a write per API call would queue every call behind the write lock.
TOKEN_USE_GRANULARITY = timedelta(minutes=5)


def authenticate_token(session: Session, token: str) -> Principal | None:
    row = session.scalars(select(ApiToken).outerjoin(User, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None),
        or_(ApiToken.user_id.is_(None), User.active.is_(True)))).first()
    if row is None:
        return None
    stale = row.last_used_at is None or row.last_used_at < utcnow() - TOKEN_USE_GRANULARITY
    return Principal(name=f"token:{row.name}", is_admin=row.is_admin, user_id=row.user_id,
                     token_id=row.id if stale else None, via_token=True)


def note_token_use(session: Session, token_id: int) -> None:
    """The token's "last used", for a token whose last noted use is older than the granularity."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


# --- sessions, passwords, deactivation (logging in: auth.login) ----------------

def _next_generation():
    return User.session_generation + 1


def end_sessions(session: Session, user_id: int) -> None:
    """Every session cookie of the user stops working (logging out)."""
    session.execute(update(User).where(User.id == user_id).values(session_generation=_next_generation()))


def set_password(session: Session, user_id: int, password: str) -> bool:
    """A new password; the user's sessions end (whoever had the old one is logged out)."""
    result = session.execute(update(User).where(User.id == user_id).values(
        password_hash=hash_password(password), session_generation=_next_generation(),
        failed_logins=0, locked_until=None))
    return result.rowcount > 0


def set_active(session: Session, user_id: int, active: bool) -> bool:
    """Deactivate (no login, sessions and the user's API tokens stop working) or reactivate."""
    result = session.execute(update(User).where(User.id == user_id).values(
        active=active, session_generation=_next_generation()))
    return result.rowcount > 0


def set_role(session: Session, user_id: int, is_admin: bool) -> bool:
    """Admin or agent; the user's next request already has the new role (sessions read it)."""
    result = session.execute(update(User).where(User.id == user_id).values(is_admin=is_admin))
    return result.rowcount > 0


def user_named(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username.strip())).first()


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


PRESENCE_EVERY = timedelta(minutes=1)


def note_presence(session: Session, user_id: int, now: datetime) -> None:
    """One of the user's pages is listening (the live stream): noted at most once a minute,
    so an open page costs one small write a minute, not one per heartbeat."""
    session.execute(update(User).where(User.id == user_id, or_(User.seen_at.is_(None),
                                                                User.seen_at < now - PRESENCE_EVERY))
                    .values(seen_at=now))


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
