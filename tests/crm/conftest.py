import pytest

from tests.fakes.vtenext_fake import ACCESS_KEY, vtenext_fake, vtenext_server  # noqa: F401  (fixtures)
from wasb.crm.vtenext import VtenextCRM, Webservice


@pytest.fixture
def vtenext_webservice(vtenext_server):
    ws = Webservice(vtenext_server.url, "admin", ACCESS_KEY, timeout=5)
    yield ws
    ws.close()


@pytest.fixture
def vtenext_crm(vtenext_webservice) -> VtenextCRM:
    return VtenextCRM(vtenext_webservice)
