import pytest

from tests.fakes.vtenext_fake import ACCESS_KEY, fake_crm, vtenext_server  # noqa: F401  (fixtures)
from wasb.crm.vtenext import VtenextCRM, Webservice


@pytest.fixture
def webservice(vtenext_server):
    ws = Webservice(vtenext_server.url, "admin", ACCESS_KEY, timeout=5)
    yield ws
    ws.close()


@pytest.fixture
def crm(webservice) -> VtenextCRM:
    return VtenextCRM(webservice)
