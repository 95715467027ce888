"""`GET /metrics`: Prometheus's text format, behind a bearer token (WASB_METRICS_TOKEN).

Two kinds of figures. The counters of `wasb.metrics` are this process's own (or, with
PROMETHEUS_MULTIPROC_DIR, every process of this machine sharing that directory). The rest
is read from the database when Prometheus scrapes (`ClusterCollector`), through the same
functions `/healthz` and the jobs page use, so it is the whole cluster's current truth
whichever process answers: the job backlog per task, the intake journal, the CRM's and the
channel's health, the number's tier, open conversations. Nothing is kept between scrapes.
"""
from __future__ import annotations

import hmac
import logging
import os
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from wasb.bootstrap import App
from wasb.conversations.tables import OPEN, Conversation
from wasb.live.feed import hub
from wasb.outbound.channel import channel_health
from wasb.outbound.tables import HEALTHY
from wasb.settings.service import load_settings
from wasb.store.base import utcnow
from wasb.web.backlog import service_backlog
from wasb.web.crm_status import crm_status

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

CRM_STATES = ("ok", "unavailable", "auth_failure", "misconfigured")
# What generate_latest writes: the classic text format, which every Prometheus reads
# (prometheus_client's own server names it so; its CONTENT_TYPE_LATEST says 1.0.0 since 0.22).
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics")
def metrics(request: Request) -> Response:
    app: App = request.app.state.wasb
    token = app.config.metrics_token.get_secret_value()
    if not token:  # not configured: as if there were no such page
        raise HTTPException(404, "Not Found")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "a bearer token is needed (WASB_METRICS_TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})
    cluster = CollectorRegistry(auto_describe=False)
    cluster.register(ClusterCollector(app))
    return Response(generate_latest(_process_registry()) + generate_latest(cluster),
                    media_type=TEXT_FORMAT, headers={"Cache-Control": "no-store"})


def _process_registry() -> CollectorRegistry:
    """This process's counters, or every process's of this machine in multiprocess mode
    (prometheus_client's documented way: a fresh registry reading the directory's files)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


class ClusterCollector:
    """The database's figures, read at each scrape."""

    def __init__(self, app: App):
        self.app = app

    def collect(self):
        up = GaugeMetricFamily("wasb_database_up", "1 when this scrape could read the service database")
        # SSE streams are held by this web process: its own figure, not the database's.
        yield GaugeMetricFamily("wasb_sse_clients", "Open pages' live event streams served by this process",
                                value=hub.subscriber_count)
        try:
            families = list(self._from_database())
        except Exception:
            # The scrape still answers: an alert on wasb_database_up says what is wrong.
            log.exception("metrics: the database could not be read")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _from_database(self):
        app = self.app
        now = utcnow()
        pending = GaugeMetricFamily("wasb_jobs_pending", "Jobs waiting or running, by task", labels=["task"])
        oldest = GaugeMetricFamily("wasb_jobs_oldest_pending_age_seconds",
                                   "Age of the oldest job waiting or running, by task (0 when none)", labels=["task"])
        retrying = GaugeMetricFamily("wasb_jobs_retrying", "Pending jobs that failed a try and wait to try again, "
                                     "by task", labels=["task"])
        failed = GaugeMetricFamily("wasb_jobs_failed", "Jobs given up after their last attempt (kept until "
                                   "retried), by task", labels=["task"])
        with app.db.read_sessions() as session:
            for task in sorted(app.tasks):
                jobs = app.queue.backlog(session, task)
                pending.add_metric([task], jobs.pending)
                oldest.add_metric([task], _age(now, jobs.oldest_pending_at))
                retrying.add_metric([task], jobs.retrying)
                failed.add_metric([task], jobs.failed)
            behind = service_backlog(app.config, app.db, app.queue, session)
            crm = crm_status(app.config, app.crm_link, app.queue, session)
            channel = channel_health(session, app.config.phone_number_id)
            tier = load_settings(session, app.config).send_rate_per_second
            open_conversations = session.scalar(
                select(func.count()).select_from(Conversation).where(Conversation.status == OPEN))
        yield from (pending, oldest, retrying, failed)
        yield GaugeMetricFamily("wasb_jobs_due", "Jobs whose time has come and that no worker has taken yet",
                                value=behind.jobs_due)
        yield GaugeMetricFamily("wasb_intake_waiting", "Webhooks accepted and not yet moved into the service "
                                "database (SQLite's intake journal; 0 on PostgreSQL)", value=behind.intake.count)
        yield GaugeMetricFamily("wasb_backlog_age_seconds", "How long the oldest waiting item (webhook or due job) "
                                "has waited", value=behind.age_seconds)
        yield GaugeMetricFamily("wasb_backlog_stuck_locks", "Customers whose jobs wait behind a job of a worker "
                                "that is gone", value=behind.stuck_locks)
        yield GaugeMetricFamily("wasb_backlog_busy", "1 when the service says it is behind (/healthz busy)",
                                value=int(behind.busy))
        yield GaugeMetricFamily("wasb_crm_up", "1 when the CRM is reachable, accepts our credentials and is "
                                "configured so events can be applied", value=int(crm["state"] == "ok"))
        state = GaugeMetricFamily("wasb_crm_state", "The CRM's state as /healthz says it (1 for the current one)",
                                  labels=["state"])
        for name in CRM_STATES:
            state.add_metric([name], int(crm["state"] == name))
        yield state
        yield GaugeMetricFamily("wasb_whatsapp_channel_healthy", "1 unless Meta refused the token or restricted "
                                "the account or number", value=int(channel.status == HEALTHY))
        yield GaugeMetricFamily("wasb_send_tier_messages_per_second", "The number's throughput tier the sender "
                                "keeps under (admin setting)", value=tier)
        yield GaugeMetricFamily("wasb_conversations_open", "Conversations open now", value=open_conversations or 0)


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0
