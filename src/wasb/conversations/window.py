"""A conversation's customer-service window as agents and API clients see it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation
from wasb.domain.window import customer_window
from wasb.domain.clock import window_now


@dataclass(frozen=True)
class Window:
    """Open or not, and when it closes (open) or closed (closed; None: the customer never wrote)."""

    closes_at: datetime | None
    is_open: bool
    now: datetime | None = None  # the window's clock when this was read (the page's countdown starts there)

    @property
    def expires_at(self) -> datetime | None:
        """The end of an open window; None when it is closed or never opened (the API's
        `window_expires_at`)."""
        return self.closes_at if self.is_open else None


def window_of(conversation: Conversation, contact: WaContact | None, now: datetime | None = None) -> Window:
    now = now or window_now()
    last_inbound = max(filter(None, [conversation.last_inbound_at, contact.last_inbound_at if contact else None]),
                       default=None)
    window = customer_window(last_inbound, contact.window_closed_at if contact else None, now)
    if window.open:
        return Window(window.closes_at, True, now)
    return Window(window.closed_at, False, now)
