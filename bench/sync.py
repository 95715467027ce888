"""Benchmark of syncCustomers (issue 5). Run by hand: `.venv/bin/python bench/sync.py`.

For each CRM size (default 10,000 and 100,000 people in the embedded CRM, all changed
within the sync window, every one with a distinct mobile):
1. the first full run: time, peak RSS growth of this process (psutil, sampled), and
   the peak of Python allocations (tracemalloc, in a second identical run on a copy
   of the database, so the timing does not carry tracemalloc's overhead);
2. an incremental run after 100 changes (50 renamed, 50 with a new number): time and
   peaks. Its cost should follow the 100 changes, not the CRM's size.

`--database-url postgresql://…/db` runs against PostgreSQL (an empty database, one
size at a time) instead of a temporary SQLite file.
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import psutil
from sqlalchemy import insert, select

from wasb.bootstrap import build_app
from wasb.config import Config
from wasb.crm.embedded.tables import CrmPerson
from wasb.scheduler.service import execute_run
from wasb.scheduler.ticker import register_jobs
from wasb.store.base import utcnow
from wasb.store.migrate import upgrade


class RssPeak:
    """Samples this process's RSS every 20 ms while running."""

    def __init__(self):
        self.process = psutil.Process()
        self.base = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def seed(url: str, size: int) -> None:
    upgrade(url)
    app = build_app(Config(database_url=url, _env_file=None), migrate=False)
    now = utcnow()
    rng = random.Random(size)
    kinds = ("lead", "contact", "account")
    with app.db.sessions() as s, s.begin():
        batch = []
        for i in range(size):
            number = f"+39333{i:07d}"
            modified = now - timedelta(minutes=rng.randint(5, 600))  # all within the 1-day window
            batch.append({"kind": kinds[i % 3], "name": f"Person {i}", "mobile": number, "mobile_e164": number,
                          "deleted": False, "created_at": modified, "modified_at": modified})
            if len(batch) == 5000:
                s.execute(insert(CrmPerson), batch)
                batch = []
        if batch:
            s.execute(insert(CrmPerson), batch)
    app.db.dispose()


def timed_run(app, *, trace: bool) -> dict:
    if trace:
        tracemalloc.start()
    with RssPeak() as rss:
        started = time.perf_counter()
        outcome = execute_run(app, "syncCustomers")
        seconds = time.perf_counter() - started
    figures = {"seconds": seconds, "rss_growth_mb": rss.growth_mb, "result": outcome.result}
    if trace:
        figures["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    assert outcome.ok, outcome.error
    return figures


def change_hundred(app) -> None:
    with app.db.sessions() as s, s.begin():
        crm = app.crm(s)
        ids = [str(i) for i in s.scalars(select(CrmPerson.id).order_by(CrmPerson.id).limit(100))]
        for n, person_id in enumerate(ids):
            if n % 2:
                crm.update_person(person_id, name=f"Renamed {person_id}")
            else:
                crm.update_person(person_id, mobile=f"+39334{int(person_id):07d}")


def analyze(app) -> None:
    """What autovacuum does after a bulk load on PostgreSQL (fresh planner statistics)."""
    if app.db.dialect == "postgresql":
        with app.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def one_pass(url: str, *, trace: bool) -> tuple[dict, dict]:
    app = build_app(Config(database_url=url, _env_file=None), migrate=False)
    try:
        register_jobs(app, utcnow())
        analyze(app)
        full = timed_run(app, trace=trace)
        analyze(app)
        change_hundred(app)
        time.sleep(0.01)
        incremental = timed_run(app, trace=trace)
        return full, incremental
    finally:
        app.db.dispose()


def sqlite_size(size: int, workdir: Path) -> dict:
    seeded = workdir / f"seed-{size}.db"
    seed(f"sqlite:///{seeded}", size)
    figures = {}
    for trace in (False, True):
        copy = workdir / f"run-{size}-{trace}.db"
        shutil.copyfile(seeded, copy)
        figures[trace] = one_pass(f"sqlite:///{copy}", trace=trace)
    return {"full": {**figures[False][0], "tracemalloc_peak_mb": figures[True][0]["tracemalloc_peak_mb"]},
            "incremental": {**figures[False][1], "tracemalloc_peak_mb": figures[True][1]["tracemalloc_peak_mb"]}}


def postgres_size(size: int, url: str) -> dict:
    seed(url, size)
    full, incremental = one_pass(url, trace=False)
    return {"full": full, "incremental": incremental}


def report(size: int, figures: dict) -> None:
    for name in ("full", "incremental"):
        f = figures[name]
        r = f["result"]
        peak = f" tracemalloc peak {f['tracemalloc_peak_mb']:.1f} MB" if "tracemalloc_peak_mb" in f else ""
        print(f"{size:>7} people  {name:<11} {f['seconds']:8.2f} s  RSS +{f['rss_growth_mb']:.1f} MB{peak}  "
              f"(crm changes {r['crm_changes']}, created {r['created']}, updated {r['updated']}, "
              f"unlinked {r['unlinked']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: temporary SQLite files)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"python {sys.version.split()[0]}, {psutil.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="wasb-bench-sync-") as tmp:
        for size in sizes:
            if args.database_url:
                figures = postgres_size(size, args.database_url)
            else:
                figures = sqlite_size(size, Path(tmp))
            report(size, figures)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
