"""A ticket status the CRM's picklist lacks is never written (vtiger 8.2 has no
"Answered by customer"): the write is refused, the customer's events wait with a
clear health error, and once the admin picks a status the CRM has, they go on."""
from __future__ import annotations

import httpx
import pytest

from tests.crm.test_vtenext_flow import comments_on, conversation_of, keep_retrying_until_idle, vtenext_env
from tests.inbound.test_inbound_to_crm import text_message
from tests.support.server import WasbServer
from wasb.crm.port import NewPerson, NewTicket

NUMBER = "393351032246"


def test_the_adapter_refuses_a_status_outside_the_picklist(vtenext_crm, vtenext_fake):
    from wasb.crm.port import CRMConfigError

    person = vtenext_crm.create_person(NewPerson(kind="contact", name="Anna", mobile="+393331234567"))
    ticket = vtenext_crm.create_ticket(NewTicket(title="t", status="Open", priority="High", description="d",
                                                 person_id=person.id))
    with pytest.raises(CRMConfigError, match="'Made up' is not one of this CRM's ticket statuses"):
        vtenext_crm.set_ticket_status(ticket.id, "Made up")
    with pytest.raises(CRMConfigError):
        vtenext_crm.create_ticket(NewTicket(title="t2", status="Made up", priority="High", description="d",
                                            person_id=person.id))
    assert vtenext_fake.row(ticket.id)["ticketstatus"] == "Open"
    assert [r["ticketstatus"] for r in vtenext_fake.rows("HelpDesk")] == ["Open"]
    assert vtenext_crm.invalid_statuses(["Open", "Answered by customer", "Closed"]) == (
        ["Answered by customer"] if vtenext_fake.flavour == "vtiger" else [])


@pytest.mark.parametrize("vtenext_server", ["vtiger"], indirect=True)
def test_on_vtiger_the_answered_status_waits_for_the_admin_then_goes_on(database_url, tmp_path, vtenext_server,
                                                                         vtenext_fake):
    # The default status for a customer's answer, which vtiger's picklist lacks.
    env = vtenext_env(vtenext_server, WASB_STATUS_ANSWERED="Answered by customer")
    srv = WasbServer(database_url, tmp_path, extra_env=env).start()
    try:
        srv.post_webhook(text_message(NUMBER, "Buongiorno", "wamid.s1", "1764000000", "Daniele"))
        srv.wait_idle()
        ticket_id = conversation_of(srv, NUMBER)["ticket_id"]
        srv.post_webhook(text_message(NUMBER, "ci siete?", "wamid.s2", "1764000010", "Daniele"))
        srv.wait_until(lambda: srv.get("/api/v1/crm/status")["state"] == "misconfigured", what="the health error")

        status = srv.get("/api/v1/crm/status")
        assert status["problems"] == ["ticket status 'Answered by customer' is not in the CRM's ticket status picklist"]
        assert "Settings" in status["action"]
        assert httpx.get(srv.url + "/healthz").json()["status"] == "degraded"
        assert vtenext_fake.row(ticket_id)["ticketstatus"] == "Open"  # never the invalid value
        assert all(r["ticketstatus"] in ("Open", "In Progress", "Wait For Response", "Closed")
                   for r in vtenext_fake.rows("HelpDesk"))
        assert srv.get("/api/v1/inbound-events?state=failed") == []  # waiting, nothing lost

        saved = srv.api("PUT", "/api/v1/settings", json={"status_answered": "In Progress"})
        assert saved.status_code == 200, saved.text
        keep_retrying_until_idle(srv)
        assert vtenext_fake.row(ticket_id)["ticketstatus"] == "In Progress"
        assert [c["commentcontent"] for c in comments_on(vtenext_fake, ticket_id)] == ["Daniele wrote:\nci siete?"]
        assert srv.get("/api/v1/crm/status")["state"] == "ok"
    finally:
        srv.stop()
