"""People in Leads, Contacts and Accounts: found by any writing of a number, created, synced."""
import pytest

from wasb.crm.port import DuplicateMobile, NewPerson


@pytest.mark.parametrize(
    "stored",
    ["+39 335 103 2246", "0039 335 1032246", "335 1032246", "\u00a0335-103-2246 ", "+393351032246", "(335) 103.22.46"],
)
def test_a_person_is_found_whatever_way_the_number_was_typed(vtenext_crm, vtenext_fake, stored):
    lead_module = "Leads" if vtenext_fake.flavour == "vtenext" else "Contacts"
    person_id = vtenext_fake.insert(lead_module, lastname="Daniele", company="ACME", mobile=stored)
    found = vtenext_crm.find_people_by_phone("+393351032246")
    assert [p.id for p in found] == [person_id]
    assert found[0].mobile == stored  # kept as typed


def test_similar_numbers_are_candidates_but_not_matches(vtenext_crm, vtenext_fake):
    vtenext_fake.insert("Contacts", lastname="Other country", mobile="+41 335 103 2246")
    vtenext_fake.insert("Contacts", lastname="Longer", mobile="+39 335 103 22469")
    right = vtenext_fake.insert("Contacts", lastname="Right", mobile="335 103 2246")
    assert [p.id for p in vtenext_crm.find_people_by_phone("+393351032246")] == [right]


def test_accounts_are_matched_on_their_phone_field(vtenext_crm, vtenext_fake):
    account = vtenext_fake.insert("Accounts", accountname="BPM Consulting", phone="+39 02 1234567")
    found = vtenext_crm.find_people_by_phone("+39021234567")
    assert [(p.id, p.kind, p.name) for p in found] == [(account, "account", "BPM Consulting")]


def test_configured_phone_fields_are_searched(vtenext_webservice, vtenext_fake):
    from wasb.crm.vtenext import VtenextCRM

    vtenext_crm = VtenextCRM(vtenext_webservice, phone_fields={"contact": ["mobile", "phone", "homephone"]})
    contact = vtenext_fake.insert("Contacts", lastname="Home", homephone="0039 335 1032246")
    assert [p.id for p in vtenext_crm.find_people_by_phone("+393351032246")] == [contact]


def test_candidates_are_paged_past_vtigers_100_row_cap(vtenext_crm, vtenext_fake):
    for i in range(130):
        vtenext_fake.insert("Contacts", lastname=f"Noise {i}", mobile=f"+44 335 103 2246 {i:03d}")
    wanted = vtenext_fake.insert("Contacts", lastname="Wanted", mobile="+39 335 103 2246")
    assert [p.id for p in vtenext_crm.find_people_by_phone("+393351032246")] == [wanted]


def test_unknown_number_becomes_lead_with_lastname_and_company(vtenext_crm, vtenext_fake):
    person = vtenext_crm.create_person(NewPerson(kind="lead", name="Daniele", mobile="+393351032246"))
    row = vtenext_fake.row(person.id)
    if vtenext_fake.flavour == "vtenext":
        assert person.kind == "lead" and person.id.startswith("2x")
        assert (row["lastname"], row["company"], row["mobile"]) == ("Daniele", "WhatsApp", "+393351032246")
    else:
        # vtiger tickets cannot point at a Lead: the unknown number becomes a Contact
        assert person.kind == "contact" and person.id.startswith("12x")
        assert (row["lastname"], row["mobile"]) == ("Daniele", "+393351032246")
    assert row["assigned_user_id"] == "19x1"
    assert vtenext_fake.ignored_fields == []


def test_a_lead_from_an_ad_records_it_as_its_lead_source(vtenext_crm, vtenext_fake):
    person = vtenext_crm.create_person(NewPerson(kind="lead", name="Ada", mobile="+393351032247",
                                                 source="WhatsApp ad: Winter sale"))
    assert vtenext_fake.row(person.id)["leadsource"] == "WhatsApp ad: Winter sale"
    assert person.source == "WhatsApp ad: Winter sale"
    assert vtenext_fake.ignored_fields == []


def test_a_second_person_with_the_same_mobile_is_refused(vtenext_crm, vtenext_fake):
    first = vtenext_fake.insert("Contacts", lastname="First", mobile="+39 335 103 2246")
    with pytest.raises(DuplicateMobile) as dup:
        vtenext_crm.create_person(NewPerson(kind="contact", name="Second", mobile="00393351032246"))
    assert dup.value.existing.id == first


def test_get_update_and_missing_people(vtenext_crm, vtenext_fake):
    contact = vtenext_fake.insert("Contacts", firstname="Mario", lastname="Rossi", mobile="3351032246")
    assert vtenext_crm.get_person(contact).name == "Mario Rossi"
    updated = vtenext_crm.update_person(contact, name="Mario Bianchi", mobile="+39 333 000 1111")
    assert (updated.name, updated.mobile) == ("Mario Bianchi", "+39 333 000 1111")
    vtenext_fake._op_delete({"id": contact}, "19x1")
    assert vtenext_crm.get_person(contact) is None  # ACCESS_DENIED for a deleted id
    assert vtenext_crm.get_person("garbage") is None


def test_search_people_by_name_and_kind(vtenext_crm, vtenext_fake):
    vtenext_fake.insert("Contacts", firstname="Anna", lastname="Verdi", mobile="1")
    vtenext_fake.insert("Accounts", accountname="Verdi SpA", phone="2")
    vtenext_fake.insert("Contacts", lastname="Neri", mobile="3")
    assert sorted(p.name for p in vtenext_crm.search_people("verdi")) == ["Anna Verdi", "Verdi SpA"]
    assert [p.kind for p in vtenext_crm.search_people("verdi", kind="account")] == ["account"]
    assert len(vtenext_crm.search_people("", kind="contact", limit=1, offset=1)) == 1


def test_people_modified_since_pages_beyond_100_rows_each_once(vtenext_crm, vtenext_fake):
    vtenext_fake.set_time("2025-02-27 10:00:00")
    ids = set()
    for i in range(150):  # many in the same second: the cursor's boundary set matters
        ids.add(vtenext_fake.insert("Contacts", lastname=f"C{i}", mobile=str(i)))
        if i % 60 == 59:
            vtenext_fake.tick()
    ids.add(vtenext_fake.insert("Accounts", accountname="A", phone="9"))
    seen, cursor = [], None
    for _ in range(10):
        page = vtenext_crm.people_modified_since(cursor, limit=40)
        seen += [p.id for p in page.items]
        cursor = page.cursor
        if not page.items:
            break
    assert len(seen) == len(set(seen)) == 151
    assert set(seen) == ids
    assert cursor.startswith("2025-02-27 10:00:02|")
    # One big page: more than vtiger's 100-row cap, still everything once.
    everything = vtenext_crm.people_modified_since(None, limit=500)
    assert sorted(p.id for p in everything.items) == sorted(ids)


def test_a_change_after_the_cursor_is_reported_again(vtenext_crm, vtenext_fake):
    vtenext_fake.set_time("2025-02-27 10:00:00")
    contact = vtenext_fake.insert("Contacts", lastname="Rossi", mobile="1")
    page = vtenext_crm.people_modified_since(None)
    assert [p.id for p in page.items] == [contact]
    assert vtenext_crm.people_modified_since(page.cursor).items == []
    vtenext_fake.tick(5)
    vtenext_fake.touch(contact)
    again = vtenext_crm.people_modified_since(page.cursor)
    assert [p.id for p in again.items] == [contact]
    assert again.items[0].modified_at.isoformat() == "2025-02-27T10:00:05+01:00"  # the CRM's zone


def test_a_cursor_from_a_utc_time_is_written_in_the_crm_zone(vtenext_crm, vtenext_fake):
    from datetime import datetime, timezone

    vtenext_fake.set_time("2025-02-27 09:59:59")
    vtenext_fake.insert("Contacts", lastname="Before", mobile="1")
    vtenext_fake.set_time("2025-02-27 10:00:00")
    after = vtenext_fake.insert("Contacts", lastname="After", mobile="2")
    cursor = vtenext_crm.cursor_at(datetime(2025, 2, 27, 9, 0, 0, tzinfo=timezone.utc))  # 10:00 in Rome
    assert cursor == "2025-02-27 10:00:00|"
    assert [p.id for p in vtenext_crm.people_modified_since(cursor).items] == [after]


def test_the_contact_panel_edits_e_mail_everywhere_and_company_on_a_lead_only(vtenext_crm, vtenext_fake):
    from wasb.crm.port import CRMError

    contact = vtenext_fake.insert("Contacts", firstname="Mario", lastname="Rossi", mobile="3351032246")
    updated = vtenext_crm.update_person(contact, name="Mario Rossi", email="mario@example.com")
    assert updated.email == "mario@example.com" == vtenext_fake.records["Contacts"][int(contact.split("x")[1])]["email"]
    with pytest.raises(CRMError):  # a contact's company is the account it belongs to
        vtenext_crm.update_person(contact, company="Rossi Srl")
    account = vtenext_fake.insert("Accounts", accountname="Verdi SpA", phone="2")
    assert vtenext_crm.update_person(account, email="info@verdi.example").email == "info@verdi.example"
    assert vtenext_fake.records["Accounts"][int(account.split("x")[1])]["email1"] == "info@verdi.example"
    if vtenext_fake.flavour == "vtenext":
        lead = vtenext_crm.create_person(NewPerson(kind="lead", name="Ada", mobile="+393351032249"))
        assert vtenext_crm.update_person(lead.id, company="Ada Srl", email="").company == "Ada Srl"
