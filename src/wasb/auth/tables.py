"""People who log in (agents, admins) and the API tokens tools use."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="en")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by a successful password login (not by API tokens, which have their own last use).
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A deactivated user cannot log in, and their sessions end at once.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Every session cookie carries the generation it was issued in; logging out, a new
    # password or deactivation move it on, and every older cookie stops working.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Presence: when one of the user's pages last listened to the live stream (written at most
    # once a minute); auto-assignment gives new conversations to users seen lately.
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When auto-assignment last gave this user a conversation: the round robin's turn.
    auto_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    # Only the SHA-256 of the token is stored; the token itself is shown once.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Login attempts per client address in the current window (see auth.login)."""
    __tablename__ = "login_throttle"

    client: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
