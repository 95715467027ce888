"""People in Leads, Contacts and Accounts: found by any writing of a number, created, synced."""
import pytest

from wasb.crm.port import DuplicateMobile, NewPerson


@pytest.mark.parametrize(
    "stored",
    ["+39 335 103 2246", "0039 335 1032246", "335 1032246", "\u00a0335-103-2246 ", "+393351032246", "(335) 103.22.46"],
)
def test_a_person_is_found_whatever_way_the_number_was_typed(crm, fake_crm, stored):
    lead_module = "Leads" if fake_crm.flavour == "vtenext" else "Contacts"
    person_id = fake_crm.insert(lead_module, lastname="Daniele", company="ACME", mobile=stored)
    found = crm.find_people_by_phone("+393351032246")
    assert [p.id for p in found] == [person_id]
    assert found[0].mobile == stored  # kept as typed


def test_similar_numbers_are_candidates_but_not_matches(crm, fake_crm):
    fake_crm.insert("Contacts", lastname="Other country", mobile="+41 335 103 2246")
    fake_crm.insert("Contacts", lastname="Longer", mobile="+39 335 103 22469")
    right = fake_crm.insert("Contacts", lastname="Right", mobile="335 103 2246")
    assert [p.id for p in crm.find_people_by_phone("+393351032246")] == [right]


def test_accounts_are_matched_on_their_phone_field(crm, fake_crm):
    account = fake_crm.insert("Accounts", accountname="BPM Consulting", phone="+39 02 1234567")
    found = crm.find_people_by_phone("+39021234567")
    assert [(p.id, p.kind, p.name) for p in found] == [(account, "account", "BPM Consulting")]


def test_configured_phone_fields_are_searched(webservice, fake_crm):
    from wasb.crm.vtenext import VtenextCRM

    crm = VtenextCRM(webservice, phone_fields={"contact": ["mobile", "phone", "homephone"]})
    contact = fake_crm.insert("Contacts", lastname="Home", homephone="0039 335 1032246")
    assert [p.id for p in crm.find_people_by_phone("+393351032246")] == [contact]


def test_candidates_are_paged_past_vtigers_100_row_cap(crm, fake_crm):
    for i in range(130):
        fake_crm.insert("Contacts", lastname=f"Noise {i}", mobile=f"+44 335 103 2246 {i:03d}")
    wanted = fake_crm.insert("Contacts", lastname="Wanted", mobile="+39 335 103 2246")
    assert [p.id for p in crm.find_people_by_phone("+393351032246")] == [wanted]


def test_unknown_number_becomes_lead_with_lastname_and_company(crm, fake_crm):
    person = crm.create_person(NewPerson(kind="lead", name="Daniele", mobile="+393351032246"))
    row = fake_crm.row(person.id)
    if fake_crm.flavour == "vtenext":
        assert person.kind == "lead" and person.id.startswith("2x")
        assert (row["lastname"], row["company"], row["mobile"]) == ("Daniele", "WhatsApp", "+393351032246")
    else:
        # vtiger tickets cannot point at a Lead: the unknown number becomes a Contact
        assert person.kind == "contact" and person.id.startswith("12x")
        assert (row["lastname"], row["mobile"]) == ("Daniele", "+393351032246")
    assert row["assigned_user_id"] == "19x1"
    assert fake_crm.ignored_fields == []


def test_a_second_person_with_the_same_mobile_is_refused(crm, fake_crm):
    first = fake_crm.insert("Contacts", lastname="First", mobile="+39 335 103 2246")
    with pytest.raises(DuplicateMobile) as dup:
        crm.create_person(NewPerson(kind="contact", name="Second", mobile="00393351032246"))
    assert dup.value.existing.id == first


def test_get_update_and_missing_people(crm, fake_crm):
    contact = fake_crm.insert("Contacts", firstname="Mario", lastname="Rossi", mobile="3351032246")
    assert crm.get_person(contact).name == "Mario Rossi"
    updated = crm.update_person(contact, name="Mario Bianchi", mobile="+39 333 000 1111")
    assert (updated.name, updated.mobile) == ("Mario Bianchi", "+39 333 000 1111")
    fake_crm._op_delete({"id": contact}, "19x1")
    assert crm.get_person(contact) is None  # ACCESS_DENIED for a deleted id
    assert crm.get_person("garbage") is None


def test_search_people_by_name_and_kind(crm, fake_crm):
    fake_crm.insert("Contacts", firstname="Anna", lastname="Verdi", mobile="1")
    fake_crm.insert("Accounts", accountname="Verdi SpA", phone="2")
    fake_crm.insert("Contacts", lastname="Neri", mobile="3")
    assert sorted(p.name for p in crm.search_people("verdi")) == ["Anna Verdi", "Verdi SpA"]
    assert [p.kind for p in crm.search_people("verdi", kind="account")] == ["account"]
    assert len(crm.search_people("", kind="contact", limit=1, offset=1)) == 1


def test_people_modified_since_pages_beyond_100_rows_each_once(crm, fake_crm):
    fake_crm.set_time("2025-02-27 10:00:00")
    ids = set()
    for i in range(150):  # many in the same second: the cursor's boundary set matters
        ids.add(fake_crm.insert("Contacts", lastname=f"C{i}", mobile=str(i)))
        if i % 60 == 59:
            fake_crm.tick()
    ids.add(fake_crm.insert("Accounts", accountname="A", phone="9"))
    seen, cursor = [], None
    for _ in range(10):
        page = crm.people_modified_since(cursor, limit=40)
        seen += [p.id for p in page.items]
        cursor = page.cursor
        if not page.items:
            break
    assert len(seen) == len(set(seen)) == 151
    assert set(seen) == ids
    assert cursor.startswith("2025-02-27 10:00:02|")
    # One big page: more than vtiger's 100-row cap, still everything once.
    everything = crm.people_modified_since(None, limit=500)
    assert sorted(p.id for p in everything.items) == sorted(ids)


def test_a_change_after_the_cursor_is_reported_again(crm, fake_crm):
    fake_crm.set_time("2025-02-27 10:00:00")
    contact = fake_crm.insert("Contacts", lastname="Rossi", mobile="1")
    page = crm.people_modified_since(None)
    assert [p.id for p in page.items] == [contact]
    assert crm.people_modified_since(page.cursor).items == []
    fake_crm.tick(5)
    fake_crm.touch(contact)
    again = crm.people_modified_since(page.cursor)
    assert [p.id for p in again.items] == [contact]
    assert again.items[0].modified_at.isoformat() == "2025-02-27T10:00:05+01:00"  # the CRM's zone


def test_a_cursor_from_a_utc_time_is_written_in_the_crm_zone(crm, fake_crm):
    from datetime import datetime, timezone

    fake_crm.set_time("2025-02-27 09:59:59")
    fake_crm.insert("Contacts", lastname="Before", mobile="1")
    fake_crm.set_time("2025-02-27 10:00:00")
    after = fake_crm.insert("Contacts", lastname="After", mobile="2")
    cursor = crm.cursor_at(datetime(2025, 2, 27, 9, 0, 0, tzinfo=timezone.utc))  # 10:00 in Rome
    assert cursor == "2025-02-27 10:00:00|"
    assert [p.id for p in crm.people_modified_since(cursor).items] == [after]
