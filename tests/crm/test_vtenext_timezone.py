"""A CRM whose clock is in another zone than WASB's `crm_timezone` setting (vtiger's
installer writes UTC, WASB assumes Europe/Rome) must not make WASB skip agents'
comments: where the comment poll starts comes from the CRM's own rows, not from
WASB's clock converted with a zone that may be wrong."""
from __future__ import annotations

import pytest

from tests.crm.test_vtenext_flow import conversation_of, outbound, vtenext_env
from tests.fakes.vtenext_fake import ACCESS_KEY, FakeCRM, FakeServer
from tests.inbound.test_inbound_to_crm import text_message
from tests.support.server import WasbServer
from wasb.crm.vtenext import VtenextCRM, Webservice
from wasb.crm.vtenext.changes import decode

NUMBER = "393351032246"


@pytest.fixture
def utc_vtiger():
    server = FakeServer(FakeCRM(flavour="vtiger", zone="UTC"))  # as vtiger 8.2's installer leaves it
    server.start()
    yield server
    server.stop()


def test_agent_comments_on_a_crm_in_utc_are_seen_while_the_setting_says_rome(database_url, tmp_path, utc_vtiger):
    fake = utc_vtiger.crm
    before = fake.insert("HelpDesk", ticket_title="older", ticketstatus="Open")
    fake.add_agent_comment(before, "written before WASB polled this CRM")
    srv = WasbServer(database_url, tmp_path, extra_env=vtenext_env(utc_vtiger)).start()
    try:
        assert srv.get("/api/v1/settings")["crm_timezone"] == "Europe/Rome"
        srv.wait_until(lambda: srv.get("/api/v1/crm/status")["agent_comments"]["last_poll"], what="a first poll")
        srv.post_webhook(text_message(NUMBER, "Buongiorno", "wamid.z1", "1764000000", "Daniele"))
        srv.wait_idle()
        ticket_id = conversation_of(srv, NUMBER)["ticket_id"]
        fake.add_agent_comment(ticket_id, "Buongiorno, come posso aiutarla?")
        (message,) = srv.wait_until(lambda: outbound(srv, NUMBER), what="the agent's comment as a message")
        assert message["body"] == "Buongiorno, come posso aiutarla?"
        assert [m["body"] for m in outbound(srv, NUMBER)] == ["Buongiorno, come posso aiutarla?"]  # not the older one
        # The records WASB wrote showed the CRM's clock: the admin is told the setting is wrong.
        (warning,) = srv.get("/api/v1/crm/status")["warnings"]
        assert "UTC+00:00" in warning and "Europe/Rome" in warning
    finally:
        srv.stop()


def test_the_first_cursor_is_the_newest_comment_not_the_clock(utc_vtiger):
    fake = utc_vtiger.crm
    crm = VtenextCRM(Webservice(utc_vtiger.url, "admin", ACCESS_KEY, timeout=5), crm_timezone="Pacific/Kiritimati")
    assert decode(crm.comments_cursor_start()).time == "1970-01-01 00:00:00"  # none yet: from the beginning
    ticket = fake.insert("HelpDesk", ticket_title="t", ticketstatus="Open")
    fake.set_time("2026-03-01 10:00:00")
    old = [fake.add_agent_comment(ticket, f"old {i}") for i in range(2)]  # two in the same second
    start = crm.comments_cursor_start()
    assert decode(start).time == "2026-03-01 10:00:00" and decode(start).seen == frozenset(old)
    fake.tick()
    new = fake.add_agent_comment(ticket, "new")
    page = crm.agent_comments_since(start, exclude_user=None)
    assert [c.id for c in page.items] == [new]


def test_a_write_shows_whether_the_zone_setting_matches_the_crms_clock(utc_vtiger):
    from wasb.crm.port import NewPerson

    wrong = VtenextCRM(Webservice(utc_vtiger.url, "admin", ACCESS_KEY, timeout=5), crm_timezone="Europe/Rome")
    wrong.create_person(NewPerson(kind="contact", name="Anna", mobile="+393331234567"))
    assert "UTC+00:00" in wrong.zone_mismatch and "crm_timezone Europe/Rome" in wrong.zone_mismatch
    right = VtenextCRM(Webservice(utc_vtiger.url, "admin", ACCESS_KEY, timeout=5), crm_timezone="UTC")
    right.create_person(NewPerson(kind="contact", name="Bruno", mobile="+393331234568"))
    assert right.zone_mismatch is None
