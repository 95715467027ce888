"""Benchmark of the analytics dashboard on a million messages. Run by hand:
`.venv/bin/python bench/analytics.py [--messages 1000000] [--database-url postgresql://…]`.

What it measures, as an admin runs the product:
1. the `analytics` job catching up on a database that already holds N messages (the first run
   after an upgrade), through `wasb jobs run analytics` in its own process: wall time and the
   process's peak memory;
2. the same job's ordinary run (every 5 minutes) after 10,000 new messages;
3. the dashboard as the browser and the API ask it, over HTTP from a real `wasb serve` (worker
   included, as it runs): `GET /api/v1/analytics` for 7, 30 and 90 days, everyone and one agent
   (median of 10 requests each), and the dashboard page `GET /ui/analytics` (median of 10).

The messages are written straight into the tables (the intake's speed is bench/intake.py's
subject): C conversations over D days, customers' and agents' messages alternating, one in
five agent messages a template with Meta's `pricing`, ten agents. The SQLite file (default) is
a temporary one; a PostgreSQL URL must name an empty database.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select, func

from wasb.auth.service import create_token, create_user
from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message
from wasb.store.base import utcnow
from wasb.store.engine import open_database
from wasb.store.migrate import upgrade

BIN = Path(sys.executable).parent
AGENTS = [f"agent{n}" for n in range(10)]
PRICING = {"utility": {"billable": True, "category": "utility", "pricing_model": "PMP", "type": "regular"},
           "marketing": {"billable": True, "category": "marketing", "pricing_model": "PMP", "type": "regular"}}


def fill(db, conversations: int, messages: int, days: int, first_id: int = 1, seed: int = 7) -> None:
    """`messages` rows over `conversations` conversations spread on the last `days` days (from
    `first_id` on: new messages of the last hours in existing conversations)."""
    rng = random.Random(seed)
    now = utcnow()
    per = max(1, messages // conversations)
    with db.sessions() as session, session.begin():
        if first_id == 1:
            session.execute(insert(WaContact), [{"id": i + 1, "wa_id": f"3933{i:08d}", "phone_e164": f"+3933{i:08d}",
                                                 "profile_name": f"Customer {i}"} for i in range(conversations)])
            rows = []
            for i in range(conversations):
                started = now - timedelta(days=days) + timedelta(seconds=rng.randrange(days * 86400 - 3600))
                rows.append({"id": i + 1, "name": f"conversation {i}", "phone_number_id": "1", "wa_contact_id": i + 1,
                             "status": "closed" if i % 3 else "open", "started_at": started,
                             "last_message_at": started, "assigned_user": AGENTS[i % len(AGENTS)] if i % 4 else None,
                             "closed_at": started + timedelta(hours=5) if i % 3 else None})
            session.execute(insert(Conversation), rows)
    starts = {}
    with db.read_sessions() as session:
        starts = dict(session.execute(select(Conversation.id, Conversation.started_at)).all())
    written, message_id = 0, first_id
    batch: list[dict] = []
    for i in range(conversations):
        # Later messages (first_id > 1) are the last few hours' ones, as between two runs of the job.
        at = now - timedelta(minutes=rng.randrange(30, 300)) if first_id > 1 else starts[i + 1]
        for j in range(per):
            inbound = j % 2 == 0
            template = not inbound and rng.random() < 0.2
            category = "marketing" if rng.random() < 0.3 else "utility"
            batch.append({"id": message_id, "conversation_id": i + 1, "direction": "in" if inbound else "out",
                          "type": "template" if template else "text", "status": "received" if inbound else "read",
                          "timestamp": at, "body": "Buongiorno, avrei una domanda", "wamid": f"wamid.{message_id}",
                          "author": None if inbound else AGENTS[(i + j) % len(AGENTS)],
                          "template_name": f"tpl_{category}" if template else None,
                          "pricing": PRICING[category] if template else None})
            message_id += 1
            written += 1
            at += timedelta(minutes=rng.randrange(2, 240))
            if len(batch) >= 20000:
                with db.sessions() as session, session.begin():
                    session.execute(insert(Message), batch)
                batch = []
    if batch:
        with db.sessions() as session, session.begin():
            session.execute(insert(Message), batch)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASB_")}
    env.update({"WASB_DATABASE_URL": url, "WASB_APP_SECRET": "bench-app-secret", "WASB_ACCESS_TOKEN": "bench-token",
                "WASB_PHONE_NUMBER_ID": "1", "WASB_WABA_ID": "2", "WASB_MEDIA_DIR": str(workdir / "media"),
                "WASB_TIMEZONE": "Europe/Rome", "WASB_GRAPH_URL": "http://127.0.0.1:9"})
    return env


def run_job(env: dict[str, str]) -> tuple[float, float]:
    """`wasb jobs run analytics` in its own process: (seconds, peak RSS in MB)."""
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "wasb"), "jobs", "run", "analytics"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def median_ms(client: httpx.Client, path: str, params: dict, repeat: int = 10) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        answer = client.get(path, params=params)
        times.append(time.perf_counter() - t0)
        answer.raise_for_status()
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--database-url", help="an empty database to fill (default: a temporary SQLite file)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wasb-bench-analytics-"))
    (workdir / "media").mkdir()
    url = args.database_url or f"sqlite:///{workdir / 'wasb.db'}"
    upgrade(url)
    db = open_database(url)
    try:
        t0 = time.perf_counter()
        fill(db, args.conversations, args.messages, args.days)
        with db.sessions() as session, session.begin():
            total = session.scalar(select(func.count()).select_from(Message))
            create_user(session, "admin", "bench-admin-password", is_admin=True)
            for name in AGENTS:
                create_user(session, name, f"{name}-password-1")
            token = create_token(session, "bench", is_admin=True)
        print(f"filled {total:,} messages in {args.conversations:,} conversations over {args.days} days "
              f"in {time.perf_counter() - t0:.0f} s ({url.split(':')[0]})")
        env = env_for(url, workdir)

        seconds, rss = run_job(env)
        print(f"analytics job, first run over {total:,} messages: {seconds:.1f} s "
              f"({total / seconds:,.0f} messages/s), peak RSS {rss:.0f} MB")
        with db.read_sessions() as session:
            last = session.scalar(select(func.max(Message.id)))
        fill(db, args.conversations // 5, 10_000, 1, first_id=last + 1, seed=11)
        seconds, _ = run_job(env)
        print(f"analytics job, a 5-minute run after 10,000 new messages: {seconds:.2f} s "
              f"(a process of its own: start-up included)")

        port = free_port()
        serve = subprocess.Popen([str(BIN / "wasb"), "serve", "--port", str(port)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=open(workdir / "serve.log", "ab"))
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    httpx.get(base + "/healthz", timeout=0.5)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            today = utcnow().date()
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
                for days in (7, 30, 90):
                    span = {"from": str(today - timedelta(days=days - 1)), "to": str(today)}
                    everyone = median_ms(api, "/api/v1/analytics", span)
                    one = median_ms(api, "/api/v1/analytics", {**span, "agent": "agent3"})
                    print(f"GET /api/v1/analytics, {days:>2} days: {everyone:6.1f} ms everyone, "
                          f"{one:6.1f} ms one agent (median of 10, over HTTP)")
            with httpx.Client(base_url=base, timeout=60) as browser:
                login = browser.get("/ui/login")
                csrf = login.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
                browser.post("/ui/login", data={"username": "admin", "password": "bench-admin-password", "csrf": csrf})
                page = browser.get("/ui/analytics")
                assert page.status_code == 200 and 'id="totals"' in page.text, page.status_code  # logged in
                span = {"from": str(today - timedelta(days=29)), "to": str(today)}
                print(f"GET /ui/analytics (the page with its charts), 30 days: "
                      f"{median_ms(browser, '/ui/analytics', span):.1f} ms (median of 10)")
        finally:
            serve.terminate()
            serve.wait(30)
    finally:
        db.dispose()
        if not args.database_url:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
