"""A fixed week for the analytics tests, built through the real service and the simulator.

Customers write through signed webhooks carrying fixed times (the intake keeps a past
message's own time); agents ada and bruno, logged in, answer through the API with
templates (the only messages Meta takes once a window is closed, whatever today is),
which the sender hands to the simulator, whose status webhooks bring `pricing` back.
The service's clock for the moment an agent queues a message or closes a conversation
is set by the test (`AgentClock`): the service runs in the test's process.

Europe/Rome (CEST, UTC+2); business hours Monday to Friday 09:00-18:00. Local times:

| customer | writes                 | answer (template)                 | closed          |
| -------- | ---------------------- | --------------------------------- | --------------- |
| Anna  A  | Mon 07 08:00           | ada, Mon 09:30 (utility)          | Mon 17:00       |
| Bice  B  | Mon 07 17:30           | bruno, Tue 09:15 (marketing)      | Tue 10:00       |
| Carlo C  | Tue 08 10:00           | none: the window expires Wed 10:00 | —               |
| Dario D  | Wed 09 00:30 (Tue in UTC) | ada, Wed 10:00 (utility) and 10:05 (marketing) | — |

A is assigned to ada and B to bruno before their answers; C and D to nobody (D's agent is
then ada, who answered first).
"""
from __future__ import annotations

import re
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import httpx

from tests.support.polling import wait_until
from tests.ui.conftest import create_users
from tests.ui.seed import text_message

ROME = ZoneInfo("Europe/Rome")
ADA = ("ada", "password-di-ada-1")
BRUNO = ("bruno", "password-di-bruno-1")
ADMIN_USER = ("capo", "password-del-capo-1")
HOURS = {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
CUSTOMERS = {"A": ("393400000001", "Anna"), "B": ("393400000002", "Bice"), "C": ("393400000003", "Carlo"),
             "D": ("393400000004", "Dario")}


def rome(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 7, day, hour, minute, tzinfo=ROME).astimezone(timezone.utc)


class AgentClock:
    """The service's `utcnow` where an agent's message is stamped and a conversation closed."""

    def __init__(self, monkeypatch):
        self.at = datetime.now(timezone.utc)
        for module in ("wasb.outbound.service", "wasb.conversations.service"):
            monkeypatch.setattr(f"{module}.utcnow", lambda: self.at)


@dataclass
class Week:
    conversations: dict[str, int]


def logged_in(url: str, who) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/login").text).group(1)
    answer = client.post("/ui/login", data={"username": who[0], "password": who[1], "csrf": csrf, "next": "/ui/inbox"})
    assert answer.status_code == 303, answer.text
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/ui/inbox").text).group(1)
    client.headers["x-csrf-token"] = token
    return client


def _template(client: httpx.Client, conversation_id: int, name: str) -> int:
    answer = client.post(f"/api/v1/conversations/{conversation_id}/messages", json={
        "type": "template", "template": {"name": name, "language": "it", "parameters": ["cliente"]}})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _priced(wired, conversation_id: int, message_id: int) -> None:
    """Wait until the simulator's status with `pricing` has been applied to the message."""
    def done():
        messages = wired.get(f"/api/v1/conversations/{conversation_id}")["messages"]
        return any(m["id"] == message_id and m.get("pricing") for m in messages)
    wait_until(done, what=f"the pricing of message {message_id}")


@contextmanager
def agents(url: str):
    with closing(logged_in(url, ADA)) as ada, closing(logged_in(url, BRUNO)) as bruno:
        yield ada, bruno


def build_week(wired, monkeypatch) -> Week:
    clock = AgentClock(monkeypatch)
    create_users(wired, [dict(username=ADA[0], password=ADA[1]), dict(username=BRUNO[0], password=BRUNO[1]),
                         dict(username=ADMIN_USER[0], password=ADMIN_USER[1], is_admin=True)])
    # Nothing closes the past week's conversations by itself while the test builds it.
    assert wired.api("PUT", "/api/v1/jobs/closeConversations", json={"active": False}).status_code == 200
    assert wired.api("PUT", "/api/v1/settings", json={"business_hours": HOURS}).status_code == 200
    for name, category in (("conferma", "UTILITY"), ("offerta", "MARKETING")):
        wired.sim.post("/_sim/templates", json={"name": name, "language": "it", "category": category,
                                                "status": "APPROVED", "body_text": "Gentile {{1}}"}).raise_for_status()
    assert wired.api("POST", "/api/v1/templates/sync").status_code == 200

    writes = {"A": rome(7, 8), "B": rome(7, 17, 30), "C": rome(8, 10), "D": rome(9, 0, 30)}
    for key, at in writes.items():
        wa_id, name = CUSTOMERS[key]
        answer = wired.post_webhook(text_message(wa_id, f"Buongiorno da {name}", f"wamid.{key}1", name=name, at=at))
        assert answer.status_code == 200, answer.text
    wired.wait_idle()
    ids = {key: next(c["id"] for c in wired.get("/api/v1/conversations?limit=100")
                     if c["contact"]["wa_id"] == CUSTOMERS[key][0]) for key in CUSTOMERS}

    from wasb.conversations.service import assign_conversation, close_conversation
    with wired.app.db.sessions() as s, s.begin():
        assign_conversation(s, ids["A"], ADA[0])
        assign_conversation(s, ids["B"], BRUNO[0])

    with agents(wired.url) as (ada, bruno):
        for who, key, name, at in ((ada, "A", "conferma", rome(7, 9, 30)), (bruno, "B", "offerta", rome(8, 9, 15)),
                                   (ada, "D", "conferma", rome(9, 10)), (ada, "D", "offerta", rome(9, 10, 5))):
            clock.at = at
            _priced(wired, ids[key], _template(who, ids[key], name))
    for key, at in (("A", rome(7, 17)), ("B", rome(8, 10))):
        clock.at = at
        with wired.app.db.sessions() as s, s.begin():
            close_conversation(s, ids[key])
    clock.at = datetime.now(timezone.utc)
    return Week(ids)


def run_analytics(wired) -> dict:
    """One run of the scheduled job, through the jobs API, waited for."""
    before = wired.get("/api/v1/jobs/analytics").get("last_run_at")
    assert wired.api("POST", "/api/v1/jobs/analytics/run").status_code == 202
    job = wait_until(lambda: (j := wired.get("/api/v1/jobs/analytics"))["status"] != "running"
                   and j.get("last_run_at") != before and j, what="the analytics run")
    assert job["status"] == "idle", job
    return job


WEEK_FROM, WEEK_TO = "2025-07-06", "2025-07-10"
