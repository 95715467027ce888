"""The per-process counters `/metrics` exposes (Prometheus, `prometheus_client`).

They sit below every floor (they import nothing of wasb) so any piece that does the work
counts it where it happens: the webhook intake, the Graph client, the sender, the CRM
guard, the job workers. Counting costs an in-memory increment on the hot path, never a
database write.

Each process counts what it did itself: the web process the webhooks, the worker process
the sends, Meta's errors and the jobs. Prometheus sums them per process it scrapes; with
PROMETHEUS_MULTIPROC_DIR set (prometheus_client's multiprocess mode, before the process
starts), the processes of one machine share their figures through files in that directory
and the web's `/metrics` shows them all (see the README, "Metrics"). What is read from the
database (backlog, open conversations, the CRM's health) is not here: the web's collector
(`wasb.web.metrics`) reads it at scrape time, right for the whole cluster.
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOKS_RECEIVED = Counter(
    "wasb_webhooks_received", "Meta's webhooks accepted and stored durably (answered 200)")
WEBHOOKS_REFUSED = Counter(
    "wasb_webhooks_refused", "Meta's webhooks refused, by reason: bad_signature (401), too_large (413), "
    "not_stored (503, Meta delivers again)", ["reason"])
INTAKE_SECONDS = Histogram(
    "wasb_webhook_intake_seconds", "Time from a webhook's body read to its answer (signature check and durable store)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))

JOB_FAILURES = Counter(
    "wasb_job_failures", "Job attempts that failed (waits for the CRM are not counted), by task; "
    "given_up says whether it was the last attempt", ["task", "given_up"])

MESSAGES_SENT = Counter(
    "wasb_messages_sent", "Messages Meta accepted (compare its rate with wasb_send_tier_messages_per_second)")
META_ERRORS = Counter(
    "wasb_meta_errors", "Errors Meta's Graph API answered, by Meta's error code", ["code"])

CRM_CALL_SECONDS = Histogram(
    "wasb_crm_call_seconds", "Calls to the CRM through its port, by operation and outcome "
    "(ok, or fault: the CRM unavailable or our credentials refused)", ["operation", "outcome"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))

# The reasons of WEBHOOKS_REFUSED, spelled once.
BAD_SIGNATURE, TOO_LARGE, NOT_STORED = "bad_signature", "too_large", "not_stored"
