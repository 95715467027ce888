"""Alembic environment: the URL comes from wasb.store.migrate, the metadata from every feature."""
from __future__ import annotations

from alembic import context

from wasb.store.cluster import serialize
from wasb.store.engine import make_engine
from wasb.migrations.schema import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = make_engine(url, immediate=False)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            # Web and worker processes started together (systemd units) each migrate at start-up:
            # on PostgreSQL the first takes this lock and migrates, the others wait for its commit
            # and then find nothing to do (without it the second CREATE TABLE alembic_version fails).
            serialize(connection, "migrations")
            context.run_migrations()
    engine.dispose()


run_migrations_online()
