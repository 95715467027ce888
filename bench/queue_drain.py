"""Inbound messages/s of one in-process worker drain on PostgreSQL, per queue engine. Run by hand:
`.venv/bin/python bench/queue_drain.py --queue procrastinate [--no-batch] [--concurrency 4]
 [--events 1000] [--customers 100] [--server postgresql://postgres@127.0.0.1:5432/postgres]`.

A database of its own is made on `--server` (migrated by bootstrap, dropped at the end). The
product is built as `wasb serve` builds it (embedded CRM, the engine of `--queue`), not
started. `--events` text webhooks of `--customers` customers are stored in one transaction,
then `app.new_worker().drain()` is timed until every event is processed. `--no-batch` puts
every procrastinate job in procrastinate's own queue (one job per transaction: the engine
before its batch loop), for a before/after on the same box.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import PHONE_NUMBER_ID, text_webhook  # noqa: E402

from wasb.bootstrap import build_app  # noqa: E402
from wasb.config import Config  # noqa: E402
from wasb.inbound.intake import store_bodies  # noqa: E402
from wasb.inbound.tables import PROCESSED, InboundEvent  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queue", choices=["embedded", "procrastinate"], default="procrastinate")
    parser.add_argument("--no-batch", action="store_true", help="procrastinate: no batch queue")
    parser.add_argument("--concurrency", type=int, default=4, help="procrastinate's worker concurrency")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    name = f"wasb_bench_drain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        run(args, args.server.rsplit("/", 1)[0] + "/" + name)
    finally:
        with psycopg.connect(args.server, autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def run(args, url: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wasb-bench-drain-"))
    config = Config(_env_file=None, database_url=url, app_secret="bench", verify_token="bench",
                    access_token="bench", phone_number_id=PHONE_NUMBER_ID, waba_id="1", media_dir=tmp / "media",
                    graph_url="http://127.0.0.1:9", queue=args.queue, worker_concurrency=args.concurrency)
    app = build_app(config)
    if args.no_batch and args.queue == "procrastinate":
        app.queue.batchable = frozenset()
    bodies = [text_webhook(f"3933{i % args.customers:08d}", f"wamid.{i}", f"messaggio {i}", 1764000000 + i)
              for i in range(args.events)]
    with app.db.sessions() as s, s.begin():
        store_bodies(s, app.queue, bodies)
    worker = app.new_worker()
    started, cpu = time.perf_counter(), time.process_time()
    assert worker.drain(600), "the drain did not finish in 600 s"
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    with app.db.read_sessions() as s:
        done = s.scalar(select(func.count()).select_from(InboundEvent).where(InboundEvent.state == PROCESSED))
    assert done == args.events, f"{done} events processed of {args.events}"
    batch = ("its own batches" if args.queue == "embedded" else "no batch queue" if args.no_batch
             else "batch queue")
    print(f"{args.queue} ({batch}, concurrency {args.concurrency}): {args.events} messages of "
          f"{args.customers} customers in {elapsed:.1f} s = {args.events / elapsed:.0f} messages/s; "
          f"this process's CPU {cpu / args.events * 1000:.2f} ms/message; load average {os.getloadavg()[0]:.1f}")
    app.db.dispose()


if __name__ == "__main__":
    main()
