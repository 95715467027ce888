"""Benchmark of WASB scaled apart on PostgreSQL: web processes (`wasb serve --no-worker`) and
N `wasb worker` processes on one database, for each job queue engine and each N; `wasb serve`
on SQLite (one web process and its worker child) as the single-box reference. Run by hand,
never in CI:

    .venv/bin/python bench/scale.py [--queue embedded,procrastinate] [--workers 1,2,4]
        [--messages 4000] [--outbound 2000] [--database postgresql://postgres@127.0.0.1:5432/postgres]

Every run gets a fresh database (PostgreSQL: a new database on the --database server; SQLite:
a file in a temporary folder) and real processes started as an operator starts them, each
with the defaults (WASB_WORKER_POLL_SECONDS 0.2: one worker gets the web's wake-ups, the
others poll), WASB_QUEUE set to the engine, and a simulator (`wasb simulator`) as Meta.

What each figure is:
- inbound msg/s (end to end): --messages signed webhooks of text messages, --messages / 5
  customers writing 5 each (the first opens a lead and a ticket, the next four are comments),
  pre-encoded and sent over --connections keep-alive connections split over the web
  processes (bench/loadgen.py), as fast as they are taken; messages / seconds from the first
  POST to the poll (every 20 ms) that sees the last `message` row. It includes the web's
  intake (signature, durable insert, 200), the queue, and the workers' processing with the
  embedded CRM (lead, conversation, ticket, comment).
- intake webhooks/s: the same webhooks / seconds from the first write to the last 200.
- outbound msg/s: --recipients customers write once through the simulator (not timed: their
  24-hour windows open there), the workers are stopped, --outbound agent text messages are
  queued through the API (`POST /api/v1/conversations/{id}/messages`), the send rate set to
  --send-limit (admin setting, the simulator's limit too), then the N workers start again:
  messages / seconds between the simulator's first and last acceptance. It includes the
  claim, the attempt's commit, the HTTP call to the simulator and storing its answer; not
  the status webhooks the simulator posts back (they are processed meanwhile, as in use).
  "refused" is how many sends the simulator refused with 130429 (retried, never failed):
  on PostgreSQL the N workers share the number's tier through the database (send_slot), so
  it should stay 0.
- peak PG connections: the highest count of pg_stat_activity rows on the run's database,
  sampled every 100 ms over the whole run (the bench's own connection left out).
- CPU: per process, CPU seconds (user + system, psutil) during the inbound phase (webs,
  workers) and the outbound send phase (workers), as % of one core over the phase's wall time.
The machine's cores and load average are printed first: on a shared box the figures move.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import PHONE_NUMBER_ID, blast, encode_post, text_webhook  # noqa: E402

from wasb.config import Config  # noqa: E402
from wasb.whatsapp.signature import sign_body  # noqa: E402

SECRET = "bench-secret"
TOKEN = "bench-access-token"
WASB = str(Path(sys.executable).with_name("wasb"))
ME = "wasb-bench"  # the bench's own PostgreSQL connections, left out of the peak
ENGINES = ["embedded"] + (["procrastinate"] if "queue" in Config.model_fields else [])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(1200):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"nothing answers at {url}")


class Db:
    """The run's database: made fresh, queried by the bench, dropped after."""

    def __init__(self, server: str | None, workdir: Path):
        self.server = server
        if server:
            self.name = f"wasb_scale_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = f"{server.rpartition('/')[0]}/{self.name}"
        else:
            self.name = ""
            self.url = f"sqlite:///{workdir / 'wasb.db'}"
        subprocess.run([WASB, "migrate"], env={**os.environ, "WASB_DATABASE_URL": self.url}, check=True,
                       capture_output=True)
        self._conn = None

    def column(self, sql: str, *args) -> list:
        """The first column of every row (`?` placeholders on either database)."""
        if self.server:
            if self._conn is None:
                self._conn = psycopg.connect(self.url, autocommit=True, application_name=ME)
            return [r[0] for r in self._conn.execute(sql.replace("?", "%s"), args).fetchall()]
        import sqlite3
        conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30)
        try:
            return [r[0] for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()

    def scalar(self, sql: str, *args):
        return self.column(sql, *args)[0]

    def drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self.server:
            with psycopg.connect(self.server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class PeakConnections:
    """The most connections to the database at once, sampled every 100 ms."""

    def __init__(self, server: str, name: str):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(server, name), daemon=True)
        self._thread.start()

    def _run(self, server: str, name: str) -> None:
        with psycopg.connect(server, autocommit=True, application_name=ME) as conn:
            while not self._stop.wait(0.1):
                count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                     "AND application_name <> %s", (name, ME)).fetchone()[0]
                self.peak = max(self.peak, count)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(2)
        return self.peak


@dataclass
class Proc:
    role: str
    argv: list[str]
    env: dict[str, str]
    workdir: Path
    port: int | None = None
    ready: str = "/healthz"
    process: subprocess.Popen | None = None

    def start(self) -> "Proc":
        self.spawn()
        return self.ready_wait()

    def spawn(self) -> None:
        with open(self.workdir / f"{self.role}.log", "ab") as out:
            self.process = subprocess.Popen(self.argv, env=self.env, cwd=self.workdir, stdout=out,
                                            stderr=subprocess.STDOUT)

    def ready_wait(self) -> "Proc":
        """Until it answers HTTP, or (a worker) says it runs."""
        log = self.workdir / f"{self.role}.log"
        if self.port:
            wait_http(f"http://127.0.0.1:{self.port}{self.ready}", self.process, log)
        else:
            pid = self.process.pid
            for _ in range(1200):
                if f"worker process {pid} running" in log.read_text(errors="replace"):
                    break
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.role} exited: {log.read_text()[-2000:]}")
                time.sleep(0.05)
        return self

    def pids(self) -> list[int]:
        """The process, and its children (serve's worker child on SQLite)."""
        try:
            me = psutil.Process(self.process.pid)
            return [me.pid, *(c.pid for c in me.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class Cpu:
    """CPU seconds each process spends between start() and stop(), as % of one core."""

    def __init__(self, procs: list[Proc]):
        self.procs = procs

    def start(self) -> "Cpu":
        self._at = time.perf_counter()
        self._before = {(p.role, pid): _cpu(pid) for p in self.procs for pid in p.pids()}
        return self

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._at
        shares = {}
        for (role, pid), before in self._before.items():
            after = _cpu(pid)
            if after is not None and before is not None:
                name = role if pid == next(p for p in self.procs if p.role == role).process.pid else f"{role} child"
                shares[name] = (after - before) / wall * 100
        return shares


def start_together(procs: list[Proc]) -> None:
    for p in procs:
        p.spawn()
    for p in procs:
        p.ready_wait()


def _cpu(pid: int) -> float | None:
    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.NoSuchProcess:
        return None


@dataclass
class Result:
    label: str
    inbound: float = 0.0
    intake: float = 0.0
    outbound: float = 0.0
    refused: int = 0
    peak_connections: int | None = None
    cpu_in: dict[str, float] = field(default_factory=dict)
    cpu_out: dict[str, float] = field(default_factory=dict)


def run(args, queue: str | None, workers: int) -> Result:
    """One configuration: `queue` None is the SQLite reference (`wasb serve` with its worker child)."""
    workdir = Path(tempfile.mkdtemp(prefix="wasb-scale-"))
    db = Db(None if queue is None else args.database, workdir)
    sim_port = free_port()
    ports = [free_port() for _ in range(1 if queue is None else args.web)]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("WASB_")},
           "WASB_DATABASE_URL": db.url, "WASB_APP_SECRET": SECRET, "WASB_ACCESS_TOKEN": TOKEN,
           "WASB_PHONE_NUMBER_ID": PHONE_NUMBER_ID, "WASB_WABA_ID": "102290129340398",
           "WASB_MEDIA_DIR": str(workdir / "media"), "WASB_GRAPH_URL": f"http://127.0.0.1:{sim_port}"}
    if queue is not None:
        env["WASB_QUEUE"] = queue
    label = "SQLite, wasb serve + its worker child" if queue is None else f"PostgreSQL {queue}, {args.web} web + {workers} workers"
    result = Result(label)
    sim = Proc("simulator", [WASB, "simulator", "--port", str(sim_port), "--webhook-url",
                             f"http://127.0.0.1:{ports[0]}/webhooks/whatsapp"], env, workdir, sim_port, "/_sim/limits")
    webs = [Proc(f"web{n}", [WASB, "serve", "--port", str(port)] + ([] if queue is None else ["--no-worker"]),
                 env, workdir, port) for n, port in enumerate(ports, 1)]
    pool = [Proc(f"worker{n}", [WASB, "worker"], env, workdir) for n in range(1, workers + 1)] if queue else []
    peak = PeakConnections(args.database, db.name) if queue is not None else None
    try:
        sim.start()
        start_together(webs + pool)
        result.inbound, result.intake, result.cpu_in = inbound(args, db, webs, pool)
        result.outbound, result.refused, result.cpu_out = outbound(args, db, sim, webs, pool, queue is None)
    finally:
        for p in pool + webs + [sim]:
            p.stop()
        if peak is not None:
            result.peak_connections = peak.stop()
        db.drop()
    return result


def inbound(args, db: Db, webs: list[Proc], pool: list[Proc]) -> tuple[float, float, dict]:
    now = int(time.time())
    customers = [f"39335{n:07d}" for n in range(max(1, args.messages // 5))]
    bodies = [text_webhook(c, f"wamid.scale.{c}.{i}", f"message {i} of {c}", now + i)
              for i in range(5) for c in customers][:args.messages]
    requests = [encode_post("/webhooks/whatsapp", b, {"X-Hub-Signature-256": sign_body(b, SECRET)}) for b in bodies]
    per_web = [requests[n::len(webs)] for n in range(len(webs))]
    connections = max(1, args.connections // len(webs))

    async def send_all():
        return await asyncio.gather(*(blast(w.port, r, connections) for w, r in zip(webs, per_web)))

    cpu = Cpu(webs + pool).start()
    started = time.perf_counter()
    answers = asyncio.run(send_all())
    intake_seconds = max(seconds for seconds, _ in answers)
    for _, counts in answers:
        assert set(counts) == {200}, counts
    while db.scalar("SELECT count(*) FROM message WHERE wamid LIKE ?", "wamid.scale.%") < len(bodies):
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    return len(bodies) / seconds, len(bodies) / intake_seconds, cpu.stop()


def outbound(args, db: Db, sim: Proc, webs: list[Proc], pool: list[Proc], sqlite: bool) -> tuple[float, int, dict]:
    from wasb.auth.service import create_token
    from wasb.store.engine import open_database

    control = httpx.Client(base_url=f"http://127.0.0.1:{sim.port}", timeout=120)
    control.post("/_sim/limits", json={"messages_per_second": args.send_limit}).raise_for_status()
    control.post("/_sim/config", json={"batch_window": 0.2}).raise_for_status()  # statuses batched, as Meta does
    recipients = [f"39336{n:07d}" for n in range(args.recipients)]
    with concurrent.futures.ThreadPoolExecutor(16) as threads:
        list(threads.map(lambda c: control.post("/_sim/inbound", json={"from": c, "name": f"C{c[-4:]}",
                                                                         "text": "ciao"}).raise_for_status(),
                         recipients))
    ciao = "SELECT DISTINCT conversation_id FROM message WHERE direction = 'in' AND body = 'ciao'"
    while len(conversations := db.column(ciao)) < len(recipients):
        time.sleep(0.05)
    database = open_database(db.url)
    try:
        with database.sessions() as s, s.begin():
            token = create_token(s, "bench", is_admin=True)
    finally:
        database.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    web_url = f"http://127.0.0.1:{webs[0].port}"
    httpx.put(web_url + "/api/v1/settings", json={"send_rate_per_second": args.send_limit},
              headers=headers, timeout=30).raise_for_status()

    # Queued with no worker running, so the send phase is measured alone.
    if sqlite:  # serve's worker is its child: serve restarts without it
        webs[0].stop()
        webs[0].argv = webs[0].argv + ["--no-worker"]
        webs[0].start()
    else:
        for p in pool:
            p.stop()
    with httpx.Client(base_url=web_url, headers=headers, timeout=60) as client, \
            concurrent.futures.ThreadPoolExecutor(8) as threads:
        codes = list(threads.map(lambda n: client.post(
            f"/api/v1/conversations/{conversations[n % len(conversations)]}/messages",
            json={"type": "text", "body": f"answer {n}"}).status_code, range(args.outbound)))
    assert set(codes) == {201}, set(codes)
    before = len(control.get("/_sim/sent").json())
    if sqlite:
        webs[0].stop()
        webs[0].argv = webs[0].argv[:-1]
        webs[0].start()
        senders = webs
    else:
        start_together(pool)
        senders = pool
    cpu = Cpu(senders).start()
    while db.scalar("SELECT count(*) FROM message WHERE direction = 'out' AND status IN "
                    "('sent', 'delivered', 'read', 'failed')") < args.outbound:
        time.sleep(0.05)
    shares = cpu.stop()
    sent = control.get("/_sim/sent").json()[before:]
    times = sorted(s["time"] for s in sent)
    refused = db.scalar("SELECT coalesce(sum(send_attempts - 1), 0) FROM message WHERE direction = 'out'")
    span = times[-1] - times[0]
    return (len(times) - 1) / span if span else 0.0, int(refused), shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queue", default=",".join(ENGINES),
                        help=f"job queue engines on PostgreSQL, comma-separated (this build: {', '.join(ENGINES)})")
    parser.add_argument("--workers", default="1,2,4", help="worker processes, comma-separated")
    parser.add_argument("--web", type=int, default=2, help="web processes (`wasb serve --no-worker`)")
    parser.add_argument("--messages", type=int, default=4000, help="inbound webhooks per run")
    parser.add_argument("--outbound", type=int, default=2000, help="agent messages sent per run")
    parser.add_argument("--recipients", type=int, default=200, help="customers the outbound messages go to")
    parser.add_argument("--send-limit", type=int, default=1000, help="messages/s: Meta's tier (simulator and setting)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server URL: a fresh database is made there per run")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite single-box reference")
    args = parser.parse_args()
    queues = [q for q in args.queue.split(",") if q]
    unknown = [q for q in queues if q not in ENGINES]
    if unknown:
        parser.error(f"this build has no {', '.join(unknown)} engine (it has: {', '.join(ENGINES)})")

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.messages} inbound, "
          f"{args.outbound} outbound to {args.recipients} recipients at a {args.send_limit}/s limit", flush=True)
    configs = [(None, 1)] if not args.no_sqlite else []
    configs += [(q, int(n)) for q in queues for n in args.workers.split(",")]
    print(f"{'configuration':48s} {'inbound msg/s':>13s} {'intake/s':>9s} {'outbound msg/s':>14s} "
          f"{'refused':>7s} {'peak PG conns':>13s}  CPU % of a core (inbound | outbound)")
    for queue, workers in configs:
        r = run(args, queue, workers)
        cpu_in = " ".join(f"{k} {v:.0f}" for k, v in r.cpu_in.items())
        cpu_out = " ".join(f"{k} {v:.0f}" for k, v in r.cpu_out.items())
        peak = "-" if r.peak_connections is None else str(r.peak_connections)
        print(f"{r.label:48s} {r.inbound:13.0f} {r.intake:9.0f} {r.outbound:14.0f} {r.refused:7d} {peak:>13s}  "
              f"{cpu_in} | {cpu_out}", flush=True)


if __name__ == "__main__":
    main()
