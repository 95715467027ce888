"""The webhook tests speak real HTTP to the real app, served in the test's process
(tests/support/inprocess.py): `server` here is that service, not a `wasb serve` process."""
import pytest

from tests.support.inprocess import InProcessService


@pytest.fixture
def server(database_url, tmp_path):
    srv = InProcessService(database_url, tmp_path).start()
    yield srv
    srv.stop()
