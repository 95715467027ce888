"""The process configuration: the only reader of the environment.

Values come from `WASB_*` variables (and an optional `.env` file). Settings that
an admin changes at run time live in the database (`wasb.settings`); these are the
ones a process needs before it can reach the database, or secrets.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

META_GRAPH_URL = "https://graph.facebook.com"


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WASB_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./wasb.db"

    # The WhatsApp channel (a business phone number on Meta's Cloud API).
    app_secret: SecretStr = SecretStr("")
    verify_token: SecretStr = SecretStr("")
    access_token: SecretStr = SecretStr("")
    phone_number_id: str = ""
    waba_id: str = ""
    graph_url: str = META_GRAPH_URL
    graph_version: str = "v24.0"

    timezone: str = "UTC"
    default_country: str = "IT"

    # Where inbound media and temporary public document links are kept.
    media_dir: Path = Path("./media")
    # The address customers' WhatsApp (Meta's fetcher) reaches this service at, for
    # temporary document links; links are refused while it is empty (never taken from
    # the request's Host header, which the caller chooses).
    public_url: str = ""

    # The CRM behind the port: the embedded one, or a vtenext / vtiger webservice
    # (`crm_url` is the CRM's base address; `crm_user` a CRM user and `crm_access_key`
    # the access key shown on that user's "My Preferences" page, not its password).
    crm: Literal["embedded", "vtenext"] = "embedded"
    crm_url: str = ""
    crm_user: str = ""
    crm_access_key: SecretStr = SecretStr("")
    # How long one webservice call may take before the CRM counts as unavailable.
    crm_timeout_seconds: float = Field(default=15.0, gt=0)
    # How often an external CRM is polled for comments agents wrote on tickets.
    crm_poll_seconds: float = Field(default=30.0, gt=0)

    # Initial values of the admin settings (stored in the database afterwards).
    auto_ticket: bool = True
    phone_prefix: Literal["+", "00"] = "+"
    time_window_days: int = 1
    reference_user: str = ""
    ticket_priority: str = "High"
    # The ticket status written when the customer answers. vtiger's picklist has no
    # "Answered by customer": WASB refuses to write a status the CRM lacks (the customers'
    # events wait, `/healthz` says why), so a vtiger install names one it has here.
    status_answered: str = Field(default="Answered by customer", min_length=1, max_length=64)

    # `make run` only: the file where the simulator writes how far its clock is ahead, so
    # the 24-hour window closes when the simulated phone says (see `wasb.domain.clock`).
    demo_clock_file: str = ""

    # A message whose send was recorded but never answered (a crash, a lost answer) is not
    # re-sent; after this long without a status webhook from Meta it is marked failed.
    send_confirm_grace_seconds: float = Field(default=600, ge=0)

    # The job queue engine: the embedded one (the `job` table, one worker process per SQLite
    # database) or procrastinate (PostgreSQL only: workers on any number of machines,
    # heartbeats, stalled jobs back in the queue within seconds). Unset, the database URL
    # chooses: procrastinate on PostgreSQL, embedded on SQLite. WASB_QUEUE=embedded keeps the
    # embedded engine on PostgreSQL (one machine: it batches 64 jobs a transaction).
    queue: Literal["embedded", "procrastinate"] | None = None
    # procrastinate's workers: each says it is alive every heartbeat_seconds; a worker silent
    # for stalled_worker_seconds is dead, and every worker looks for such jobs every
    # stalled_check_seconds and puts them back in the queue.
    heartbeat_seconds: float = Field(default=2.0, gt=0)
    stalled_worker_seconds: float = Field(default=10.0, gt=0)
    stalled_check_seconds: float = Field(default=5.0, gt=0)
    # How many jobs one `wasb worker` runs at once on procrastinate (`--concurrency`).
    worker_concurrency: int = Field(default=4, gt=0)

    # Outgoing webhooks: a delivery refused (not 2xx) or unreachable is tried again after this
    # many seconds, doubling up to an hour, for 24 hours.
    webhook_retry_seconds: float = Field(default=30.0, gt=0)

    # The in-process worker.
    worker: bool = True
    worker_poll_seconds: float = Field(default=0.2, gt=0)
    # PostgreSQL: a job `doing` for longer than this at start-up belongs to a dead process
    # and goes back to the queue (SQLite has one worker process: all of them do).
    worker_stalled_seconds: float = Field(default=900, gt=0)
    # Past either bound the service says it is behind (`/healthz` "busy", the jobs page):
    # webhooks and jobs waiting, or the oldest of them waiting this long. It still takes
    # every webhook.
    backlog_busy_items: int = Field(default=10_000, gt=0)
    backlog_busy_seconds: float = Field(default=60.0, gt=0)
    # The scheduler's ticker runs beside the worker; it queues due scheduled jobs.
    scheduler: bool = True
    scheduler_tick_seconds: float = Field(default=1.0, gt=0)
    max_webhook_bytes: int = 5 * 1024 * 1024
    # Slow clients (wasb.web.slow_clients): the request line and headers must arrive within
    # header_timeout_seconds, the whole body within body_timeout_seconds of the headers
    # (an upload too: 60 s is 16 MB at about 2 Mbit/s); past max_connections open
    # connections or requests in progress, requests get 503 at once.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=60.0, gt=0)
    max_connections: int = Field(default=1000, gt=0)
    session_secret: SecretStr = SecretStr("")
    # `GET /metrics` (Prometheus) asks for `Authorization: Bearer <this>`; while it is empty
    # the endpoint does not exist (404): figures about the service are not public by default.
    metrics_token: SecretStr = SecretStr("")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown IANA name
        return value

    @field_validator("default_country")
    @classmethod
    def _upper_country(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _crm_reachable(self) -> "Config":
        if self.crm == "vtenext":
            missing = [name for name, value in (("WASB_CRM_URL", self.crm_url), ("WASB_CRM_USER", self.crm_user),
                       ("WASB_CRM_ACCESS_KEY", self.crm_access_key.get_secret_value())) if not value]
            if missing:
                raise ValueError(f"WASB_CRM=vtenext needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _queue_engine(self) -> "Config":
        postgres = self.database_url.startswith("postgresql")
        if self.queue is None:
            self.queue = "procrastinate" if postgres else "embedded"
        if self.queue == "procrastinate" and not postgres:
            raise ValueError("WASB_QUEUE=procrastinate needs a PostgreSQL WASB_DATABASE_URL "
                             "(on SQLite the queue is the embedded one: WASB_QUEUE=embedded)")
        if self.stalled_worker_seconds <= self.heartbeat_seconds:
            raise ValueError("WASB_STALLED_WORKER_SECONDS must be longer than WASB_HEARTBEAT_SECONDS")
        return self

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
