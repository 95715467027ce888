"""`wasb`: serve, migrate, users and tokens."""
from __future__ import annotations

import logging
import os
import sys

import click

from wasb.cli.configuration import load_config
from wasb.config import Config


def _config() -> Config:
    return load_config()


@click.group()
def main() -> None:
    """WASB: WhatsApp Business inside your CRM's customer service."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # One line per HTTP request (1,000 a second when sending at Meta's top tier) says nothing
    # that our own logs do not; failures are logged by the callers.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # procrastinate logs every job's start and end at INFO: our own logs say what went wrong.
    logging.getLogger("procrastinate").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-worker", is_flag=True,
              help="The web only: run `wasb worker` apart (same as WASB_WORKER=false).")
def serve(host: str, port: int, no_worker: bool) -> None:
    """Run the web service and, in a child process it keeps running, the worker
    (migrates the database first)."""
    from wasb.cli.metrics_dir import shared_metrics_dir

    # Before anything imports prometheus_client: the worker's counters are shared with the web.
    with shared_metrics_dir():
        _serve(host, port, no_worker)


def _serve(host: str, port: int, no_worker: bool) -> None:
    import uvicorn

    from wasb.cli.supervisor import Supervisor
    from wasb.cli.worker import build_or_exit, describe
    from wasb.jobs.worker import release_jobs_of
    from wasb.web.app import create_app
    from wasb.web.slow_clients import header_timeout_protocol

    config = _config()
    wasb = build_or_exit(config)
    apart = no_worker or not config.worker
    logging.getLogger("wasb.cli.serve").info(
        "wasb serve %d on %s:%d: %s, %s", os.getpid(), host, port, describe(config),
        "no worker here (run `wasb worker` apart)" if apart else "its worker in a child process")
    # The jobs never run in this process: the request path shares no GIL with them. A
    # child that dies leaves its claimed jobs: they go back to the queue at once.
    # (On procrastinate the heartbeats of the dead child stop: a living worker puts its jobs
    # back within WASB_STALLED_WORKER_SECONDS + WASB_STALLED_CHECK_SECONDS.)
    supervisor = (Supervisor(on_exit=(lambda pid: release_jobs_of(wasb.db, pid)) if config.queue == "embedded"
                             else None)
                  if not apart else None)
    app = create_app(wasb, worker_threads=False, alongside=supervisor)
    # Open pages hold a server-sent event stream that never ends by itself: give such
    # requests a few seconds on shutdown, then close them (browsers reconnect).
    # Slow clients are bounded: headers in header_timeout_seconds (the protocol's timer),
    # the body in body_timeout_seconds (a middleware of the app), max_connections at once.
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, timeout_graceful_shutdown=3,
                http=header_timeout_protocol(config.header_timeout_seconds),
                limit_concurrency=config.max_connections)


@main.command()
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Jobs run at once by this process on procrastinate (default WASB_WORKER_CONCURRENCY, 4).")
def worker(concurrency: int | None) -> None:
    """Run the jobs, the scheduler and the CRM comment poll, without the web (one per
    SQLite database, any number on PostgreSQL; `wasb serve` starts one unless --no-worker)."""
    from wasb.cli.supervisor import PARENT_ENV
    from wasb.cli.worker import run

    config = _config()
    if concurrency is not None:
        config = config.model_copy(update={"worker_concurrency": concurrency})
    parent = os.environ.get(PARENT_ENV)
    run(config, int(parent) if parent else None)


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from wasb.store.migrate import upgrade

    config = _config()
    upgrade(config.database_url)
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--webhook-url", default="http://127.0.0.1:8000/webhooks/whatsapp", show_default=True,
              help="Where the simulated Meta posts its signed webhooks.")
def simulator(host: str, port: int, webhook_url: str) -> None:
    """Run the WhatsApp simulator: Meta's Graph API wire format and a customer phone page."""
    from wasb.simulator.app import run

    run(host=host, port=port, webhook_url=webhook_url, config=load_config(announce=False))  # no database


@main.group()
def user() -> None:
    """Agents and admins who log in."""


def _read_password(generate: bool) -> tuple[str, bool]:
    from wasb.auth.passwords import generate_password

    if generate:
        return generate_password(), True
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("no password on standard input")
        return password, False
    return click.prompt("Password", hide_input=True, confirmation_prompt=True), False


@user.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
@click.option("--generate", is_flag=True, help="Make up a password and print it once.")
@click.option("--language", default="en", type=click.Choice(["en", "it"]), show_default=True)
def user_create(name: str, admin: bool, generate: bool, language: str) -> None:
    """Create a user; the password comes from standard input, a prompt, or --generate."""
    from wasb.auth.service import UserExists, create_user
    from wasb.bootstrap import build_app

    password, generated = _read_password(generate)
    app = build_app(_config())
    try:
        with app.db.sessions() as session, session.begin():
            create_user(session, name, password, is_admin=admin, language=language)
    except (UserExists, ValueError) as exc:
        raise click.ClickException(str(exc))
    finally:
        app.db.dispose()
    click.echo(f"created {'admin' if admin else 'agent'} {name}")
    if generated:
        click.echo(f"password: {password}")


def _change_user(name: str, change) -> None:
    """Run change(session, user_id) on the named user in one transaction."""
    from wasb.auth.service import user_named
    from wasb.bootstrap import build_app

    app = build_app(_config())
    try:
        with app.db.sessions() as session, session.begin():
            found = user_named(session, name)
            if found is None:
                raise click.ClickException(f"no user {name!r}")
            change(session, found.id)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    finally:
        app.db.dispose()


@user.command("password")
@click.argument("name")
@click.option("--generate", is_flag=True, help="Make up a password and print it once.")
def user_password(name: str, generate: bool) -> None:
    """Set a user's password (standard input, a prompt, or --generate); their sessions end."""
    from wasb.auth.service import set_password

    password, generated = _read_password(generate)
    _change_user(name, lambda session, user_id: set_password(session, user_id, password))
    click.echo(f"new password for {name}; their sessions have ended")
    if generated:
        click.echo(f"password: {password}")


@user.command("deactivate")
@click.argument("name")
def user_deactivate(name: str) -> None:
    """Stop a user: no login, their sessions and API tokens stop working at once."""
    from wasb.auth.service import set_active

    _change_user(name, lambda session, user_id: set_active(session, user_id, False))
    click.echo(f"deactivated {name}")


@user.command("activate")
@click.argument("name")
def user_activate(name: str) -> None:
    """Let a deactivated user log in again."""
    from wasb.auth.service import set_active

    _change_user(name, lambda session, user_id: set_active(session, user_id, True))
    click.echo(f"activated {name}")


@main.group()
def token() -> None:
    """API tokens for tools and integrations."""


@token.command("create")
@click.argument("name")
@click.option("--agent", is_flag=True, help="An agent token (no access to settings, jobs, users).")
def token_create(name: str, agent: bool) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from wasb.auth.service import create_token
    from wasb.bootstrap import build_app

    app = build_app(_config())
    try:
        with app.db.sessions() as session, session.begin():
            secret = create_token(session, name, is_admin=not agent)
    finally:
        app.db.dispose()
    click.echo(secret)


@main.group()
def crm() -> None:
    """The CRM WASB works with."""


@crm.command("check")
def crm_check() -> None:
    """Log in to the vtenext / vtiger CRM, describe what WASB needs, print what is there
    and what is missing (exit status 1 when something is missing)."""
    from wasb.bootstrap import build_app
    from wasb.crm.vtenext.check import check
    from wasb.settings.service import load_settings

    app = build_app(_config())
    try:
        if app.crm_link is None:
            click.echo(f"the {app.config.crm} CRM lives in the service database: nothing to check")
            return
        with app.db.read_sessions() as session:
            settings = load_settings(session, app.config)
        statuses = tuple(dict.fromkeys((settings.status_open, settings.status_waiting, settings.status_answered,
                                        settings.status_closed)))
        report = check(app.crm_link.ws, settings.crm_phone_fields, statuses)
        if settings.reference_user:
            report.notes.append(f"reference user (writes comments, never sent to WhatsApp): {settings.reference_user}")
        for line in report.lines():
            click.echo(line)
        if not report.ok:
            sys.exit(1)
    finally:
        app.stop()


@crm.command("reset-auth")
@click.option("--forget-failures", is_flag=True,
              help="Also forget the refused logins counted so far (only once the CRM user is unlocked in the CRM).")
def crm_reset_auth(forget_failures: bool) -> None:
    """Allow logging in to the CRM again after the user or its access key was fixed
    (for every WASB process on this database)."""
    from wasb.bootstrap import build_app
    from wasb.web.crm_status import reset_auth

    app = build_app(_config())
    try:
        if app.crm_link is None:
            click.echo(f"the {app.config.crm} CRM lives in the service database: nothing to reset")
            return
        with app.db.sessions() as session, session.begin():
            resumed = reset_auth(app.crm_link, app.queue, session, forget_failures=forget_failures)
        click.echo(f"CRM login allowed again; {resumed} waiting job(s) resumed")
    finally:
        app.stop()


from wasb.cli.jobs import jobs  # noqa: E402  (a command group of its own module)

main.add_command(jobs)

if __name__ == "__main__":
    main()
