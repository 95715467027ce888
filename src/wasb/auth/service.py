"""Users and API tokens: create, authenticate."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
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
