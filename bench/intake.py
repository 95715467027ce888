"""Benchmark of the inbound hot path (issue 2). Run by hand: `.venv/bin/python bench/intake.py`.

Reports, on this machine:
1. accepted webhooks/s of `wasb serve` (durable: SQLite synchronous=FULL, grouped commits;
   worker off, so only the intake is measured) next to a raw baseline (bare Starlette endpoint,
   one SQLite insert per request, synchronous=NORMAL), and their ratio;
2. end-to-end inbound messages/s with the worker on: 1,000 distinct customers, half new numbers
   (lead + ticket), half known (comment on their open ticket), until every row is committed;
3. p50/p99 latency from POST to ticket row with 200 messages/s offered;
4. peak RSS of the service process.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import blast, encode_post, paced  # noqa: E402

from wasb.whatsapp.signature import sign_body  # noqa: E402

SECRET = "bench-secret"
PHONE_NUMBER_ID = "106540352242922"
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def message_body(wa_id: str, wamid: str, text: str, ts: int) -> bytes:
    return orjson.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": f"Customer {wa_id[-4:]}"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text",
                          "text": {"body": text}}]}}]}]})


def signed(body: bytes) -> bytes:
    return encode_post("/webhooks/whatsapp", body, {"X-Hub-Signature-256": sign_body(body, SECRET)})


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int) -> None:
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers on {port}")


class Service:
    def __init__(self, workdir: Path, worker: bool):
        self.db = workdir / f"wasb-{'worker' if worker else 'intake'}.db"
        self.port = free_port()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("WASB_")},
               "WASB_DATABASE_URL": f"sqlite:///{self.db}", "WASB_APP_SECRET": SECRET,
               "WASB_WORKER": "true" if worker else "false", "WASB_MEDIA_DIR": str(workdir / "media"),
               "WASB_WORKER_POLL_SECONDS": "0.05"}
        self.proc = subprocess.Popen([str(BIN / "wasb"), "serve", "--port", str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(workdir / "serve.log", "ab"))
        wait_http(self.port)
        self.peak_rss = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        process = psutil.Process(self.proc.pid)
        while not self._stop.is_set():
            try:
                self.peak_rss = max(self.peak_rss, process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    def query(self, sql: str, *args):
        conn = sqlite3.connect(self.db, timeout=30)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def wait_processed(self, events: int, timeout: float = 600) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.query("SELECT count(*) FROM inbound_event WHERE state != 'pending'")[0][0]
            if done >= events:
                return time.perf_counter()
            time.sleep(0.02)
        raise RuntimeError("processing did not finish")

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        self.proc.wait(15)


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


def intake_rate(workdir: Path, requests: list[bytes], connections: int) -> tuple[float, int]:
    service = Service(workdir, worker=False)
    try:
        seconds, counts = asyncio.run(blast(service.port, requests, connections))
        assert counts.get(200) == len(requests), counts
        stored = service.query("SELECT count(*) FROM inbound_event")[0][0]
        assert stored == len(requests), stored
        return len(requests) / seconds, service.peak_rss
    finally:
        service.stop()


def end_to_end(workdir: Path, customers: int, connections: int, latency_messages: int, rate: float) -> dict:
    service = Service(workdir, worker=True)
    try:
        now = int(time.time())
        known = [f"39333{i:07d}" for i in range(customers // 2)]
        new = [f"39334{i:07d}" for i in range(customers - len(known))]
        # The known half already wrote once: they have a lead and an open ticket.
        warmup = [signed(message_body(w, f"wamid.warm.{w}", "first message", now - 60)) for w in known]
        asyncio.run(blast(service.port, warmup, connections))
        service.wait_processed(len(warmup))
        batch = [signed(message_body(w, f"wamid.e2e.{w}", "a follow-up", now)) for w in known]
        batch += [signed(message_body(w, f"wamid.e2e.{w}", "hello, first time", now)) for w in new]
        started = time.perf_counter()
        asyncio.run(blast(service.port, batch, connections))
        finished = service.wait_processed(len(warmup) + len(batch))
        e2e_rate = len(batch) / (finished - started)
        tickets = service.query("SELECT count(*) FROM crm_ticket")[0][0]
        comments = service.query("SELECT count(*) FROM crm_comment")[0][0]
        assert tickets == customers and comments == len(known), (tickets, comments)

        # Latency at a fixed offered rate: new customers, so each message opens a ticket.
        numbers = [f"39335{i:07d}" for i in range(latency_messages)]
        paced_requests = [signed(message_body(w, f"wamid.lat.{w}", "latency probe", now)) for w in numbers]
        sent_at = asyncio.run(paced(service.port, paced_requests, rate, connections))
        service.wait_processed(len(warmup) + len(batch) + len(paced_requests))
        rows = dict(service.query(
            "SELECT m.wamid, t.created_at FROM message m JOIN conversation c ON c.id = m.conversation_id "
            "JOIN crm_ticket t ON CAST(t.id AS TEXT) = c.ticket_id WHERE m.wamid LIKE 'wamid.lat.%'"))
        latencies = []
        for number, sent in zip(numbers, sent_at):
            created = datetime.fromisoformat(rows[f"wamid.lat.{number}"]).timestamp()
            latencies.append((created - sent) * 1000)
        latencies.sort()
        return {"e2e_rate": e2e_rate, "p50": statistics.median(latencies),
                "p99": latencies[int(len(latencies) * 0.99) - 1], "max": latencies[-1], "peak_rss": service.peak_rss}
    finally:
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--webhooks", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--latency-messages", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="wasb-bench-"))
    now = int(time.time())
    bodies = [message_body(f"39336{i:07d}", f"wamid.intake.{i}", "intake", now) for i in range(args.webhooks)]
    raw = run_baseline(workdir, [encode_post("/webhooks/whatsapp", b, {}) for b in bodies], args.connections)
    ours, intake_rss = intake_rate(workdir, [signed(b) for b in bodies], args.connections)
    e2e = end_to_end(workdir, args.customers, args.connections, args.latency_messages, args.rate)
    print(f"machine: {os.cpu_count()} cores; SQLite {sqlite3.sqlite_version}; {args.webhooks} webhooks, "
          f"{args.connections} connections")
    print(f"intake, raw baseline (Starlette + 1 insert, synchronous=NORMAL): {raw:8.0f} webhooks/s")
    print(f"intake, wasb serve (signature + durable, synchronous=FULL, grouped): {ours:8.0f} webhooks/s "
          f"({ours / raw:.2f}x the baseline)")
    print(f"end to end, {args.customers} customers (half new → lead+ticket, half known → comment): "
          f"{e2e['e2e_rate']:8.0f} messages/s")
    print(f"latency POST → ticket row at {args.rate:.0f} msg/s offered ({args.latency_messages} msgs): "
          f"p50 {e2e['p50']:.0f} ms, p99 {e2e['p99']:.0f} ms, max {e2e['max']:.0f} ms")
    print(f"peak RSS of wasb serve: intake run {intake_rss / 2**20:.0f} MiB, end-to-end run {e2e['peak_rss'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
