"""Benchmark of the inbox's search by text. Run by hand: `.venv/bin/python bench/search.py`.

Fills a migrated database (SQLite by default, or --database-url) with N conversations of M
messages each — ordinary words, plus an order number in one message of each conversation —
then times the inbox query for a rare text (one order number), a text that is nowhere, a
common word (in about half the messages) and a name, once through the search index and once
by the plain scan the index replaced (search.COMMON = -1 forces the scan on SQLite).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time

from sqlalchemy import insert

from wasb.contacts.tables import WaContact
from wasb.conversations import search
from wasb.conversations.tables import Conversation, Message
from wasb.store.base import utcnow
from wasb.store.engine import open_database
from wasb.store.migrate import upgrade
from wasb.web.ui.views import inbox_rows

WORDS = ["ordine", "spedizione", "fattura", "grazie", "buongiorno", "consegna", "problema", "pacco", "rimborso",
         "taglia", "colore", "indirizzo", "pagamento", "corriere", "sconto", "reso", "cambio", "negozio"]


def fill(db, conversations: int, per: int) -> None:
    rng = random.Random(7)
    now = utcnow()
    with db.sessions() as session, session.begin():
        session.execute(insert(WaContact), [{"id": i + 1, "wa_id": f"3933{i:08d}", "phone_e164": f"+3933{i:08d}",
                                             "profile_name": f"Customer {i}"} for i in range(conversations)])
        session.execute(insert(Conversation), [{"id": i + 1, "name": f"conversation {i}", "phone_number_id": "1",
                                                "wa_contact_id": i + 1, "status": "open", "last_message_at": now}
                                               for i in range(conversations)])
        for start in range(0, conversations, 500):
            rows = []
            for i in range(start, min(start + 500, conversations)):
                for j in range(per):
                    body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))
                    if j == per // 2:
                        body += f" ORD-{100000 + i}"
                    rows.append({"conversation_id": i + 1, "direction": "in", "type": "text", "status": "received",
                                 "timestamp": now, "body": body, "wamid": f"wamid.{i}.{j}"})
            session.execute(insert(Message), rows)


def timed(db, q: str, repeat: int) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(repeat):
        with db.read_sessions() as session:
            t0 = time.perf_counter()
            found = len(inbox_rows(session, q=q, limit=200))
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=100, help="per conversation")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="an empty database to fill (default: a temporary SQLite file)")
    args = parser.parse_args()
    path = None
    url = args.database_url
    if not url:
        path = tempfile.mktemp(suffix=".db", prefix="wasb-search-")
        url = f"sqlite:///{path}"
    upgrade(url)
    db = open_database(url)
    try:
        t0 = time.perf_counter()
        fill(db, args.conversations, args.messages)
        total = args.conversations * args.messages
        print(f"{db.engine.dialect.name}: {args.conversations:,} conversations, {total:,} messages "
              f"(filled in {time.perf_counter() - t0:.1f} s); median of {args.repeat}, inbox limit 200")
        queries = [("rare (one order number)", f"ord-{100000 + args.conversations // 2}"),
                   ("nowhere", "zzzz-not-there"), ("common word", "rimborso"), ("a name", "Customer 12")]
        common = search.COMMON
        for label, q in queries:
            search.COMMON = common
            indexed, n = timed(db, q, args.repeat)
            search.COMMON = -1  # no count is below it: always the scan
            scan = f"{timed(db, q, args.repeat)[0]:8.1f} ms" if db.engine.dialect.name == "sqlite" else "     n/a"
            print(f"  {label:<24} {q!r:<18} {n:>4} rows   index/adaptive {indexed:8.1f} ms   scan {scan}")
        search.COMMON = common
    finally:
        db.dispose()
        if path:
            os.remove(path)


if __name__ == "__main__":
    main()
