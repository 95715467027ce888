"""`wasb vtenext_crm check` and what the adapter reads from `describe` instead of assuming."""
import pytest

from tests.fakes.vtenext_fake import ACCESS_KEY, FakeCRM, FakeServer
from wasb.crm.port import NewPerson
from wasb.crm.vtenext import VtenextCRM, Webservice, check


def test_check_reports_prefixes_flavour_phone_fields_and_statuses(vtenext_webservice, vtenext_fake):
    report = check(vtenext_webservice)
    assert report.ok, report.missing
    assert report.flavour == vtenext_fake.flavour
    assert report.id_prefixes["HelpDesk"] == vtenext_fake.prefixes["HelpDesk"]
    assert report.phone_fields == {"Leads": ["mobile"], "Contacts": ["mobile"], "Accounts": ["phone"]}
    assert "Wait For Response" in report.ticket_statuses
    assert ("Leads" in report.ticket_parents) == (vtenext_fake.flavour == "vtenext")
    assert report.lines()[-1] == "OK"


def test_check_names_what_is_missing(vtenext_webservice, vtenext_fake):
    report = check(vtenext_webservice, phone_fields={"account": ["mobile"]},
                   statuses=("Open", "Answered by customer", "Closed"))
    assert "phone field Accounts.mobile" in report.missing
    assert ("ticket status value 'Answered by customer'" in report.missing) == (vtenext_fake.flavour == "vtiger")
    assert report.lines()[-1] == "NOT READY"


def test_check_reports_refused_credentials_without_raising(vtenext_server, vtenext_fake):
    report = check(Webservice(vtenext_server.url, "admin", "WrongKeyWrongKey", timeout=5))
    assert not report.ok
    assert "INVALID_USER_CREDENTIALS" in report.missing[0]
    assert vtenext_fake.login_attempts == 2


@pytest.fixture
def renumbered_crm():
    fake = FakeCRM(flavour="vtenext")
    fake.prefixes = {**fake.prefixes, "Leads": "42", "HelpDesk": "77"}
    fake.module_by_prefix = {p: m for m, p in fake.prefixes.items()}
    server = FakeServer(fake)
    server.start()
    yield server
    server.stop()


def test_id_prefixes_come_from_describe_not_from_constants(renumbered_crm):
    vtenext_crm = VtenextCRM(Webservice(renumbered_crm.url, "admin", ACCESS_KEY, timeout=5))
    lead = vtenext_crm.create_person(NewPerson(kind="lead", name="Anna", mobile="+393331234567"))
    assert lead.id.startswith("42x") and lead.kind == "lead"
    assert vtenext_crm.get_person(lead.id).name == "Anna"
    assert vtenext_crm.find_people_by_phone("+393331234567")[0].kind == "lead"


def test_check_notices_a_vtenext_user_blind_to_public_comments(vtenext_webservice, vtenext_fake):
    if vtenext_fake.flavour != "vtenext":
        pytest.skip("vtiger has no per-user visibility of comments")
    vtenext_fake.records["Users"][1]["receive_public_talks"] = "0"
    report = check(vtenext_webservice)
    assert any("receive public talks" in m for m in report.missing)


def test_check_reports_a_user_whose_role_may_not_create_tickets(vtenext_webservice, vtenext_fake):
    vtenext_fake.permissions = {"HelpDesk": {"createable": False}, "ModComments": {"createable": False},
                                "Contacts": {"updateable": False}}
    report = check(vtenext_webservice)
    assert not report.ok and report.lines()[-1] == "NOT READY"
    assert "permission: user admin may not create HelpDesk (describe: createable false)" in report.missing
    assert "permission: user admin may not create ModComments (describe: createable false)" in report.missing
    assert "permission: user admin may not update Contacts (describe: updateable false)" in report.missing
    assert not [m for m in report.missing if "Leads" in m or "Accounts" in m]


def test_a_write_the_role_may_not_do_waits_for_an_admin_instead_of_failing(vtenext_crm, vtenext_fake):
    from wasb.crm.port import CRMConfigError, NewTicket

    person = vtenext_crm.create_person(NewPerson(kind="contact", name="Anna", mobile="+393331234567"))
    vtenext_fake.permissions = {"HelpDesk": {"createable": False}}
    with pytest.raises(CRMConfigError, match="may not create HelpDesk"):
        vtenext_crm.create_ticket(NewTicket(title="t", status="Open", priority="High", description="d",
                                            person_id=person.id))
    assert vtenext_fake.operations("create")[-1][2]["elementType"] == "Contacts"  # no doomed create sent
    assert vtenext_fake.rows("HelpDesk") == []


def test_check_warns_about_agents_blind_to_the_customers_comments(vtenext_webservice, vtenext_fake):
    if vtenext_fake.flavour != "vtenext":
        pytest.skip("vtiger has no per-user visibility of comments")
    vtenext_fake.records["Users"][5]["receive_public_talks"] = "0"  # mario, an agent
    report = check(vtenext_webservice)
    assert report.ok, report.missing  # the login user sees them: a warning, not a blocker
    (warning,) = [n for n in report.notes if "receive public talks" in n]
    assert warning.startswith("WARNING") and "mario" in warning and "admin" not in warning


def test_a_role_without_ticket_rights_shows_in_the_crm_status_and_the_event_waits(
        database_url, tmp_path, vtenext_server, vtenext_fake):
    from tests.crm.test_vtenext_flow import vtenext_env
    from tests.inbound.test_inbound_to_crm import text_message
    from tests.support.server import WasbServer

    vtenext_fake.permissions = {"HelpDesk": {"createable": False}}
    srv = WasbServer(database_url, tmp_path, extra_env=vtenext_env(vtenext_server)).start()
    try:
        srv.post_webhook(text_message("393351032246", "Buongiorno", "wamid.r1", "1764000000", "Daniele"))
        status = srv.wait_until(lambda: (s := srv.get("/api/v1/crm/status"))["state"] == "misconfigured" and s,
                                what="the missing right in the status")
        assert status["problems"] == ["the CRM user admin may not create HelpDesk"]
        # The status can say so from its start-up check before the message is applied: wait for the
        # message's person to reach the CRM, then look at what was written.
        created = srv.wait_until(lambda: vtenext_fake.operations("create"), what="the customer written to the CRM")
        assert created[-1][2]["elementType"] != "HelpDesk"  # never sent to be refused
        assert srv.get("/api/v1/inbound-events?state=failed") == []
        vtenext_fake.permissions = {}  # the CRM admin gives the role the right: no restart needed
        from tests.crm.test_vtenext_flow import keep_retrying_until_idle
        keep_retrying_until_idle(srv)
        assert len(vtenext_fake.rows("HelpDesk")) == 1
        assert srv.get("/api/v1/crm/status")["problems"] == []
    finally:
        srv.stop()
