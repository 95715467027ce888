"""A CRM segment, the people a campaign is sent to: on the embedded CRM and on vtenext (its
fake), by kind, owner and one field; then through the real server, a campaign to the leads of
one source, each greeted by their first name."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.fakes.vtenext_fake import ACCESS_KEY, vtenext_fake, vtenext_server  # noqa: F401  (fixtures)
from tests.support.polling import wait_until
from tests.support.wired import module_wired
from tests.templates.flows import meta_has_template, new_person, sync, template_id
from wasb.campaigns.audience import crm_candidates
from wasb.crm.embedded.crm import EmbeddedCRM
from wasb.crm.embedded.tables import CrmPerson
from wasb.crm.port import CRMError, NewPerson, Segment
from wasb.crm.vtenext import VtenextCRM, Webservice
from wasb.store.engine import open_database


# --- the embedded CRM ------------------------------------------------------------------------

@pytest.fixture
def db(database_url):
    database = open_database(database_url)
    yield database
    database.dispose()


def _people(db, *people: NewPerson, custom: dict[int, dict] | None = None) -> list[str]:
    """The people created (their ids, in order); `custom` gives some of them custom fields."""
    with db.sessions() as session, session.begin():
        crm = EmbeddedCRM(session)
        ids = [crm.create_person(p).id for p in people]
        for index, fields in (custom or {}).items():
            session.execute(update(CrmPerson).where(CrmPerson.id == int(ids[index])).values(custom_fields=fields))
        return ids


def _segment(db, segment: Segment, limit: int = 100, offset: int = 0) -> list[str]:
    with db.sessions() as session:
        return [p.id for p in EmbeddedCRM(session).people_in_segment(segment, limit=limit, offset=offset)]


def test_embedded_a_segment_is_the_people_of_one_kind(db):
    lead, contact, account, nameless = _people(
        db, NewPerson("lead", "Ada Lead", "+393331110001"), NewPerson("contact", "Bruno Contact", "+393331110002"),
        NewPerson("account", "ACME", "+390211100003"), NewPerson("lead", "No Mobile", None))
    assert _segment(db, Segment(kind="lead")) == [lead, nameless]  # no mobile: the campaign says so
    assert _segment(db, Segment(kind="contact")) == [contact]
    assert _segment(db, Segment(kind="account")) == [account]


def test_embedded_deleted_people_are_not_in_a_segment(db):
    kept, gone = _people(db, NewPerson("lead", "Kept", "+393331110001"), NewPerson("lead", "Gone", "+393331110002"))
    with db.sessions() as session, session.begin():
        EmbeddedCRM(session).delete_person(gone)
    assert _segment(db, Segment(kind="lead")) == [kept]


def test_embedded_owner_filter(db):
    mine, theirs, _nobodys = _people(
        db, NewPerson("contact", "Mine", "+393331110001", assigned_user="ada"),
        NewPerson("contact", "Theirs", "+393331110002", assigned_user="bruno"),
        NewPerson("contact", "Nobody's", "+393331110003"))
    assert _segment(db, Segment(kind="contact", owner="ada")) == [mine]
    assert _segment(db, Segment(kind="contact", owner="bruno")) == [theirs]
    assert _segment(db, Segment(kind="contact", owner="carla")) == []


@pytest.mark.parametrize(("field", "value"), [("company", "  acme srl "), ("source", "WHATSAPP AD: WINTER"),
                                              ("email", "Ada@Example.COM")])
def test_embedded_common_fields_match_whatever_their_case(db, field, value):
    wanted, _other, _blank = _people(
        db, NewPerson("lead", "Ada", "+393331110001", email="ada@example.com", company="ACME Srl",
                      source="WhatsApp ad: Winter"),
        NewPerson("lead", "Bruno", "+393331110002", email="bruno@example.com", company="Other Srl",
                  source="WhatsApp ad: Summer"),
        NewPerson("lead", "Carla", "+393331110003"))
    assert _segment(db, Segment(kind="lead", field=field, value=value)) == [wanted]
    assert _segment(db, Segment(kind="contact", field=field, value=value)) == []  # another kind


def test_embedded_a_custom_field_of_the_record(db):
    roma, _milano, _none = _people(
        db, NewPerson("contact", "Ada", "+393331110001"), NewPerson("contact", "Bruno", "+393331110002"),
        NewPerson("contact", "Carla", "+393331110003"),
        custom={0: {"fiera": "Roma 2026", "consent": True}, 1: {"fiera": "Milano 2026"}})
    assert _segment(db, Segment(kind="contact", field="fiera", value="roma 2026")) == [roma]
    assert _segment(db, Segment(kind="contact", field="fiera", value="Napoli")) == []
    assert _segment(db, Segment(kind="contact", field="colour", value="red")) == []  # nobody has it


@pytest.mark.parametrize("ticked", ["1", "true", "TRUE"])
def test_embedded_a_checkbox_custom_field_is_asked_alike_on_every_database(db, ticked):
    """A consent checkbox (set_person_flag) is a JSON boolean: SQLite reads it 1, PostgreSQL
    true; "1" (as vtenext writes a ticked checkbox) or "true" find it on both."""
    yes, no, _never = _people(db, NewPerson("contact", "Ada", "+393331110001"),
                              NewPerson("contact", "Bruno", "+393331110002"),
                              NewPerson("contact", "Carla", "+393331110003"))
    with db.sessions() as session, session.begin():
        crm = EmbeddedCRM(session)
        crm.set_person_flag(yes, "consenso_marketing", True)
        crm.set_person_flag(no, "consenso_marketing", False)
    assert _segment(db, Segment(kind="contact", field="consenso_marketing", value=ticked)) == [yes]
    assert _segment(db, Segment(kind="contact", field="consenso_marketing", value="0")) == [no]
    assert _segment(db, Segment(kind="contact", field="consenso_marketing", value="false")) == [no]


def test_embedded_field_and_owner_together(db):
    both, _wrong_owner, _wrong_company = _people(
        db, NewPerson("lead", "Ada", "+393331110001", company="ACME", assigned_user="ada"),
        NewPerson("lead", "Bruno", "+393331110002", company="ACME", assigned_user="bruno"),
        NewPerson("lead", "Carla", "+393331110003", company="Other", assigned_user="ada"))
    assert _segment(db, Segment(kind="lead", owner="ada", field="company", value="acme")) == [both]


def test_embedded_paging_gives_everyone_once_in_a_stable_order(db):
    # Names in the reverse of their creation, so an order by name would differ from the ids'.
    ids = _people(db, *[NewPerson("lead", f"Lead {99 - i:02d}", f"+39333111{i:04d}", company="ACME")
                        for i in range(25)])
    _people(db, NewPerson("lead", "Other", "+393339990000", company="Other"))
    segment = Segment(kind="lead", field="company", value="ACME")
    pages = [_segment(db, segment, limit=10, offset=offset) for offset in (0, 10, 20, 30)]
    assert [len(p) for p in pages] == [10, 10, 5, 0]
    paged = [pid for page in pages for pid in page]
    assert sorted(paged, key=int) == sorted(ids, key=int) and len(set(paged)) == 25
    assert pages == [_segment(db, segment, limit=10, offset=offset) for offset in (0, 10, 20, 30)]  # again the same


# --- vtenext (the fake, in both flavours) ----------------------------------------------------

@pytest.fixture
def vtenext_crm(vtenext_server):
    ws = Webservice(vtenext_server.url, "admin", ACCESS_KEY, timeout=5)
    yield VtenextCRM(ws)
    ws.close()


def _ids(people) -> list[str]:
    return [p.id for p in people]


def test_vtenext_owner_filter(vtenext_crm, vtenext_fake):
    mario = vtenext_fake.users["mario"].id
    admins = vtenext_fake.insert("Contacts", lastname="Admin's", mobile="+393331110001")
    marios = vtenext_fake.insert("Contacts", lastname="Mario's", mobile="+393331110002", assigned_user_id=mario)
    assert _ids(vtenext_crm.people_in_segment(Segment(kind="contact", owner=mario))) == [marios]
    assert _ids(vtenext_crm.people_in_segment(Segment(kind="contact"))) == [admins, marios]
    assert vtenext_crm.people_in_segment(Segment(kind="contact", owner="mario")) == []  # not a Users id


def test_vtenext_source_is_the_lead_source(vtenext_crm, vtenext_fake):
    ad = vtenext_fake.insert("Leads", lastname="Ada", company="ACME", mobile="+393331110001",
                             leadsource="WhatsApp ad")
    vtenext_fake.insert("Leads", lastname="Bruno", company="ACME", mobile="+393331110002", leadsource="Web")
    found = vtenext_crm.people_in_segment(Segment(kind="lead", field="source", value=" WhatsApp ad "))
    assert [(p.id, p.source) for p in found] == [(ad, "WhatsApp ad")]
    assert any("leadsource = 'WhatsApp ad'" in q for q in vtenext_fake.queries), vtenext_fake.queries


def test_vtenext_company_and_email_by_module(vtenext_crm, vtenext_fake):
    lead = vtenext_fake.insert("Leads", lastname="Ada", company="ACME", email="ada@acme.it", mobile="+393331110001")
    account = vtenext_fake.insert("Accounts", accountname="ACME", email1="info@acme.it", phone="+39021110002")
    assert _ids(vtenext_crm.people_in_segment(Segment(kind="lead", field="company", value="ACME"))) == [lead]
    assert _ids(vtenext_crm.people_in_segment(Segment(kind="account", field="company", value="ACME"))) == [account]
    assert _ids(vtenext_crm.people_in_segment(Segment(kind="account", field="email", value="info@acme.it"))) == [
        account]


def test_vtenext_any_field_of_the_module(vtenext_crm, vtenext_fake):
    wanted = vtenext_fake.insert("Contacts", lastname="Ada", mobile="+393331110001", description="fiera")
    vtenext_fake.insert("Contacts", lastname="Bruno", mobile="+393331110002", description="web")
    assert _ids(vtenext_crm.people_in_segment(Segment(kind="contact", field="description", value="fiera"))) == [
        wanted]


def test_vtenext_an_unknown_field_is_a_crm_error_naming_it(vtenext_crm, vtenext_fake):
    vtenext_fake.insert("Contacts", lastname="Ada", mobile="+393331110001")
    with pytest.raises(CRMError, match="colour"):
        vtenext_crm.people_in_segment(Segment(kind="contact", field="colour", value="red"))


def test_vtenext_a_segment_of_every_kind_on_a_field_some_modules_lack(vtenext_crm, vtenext_fake):
    """Accounts have no lead source and Contacts no company: a segment of every kind on such a
    field is the people of the kinds that have it, not an error."""
    lead = vtenext_fake.insert("Leads", lastname="Ada", company="ACME", mobile="+393331110001",
                               leadsource="WhatsApp ad")
    contact = vtenext_fake.insert("Contacts", lastname="Bruno", mobile="+393331110002", leadsource="WhatsApp ad")
    vtenext_fake.insert("Accounts", accountname="ACME", phone="+39021110003")
    assert vtenext_crm.people_in_segment(Segment(kind="account", field="source", value="WhatsApp ad")) == []
    assert vtenext_crm.people_in_segment(Segment(kind="contact", field="company", value="ACME")) == []
    by_source = list(crm_candidates(vtenext_crm, None, None, "source", "WhatsApp ad"))
    assert [(c.row, c.person.id, c.phone) for c in by_source] == [
        (1, lead, "+393331110001"), (2, contact, "+393331110002")]
    by_company = list(crm_candidates(vtenext_crm, None, None, "company", "ACME"))
    assert [c.person.kind for c in by_company] == ["lead", "account"]


def test_vtenext_paging_past_the_100_row_cap(vtenext_crm, vtenext_fake):
    ids = [vtenext_fake.insert("Contacts", lastname=f"C{i}", mobile=f"+39333111{i:04d}", description="x")
           for i in range(130)]
    segment = Segment(kind="contact", field="description", value="x")
    first = vtenext_crm.people_in_segment(segment, limit=100, offset=0)
    rest = vtenext_crm.people_in_segment(segment, limit=100, offset=100)
    assert (len(first), len(rest)) == (100, 30)
    assert sorted(_ids(first) + _ids(rest)) == sorted(ids)


# --- a campaign to a segment, through the real server (the embedded CRM) -----------------------

SOURCE = "WhatsApp ad: Fiera"


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "campaign-segments") as wired:
        meta_has_template(wired.sim, "benvenuto_fiera", category="MARKETING",
                          body_text="Ciao {{1}}, grazie della visita!")
        sync(wired)
        yield wired


def _set_source(database_url: str, person_ids: list[str], source: str) -> None:
    """The lead source, as a lead from a WhatsApp ad gets it (the people API does not write it)."""
    db = open_database(database_url)
    try:
        with db.sessions() as session, session.begin():
            session.execute(update(CrmPerson).where(CrmPerson.id.in_([int(i) for i in person_ids]))
                            .values(source=source))
    finally:
        db.dispose()


def _templates_sent(wired) -> list[dict]:
    return [m for m in wired.sim.get("/_sim/sent").json() if m["type"] == "template"]


def test_a_campaign_to_the_leads_of_one_source_greets_each_by_first_name(wired):
    ada = new_person(wired, "Ada Lovelace", "+393331110001", kind="lead")
    bruno = new_person(wired, "Bruno Rossi", "+39 333 111 0002", kind="lead")
    no_mobile = new_person(wired, "Carla Senzanumero", None, kind="lead")
    other_source = new_person(wired, "Dario Altro", "+393331110004", kind="lead")
    a_contact = new_person(wired, "Elena Contatto", "+393331110005", kind="contact")
    _set_source(wired.database_url, [ada["id"], bruno["id"], no_mobile["id"], a_contact["id"]], SOURCE)
    _set_source(wired.database_url, [other_source["id"]], "Web")

    answer = wired.api("POST", "/api/v1/campaigns", json={
        "name": "Grazie della visita", "template_id": template_id(wired, "benvenuto_fiera"),
        "audience": {"kind": "lead", "field": "source", "value": SOURCE.upper()},
        "mapping": {"1": "person.first_name"}})
    assert answer.status_code == 201, answer.text
    draft = answer.json()
    assert draft["audience"] == {"kind": "lead", "owner": None, "field": "source", "value": SOURCE.upper()}
    assert draft["recipients"] == 2
    assert draft["excluded"] == {"opted_out": 0, "invalid": 1, "duplicates": 0}
    (left_out,) = draft["excluded_list"]
    assert left_out["name"] == "Carla Senzanumero" and left_out["reason"].startswith("invalid")
    assert {(p["name"], p["text"]) for p in draft["preview"]} == {
        ("Ada Lovelace", "Ciao Ada, grazie della visita!"), ("Bruno Rossi", "Ciao Bruno, grazie della visita!")}
    assert not _templates_sent(wired)

    recipients = wired.get(f"/api/v1/campaigns/{draft['id']}/recipients?state=pending")
    assert {(r["person_id"], r["parameters"]["1"]) for r in recipients} == {(ada["id"], "Ada"), (bruno["id"], "Bruno")}

    started = wired.api("POST", f"/api/v1/campaigns/{draft['id']}/start")
    assert started.status_code == 200, started.text
    sent = wait_until(lambda: (lambda s: s if len(s) >= 2 else None)(_templates_sent(wired)), timeout=60,
                      what="the two campaign messages at Meta")
    assert sorted((m["to"], m["template"]["rendered"]) for m in sent) == [
        ("393331110001", "Ciao Ada, grazie della visita!"), ("393331110002", "Ciao Bruno, grazie della visita!")]
    done = wait_until(lambda: (lambda c: c if c["status"] == "done" else None)(
        wired.get(f"/api/v1/campaigns/{draft['id']}")), timeout=60, what="the campaign done")
    assert done["progress"]["pending"] == 0 and done["progress"]["failed"] == 0
    assert len(_templates_sent(wired)) == 2  # nobody else: not the other source, not the contact


def test_a_segment_of_nobody_cannot_start(wired):
    answer = wired.api("POST", "/api/v1/campaigns", json={
        "name": "Nessuno", "template_id": template_id(wired, "benvenuto_fiera"),
        "audience": {"kind": "account", "field": "company", "value": "Nobody Srl"},
        "mapping": {"1": "person.first_name"}})
    assert answer.status_code == 201, answer.text
    assert answer.json()["recipients"] == 0 and answer.json()["preview"] == []
    refused = wired.api("POST", f"/api/v1/campaigns/{answer.json()['id']}/start")
    assert refused.status_code == 409 and "nobody" in refused.text
