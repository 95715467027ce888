"""INSERT ... ON CONFLICT for the two dialects we run on."""
from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(dialect: str, table: Table):
    """A dialect insert that supports on_conflict_do_nothing / on_conflict_do_update."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
