"""`GET /metrics`: Prometheus's text format, parsed with prometheus_client's own parser, after
real traffic (signed and forged webhooks, messages sent through the simulator, Meta's errors)."""
from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.metrics.conftest import METRICS_TOKEN
from tests.outbound.flows import CUSTOMER, customer_writes, send, wait_status
from tests.support.databases import BACKEND
from tests.support.inprocess import InProcessService

DONE = ("sent", "delivered", "read")
FORGED = "sha256=" + "0" * 64


def scrape(service, token: str | None = METRICS_TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(service.url + "/metrics", headers=headers, timeout=30)


def samples(service) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, by (name, sorted labels)."""
    answer = scrape(service)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def value(scraped: dict, name: str, **labels: str) -> float:
    """A sample's value; a labelled counter not incremented yet has no sample: 0."""
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def inject(sim, **spec) -> None:
    answer = sim.post("/_sim/inject", json=spec)
    assert answer.status_code == 200, answer.text


def refuses_a_scrape_without_the_right_bearer_token(service) -> None:
    for token in (None, "wrong-token", METRICS_TOKEN + "x", METRICS_TOKEN[:-1]):
        refused = scrape(service, token)
        assert refused.status_code == 401, token
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "wasb_" not in refused.text
    basic = httpx.get(service.url + "/metrics", auth=("prometheus", METRICS_TOKEN), timeout=30)
    assert basic.status_code == 401 and "wasb_" not in basic.text


def test_only_the_bearer_token_scrapes_and_webhooks_sends_meta_errors_and_the_backlog_show(wasb, sim):
    refuses_a_scrape_without_the_right_bearer_token(wasb)
    start = samples(wasb)

    conversation = customer_writes(sim, wasb)  # the simulator posts one signed webhook
    forged = wasb.post_webhook({"object": "whatsapp_business_account", "entry": []}, signature=FORGED)
    assert forged.status_code == 401
    inbound = samples(wasb)
    assert moved(start, inbound, "wasb_webhooks_received_total") == 1
    assert moved(start, inbound, "wasb_webhooks_refused_total", reason="bad_signature") == 1
    assert moved(start, inbound, "wasb_webhook_intake_seconds_count") == 1  # the refused one is not timed
    assert moved(start, inbound, "wasb_webhook_intake_seconds_sum") > 0
    assert value(inbound, "wasb_conversations_open") == 1
    assert value(inbound, "wasb_database_up") == 1
    assert value(inbound, "wasb_crm_up") == 1 and value(inbound, "wasb_crm_state", state="ok") == 1
    assert value(inbound, "wasb_send_tier_messages_per_second") == 80  # the setting's default
    assert value(inbound, "wasb_sse_clients") == 0
    # Every task of the process has its backlog gauges, computed from the queue at the scrape.
    tasks = set(wasb.app.tasks)
    assert {"inbound.process", "outbound.send"} <= tasks
    for name in ("wasb_jobs_pending", "wasb_jobs_oldest_pending_age_seconds", "wasb_jobs_retrying",
                 "wasb_jobs_failed"):
        shown = {dict(labels)["task"]: v for (n, labels), v in inbound.items() if n == name}
        assert set(shown) == tasks, name
        assert all(v >= 0 for v in shown.values()), name
    wasb.wait_until(lambda: value(samples(wasb), "wasb_jobs_pending", task="inbound.process") == 0, 30,
                    "the customer's message to be applied")

    # Meta refuses one message for good, and another once before taking it.
    inject(sim, code=131026, to=CUSTOMER, count=1)
    refused = send(wasb, conversation["id"], type="text", body="Primo").json()
    assert wait_status(wasb, conversation["id"], refused["id"], *DONE, "failed")["status"] == "failed"
    inject(sim, code=131000, to=CUSTOMER, count=1)
    retried = send(wasb, conversation["id"], type="text", body="Secondo").json()
    assert wait_status(wasb, conversation["id"], retried["id"], *DONE, "failed", timeout=30)["status"] in DONE
    sent = samples(wasb)
    assert moved(inbound, sent, "wasb_messages_sent_total") == 1
    assert moved(inbound, sent, "wasb_meta_errors_total", code="131026") == 1
    assert moved(inbound, sent, "wasb_meta_errors_total", code="131000") == 1
    assert moved(inbound, sent, "wasb_job_failures_total", task="outbound.send", given_up="false") == 1
    assert moved(inbound, sent, "wasb_job_failures_total", task="outbound.send", given_up="true") == 0
    # Meta's status webhooks of the message that went out came in signed and were taken.
    assert moved(inbound, sent, "wasb_webhooks_received_total") >= 1
    assert moved(inbound, sent, "wasb_webhooks_refused_total", reason="bad_signature") == 0


def test_without_a_metrics_token_there_is_no_metrics_page(database_url, tmp_path):
    service = InProcessService(database_url, tmp_path).start()
    try:
        for token in (None, METRICS_TOKEN):
            answer = scrape(service, token)
            assert answer.status_code == 404, token
            assert "wasb_" not in answer.text
    finally:
        service.stop()


def test_wasb_serve_shows_what_its_worker_process_counted(served, sim):
    # `wasb serve` runs the jobs in a child process only: a send is counted there, and the
    # web's scrape shows it (prometheus_client's multiprocess mode, set up by serve).
    refuses_a_scrape_without_the_right_bearer_token(served)
    conversation = customer_writes(sim, served)
    row = send(served, conversation["id"], type="text", body="Dal processo del worker").json()
    wait_status(served, conversation["id"], row["id"], *DONE, timeout=30)
    scraped = samples(served)
    assert value(scraped, "wasb_messages_sent_total") == 1
    assert value(scraped, "wasb_webhooks_received_total") >= 2  # the customer's message, then Meta's statuses
    assert value(scraped, "wasb_conversations_open") == 1
    served.wait_until(lambda: value(samples(served), "wasb_jobs_pending", task="outbound.send") == 0, 30,
                      "the send job to be over")


@pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate runs on PostgreSQL only")
def test_on_procrastinate_job_failures_and_the_backlog_per_task_show_too(start_metered, sim):
    wasb = start_metered(queue="procrastinate")
    conversation = customer_writes(sim, wasb)
    start = samples(wasb)
    inject(sim, code=131000, to=CUSTOMER, count=1)
    row = send(wasb, conversation["id"], type="text", body="Secondo tentativo").json()
    assert wait_status(wasb, conversation["id"], row["id"], *DONE, "failed", timeout=30)["status"] in DONE
    end = samples(wasb)
    assert moved(start, end, "wasb_job_failures_total", task="outbound.send", given_up="false") == 1
    assert moved(start, end, "wasb_messages_sent_total") == 1
    assert moved(start, end, "wasb_meta_errors_total", code="131000") == 1
    shown = {dict(labels)["task"] for (n, labels) in end if n == "wasb_jobs_oldest_pending_age_seconds"}
    assert shown == set(wasb.app.tasks)
    # Meta's status webhooks of that message are applied a moment later: the gauge comes back to 0.
    wasb.wait_until(lambda: value(samples(wasb), "wasb_jobs_pending", task="inbound.process") == 0, 30,
                    "the statuses to be applied")
