"""Benchmark of the outbound hot path (issue 3). Run by hand: `.venv/bin/python bench/outbound.py`.

10,000 messages to 1,000 recipients through a real `wasb serve` and the simulator (both
subprocesses, SQLite database, statuses posted back as webhooks batched like Meta's):

1. 1,000 customers write (their windows open), then the service is restarted without its
   worker and the 10,000 agent messages are queued through the API;
2. the service is restarted with its worker and the send rate measured from the simulator's
   acceptance times of the first and last message: achieved / limit, and how many rows failed
   (none may fail with 130429);
3. run once with the limit at 80/s (Meta's default tier) and once at 1,000/s (the highest),
   the latter under py-spy to show where the worker's time goes.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
SECRET = "bench-secret"
TOKEN = "bench-access-token"
PHONE_NUMBER_ID = "106540352242922"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str) -> None:
    for _ in range(600):
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers at {url}")


def base_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASB_")}
    env.update({"WASB_DATABASE_URL": f"sqlite:///{workdir / 'wasb.db'}", "WASB_APP_SECRET": SECRET,
                "WASB_ACCESS_TOKEN": TOKEN, "WASB_PHONE_NUMBER_ID": PHONE_NUMBER_ID, "WASB_WABA_ID": "102290129340398",
                "WASB_MEDIA_DIR": str(workdir / "media"), "WASB_WORKER_POLL_SECONDS": "0.05"})
    return env


class Service:
    def __init__(self, workdir: Path, sim_url: str, port: int, worker: bool):
        env = {**base_env(workdir), "WASB_GRAPH_URL": sim_url, "WASB_WORKER": "true" if worker else "false"}
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([str(BIN / "wasb"), "serve", "--port", str(port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(workdir / "serve.log", "ab"))
        wait_http(self.url + "/healthz")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def query(workdir: Path, sql: str, *args):
    conn = sqlite3.connect(workdir / "wasb.db", timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def make_token(workdir: Path) -> str:
    from wasb.auth.service import create_token
    from wasb.store.engine import open_database
    from wasb.store.migrate import upgrade

    url = base_env(workdir)["WASB_DATABASE_URL"]
    upgrade(url)
    db = open_database(url)
    with db.sessions() as s, s.begin():
        token = create_token(s, "bench", is_admin=True)
    db.dispose()
    return token


def run(limit: int, messages: int, recipients: int, profile: bool) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"wasb-outbound-{limit}-"))
    sim_port, port = free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    sim = subprocess.Popen([str(BIN / "wasb"), "simulator", "--port", str(sim_port),
                            "--webhook-url", f"http://127.0.0.1:{port}/webhooks/whatsapp"],
                           env=base_env(workdir), stdout=subprocess.DEVNULL, stderr=open(workdir / "sim.log", "ab"))
    wait_http(sim_url + "/_sim/limits")
    control = httpx.Client(base_url=sim_url, timeout=120)
    control.post("/_sim/limits", json={"messages_per_second": limit}).raise_for_status()
    # Meta batches status webhooks; so does the simulator here (0.2 s windows).
    control.post("/_sim/config", json={"batch_window": 0.2}).raise_for_status()
    token = make_token(workdir)
    headers = {"Authorization": f"Bearer {token}"}
    result: dict = {"limit": limit, "messages": messages, "recipients": recipients}
    try:
        customers = [f"39333{n:07d}" for n in range(recipients)]
        service = Service(workdir, sim_url, port, worker=True)
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda c: control.post("/_sim/inbound", json={"from": c, "name": f"C{c[-4:]}",
                                                                         "text": "ciao"}).raise_for_status(),
                          customers))
        while query(workdir, "SELECT count(*) FROM conversation")[0][0] < recipients:
            time.sleep(0.2)
        service.stop()

        # Queue everything with no worker running, so the send phase is measured alone.
        service = Service(workdir, sim_url, port, worker=False)
        httpx.put(service.url + "/api/v1/settings", json={"send_rate_per_second": limit},
                  headers=headers).raise_for_status()
        conversations = [r[0] for r in query(workdir, "SELECT id FROM conversation ORDER BY id")]
        jobs = [(conversations[n % recipients], n) for n in range(messages)]
        client = httpx.Client(base_url=service.url, headers=headers, timeout=60,
                              limits=httpx.Limits(max_connections=8))
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = collections.Counter(pool.map(lambda j: client.post(
                f"/api/v1/conversations/{j[0]}/messages", json={"type": "text", "body": f"message {j[1]}"}).status_code,
                jobs))
        result["queue_rate_per_s"] = round(messages / (time.perf_counter() - started))
        assert codes == {201: messages}, codes
        service.stop()

        service = Service(workdir, sim_url, port, worker=True)
        spy = None
        py_spy = shutil.which("py-spy") or (str(BIN / "py-spy") if (BIN / "py-spy").exists() else None)
        if profile and py_spy:
            spy = subprocess.Popen([py_spy, "record", "--idle", "--threads", "--format", "raw", "--rate", "200",
                                    "-o", str(workdir / "profile.txt"), "-p", str(service.proc.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.perf_counter()
        while True:
            done = query(workdir, "SELECT count(*) FROM message WHERE direction='out' "
                                  "AND status IN ('sent','delivered','read','failed')")[0][0]
            if done >= messages or time.perf_counter() - t0 > 1800:
                break
            time.sleep(0.5)
        wall = time.perf_counter() - t0
        if spy:
            spy.send_signal(2)
            spy.wait(60)
        sent = control.get("/_sim/sent").json()
        times = sorted(s["time"] for s in sent)
        result["accepted_by_simulator"] = len(sent)
        result["duplicates"] = len(sent) - len({s["request"]["biz_opaque_callback_data"] for s in sent})
        span = times[-1] - times[0]
        result["achieved_per_s"] = round((len(times) - 1) / span, 1) if span else None
        result["achieved_vs_limit"] = f"{result['achieved_per_s'] / limit:.1%}" if span else None
        result["wall_seconds"] = round(wall, 1)
        rows = query(workdir, "SELECT status, error_code, count(*) FROM message WHERE direction='out' "
                              "GROUP BY status, error_code")
        result["rows"] = {f"{s}{'/' + str(c) if c else ''}": n for s, c, n in rows}
        result["failed_by_130429"] = query(workdir, "SELECT count(*) FROM message WHERE status='failed' "
                                                    "AND error_code IN (130429, 131056)")[0][0]
        result["sends_refused_then_retried"] = query(workdir, "SELECT coalesce(sum(send_attempts - 1), 0) "
                                                              "FROM message WHERE direction='out'")[0][0]
        service.stop()
        if spy and (workdir / "profile.txt").exists():
            result["profile"] = summarize(workdir / "profile.txt")
    finally:
        sim.terminate()
        sim.wait(15)
        result["workdir"] = str(workdir)
    return result


# Where the worker thread spends its time: the first of these found in a sample's stack
# (the HTTP calls themselves run in the sender's pool threads; the worker waits for them).
PHASES = [
    ("send: record attempts (commit before the calls)", "_record_attempts"),
    ("send: store wamids + pending statuses (commit after)", "_store_results"),
    ("send: read rows, build bodies", "_prepare"),
    ("send: waiting for Meta's answers (calls in 16 threads)", "send_group (wasb/outbound/sender.py"),
    ("statuses: apply webhooks (process task)", "process_customer_items"),
    ("worker: claim jobs", "claim (wasb/jobs/worker.py"),
    ("worker: delete/defer jobs", "_run_group"),
    ("worker: other DB jobs", "_run_batch"),
    ("worker: idle (nothing due)", "_loop (wasb/jobs/worker.py"),
]


def summarize(path: Path) -> dict:
    by_thread: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        thread = frames[0]
        if "wasb-worker" not in stack and "_loop (wasb/jobs/worker.py" not in stack:
            by_thread["other threads"]["total"] += int(count)
            continue
        for label, marker in PHASES:
            if any(marker in f for f in frames):
                by_thread["worker"][label] += int(count)
                break
        else:
            by_thread["worker"]["other"] += int(count)
        del thread
    worker = by_thread["worker"]
    total = sum(worker.values()) or 1
    return {label: f"{n / total:.0%}" for label, n in worker.most_common()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--recipients", type=int, default=1_000)
    parser.add_argument("--limits", default="80,1000")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()}")
    for limit in (int(x) for x in args.limits.split(",")):
        result = run(limit, args.messages, args.recipients, profile=limit >= 1000)
        for key, value in result.items():
            print(f"  {key}: {value}")
        print(flush=True)


if __name__ == "__main__":
    main()
