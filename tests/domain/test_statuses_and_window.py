from datetime import datetime, timedelta, timezone

import pytest

from wasb.domain.statuses import next_status
from wasb.domain.window import window_closes_at, window_is_open


@pytest.mark.parametrize("current,incoming,expected", [
    ("sent", "delivered", "delivered"),
    ("read", "delivered", "read"),
    ("delivered", "sent", "delivered"),
    ("sent", "failed", "failed"),
    ("failed", "read", "failed"),
    ("queued", "sent", "sent"),
    ("delivered", "deleted", "delivered"),
])
def test_statuses_never_move_backwards_and_failed_is_final(current, incoming, expected):
    assert next_status(current, incoming) == expected


def test_window_is_open_for_24_hours_after_the_last_inbound_message():
    last = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert window_is_open(last, last + timedelta(hours=23, minutes=59))
    assert not window_is_open(last, last + timedelta(hours=24))
    assert not window_is_open(None, last)
    assert window_closes_at(last) == last + timedelta(hours=24)


def test_meta_closing_the_window_wins_over_our_clock_until_the_customer_writes_again():
    from wasb.domain.window import customer_window

    last = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    closed = last + timedelta(hours=2)
    assert customer_window(last, None, last + timedelta(hours=3)).open
    shut = customer_window(last, closed, last + timedelta(hours=3))
    assert not shut.open and shut.closed_at == closed
    expired = customer_window(last, None, last + timedelta(hours=25))
    assert not expired.open and expired.closed_at == last + timedelta(hours=24)
    never = customer_window(None, None, last)
    assert not never.open and never.never_opened and never.closed_at is None
    # a closing older than the customer's latest message no longer counts
    assert customer_window(last, last - timedelta(minutes=1), last + timedelta(hours=1)).open


def test_a_customer_timestamp_in_the_future_opens_the_window_when_we_received_it():
    from wasb.domain.window import window_opened_at

    received = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert window_opened_at(received + timedelta(hours=24), received) == received
    # Meta's time of a message that reached us late: the window is shorter, as Meta's is
    assert window_opened_at(received - timedelta(minutes=30), received) == received - timedelta(minutes=30)


def test_a_stored_inbound_time_in_the_future_never_keeps_the_window_open_more_than_24_hours():
    from wasb.conversations.tables import Conversation
    from wasb.conversations.window import window_of

    now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    future = now + timedelta(hours=24, minutes=59)  # stored before times were clamped at receipt
    shown = window_of(Conversation(last_inbound_at=future), None, now)
    assert shown.is_open and shown.closes_at <= now + timedelta(hours=24)
    assert shown.expires_at == shown.closes_at
