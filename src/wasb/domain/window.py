"""The customer-service window: free-form messages only within 24 h of the customer's
last inbound message; templates any time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)


def window_closes_at(last_inbound_at: datetime | None) -> datetime | None:
    return None if last_inbound_at is None else last_inbound_at + WINDOW


def window_is_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    closes = window_closes_at(last_inbound_at)
    return closes is not None and now < closes


@dataclass(frozen=True)
class Window:
    """Whether a free-form message may go out now, and when the window closed (if it did)."""

    open: bool
    closed_at: datetime | None  # None while open, and when the customer never wrote
    never_opened: bool = False


def customer_window(last_inbound_at: datetime | None, closed_by_meta_at: datetime | None,
                    now: datetime) -> Window:
    """Our clock says open for 24 h after the customer's last message; a 131047 from Meta
    (`closed_by_meta_at`, later than that message) closes it whatever our clock says."""
    if last_inbound_at is None:
        return Window(open=False, closed_at=None, never_opened=True)
    closes = window_closes_at(last_inbound_at)
    if closed_by_meta_at is not None and closed_by_meta_at >= last_inbound_at:
        return Window(open=False, closed_at=min(closed_by_meta_at, closes))
    if now < closes:
        return Window(open=True, closed_at=None)
    return Window(open=False, closed_at=closes)
