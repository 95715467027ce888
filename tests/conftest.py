from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.databases import BACKEND, create_database, drop_database
from tests.support.server import WasbServer

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "whatsapp"


def pytest_report_header(config):
    return f"database backend: {BACKEND}"


@pytest.fixture
def database_url(tmp_path):
    url = create_database(tmp_path)
    yield url
    drop_database(url)


@pytest.fixture
def server(database_url, tmp_path):
    """A fresh `wasb serve` process with its own empty database."""
    srv = WasbServer(database_url, tmp_path).start()
    yield srv
    srv.stop()


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
