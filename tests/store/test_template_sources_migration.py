"""0017_template_parameter_sources: the fallback template's mapping, a setting until now, moves
to its template's row, without the ticket's machine title; the setting goes."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tests.support.databases import BACKEND, POSTGRES_SERVER, drop_database
from wasb.store.migrate import upgrade

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
setting = sa.table("setting", sa.column("key", sa.String), sa.column("value", JSON),
                   sa.column("updated_at", sa.DateTime(timezone=True)))
template = sa.table("template", sa.column("id", sa.Integer), sa.column("name", sa.String),
                    sa.column("language", sa.String), sa.column("deleted", sa.Boolean),
                    sa.column("updated_at", sa.DateTime(timezone=True)), sa.column("parameter_sources", JSON))


@pytest.fixture
def empty_url(tmp_path):
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"wasb_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES_SERVER.rpartition('/')[0]}/{name}"
    yield url
    drop_database(url)


def test_the_fallback_mapping_moves_to_its_template_without_the_ticket_title(empty_url):
    upgrade(empty_url, "0016_shared_state")
    engine = sa.create_engine(empty_url.replace("postgresql://", "postgresql+psycopg://"))
    now = datetime.now(timezone.utc)
    try:
        with engine.begin() as conn:
            conn.execute(template.insert().values(id=1, name="ticket_update", language="it", deleted=False,
                                                  updated_at=now))
            conn.execute(template.insert().values(id=2, name="other", language="it", deleted=False, updated_at=now))
            conn.execute(setting.insert(), [
                {"key": "fallback_template", "value": {"name": "ticket_update", "language": "it"}, "updated_at": now},
                {"key": "fallback_template_mapping", "value": {"1": "ticket.number", "2": "ticket.title"},
                 "updated_at": now}])
        upgrade(empty_url)
        with engine.connect() as conn:
            sources = dict(conn.execute(sa.select(template.c.name, template.c.parameter_sources)).all())
            keys = set(conn.execute(sa.select(setting.c.key)).scalars())
        assert sources == {"ticket_update": {"1": "ticket.number"}, "other": None}
        assert keys == {"fallback_template"}
    finally:
        engine.dispose()
