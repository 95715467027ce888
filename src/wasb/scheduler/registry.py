"""The scheduled jobs WASB knows, and their default schedules.

| job                | default        | what a run does |
| ------------------ | -------------- | --------------- |
| syncCustomers      | every 600 s    | two-way sync between the WhatsApp address book and the CRM's leads, contacts and accounts, for records changed within the last `time_window_days`; incremental (cursors in the database), so a run costs what changed, not the CRM's size. The CRM is authoritative for what people typed there; WhatsApp only fills what the CRM lacks (a profile name for a record named after its number, a phone learnt for a BSUID-only customer); every overwrite goes to the audit log; two CRM records with one number are reported, never merged. |
| syncMessages       | every 300 s    | reconciliation, not a download: Meta has no API to fetch past messages. Retries failed inbound events and re-queues events left pending without jobs, applies delivery statuses that arrived before their message, sends queued outbound messages, retries pending media downloads and (with an external CRM) sends agent comments written in the CRM since the last cursor. |
| syncTemplates      | every 3600 s   | fetches the message templates from Meta (all pages) and updates the template table. |
| analytics          | every 300 s    | keeps the dashboard's figures: reads the messages above its watermark (never the webhook's path), updates each conversation's response facts (first response and resolution in business time), records windows that closed unanswered, and recomputes the daily rows of the days it touched (and the last two, for costs whose `pricing` came late). |
| closeConversations | every 300 s    | closes open conversations by the `close_after` setting: `window` (default) N hours after the customer's last message, when the customer-service window closes, or `created` N hours after the conversation started (the original plugin's rule); N is `close_after_hours` (24). The ticket stays open: the customer's next message opens a new conversation on it. |

Each job has an active flag, a schedule ("every N s", or "at HH:MM" daily in
`WASB_TIMEZONE`), a status (idle, running, failed, stopped) and attempts n / max
(max 5): each consecutive failed run adds one, a successful run resets it, and at the
max the job is stopped — no longer scheduled — until an admin resets it
(`POST /api/v1/jobs/{name}/reset` or `wasb jobs reset NAME`). A run in progress is
never started a second time, across processes too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from wasb.conversations.closing import run_close_conversations
from wasb.domain.schedule import Schedule
from wasb.reports.analytics import run_analytics
from wasb.sync.customers import run_sync_customers
from wasb.sync.messages import run_sync_messages
from wasb.sync.templates import run_sync_templates
from wasb.runtime import Runtime


@dataclass
class RunContext:
    """What a job's run gets besides the runtime: the clock, and where to report progress.

    A run commits its own work in short transactions of its own. `progress(done, total)`
    writes the job's heartbeat, so call it between those transactions, never inside one
    (on SQLite a second writer in the same thread would wait on the first).
    """

    name: str
    now: Callable[[], datetime]
    progress: Callable[[int, int | None], None]

    @property
    def actor(self) -> str:
        return f"job:{self.name}"


@dataclass(frozen=True)
class JobSpec:
    name: str
    # (runtime, ctx) -> a JSON-able summary of what the run did; raising means the run failed.
    run: Callable[[Runtime, RunContext], dict]
    schedule: Schedule
    description: str


def default_specs() -> dict[str, JobSpec]:
    specs = (
        JobSpec("syncCustomers", run_sync_customers, Schedule.every(600),
                "Two-way sync of the WhatsApp address book with the CRM's people (changes within the time window)"),
        JobSpec("syncMessages", run_sync_messages, Schedule.every(300),
                "Reconciliation: retry inbound events, apply early statuses, send queued messages"),
        JobSpec("syncTemplates", run_sync_templates, Schedule.every(3600),
                "Fetch the message templates from Meta"),
        JobSpec("closeConversations", run_close_conversations, Schedule.every(300),
                "Close conversations by the close_after policy (tickets stay open)"),
        JobSpec("analytics", run_analytics, Schedule.every(300),
                "Update the analytics dashboard's figures from the new messages"),
    )
    return {spec.name: spec for spec in specs}


def job_specs(rt: Runtime) -> dict[str, JobSpec]:
    """The runtime's jobs: the product's, unless a test gave the runtime its own."""
    if rt.scheduled_jobs is None:
        rt.scheduled_jobs = default_specs()
    return rt.scheduled_jobs
