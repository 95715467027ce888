"""What Meta billed: the pricing of status webhooks, totalled per day and category."""
import time
from datetime import datetime, timezone

import httpx

from tests.inbound.test_inbound_to_crm import text_message
from tests.support.inprocess import server_in_process as live  # noqa: F401  (real HTTP to the app in this process)
from tests.support.runtime import wait_idle
from tests.sync.test_sync_messages import add_outbound, status_webhook
from wasb.auth.service import create_token


def post(live, body: dict) -> None:
    """A signed webhook, answered and processed."""
    assert live.post_webhook(body).status_code == 200
    wait_idle(live.app)


def priced(category, billable=True, kind="regular", model="PMP"):
    return {"billable": billable, "pricing_model": model, "type": kind, "category": category}


def at(day, hour=10):
    return datetime(2025, 7, day, hour, 0, tzinfo=timezone.utc)


def test_usage_is_totalled_per_day_and_category(live):
    post(live, text_message("393351032246", "ciao", "wamid.in", str(int(time.time())), "Daniele"))
    sent = [("wamid.o1", at(1), priced("marketing")), ("wamid.o2", at(1, 23), priced("utility")),
            ("wamid.o3", at(1, 11), priced("marketing", model="CBP")),
            ("wamid.o4", at(2), priced("service", billable=False, kind="free_customer_service")),
            ("wamid.o5", at(5), priced("marketing"))]
    for wamid, moment, pricing in sent:
        add_outbound(live, wamid, moment)
        stamp = int(moment.timestamp())
        post(live, status_webhook(wamid, "sent", stamp, pricing))
        post(live, status_webhook(wamid, "delivered", stamp + 5, pricing))  # the same message, counted once
    post(live, status_webhook("wamid.o1", "read", int(at(1).timestamp()) + 60))  # no pricing: changes nothing

    with live.app.db.sessions() as s, s.begin():
        token = create_token(s, "reports", is_admin=False)
    response = httpx.get(live.url + "/api/v1/reports/usage", params={"from": "2025-07-01", "to": "2025-07-02"},
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["from"], report["to"], report["timezone"]) == ("2025-07-01", "2025-07-02", "UTC")
    assert [(d["day"], d["category"], d["messages"], d["billable"]) for d in report["days"]] == [
        ("2025-07-01", "marketing", 2, 2), ("2025-07-01", "utility", 1, 1), ("2025-07-02", "service", 1, 0)]
    assert report["days"][0]["by_pricing_model"] == {"CBP": 1, "PMP": 1}
    assert report["days"][2]["by_type"] == {"free_customer_service": 1}
    assert {c: (t["messages"], t["billable"]) for c, t in report["totals"].items()} == {
        "marketing": (2, 2), "service": (1, 0), "utility": (1, 1)}


def test_a_bad_usage_range_is_refused_with_a_reason(live):
    with live.app.db.sessions() as s, s.begin():
        token = create_token(s, "reports")
    headers = {"Authorization": f"Bearer {token}"}
    for params, reason in [({"from": "2025-07-10", "to": "2025-07-01"}, "after"),
                           ({"from": "July"}, "dates like"), ({"from": "2020-01-01", "to": "2025-01-01"}, "at most")]:
        response = httpx.get(live.url + "/api/v1/reports/usage", params=params, headers=headers)
        assert response.status_code == 422 and reason in response.text
    assert httpx.get(live.url + "/api/v1/reports/usage").status_code == 401
