"""syncCustomers: the WhatsApp address book and the CRM's people, both ways, within the window."""
from datetime import timedelta

from sqlalchemy import update

from tests.inbound.test_inbound_to_crm import text_message
from wasb.crm.embedded.tables import CrmPerson
from wasb.crm.port import NewPerson
from wasb.store.base import utcnow

MOBILE = "+393351032246"


def person(kind="contact", name="Daniele Asmonti", mobile="+39 335 103 2246", **more):
    return NewPerson(kind=kind, name=name, mobile=mobile, **more)


def test_crm_people_with_a_mobile_get_an_address_book_entry(live):
    daniele = live.crm_edit(lambda crm: crm.create_person(person()))
    acme = live.crm_edit(lambda crm: crm.create_person(person("account", "ACME", "0039 02 1234567")))
    live.crm_edit(lambda crm: crm.create_person(person("lead", "No Phone", None)))
    result = live.sync()
    assert (result["crm_changes"], result["created"]) == (3, 2)
    entries = {(c.phone_e164, c.wa_id, c.crm_person_id, c.crm_kind, c.crm_name) for c in live.contacts()}
    assert entries == {(MOBILE, "393351032246", daniele.id, "contact", "Daniele Asmonti"),
                       ("+39021234567", "39021234567", acme.id, "account", "ACME")}


def test_a_second_run_reads_only_what_changed(live):
    for i in range(5):
        live.crm_edit(lambda crm, i=i: crm.create_person(person(name=f"P{i}", mobile=f"+39 335 100 000{i}")))
    assert live.sync()["crm_changes"] == 5
    assert live.sync()["crm_changes"] == 0
    first = live.contacts()[0]
    live.crm_edit(lambda crm: crm.update_person(first.crm_person_id, name="P0 renamed"))
    result = live.sync()
    assert (result["crm_changes"], result["updated"], result["created"]) == (1, 1, 0)


def test_a_renamed_crm_record_updates_its_entry_and_the_audit_log(live):
    daniele = live.crm_edit(lambda crm: crm.create_person(person()))
    live.sync()
    live.crm_edit(lambda crm: crm.update_person(daniele.id, name="Daniele Asmonti Jr"))
    live.sync()
    assert live.contact(MOBILE).crm_name == "Daniele Asmonti Jr"
    assert ("job:syncCustomers", "wa_contact", "crm_name", "Daniele Asmonti", "Daniele Asmonti Jr") in live.audit()


def test_a_changed_crm_number_moves_a_synced_entry(live):
    daniele = live.crm_edit(lambda crm: crm.create_person(person()))
    live.sync()
    (entry,) = live.contacts()
    live.crm_edit(lambda crm: crm.update_person(daniele.id, mobile="+39 333 000 1111"))
    live.sync()
    (moved,) = live.contacts()
    assert (moved.id, moved.phone_e164, moved.wa_id, moved.crm_person_id) == (
        entry.id, "+393330001111", "393330001111", daniele.id)
    assert ("job:syncCustomers", "wa_contact", "phone_e164", MOBILE, "+393330001111") in live.audit()


def test_a_changed_crm_number_leaves_the_customers_whatsapp_identity_unlinked(live):
    live.post(text_message("393351032246", "ciao", "wamid.n1", str(int(utcnow().timestamp())), "Dani"))
    (entry,) = live.contacts()
    live.crm_edit(lambda crm: crm.update_person(entry.crm_person_id, mobile="+39 333 000 1111"))
    live.sync()
    old, new = live.contacts()
    assert (old.wa_id, old.crm_person_id) == ("393351032246", None)  # WhatsApp spoke through it: not moved
    assert (new.phone_e164, new.crm_person_id) == ("+393330001111", entry.crm_person_id)
    assert ("job:syncCustomers", "wa_contact", "crm_person_id", entry.crm_person_id, None) in live.audit()


def test_a_deleted_or_numberless_crm_record_is_unlinked(live):
    gone = live.crm_edit(lambda crm: crm.create_person(person(name="Gone", mobile="+39 335 100 0001")))
    blank = live.crm_edit(lambda crm: crm.create_person(person(name="Blank", mobile="+39 335 100 0002")))
    live.sync()
    assert all(c.crm_person_id for c in live.contacts())
    live.crm_edit(lambda crm: crm.delete_person(gone.id))
    live.crm_edit(lambda crm: crm.update_person(blank.id, mobile=""))
    result = live.sync()
    assert result["unlinked"] == 2
    assert [(c.phone_e164, c.crm_person_id) for c in live.contacts()] == [
        ("+393351000001", None), ("+393351000002", None)]


def test_only_crm_records_changed_within_the_time_window_are_synced(live):
    live.settings(time_window_days=2)
    live.crm_edit(lambda crm: crm.create_person(person(name="Old", mobile="+39 335 100 0001")))
    recent = live.crm_edit(lambda crm: crm.create_person(person(name="Recent", mobile="+39 335 100 0002")))
    with live.app.db.sessions() as s, s.begin():  # "Old" was last edited three days ago
        s.execute(update(CrmPerson).where(CrmPerson.name == "Old").values(modified_at=utcnow() - timedelta(days=3)))
    result = live.sync()
    assert result["crm_changes"] == 1
    assert [c.crm_person_id for c in live.contacts()] == [recent.id]


def test_a_cursor_older_than_the_window_restarts_at_the_window(live):
    live.crm_edit(lambda crm: crm.create_person(person(name="Early", mobile="+39 335 100 0001")))
    live.sync()
    live.crm_edit(lambda crm: crm.create_person(person(name="Later", mobile="+39 335 100 0002")))
    # The job was off for three days: the changes from before the window are not read.
    result = live.sync(at=utcnow() + timedelta(days=3))
    assert result["crm_changes"] == 0


def test_a_customer_known_from_the_crm_is_recognised_when_they_write(live):
    daniele = live.crm_edit(lambda crm: crm.create_person(person()))
    live.sync()
    live.post(text_message("393351032246", "ciao", "wamid.k1", str(int(utcnow().timestamp())), "Dani"))
    (entry,) = live.contacts()  # the synced entry, not a second one
    assert (entry.crm_person_id, entry.profile_name) == (daniele.id, "Dani")


def test_a_whatsapp_profile_name_fills_a_crm_record_named_after_its_number(live):
    numbered = live.crm_edit(lambda crm: crm.create_person(person("lead", "+39 335 103 2246")))
    live.post(text_message("393351032246", "ciao", "wamid.p1", str(int(utcnow().timestamp())), "Daniele"))
    result = live.sync()
    assert result["crm_names_filled"] == 1
    assert live.crm_edit(lambda crm: crm.get_person(numbered.id)).name == "Daniele"
    assert ("job:syncCustomers", "crm_person", "name", "+39 335 103 2246", "Daniele") in live.audit("crm_person")
    assert live.sync()["crm_names_filled"] == 0


def test_an_edited_crm_name_is_not_overwritten_by_the_whatsapp_profile(live):
    now = int(utcnow().timestamp())
    live.post(text_message("393351032246", "ciao", "wamid.e1", str(now), "Dani"))
    (entry,) = live.contacts()
    assert live.crm_edit(lambda crm: crm.get_person(entry.crm_person_id)).name == "Dani"
    live.crm_edit(lambda crm: crm.update_person(entry.crm_person_id, name="Daniele Asmonti"))
    live.post(text_message("393351032246", "ancora io", "wamid.e2", str(now + 5), "Dani 🌞"))
    assert live.contacts()[0].profile_name == "Dani 🌞"
    live.sync()
    assert live.crm_edit(lambda crm: crm.get_person(entry.crm_person_id)).name == "Daniele Asmonti"
    assert live.contacts()[0].crm_name == "Daniele Asmonti"
    assert live.audit("crm_person") == []


def test_a_phone_learnt_for_a_bsuid_only_customer_fills_the_crm_mobile(live):
    now = int(utcnow().timestamp())
    bsuid_only = text_message("unused", "hello", "wamid.b1", str(now), name="ann.k", user_id="US.777")
    value = bsuid_only["entry"][0]["changes"][0]["value"]
    del value["contacts"][0]["wa_id"]
    value["messages"][0].pop("from")
    value["messages"][0]["from_user_id"] = "US.777"
    live.post(bsuid_only)
    (entry,) = live.contacts()
    lead = live.crm_edit(lambda crm: crm.get_person(entry.crm_person_id))
    assert (entry.phone_e164, lead.mobile) == (None, None)
    live.sync()
    assert live.contacts()[0].crm_person_id == lead.id  # a BSUID-only link is not a number link: kept
    live.post(text_message("393351032246", "my number now shows", "wamid.b2", str(now + 5), "ann.k", user_id="US.777"))
    assert live.contacts()[0].phone_e164 == MOBILE
    result = live.sync()
    assert result["crm_mobiles_filled"] == 1
    assert live.crm_edit(lambda crm: crm.get_person(lead.id)).mobile == MOBILE
    assert ("job:syncCustomers", "crm_person", "mobile", None, MOBILE) in live.audit("crm_person")


def test_address_book_changes_outside_the_window_are_not_sent_to_the_crm(live):
    numbered = live.crm_edit(lambda crm: crm.create_person(person("lead", "+39 335 103 2246")))
    live.post(text_message("393351032246", "ciao", "wamid.w1", str(int(utcnow().timestamp())), "Daniele"))
    result = live.sync(at=utcnow() + timedelta(days=2))  # window: 1 day; the profile arrived 2 days "ago"
    assert result["crm_names_filled"] == 0
    assert live.crm_edit(lambda crm: crm.get_person(numbered.id)).name == "+39 335 103 2246"
