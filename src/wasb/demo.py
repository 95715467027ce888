"""`make run`: the service and the WhatsApp simulator, wired to each other, on this machine.

    python -m wasb.demo [--dir var/demo] [--host 127.0.0.1] [--port 8000] [--sim-port 8001]

Everything lives in one directory (`var/demo/`, git-ignored): the SQLite database,
media, the children's logs, and `demo.env` with the channel's secrets (app secret,
verify token, access token — made up on the first run) and the demo users'
passwords. The first run on a new database creates an admin (`admin`) and an agent
(`agent`) with generated passwords and prints them; later runs show them again from
`demo.env`; `wasb` commands typed in the checkout read `var/demo/demo.env`, so they
work on the demo's database (`wasb.cli.configuration`). Contacts are added to the CRM
and approved templates to the simulator on every run (both idempotent). Ctrl-C stops
both children and waits for them.

The children are `wasb simulator` and `wasb serve`, each in a session of its own so
that Ctrl-C reaches only this process, which then stops them in order.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
import httpx

from wasb.cli.configuration import DEMO_ENV, ENV_FILE_VARIABLE
from wasb.simulator.simulator import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID

ENV_FILE = "demo.env"
READY_LINE = "WASB demo is running"

# Demo customers: in the CRM (so their messages find their record) and on the phone page.
PEOPLE = [
    {"kind": "contact", "name": "Giulia Bianchi", "mobile": "+39 333 123 4567", "email": "giulia@example.com"},
    {"kind": "contact", "name": "Marco Rossi", "mobile": "+39 347 765 4321", "company": "Rossi Impianti"},
    {"kind": "account", "name": "Acme S.r.l.", "mobile": "+39 320 555 0101", "email": "info@acme.example"},
]
SIM_CUSTOMERS = [
    {"wa_id": "393331234567", "name": "Giulia Bianchi"},
    {"wa_id": "393477654321", "name": "Marco Rossi"},
    {"wa_id": "393205550101", "name": "Acme S.r.l."},
    {"wa_id": "447700900123", "name": "New Customer"},  # not in the CRM: becomes a lead
]
TEMPLATES = [
    {"name": "ticket_update", "language": "en", "category": "UTILITY", "status": "APPROVED",
     "body_text": "Hello, your ticket {{1}} \"{{2}}\" has been updated. Reply here to continue the conversation."},
    {"name": "ticket_update", "language": "it", "category": "UTILITY", "status": "APPROVED",
     "body_text": "Buongiorno, il suo ticket {{1}} \"{{2}}\" è stato aggiornato. Risponda qui per continuare."},
    {"name": "appointment_reminder", "language": "en", "category": "UTILITY", "status": "APPROVED",
     "body_text": "Reminder: your appointment is on {{1}} at {{2}}.", "buttons": ["Confirm", "Reschedule"]},
    {"name": "appointment_reminder", "language": "it", "category": "UTILITY", "status": "APPROVED",
     "body_text": "Promemoria: il suo appuntamento è il {{1}} alle {{2}}.", "buttons": ["Confermo", "Sposta"]},
    {"name": "spring_offer", "language": "en", "category": "MARKETING", "status": "APPROVED",
     "body_text": "Spring offer: {{1}}% off every service until {{2}}.", "buttons": ["Stop promotions"]},
]


class DemoFailed(click.ClickException):
    pass


# --- demo.env ------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                values[key.strip()] = value.strip()
    return values


def write_env_file(path: Path, values: dict[str, str]) -> None:
    lines = ["# The demo's secrets and users (made up by `python -m wasb.demo`). Delete the directory to start over."]
    lines += [f"{key}={value}" for key, value in values.items()]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def ensure_secrets(values: dict[str, str]) -> dict[str, str]:
    made = {
        "WASB_APP_SECRET": lambda: secrets.token_hex(32),
        "WASB_VERIFY_TOKEN": lambda: secrets.token_urlsafe(24),
        "WASB_ACCESS_TOKEN": lambda: "EAAdemo" + secrets.token_urlsafe(48),
        "WASB_SESSION_SECRET": lambda: secrets.token_urlsafe(32),
    }
    return {**{key: make() for key, make in made.items() if not values.get(key)}, **values}


# --- the database: users and the demo's own API token ------------------------------------


@dataclass
class Credentials:
    admin_password: str | None
    agent_password: str | None
    api_token: str
    new_users: list[str] = field(default_factory=list)


def prepare_database(config, values: dict[str, str]) -> Credentials:
    """Migrate; create the demo users (new database) and an API token the demo seeds with."""
    from sqlalchemy import select

    from wasb.auth.passwords import generate_password
    from wasb.auth.service import authenticate_token, create_token, create_user
    from wasb.auth.tables import User
    from wasb.store.engine import open_database
    from wasb.store.migrate import upgrade

    upgrade(config.database_url)
    db = open_database(config.database_url)
    created: list[str] = []
    try:
        with db.sessions() as session, session.begin():
            for username, key, is_admin in (("admin", "DEMO_ADMIN_PASSWORD", True),
                                            ("agent", "DEMO_AGENT_PASSWORD", False)):
                if session.scalar(select(User.id).where(User.username == username)) is None:
                    password = generate_password()
                    create_user(session, username, password, is_admin=is_admin)
                    values[key] = password
                    created.append(username)
            token = values.get("DEMO_API_TOKEN", "")
            if not token or authenticate_token(session, token) is None:
                token = values["DEMO_API_TOKEN"] = create_token(session, "demo", is_admin=True)
    finally:
        db.dispose()
    return Credentials(values.get("DEMO_ADMIN_PASSWORD"), values.get("DEMO_AGENT_PASSWORD"),
                       values["DEMO_API_TOKEN"], created)


# --- the children ---------------------------------------------------------------------


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def child_environment(values: dict[str, str]) -> dict[str, str]:
    # The children need PATH and the like; any WASB_* of the caller's shell is left out
    # so that the demo always runs on its own database and secrets.
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASB_")}
    env.update({k: v for k, v in values.items() if k.startswith("WASB_")})
    return env


def start_child(name: str, args: list[str], env: dict[str, str], directory: Path) -> Child:
    log = directory / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "wasb.cli.main", *args], env=env, cwd=directory,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Child(name, process, log)


def stop_children(children: list[Child], timeout: float = 15) -> None:
    for child in children:
        if child.alive():
            child.process.send_signal(signal.SIGTERM)  # uvicorn shuts down cleanly on SIGTERM
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait(5)


def wait_for(url: str, children: list[Child], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            if not child.alive():
                raise DemoFailed(f"{child.name} exited (code {child.process.returncode}); its log says:\n"
                                 f"{child.tail()}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise DemoFailed(f"{url} did not answer within {timeout:.0f} s")


# --- seeding ---------------------------------------------------------------------------


def seed(service_url: str, sim_url: str, token: str) -> list[str]:
    notes = []
    with httpx.Client(base_url=service_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        for person in PEOPLE:
            answer = api.post("/api/v1/people", json=person)
            if answer.status_code not in (201, 409):  # 409: there from an earlier run
                raise DemoFailed(f"could not add {person['name']}: {answer.status_code} {answer.text}")
            if answer.status_code == 201:
                notes.append(f"added {person['kind']} {person['name']} ({person['mobile']})")
    with httpx.Client(base_url=sim_url, timeout=30) as sim:
        for customer in SIM_CUSTOMERS:
            sim.post("/_sim/customers", json=customer).raise_for_status()
        for template in TEMPLATES:
            sim.post("/_sim/templates", json=template).raise_for_status()
    return notes


def agent_side_url(service_url: str) -> str:
    """The agent UI when this build has one, the API's own pages otherwise."""
    try:
        answer = httpx.get(service_url + "/", timeout=5)
        if answer.status_code < 400 or answer.is_redirect:
            return service_url + "/"
    except httpx.HTTPError:
        pass
    return service_url + "/docs"


def command_line_hint(home: Path) -> str:
    """How `wasb` commands (a token, a user) reach this demo's database."""
    env_file = home / ENV_FILE
    if env_file == (Path.cwd() / DEMO_ENV).resolve():
        return f"`wasb token create NAME` and the like, typed in {Path.cwd()}, use this database ({DEMO_ENV})"
    return f"{ENV_FILE_VARIABLE}={env_file} wasb token create NAME (and the like) use this database"


# --- the command -----------------------------------------------------------------------


@click.command()
@click.option("--dir", "directory", default="var/demo", show_default=True, type=click.Path(file_okay=False),
              help="Where the demo keeps its database, media, logs and demo.env.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, help="The service's port.")
@click.option("--sim-port", default=8001, show_default=True, type=int, help="The simulator's port.")
def main(directory: str, host: str, port: int, sim_port: int) -> None:
    """Run the service and the WhatsApp simulator wired to each other, with demo data."""
    from wasb.config import Config

    home = Path(directory).resolve()
    home.mkdir(parents=True, exist_ok=True)
    env_path = home / ENV_FILE
    values = ensure_secrets(read_env_file(env_path))
    database = home / "wasb.db"
    service_url, sim_url = f"http://{host}:{port}", f"http://{host}:{sim_port}"
    values.update({
        "WASB_DATABASE_URL": f"sqlite:///{database}",
        "WASB_MEDIA_DIR": str(home / "media"),
        "WASB_GRAPH_URL": sim_url,
        "WASB_PUBLIC_URL": service_url,
        # The phone page's +1 h / +24 h move the service's 24-hour window too (wasb.domain.clock).
        "WASB_DEMO_CLOCK_FILE": str(home / "clock_offset"),
        "WASB_PHONE_NUMBER_ID": values.get("WASB_PHONE_NUMBER_ID") or DEFAULT_PHONE_NUMBER_ID,
        "WASB_WABA_ID": values.get("WASB_WABA_ID") or DEFAULT_WABA_ID,
    })
    config = Config(_env_file=None, **{k.removeprefix("WASB_").lower(): v for k, v in values.items()
                                       if k.startswith("WASB_")})
    credentials = prepare_database(config, values)
    write_env_file(env_path, values)

    stop = {"asked": False}

    def ask_to_stop(_signum, _frame) -> None:
        stop["asked"] = True

    signal.signal(signal.SIGINT, ask_to_stop)
    signal.signal(signal.SIGTERM, ask_to_stop)

    env = child_environment(values)
    children = [
        start_child("simulator", ["simulator", "--host", host, "--port", str(sim_port),
                                  "--webhook-url", f"{service_url}/webhooks/whatsapp"], env, home),
        start_child("service", ["serve", "--host", host, "--port", str(port)], env, home),
    ]
    try:
        wait_for(sim_url + "/phone", children)
        wait_for(service_url + "/healthz", children)
        notes = seed(service_url, sim_url, credentials.api_token)
        print_banner(home, service_url, sim_url, credentials, children, notes)
        while not stop["asked"]:
            for child in children:
                if not child.alive():
                    raise DemoFailed(f"{child.name} stopped (code {child.process.returncode}); its log says:\n"
                                     f"{child.tail()}")
            time.sleep(0.3)
        click.echo("stopping…")
    finally:
        stop_children(list(reversed(children)))  # the service first: it may still post to nobody
    click.echo("stopped")


def print_banner(home: Path, service_url: str, sim_url: str, credentials: Credentials, children: list[Child],
                 notes: list[str]) -> None:
    def password(user: str, value: str | None) -> str:
        if value is None:
            return f"{user} / (unknown: delete {home} to start over)"
        shown_again = "" if user in credentials.new_users else "  (from demo.env)"
        return f"{user} / {value}{shown_again}"

    echo = click.echo
    echo("")
    echo(READY_LINE)
    echo(f"  agent side:  {agent_side_url(service_url)}")
    echo(f"  API docs:    {service_url}/docs   (API token: {credentials.api_token})")
    echo(f"  phone page:  {sim_url}/phone   (write as a customer; the service answers through the simulator)")
    echo(f"  log in as:   {password('admin', credentials.admin_password)}")
    echo(f"               {password('agent', credentials.agent_password)}")
    for note in notes:
        echo(f"  {note}")
    echo(f"  templates:   {', '.join(sorted({t['name'] for t in TEMPLATES}))} (approved in the simulator)")
    for child in children:
        echo(f"  {child.name} (pid {child.process.pid}) logs to {child.log}")
    echo(f"  data:        {home}  (delete it to start over)")
    echo(f"  command line: {command_line_hint(home)}")
    echo("Press Ctrl-C to stop.")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
