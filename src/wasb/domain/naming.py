"""Names the original plugin gives conversations and tickets."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local_stamp(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def conversation_name(first_message_at: datetime, number: str, tz: ZoneInfo) -> str:
    """`YYYY-MM-DD HH:MM:SS - <number>` with the time of the first message."""
    return f"{local_stamp(first_message_at, tz)} - {number}"


def ticket_title(first_message_at: datetime, number_with_prefix: str, tz: ZoneInfo) -> str:
    return f"{local_stamp(first_message_at, tz)} - {number_with_prefix}"


def ticket_entry(moment: datetime, text: str, tz: ZoneInfo) -> str:
    """A description block as the plugin writes it: the time, then the text."""
    return f"{local_stamp(moment, tz)}\n{text}"
