"""What a burst test checks once the dust has settled, whichever processes it killed: every
message stored once, each customer's in the order sent, one ticket per customer with the
first message in its description and the others as comments, in order.

A burst's message `index` of customer `wa_id` has the wamid `wamid.<tag>.<wa_id>.<index:02d>`
and the text `words(wa_id, index)`; `rows(sql)` runs a query on the service database."""
from __future__ import annotations

from collections import defaultdict
from typing import Callable

Rows = Callable[[str], list]


def verify_every_message_once_in_order(rows: Rows, tag: str, customers: list[str], per_customer: int,
                                       words: Callable[[str, int], str]) -> None:
    expected = {f"wamid.{tag}.{c}.{i:02d}" for c in customers for i in range(per_customer)}
    stored = [w for (w,) in rows(f"SELECT wamid FROM message WHERE wamid LIKE 'wamid.{tag}.%' ORDER BY id")]
    assert len(stored) == len(set(stored)), "a message was stored twice"
    assert set(stored) == expected, f"missing: {sorted(expected - set(stored))[:5]}"
    arrival: dict[str, list[int]] = defaultdict(list)
    for w in stored:  # in message id order
        _, _, wa_id, index = w.split(".")
        arrival[wa_id].append(int(index))
    out_of_order = {c: got for c, got in arrival.items() if got != list(range(per_customer))}
    assert not out_of_order, f"{len(out_of_order)} customers out of order, e.g. {next(iter(out_of_order.items()))}"
    assert rows("SELECT count(*) FROM inbound_event WHERE state = 'failed'")[0][0] == 0

    tickets: dict[str, list[tuple[int, str]]] = defaultdict(list)
    wanted = set(customers)
    for mobile, ticket_id, description in rows("SELECT p.mobile_e164, t.id, t.description FROM crm_ticket t "
                                               "JOIN crm_person p ON p.id = t.person_id"):
        if mobile and mobile.lstrip("+") in wanted:
            tickets[mobile.lstrip("+")].append((ticket_id, description))
    assert {c: len(t) for c, t in tickets.items() if len(t) != 1} == {}
    assert set(tickets) == wanted
    comments: dict[int, list[str]] = defaultdict(list)
    for ticket_id, body in rows("SELECT ticket_id, body FROM crm_comment ORDER BY id"):
        comments[ticket_id].append(body)
    for wa_id, ((ticket_id, description),) in tickets.items():
        assert description.endswith(words(wa_id, 0)), description
        assert comments[ticket_id] == [words(wa_id, i) for i in range(1, per_customer)], wa_id
