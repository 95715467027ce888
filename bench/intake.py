"""Benchmark of `wasb serve` as users run it: worker on, on SQLite (default) or PostgreSQL.
Run by hand, never in CI:

    .venv/bin/python bench/intake.py [--database postgresql://postgres@127.0.0.1:5432/postgres]

Every service is a real `wasb serve` process with its default worker (a thread of serve, or
the supervised `wasb worker` child where serve starts one), on a fresh database (a SQLite
file in a temporary folder, or a new database on the PostgreSQL server of --database).
Load comes from bench/loadgen.py: pre-encoded, pre-signed unique webhooks over --connections
keep-alive connections. A webhook counts as accepted on status 200 (the body is not read).
"Done" means: the `message` rows of the phase's wamids are all visible in the main database
(a message is there only once its event has gone through intake, any journal, and the
worker), which is the end whatever path a webhook takes inside.

What each figure is:
1. burst while the worker is busy (service A): --backlog webhooks of new customers are taken
   by a `wasb serve` with WASB_WORKER=false (so the backlog is whole, not just what the intake
   outran the worker by), which is stopped; `wasb serve` with its worker then starts on the
   same database and, at once, --burst unique webhooks (new customers) are sent as fast as
   they are taken. "intake webhooks/s" = burst webhooks / seconds from the first write to
   the last answer (all 200s). The raw baseline (bench/raw_baseline.py: bare Starlette +
   one SQLite insert per request, WAL, synchronous=NORMAL, no signature check) takes the same
   bodies in the same run; the ratio is ours / raw. The backlog still unprocessed when the
   burst starts and ends is printed: a figure above zero at the end means the worker was
   busy all through the burst.
   "answer time" = from writing a request to reading its answer, per request, during that
   burst: the slowest and the p99 (this is the 10x burst of the issue's goal).
2. end to end (service B): --customers customers, half known (they wrote once before and have
   a lead and an open ticket: one comment each), half new (lead + conversation + ticket).
   messages/s = batch size / seconds from the first POST to the poll that sees the batch's
   last message row; the ticket and comment counts are checked after.
   A second, equal batch (other customers) runs with py-spy attached to serve and its
   children (sampling at --profile-rate Hz): its rate is printed apart, marked profiled, and
   its samples give "where the time goes".
3. latency (service B, after 2): --latency-messages new customers offered at --rate msg/s
   (paced). Latency = from the POST's write to the first poll (every 5 ms) that sees its
   message row, which commits in the same transaction as the customer's new ticket (the
   embedded CRM), so it is POST -> ticket row; late by at most one poll interval + one query.
4. peak RSS: sampled every 20 ms, per process (serve, each worker child) and of the whole
   service (serve + all its descendants at one instant), the highest over both services.
5. where the time goes: py-spy (not a project dependency: `--py-spy PATH`, e.g. installed
   in a scratch venv with `python -m venv /tmp/pyspy && /tmp/pyspy/bin/pip install py-spy`)
   samples every thread of serve and its children, idle waits left out. The worker's
   samples are the stacks through wasb/jobs/worker.py; the rest are the web process's.
   Printed: the top functions by cumulative share of the worker's samples, then the web's.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psutil
import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import blast, encode_post, paced, text_webhook  # noqa: E402

from wasb.store.engine import make_engine  # noqa: E402
from wasb.whatsapp.signature import sign_body  # noqa: E402

SECRET = "bench-secret"
ROOT = Path(__file__).resolve().parents[1]
WASB = str(Path(sys.executable).with_name("wasb"))


def signed(body: bytes) -> bytes:
    return encode_post("/webhooks/whatsapp", body, {"X-Hub-Signature-256": sign_body(body, SECRET)})


def messages(prefix: str, numbers: list[str], text_: str, ts: int) -> list[bytes]:
    return [signed(text_webhook(w, f"wamid.{prefix}.{w}", text_, ts)) for w in numbers]


def numbers(series: int, count: int) -> list[str]:
    return [f"393{series:02d}{i:07d}" for i in range(count)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(server_url: str | None, workdir: Path, name: str) -> str:
    if not server_url:
        return f"sqlite:///{workdir / f'{name}.db'}"
    db = f"wasb_bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    return f"{server_url.rpartition('/')[0]}/{db}"


def drop_database(server_url: str | None, url: str) -> None:
    if server_url:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


class RssSampler:
    """Peak RSS per process role and of the whole tree at one instant, every 20 ms."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peak: Counter[str] = Counter()
        self.pids: dict[str, set[int]] = {"serve": {pid}, "worker": set()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self.root, *self.root.children(recursive=True)]
                total = 0
                for p in tree:
                    rss = p.memory_info().rss
                    total += rss
                    role = "serve" if p.pid == self.root.pid else (
                        "worker" if any("worker" in a for a in p.cmdline()) else "other child")
                    self.pids.setdefault(role, set()).add(p.pid)
                    self.peak[role] = max(self.peak[role], rss)
                self.peak["whole service"] = max(self.peak["whole service"], total)
            except psutil.Error:
                pass
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


class Service:
    """`wasb serve` on `url`, with its worker unless `worker` is False (WASB_WORKER=false)."""

    def __init__(self, url: str, workdir: Path, name: str, worker: bool = True):
        self.url = url
        self.port = free_port()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("WASB_")},
               "WASB_DATABASE_URL": self.url, "WASB_APP_SECRET": SECRET, "WASB_WORKER": str(worker).lower(),
               "WASB_MEDIA_DIR": str(workdir / "media"), "WASB_GRAPH_URL": "http://127.0.0.1:9"}
        self.log = workdir / f"{name}.log"
        self.proc = subprocess.Popen([WASB, "serve", "--port", str(self.port)], env=env, cwd=workdir,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        self._wait_http()
        self.rss = RssSampler(self.proc.pid)
        self.engine = make_engine(self.url, immediate=False)

    def _wait_http(self) -> None:
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"wasb serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"nothing answers on {self.port}")

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def stored(self, prefix: str) -> int:
        return self.scalar("SELECT count(*) FROM message WHERE wamid LIKE :p", p=f"wamid.{prefix}.%")

    def wait_stored(self, prefix: str, count: int, timeout: float = 1800) -> float:
        """The wall time at which all `count` messages of `prefix` are visible."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stored(prefix) >= count:
                return time.perf_counter()
            time.sleep(0.02)
        raise RuntimeError(f"{prefix}: {self.stored(prefix)} of {count} messages after {timeout} s")

    def stop(self) -> None:
        self.rss.stop()
        self.engine.dispose()
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def run_baseline(workdir: Path, requests: list[bytes], connections: int) -> float:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "raw_baseline.py"), str(workdir / "raw.db"), str(port)])
    try:
        for _ in range(200):
            try:
                httpx.post(f"http://127.0.0.1:{port}/webhooks/whatsapp", content=b"{}", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        seconds, counts = asyncio.run(blast(port, requests, connections))
        assert counts.get(200) == len(requests), counts
        return len(requests) / seconds
    finally:
        proc.terminate()
        proc.wait(10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def burst_while_busy(workdir: Path, args, bodies: list[bytes]) -> dict:
    url = fresh_database(args.database, workdir, "burst")
    try:
        # The backlog is taken with the worker off, so it is whole when the worker starts on it
        # (sent with the worker on, it would be no bigger than what the intake outruns the worker by).
        queued = Service(url, workdir, "backlog", worker=False)
        try:
            backlog = messages("backlog", numbers(40, args.backlog), "hello, first time", int(time.time()))
            _, counts = asyncio.run(blast(queued.port, backlog, args.connections))
            assert counts.get(200) == len(backlog), counts
        finally:
            queued.stop()
        service = Service(url, workdir, "burst")
        try:
            left_at_start = args.backlog - service.stored("backlog")
            answer_times: list[float] = []
            seconds, counts = asyncio.run(blast(service.port, [signed(b) for b in bodies], args.connections,
                                                answer_times))
            assert counts.get(200) == len(bodies), counts
            left_at_end = args.backlog - service.stored("backlog")
            burst_left = len(bodies) - service.stored("burst")
            return {"rate": len(bodies) / seconds, "left_at_start": left_at_start, "left_at_end": left_at_end,
                    "burst_left": burst_left, "max": max(answer_times) * 1000,
                    "p99": percentile(answer_times, 0.99) * 1000, "p50": statistics.median(answer_times) * 1000,
                    "rss": service.rss}
        finally:
            service.stop()
    finally:
        drop_database(args.database, url)


class Profiler:
    """py-spy attached to serve and its children until stopped; the raw (folded) stacks."""

    def __init__(self, py_spy: str, pid: int, rate: int, out: Path):
        self.out = out
        self.proc = subprocess.Popen([py_spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw",
                                      "--nolineno", "--rate", str(rate), "--output", str(out)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)  # attached before the load starts

    def stop(self) -> list[tuple[bool, list[str], int]]:
        """(the worker's?, frames, samples): the worker's are the stacks of a `wasb worker`
        process, or through the job loop (a worker thread in serve)."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)
        stacks = []
        for line in self.out.read_text().splitlines():
            frames, _, count = line.rpartition(" ")
            if not frames:
                continue
            parts = frames.split(";")
            process = parts[0] if parts[0].startswith("process ") else ""
            frames_ = [f for f in parts if not f.startswith("process ")]
            if frames_ and frames_[-1].startswith(WAITS):  # a blocked wait py-spy took for running
                continue
            worker = "worker" in process or any("jobs/worker.py" in f for f in frames_)
            stacks.append((worker, frames_, int(count)))
        return stacks


def top_functions(stacks: list[tuple[list[str], int]], limit: int) -> tuple[int, list, list]:
    """(samples, [(function, cumulative share, own share)] by cumulative share, the same by own share)."""
    total = sum(c for _, c in stacks)
    cumulative: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        for frame in set(frames):
            cumulative[frame] += count
        if frames:
            own[frames[-1]] += count
    # The frames every sample passes through (thread start, click, uvicorn's run) say nothing.
    shell = {f for f, c in cumulative.items() if c >= 0.99 * total or f.startswith(LAUNCH)}
    ranked = [(f, c) for f, c in cumulative.most_common() if f not in shell][:limit]
    return total, [(f, c / total, own[f] / total) for f, c in ranked], [
        (f, cumulative[f] / total, c / total) for f, c in own.most_common(limit // 2)]


WAITS = ("Condition.wait (threading", "Event.wait (threading", "select (selectors", "Queue.get (queue")
LAUNCH = ("<module> (wasb)", "Command.", "Group.", "Context.invoke", "main (wasb/cli", "serve (wasb/cli",
          "worker (wasb/cli", "run (uvicorn/main.py)", "Server.run (uvicorn", "asyncio_run (uvicorn",
          "Runner.run (asyncio", "run (asyncio/runners.py)", "Thread.", "_bootstrap")


def end_to_end(workdir: Path, args) -> dict:
    url = fresh_database(args.database, workdir, "e2e")
    service = Service(url, workdir, "e2e")
    try:
        now = int(time.time())
        half = args.customers // 2
        result = {"rss": service.rss}
        # Two rounds of equal shape: the first measured bare, the second with the profiler attached.
        rounds = [("e2e", 50, 51), ("prof", 52, 53)]
        for prefix, known_series, new_series in rounds:
            known, new = numbers(known_series, half), numbers(new_series, args.customers - half)
            # The known half already wrote once: they have a lead and an open ticket.
            warm = messages(f"warm{prefix}", known, "first message", now - 60)
            asyncio.run(blast(service.port, warm, args.connections))
            service.wait_stored(f"warm{prefix}", len(warm))
            batch = messages(prefix, known, "a follow-up", now) + messages(prefix, new, "hello, first time", now)
            profiler = None
            if prefix == "prof":
                if not args.py_spy:
                    continue
                profiler = Profiler(args.py_spy, service.proc.pid, args.profile_rate, workdir / "profile.txt")
            started = time.perf_counter()
            _, counts = asyncio.run(blast(service.port, batch, args.connections))
            assert counts.get(200) == len(batch), counts
            finished = service.wait_stored(prefix, len(batch))
            if profiler:
                result["stacks"] = profiler.stop()
            result[f"{prefix}_rate"] = len(batch) / (finished - started)
            tickets = service.scalar(
                "SELECT count(*) FROM crm_ticket t JOIN crm_person p ON p.id = t.person_id "
                "WHERE p.mobile_e164 LIKE :a OR p.mobile_e164 LIKE :b",
                a=f"+393{known_series:02d}%", b=f"+393{new_series:02d}%")
            comments = service.scalar("SELECT count(*) FROM crm_comment WHERE body = 'a follow-up'")
            assert tickets == args.customers, f"{tickets} tickets for {args.customers} customers"
            assert comments == half * (1 + rounds.index((prefix, known_series, new_series))), comments

        # Latency at a fixed offered rate: new customers, so each message opens a ticket.
        lat_numbers = numbers(54, args.latency_messages)
        requests = messages("lat", lat_numbers, "latency probe", now)
        seen_at: dict[str, float] = {}
        done = threading.Event()

        def watch() -> None:
            last = service.scalar("SELECT coalesce(max(id), 0) FROM message")
            while not done.is_set() or len(seen_at) < len(requests):
                with service.engine.connect() as conn:
                    rows = conn.execute(text("SELECT id, wamid FROM message WHERE id > :last ORDER BY id"),
                                        {"last": last}).all()
                at = time.time()
                for row_id, wamid in rows:
                    last = max(last, row_id)
                    if wamid and wamid.startswith("wamid.lat."):
                        seen_at.setdefault(wamid, at)
                time.sleep(0.005)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        sent_at = asyncio.run(paced(service.port, requests, args.rate, args.connections))
        done.set()
        watcher.join(600)
        latencies = sorted((seen_at[f"wamid.lat.{n}"] - sent) * 1000 for n, sent in zip(lat_numbers, sent_at))
        result.update(p50=statistics.median(latencies), p99=percentile(latencies, 0.99), max=latencies[-1])
        return result
    finally:
        service.stop()
        drop_database(args.database, url)


def mib(value: int) -> str:
    return f"{value / 2**20:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL server URL (a fresh database is made there per "
                                           "service); default: SQLite files in a temporary folder")
    parser.add_argument("--backlog", type=int, default=5_000, help="new customers queued before the burst")
    parser.add_argument("--burst", type=int, default=10_000, help="webhooks of the burst (intake rate, answer times)")
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--latency-messages", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy executable (profile skipped without)")
    parser.add_argument("--profile-rate", type=int, default=100)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="wasb-bench-"))
    now = int(time.time())
    bodies = [text_webhook(w, f"wamid.burst.{w}", "burst", now) for w in numbers(41, args.burst)]
    raw = run_baseline(workdir, [encode_post("/webhooks/whatsapp", b, {}) for b in bodies], args.connections)
    burst = burst_while_busy(workdir, args, bodies)
    e2e = end_to_end(workdir, args)

    database = "PostgreSQL " + args.database.rpartition("@")[2] if args.database else f"SQLite {sqlite3.sqlite_version}"
    print(f"machine: {os.cpu_count()} cores; {database}; {args.connections} connections; wasb serve with its worker on")
    print(f"1. burst of {args.burst} webhooks (new customers) while the worker works through a backlog of "
          f"{args.backlog} new customers queued before it started; backlog left unprocessed at the burst's start: "
          f"{burst['left_at_start']}, at its end: {burst['left_at_end']} (+ {burst['burst_left']} of the burst)")
    print(f"   intake, raw baseline (Starlette + 1 insert, synchronous=NORMAL): {raw:8.0f} webhooks/s")
    print(f"   intake, wasb serve (signature checked, durable):                 {burst['rate']:8.0f} webhooks/s "
          f"({burst['rate'] / raw:.2f}x the baseline)")
    print(f"   answer time during the burst: p50 {burst['p50']:.0f} ms, p99 {burst['p99']:.0f} ms, "
          f"slowest {burst['max']:.0f} ms")
    print(f"2. end to end, {args.customers} customers (half new -> lead+ticket, half known -> comment), "
          f"first POST to last message row: {e2e['e2e_rate']:8.0f} messages/s")
    if "prof_rate" in e2e:
        print(f"   the same with py-spy attached at {args.profile_rate} Hz (not a figure to quote): "
              f"{e2e['prof_rate']:8.0f} messages/s")
    print(f"3. latency POST -> ticket row at {args.rate:.0f} msg/s offered ({args.latency_messages} new customers): "
          f"p50 {e2e['p50']:.0f} ms, p99 {e2e['p99']:.0f} ms, max {e2e['max']:.0f} ms")
    print("4. peak RSS (highest of the two services):")
    for role in ("serve", "worker", "other child", "whole service"):
        peak = max(burst["rss"].peak[role], e2e["rss"].peak[role])
        pids = len(burst["rss"].pids.get(role, ())) + len(e2e["rss"].pids.get(role, ()))
        if peak:
            detail = f" ({pids} processes over the two services)" if role in ("worker", "other child") else ""
            print(f"   {role:14s} {mib(peak)}{detail}")
    if "worker" not in burst["rss"].pids or not burst["rss"].pids["worker"]:
        print("   (no worker child: serve runs its worker as a thread)")
    if "stacks" not in e2e:
        print("5. profile: skipped (no py-spy; pass --py-spy PATH)")
        return
    worker = [(f, c) for is_worker, f, c in e2e["stacks"] if is_worker]
    web = [(f, c) for is_worker, f, c in e2e["stacks"] if not is_worker]
    for name, stacks in (("worker", worker), ("web process", web)):
        samples, by_cumulative, by_own = top_functions(stacks, args.top)
        print(f"5. where the {name}'s time goes in the profiled end-to-end round ({samples} samples, idle left out): "
              "cumulative / own share, by cumulative")
        for function, cumulative, own in by_cumulative:
            print(f"   {cumulative:6.1%} {own:6.1%}  {function}")
        print(f"   the {name}'s top functions by own share:")
        for function, cumulative, own in by_own:
            print(f"   {cumulative:6.1%} {own:6.1%}  {function}")


if __name__ == "__main__":
    main()
