"""Benchmark of a campaign as an operator runs one (issue 17). Run by hand, never in CI:

    .venv/bin/python bench/campaign.py [--recipients 10000] [--send-limit 80] [--replies 20]
        [--database postgresql://postgres@127.0.0.1:5432/postgres] [--only sqlite|postgresql]
        [--image-header]

Real processes, started as `make run` / the README start them, worker on: on SQLite `wasb
serve` with its worker child; on PostgreSQL `wasb serve --no-worker` and one `wasb worker`
(procrastinate, the default there). `wasb simulator` plays Meta at --send-limit messages per
second (the service's send rate is set to the same, as an admin sets their tier), status
webhooks batched every 0.2 s as Meta does.

What each figure is:
- prepare s: `POST /api/v1/campaigns` with a CSV of --recipients numbers (1 % unusable, 1 %
  repeated) and a parameter from a CSV column, until its 201: CSV parsing, every number checked,
  the opted-out list read, the parameters checked, the cost estimated and every recipient row
  written. Nothing is sent yet.
- send msg/s: the campaign's messages / seconds between the simulator's first and last
  acceptance, against --send-limit (the number's tier). It includes the dispatch job's top-ups,
  the sender (claim, attempt commit, HTTP call, answer stored) and, meanwhile, the status
  webhooks the simulator posts back, which the service takes and applies as in use.
- agent reply s: while the campaign sends, an agent replies (`POST .../messages`) to a customer
  every 0.5 s (--replies times); each figure is from the POST to the simulator accepting that
  reply (its acceptance time). It is what an agent's customer waits behind a campaign.
- uploads_to_meta (--image-header: the template has an image header, a 200 KB PNG given as a
  CRM document): how many distinct media ids the campaign's messages reached Meta with, i.e.
  how many times the file was uploaded.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import PHONE_NUMBER_ID  # noqa: E402
from scale import SECRET, TOKEN, WASB, Db, Proc, free_port, start_together  # noqa: E402

AGENT_CUSTOMER = "393470000001"


def audience(n: int) -> str:
    lines = ["phone,name"]
    for i in range(n):
        if i % 100 == 99:
            lines.append(f"not-a-number-{i},Cliente{i}")
        elif i % 100 == 98:
            lines.append(f"+39348{1000000 + i - 1:07d},Cliente{i}")  # the line before's number again
        else:
            lines.append(f"+39348{1000000 + i:07d},Cliente{i}")
    return "\n".join(lines) + "\n"


def admin_token(db: Db) -> str:
    from wasb.auth.service import create_token
    from wasb.store.engine import open_database

    database = open_database(db.url)
    try:
        with database.sessions() as s, s.begin():
            return create_token(s, "bench", is_admin=True)
    finally:
        database.dispose()


def run(args, postgres: bool) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="wasb-campaign-"))
    db = Db(args.database if postgres else None, workdir)
    sim_port, port = free_port(), free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("WASB_")},
           "WASB_DATABASE_URL": db.url, "WASB_APP_SECRET": SECRET, "WASB_ACCESS_TOKEN": TOKEN,
           "WASB_PHONE_NUMBER_ID": PHONE_NUMBER_ID, "WASB_WABA_ID": "102290129340398",
           "WASB_MEDIA_DIR": str(workdir / "media"), "WASB_GRAPH_URL": f"http://127.0.0.1:{sim_port}"}
    sim = Proc("simulator", [WASB, "simulator", "--port", str(sim_port), "--webhook-url",
                             f"http://127.0.0.1:{port}/webhooks/whatsapp"], env, workdir, sim_port, "/_sim/limits")
    web = Proc("web", [WASB, "serve", "--port", str(port)] + (["--no-worker"] if postgres else []), env, workdir, port)
    procs = [web] + ([Proc("worker", [WASB, "worker"], env, workdir)] if postgres else [])
    result = {"setup": "PostgreSQL (procrastinate), wasb serve + 1 wasb worker" if postgres
              else "SQLite, wasb serve + its worker child", "recipients": args.recipients,
              "send_limit": args.send_limit}
    try:
        sim.start()
        start_together(procs)
        control = httpx.Client(base_url=f"http://127.0.0.1:{sim_port}", timeout=120)
        control.post("/_sim/limits", json={"messages_per_second": args.send_limit}).raise_for_status()
        control.post("/_sim/config", json={"batch_window": 0.2}).raise_for_status()
        header = {"header_format": "IMAGE"} if args.image_header else {}
        control.post("/_sim/templates", json={"name": "saldi", "language": "it", "category": "MARKETING",
                                              "status": "APPROVED", "body_text": "Ciao {{1}}, i saldi sono iniziati",
                                              **header}).raise_for_status()
        api = httpx.Client(base_url=web_url(port), timeout=300,
                           headers={"Authorization": f"Bearer {admin_token(db)}"})
        api.put("/api/v1/settings", json={"send_rate_per_second": args.send_limit}).raise_for_status()
        api.post("/api/v1/templates/sync").raise_for_status()
        (template,) = api.get("/api/v1/templates", params={"name": "saldi"}).json()
        control.post("/_sim/inbound", json={"from": AGENT_CUSTOMER, "name": "Giulia", "text": "Avete la M?"}
                     ).raise_for_status()
        conversation = wait(lambda: api.get("/api/v1/conversations",
                                            params={"phone": "+" + AGENT_CUSTOMER}).json(), "the agent's customer")[0]

        picture = {}
        if args.image_header:
            png = b"\x89PNG\r\n\x1a\n" + os.urandom(200_000)
            document = api.post("/api/v1/documents", files={"file": ("saldi.png", png, "image/png")})
            document.raise_for_status()
            picture = {"header_document_id": document.json()["id"]}
        started = time.perf_counter()
        created = api.post("/api/v1/campaigns", json={
            "name": "Saldi", "template_id": template["id"], "mapping": {"1": "csv.name"},
            "audience": {"csv": audience(args.recipients), "csv_name": "bench.csv"}, **picture})
        result["prepare_s"] = round(time.perf_counter() - started, 2)
        created.raise_for_status()
        campaign = created.json()
        result["to_send"] = campaign["recipients"]
        result["left_out"] = campaign["excluded"]
        api.post(f"/api/v1/campaigns/{campaign['id']}/start").raise_for_status()

        latencies = []
        wait(lambda: campaign_sent(db) >= min(200, campaign["recipients"] // 4), "the campaign under way")
        for n in range(args.replies):
            body = f"risposta {n}"
            asked = time.time()
            api.post(f"/api/v1/conversations/{conversation['id']}/messages",
                     json={"type": "text", "body": body}).raise_for_status()
            accepted = wait(lambda: [m for m in control.get("/_sim/sent", params={"to": AGENT_CUSTOMER}).json()
                                     if m.get("text") == body], f"reply {n}")
            latencies.append(accepted[0]["time"] - asked)
            time.sleep(0.5)
        result["replies_during_campaign"] = len(latencies)
        result["agent_reply_s"] = {"median": round(statistics.median(latencies), 3),
                                   "max": round(max(latencies), 3)}

        try:
            wait(lambda: campaign_sent(db) >= campaign["recipients"], "every campaign message at Meta",
                 timeout=campaign["recipients"] / max(1, args.send_limit) * 4 + 120, every=0.5)
        except RuntimeError:
            stuck = api.get(f"/api/v1/campaigns/{campaign['id']}").json()
            print("stuck at", stuck["status"], stuck["progress"], flush=True)
            if postgres:
                print(db.column("SELECT concat_ws(' ', id, status, lock, queueing_lock, scheduled_at, attempts) "
                                "FROM procrastinate_jobs WHERE task_name = 'campaigns.dispatch' "
                                "ORDER BY id DESC LIMIT 5"), flush=True)
            raise
        templates = [m for m in control.get("/_sim/sent").json() if m["type"] == "template"]
        times = sorted(m["time"] for m in templates)
        if args.image_header:
            result["uploads_to_meta"] = len({m["template"]["header_media"]["id"] for m in templates})
        span = times[-1] - times[0]
        result["send_msg_per_s"] = round((len(times) - 1) / span, 1) if span else None
        result["send_vs_limit"] = f"{result['send_msg_per_s'] / args.send_limit:.0%}" if span else None
        result["refused_130429"] = db.scalar("SELECT count(*) FROM message WHERE error_code = 130429")
    finally:
        for p in procs + [sim]:
            p.stop()
        db.drop()
    return result


def web_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def campaign_sent(db: Db) -> int:
    """The campaign's messages Meta answered, from the database (the simulator's whole list,
    asked every few milliseconds, would load the box the bench measures)."""
    return db.scalar("SELECT count(*) FROM message WHERE direction = 'out' AND type = 'template' "
                     "AND status IN ('sent', 'delivered', 'read', 'failed')")


def wait(predicate, what: str, timeout: float = 120, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(every)
    raise RuntimeError(f"timed out waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--send-limit", type=int, default=80, help="messages per second (the number's tier)")
    parser.add_argument("--replies", type=int, default=20)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database instead of both")
    parser.add_argument("--image-header", action="store_true", help="a template with an image header")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()}")
    for postgres in {"sqlite": [False], "postgresql": [True]}.get(args.only, [False, True]):
        print(run(args, postgres), flush=True)


if __name__ == "__main__":
    main()
