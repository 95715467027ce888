from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.databases import BACKEND, create_database, drop_database
from tests.support.server import WasbServer



def _fixtures_dir() -> Path:
    """Meta's real webhook payloads, kept beside the repository (`../shared/fixtures/whatsapp`),
    or where WASB_WHATSAPP_FIXTURES says. Missing, they fail the run: the replay tests are
    parametrized over them and would otherwise pass by running nothing."""
    candidates = [Path(os.environ["WASB_WHATSAPP_FIXTURES"])] if os.environ.get("WASB_WHATSAPP_FIXTURES") else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "whatsapp")
    for path in candidates:
        if any(path.glob("*.json")):
            return path
    raise pytest.UsageError("the WhatsApp webhook fixtures are missing: looked in "
                            + ", ".join(map(str, candidates)) + " (set WASB_WHATSAPP_FIXTURES)")


FIXTURES = _fixtures_dir()


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
