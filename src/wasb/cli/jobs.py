"""`wasb jobs list | run NAME | reset NAME`: the scheduled jobs from a terminal."""
from __future__ import annotations

import json
import sys
import time

import click


def _app():
    from wasb.bootstrap import build_app
    from wasb.cli.configuration import load_config
    from wasb.scheduler.ticker import register_jobs
    from wasb.store.base import utcnow

    app = build_app(load_config())
    register_jobs(app, utcnow())
    return app


def _when(value) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@click.group()
def jobs() -> None:
    """Scheduled jobs: syncCustomers, syncMessages, syncTemplates, closeConversations."""


@jobs.command("list")
def list_command() -> None:
    """Every job with its schedule, status, attempts and last run."""
    from wasb.scheduler.registry import job_specs
    from wasb.scheduler.service import list_jobs, schedule_of

    app = _app()
    try:
        with app.db.read_sessions() as session:
            rows = list_jobs(session, job_specs(app))
        click.echo(f"{'job':<20} {'active':<6} {'schedule':<14} {'status':<8} {'attempts':<8} "
                   f"{'last run':<19} {'next run':<19} last error")
        for row in rows:
            error = (row.last_error or "").strip().splitlines()
            click.echo(f"{row.name:<20} {'yes' if row.active else 'no':<6} {schedule_of(row).describe():<14} "
                       f"{row.status:<8} {f'{row.attempts} / {row.max_attempts}':<8} {_when(row.last_run_at):<19} "
                       f"{_when(row.next_run_at):<19} {error[-1] if error else ''}")
    finally:
        app.db.dispose()


class _ProgressBar:
    """A click progress bar once the job knows its total; a counter on a terminal until then."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.shown = 0
        self.printed_at = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        if total:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label=self.label, show_pos=True, file=sys.stderr)
                self.bar.__enter__()
            self.bar.length = max(total, done)
            self.bar.update(done - self.shown)
            self.shown = done
        elif sys.stderr.isatty() and time.monotonic() - self.printed_at > 0.2:
            self.printed_at = time.monotonic()
            click.echo(f"\r{self.label}: {done} records", nl=False, err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        elif self.printed_at:
            click.echo(err=True)


@jobs.command("run")
@click.argument("name")
def run_command(name: str) -> None:
    """Run a job now, in the foreground (refused while it runs or waits in the queue)."""
    from wasb.scheduler.registry import job_specs
    from wasb.scheduler.service import JobNotFound, execute_run, get_job

    app = _app()
    try:
        if name not in job_specs(app):
            raise click.ClickException(f"no scheduled job {name!r} (jobs: {', '.join(job_specs(app))})")
        with app.db.read_sessions() as session:
            status = get_job(session, name).status
        if status == "stopped":
            raise click.ClickException(f"{name} is stopped after too many failed runs: `wasb jobs reset {name}` first")
        bar = _ProgressBar(name)
        try:
            outcome = execute_run(app, name, progress=bar)
        except JobNotFound as exc:
            raise click.ClickException(str(exc))
        finally:
            bar.close()
        if not outcome.ran:
            raise click.ClickException(f"{name} is already running or queued; not started twice")
        job = outcome.job
        if not outcome.ok:
            raise click.ClickException(f"{name} failed ({job.attempts} / {job.max_attempts}): {outcome.error}")
        click.echo(f"{name} done in {job.last_duration_seconds:.3f} s")
        click.echo(json.dumps(outcome.result, indent=2, default=str, ensure_ascii=False))
    finally:
        app.db.dispose()


@jobs.command("reset")
@click.argument("name")
def reset_command(name: str) -> None:
    """Attempts back to 0; a stopped job is scheduled again."""
    from wasb.scheduler.service import JobBusy, JobNotFound, reset_job
    from wasb.store.base import utcnow

    app = _app()
    try:
        with app.db.sessions() as session, session.begin():
            row = reset_job(session, name, app.config.tz, utcnow(), actor="cli")
            click.echo(f"{name}: {row.status}, attempts {row.attempts} / {row.max_attempts}, "
                       f"next run {_when(row.next_run_at)}")
    except (JobNotFound, JobBusy) as exc:
        raise click.ClickException(str(exc))
    finally:
        app.db.dispose()
