import pytest

from wasb.store.engine import open_database


@pytest.fixture
def db(database_url):
    """The test's own service database, opened as the product opens it."""
    database = open_database(database_url)
    yield database
    database.dispose()
