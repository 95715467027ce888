"""Benchmark of the inbound worker alone, in-process. Run by hand:
`.venv/bin/python bench/inbound_worker.py [--events 4000] [--database postgresql://…/empty_db]`.

The product is built as `wasb serve` builds it (embedded CRM), not started. First the
`--events / 2` known customers write once (not timed: each gets a lead, a conversation and
an open ticket). Then `--events` webhooks are stored (one text message each: half from those
known customers, half from new numbers), and the worker drains the queue, timed. Reports
messages/s, the process's CPU time per message, and the SQL statements per message the write engine saw while draining:
the work (queries and writes), the queue's own (claim, delete of finished jobs), and
transaction control (BEGIN, SAVEPOINT, RELEASE). The FTS batch indexing of 0013 runs inside
the timed drain (the worker writes it).

For main's figures run the same file with main's code first on the path:
`PYTHONPATH=/work/main/src .venv/bin/python bench/inbound_worker.py`.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import PHONE_NUMBER_ID, text_webhook  # noqa: E402

from wasb.bootstrap import build_app  # noqa: E402
from wasb.config import Config  # noqa: E402
from wasb.inbound.intake import store_bodies  # noqa: E402
from wasb.inbound.tables import PROCESSED, InboundEvent  # noqa: E402
from wasb.jobs.worker import Worker  # noqa: E402

# A text as long as a customer's question, not a one-word test string.
ASK = ": vorrei sapere dove è il mio ordine"
CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", re.IGNORECASE)
QUEUE = re.compile(r"^\s*(WITH due AS|UPDATE job SET status|DELETE FROM job WHERE)", re.IGNORECASE)


def store(app, bodies: list[bytes]) -> None:
    for start in range(0, len(bodies), 500):
        with app.db.sessions() as s, s.begin():
            store_bodies(s, app.queue, bodies[start:start + 500])


def drain(worker: Worker) -> None:
    while worker.run_once():
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=4000, help="messages timed (half known, half new customers)")
    parser.add_argument("--database", help="an empty PostgreSQL database (default: a temporary SQLite file)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wasb-bench-worker-"))
    url = args.database or f"sqlite:///{tmp / 'wasb.db'}"
    config = Config(_env_file=None, database_url=url, app_secret="bench", verify_token="bench",
                    access_token="bench", phone_number_id=PHONE_NUMBER_ID, waba_id="1", media_dir=tmp / "media",
                    graph_url="http://127.0.0.1:9")
    app = build_app(config)
    worker = Worker(app, app.db, app.tasks, may_batch=app.crm_policy.may_batch)
    known = [f"39333{i:07d}" for i in range(args.events // 2)]
    new = [f"39334{i:07d}" for i in range(args.events - len(known))]
    store(app, [text_webhook(n, f"wamid.k{n}", "primo" + ASK, 1764000000) for n in known])
    drain(worker)

    # Known and new customers in turn, as they arrive.
    bodies = [text_webhook(n, f"wamid.n{n}", "ciao" + ASK, 1764000100) for n in new]
    for i, n in enumerate(known):
        bodies.insert(2 * i, text_webhook(n, f"wamid.a{n}", "ancora" + ASK, 1764000100))
    store(app, bodies)
    counts = {"work": 0, "queue": 0, "control": 0}

    def count(_conn, _cursor, statement, *_rest) -> None:
        kind = "control" if CONTROL.match(statement) else "queue" if QUEUE.match(statement) else "work"
        counts[kind] += 1

    event.listen(app.db.engine, "before_cursor_execute", count)
    started, cpu = time.perf_counter(), time.process_time()
    drain(worker)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    event.remove(app.db.engine, "before_cursor_execute", count)
    with app.db.read_sessions() as s:
        done = s.scalar(select(func.count()).select_from(InboundEvent).where(InboundEvent.state == PROCESSED))
    assert done == len(known) + len(bodies), f"{done} events processed of {len(known) + len(bodies)}"
    n = len(bodies)
    print(f"{app.db.dialect}: {n:,} messages ({len(known):,} known customers, {len(new):,} new), "
          f"worker batch {worker.batch_size}, pid {os.getpid()}")
    # CPU time is the steadier figure on a shared machine (wall time waits for other processes).
    print(f"  {n / elapsed:8.0f} messages/s   ({elapsed:.2f} s; this process's CPU {cpu / n * 1000:.2f} ms "
          f"per message)")
    print(f"  statements per message: work {counts['work'] / n:.2f}, queue {counts['queue'] / n:.2f}, "
          f"transaction control {counts['control'] / n:.2f}")
    app.db.dispose()


if __name__ == "__main__":
    main()
