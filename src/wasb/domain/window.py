"""The customer-service window: free-form messages only within 24 h of the customer's
last inbound message; templates any time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)


def window_opened_at(customer_time: datetime, received_at: datetime) -> datetime:
    """When a customer's message opens the window: when we received it, or the webhook's
    timestamp when that is earlier. A timestamp in the future (a skewed clock, the
    simulator's moved one) never lengthens the window; an earlier one (Meta's time of the
    message, delivered to us late) shortens it, as Meta's own window is."""
    return min(customer_time, received_at)


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
    closes_at: datetime | None = None  # while open: when it will close


def customer_window(last_inbound_at: datetime | None, closed_by_meta_at: datetime | None,
                    now: datetime) -> Window:
    """Our clock says open for 24 h after the customer's last message; a 131047 from Meta
    (`closed_by_meta_at`, later than that message) closes it whatever our clock says. The
    window then closed 24 h after the customer's message when that came before the failure
    (Meta's 131047 says just that: more than 24 h since the customer last wrote); only
    when our clock still had it open is the failure the earliest time we know it closed.
    `closed_by_meta_at` is the failed status's own timestamp (Meta's clock), not when we
    learnt of it."""
    if last_inbound_at is None:
        return Window(open=False, closed_at=None, never_opened=True)
    # A time stored before the receipt clamp (in the future) counts as now: never more than 24 h.
    last_inbound_at = min(last_inbound_at, now)
    closes = window_closes_at(last_inbound_at)
    if closed_by_meta_at is not None and closed_by_meta_at >= last_inbound_at:
        return Window(open=False, closed_at=min(closed_by_meta_at, closes))
    if now < closes:
        return Window(open=True, closed_at=None, closes_at=closes)
    return Window(open=False, closed_at=closes)
