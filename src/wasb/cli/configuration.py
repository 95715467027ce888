"""The configuration a `wasb` command runs with, and the line that says which database it is.

Under the environment (which always wins) a command reads, in order, each later one winning:

- `var/demo/demo.env`, where `make run` (`python -m wasb.demo`, default `--dir`) keeps its
  database URL and secrets: a command typed in the checkout while the demo runs (or after)
  works on the demo's database, not on a new `./wasb.db` the demo never sees;
- `.env` in the working directory (an installation's own file);
- the file named by `WASB_ENV_FILE`, when set (a demo run with another `--dir`).

Each command says on stderr which database it uses (password hidden) and where that came
from, so a token printed for one database is never silently refused by another.
"""
from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy.engine import make_url

from wasb.config import Config

DEMO_ENV = Path("var/demo/demo.env")
ENV_FILE_VARIABLE = "WASB_ENV_FILE"


def env_files() -> list[Path]:
    named = os.environ.get(ENV_FILE_VARIABLE)
    if named and not Path(named).is_file():
        raise click.ClickException(f"{ENV_FILE_VARIABLE}={named}: no such file")
    candidates = [DEMO_ENV, Path(".env"), *([Path(named)] if named else [])]
    return [path for path in candidates if path.is_file()]


def load_config(*, announce: bool = True) -> Config:
    files = env_files()
    config = Config(_env_file=tuple(files) or None)
    if announce:
        click.echo(f"wasb: database {shown_database(config.database_url)} "
                   f"(from {database_source(files)})", err=True)
    return config


def shown_database(url: str) -> str:
    """The URL with its password hidden; a SQLite file as its absolute path (a relative one
    depends on the directory the command was typed in)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=True)


def database_source(files: list[Path]) -> str:
    if os.environ.get("WASB_DATABASE_URL"):
        return "WASB_DATABASE_URL in the environment"
    for path in reversed(files):  # the last file that sets it is the one that counts
        if any(line.strip().removeprefix("export ").startswith("WASB_DATABASE_URL=")
               for line in path.read_text(errors="replace").splitlines()):
            return f"WASB_DATABASE_URL in {path.resolve()}"
    return "the default: no WASB_DATABASE_URL set, no var/demo/demo.env or .env here"
