"""The consent checkbox an admin names (`emailoptout` here) on vtenext / vtiger records:
written as the webservice's "1"/"0", read back for a page of people in one query per module,
and a field the CRM lacks refused instead of silently dropped."""
import pytest

from wasb.crm.port import CRMConfigError, CRMNotFound


def test_the_checkbox_is_written_and_read_back_for_several_people(vtenext_crm, vtenext_fake):
    ann = vtenext_fake.insert("Contacts", lastname="Ann", mobile="+39 335 100 0001")
    bob = vtenext_fake.insert("Contacts", lastname="Bob", mobile="+39 335 100 0002", emailoptout="1")
    cid = vtenext_fake.insert("Contacts", lastname="Cid", mobile="+39 335 100 0003")
    vtenext_crm.set_person_flag(ann, "emailoptout", True)
    vtenext_crm.set_person_flag(bob, "emailoptout", False)
    assert vtenext_fake.row(ann)["emailoptout"] == "1" and vtenext_fake.row(bob)["emailoptout"] == "0"
    assert vtenext_crm.person_flags([ann, bob, cid], "emailoptout") == {ann: True, bob: False, cid: False}


def test_leads_and_contacts_are_read_in_one_call(vtenext_crm, vtenext_fake):
    if vtenext_fake.flavour != "vtenext":
        pytest.skip("vtiger's unknown numbers are contacts")
    lead = vtenext_fake.insert("Leads", lastname="Lead", company="ACME", mobile="+39 335 100 0004", emailoptout="1")
    contact = vtenext_fake.insert("Contacts", lastname="Contact", mobile="+39 335 100 0005")
    assert vtenext_crm.person_flags([lead, contact], "emailoptout") == {lead: True, contact: False}


def test_a_field_the_crm_does_not_have_is_refused_not_dropped(vtenext_crm, vtenext_fake):
    ann = vtenext_fake.insert("Contacts", lastname="Ann", mobile="+39 335 100 0006")
    with pytest.raises(CRMConfigError, match="cf_999"):
        vtenext_crm.set_person_flag(ann, "cf_999", True)
    assert vtenext_crm.person_flags([ann], "cf_999") == {}
    with pytest.raises(CRMNotFound):
        vtenext_crm.set_person_flag("19x1", "emailoptout", True)  # a user, not a person
