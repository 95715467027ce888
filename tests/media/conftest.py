import pytest

from tests.support.wired import wired_service


@pytest.fixture
def wired(database_url, tmp_path):
    with wired_service(database_url, tmp_path) as w:
        yield w
