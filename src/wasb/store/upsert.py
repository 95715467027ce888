"""INSERT ... ON CONFLICT for the two dialects we run on."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(dialect: str, table: Table):
    """A dialect insert that supports on_conflict_do_nothing / on_conflict_do_update."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@lru_cache(maxsize=None)
def insert_or_nothing(dialect: str, table: Table, returning: tuple[Column, ...]):
    """INSERT … ON CONFLICT DO NOTHING RETURNING `returning`, built once per dialect, table
    and columns (the hot path runs it for every new customer; building costs as much as running)."""
    return insert_for(dialect, table).on_conflict_do_nothing().returning(*returning)
