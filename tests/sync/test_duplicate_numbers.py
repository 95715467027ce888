"""Two records of an external CRM with the same number are reported, never merged or guessed."""
import pytest

from tests.sync.conftest import Live
from tests.support.runtime import start_runtime
from wasb.crm.vtenext import VtenextCRM, Webservice
from wasb.runtime import CommitThenCall
from tests.fakes.vtenext_fake import ACCESS_KEY

MOBILE = "+393351032246"


@pytest.fixture
def live_vtenext(database_url, tmp_path, vtenext_server):
    webservice = Webservice(vtenext_server.url, "admin", ACCESS_KEY, timeout=5)
    crm = VtenextCRM(webservice)
    rt = start_runtime(database_url, tmp_path)
    rt.app.crm_factory = lambda session: crm
    rt.app.crm_policy = CommitThenCall()
    yield Live(rt)
    rt.stop()
    webservice.close()


def test_two_crm_records_with_one_number_are_reported_with_both_ids(live_vtenext, vtenext_fake):
    first = vtenext_fake.insert("Contacts", firstname="Mario", lastname="Rossi", mobile="+39 335 103 2246")
    second = vtenext_fake.insert("Contacts", firstname="M.", lastname="Rossi", mobile="0039 335 1032246")
    other = vtenext_fake.insert("Contacts", lastname="Bianchi", mobile="+39 333 000 1111")
    result = live_vtenext.sync()
    assert result["duplicates"] == [{"number": MOBILE, "ids": sorted([first, second])}]
    entries = {c.phone_e164: c.crm_person_id for c in live_vtenext.contacts()}
    assert entries == {MOBILE: first, "+393330001111": other}  # one entry, its first link kept, nothing merged
    assert vtenext_fake.row(first)["mobile"] == "+39 335 103 2246"
    assert vtenext_fake.row(second)["mobile"] == "0039 335 1032246"


def test_a_duplicate_typed_later_is_reported_on_the_next_run(live_vtenext, vtenext_fake):
    first = vtenext_fake.insert("Contacts", lastname="Rossi", mobile="+39 335 103 2246")
    assert live_vtenext.sync()["duplicates"] == []
    second = vtenext_fake.insert("Leads" if vtenext_fake.flavour == "vtenext" else "Contacts",
                                 lastname="Rossi bis", company="ACME", mobile="335 1032246")
    result = live_vtenext.sync()
    assert result["duplicates"] == [{"number": MOBILE, "ids": sorted([first, second])}]
    assert live_vtenext.contact(MOBILE).crm_person_id == first
