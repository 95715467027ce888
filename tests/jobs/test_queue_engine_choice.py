"""WASB_QUEUE: the engine an operator gets by default, the one asked for, and the one combination refused."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from wasb.config import Config

PG = "postgresql://wasb@db.example/wasb"


def config(**values) -> Config:
    return Config(_env_file=None, **values)


def test_the_database_url_chooses_the_engine_unless_the_operator_does():
    assert config(database_url=PG).queue == "procrastinate"
    assert config(database_url="sqlite:///./wasb.db").queue == "embedded"
    assert config(database_url=PG, queue="embedded").queue == "embedded"


def test_procrastinate_on_sqlite_is_a_configuration_error_that_says_why():
    with pytest.raises(ValidationError, match="WASB_QUEUE=procrastinate needs a PostgreSQL"):
        config(database_url="sqlite:///./wasb.db", queue="procrastinate")


def test_a_worker_is_dead_only_after_missing_heartbeats():
    with pytest.raises(ValidationError, match="longer than WASB_HEARTBEAT_SECONDS"):
        config(database_url=PG, heartbeat_seconds=5, stalled_worker_seconds=5)
