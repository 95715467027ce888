"""Fresh databases for tests: a SQLite file, or a throwaway database on the PostgreSQL
server named by WASB_TEST_DATABASE (make test sets it for the second run)."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg

POSTGRES_SERVER = os.environ.get("WASB_TEST_DATABASE", "")
BACKEND = "postgresql" if POSTGRES_SERVER.startswith("postgresql") else "sqlite"


def _server_conninfo() -> str:
    return POSTGRES_SERVER


_template: dict[str, str] = {}


def _migrated_template() -> str:
    """Migrate once per test run; every test database starts as a copy of this one.

    The copy is the schema `wasb migrate` made, so tests still run on real migrations.
    """
    if "url" in _template:
        return _template["url"]
    from wasb.store.migrate import upgrade

    if BACKEND == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="wasb-template-")) / "template.db"
        upgrade(f"sqlite:///{path}")
        _template["url"] = str(path)
    else:
        name = f"wasb_tpl_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_server_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        upgrade(_url_of(name))
        _template["url"] = name
        atexit.register(drop_database, _url_of(name))
    return _template["url"]


def _url_of(name: str) -> str:
    base, _, _ = POSTGRES_SERVER.rpartition("/")
    return f"{base}/{name}"


def create_database(tmp_dir: Path) -> str:
    template = _migrated_template()
    if BACKEND == "sqlite":
        target = tmp_dir / f"wasb-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    name = f"wasb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_server_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _url_of(name)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = url.rpartition("/")[2]
    with psycopg.connect(_server_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
