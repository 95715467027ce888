"""Alembic, driven from code: `wasb migrate` and `wasb serve` call `upgrade`."""
from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig


def alembic_config(database_url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "wasb:migrations")
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)
