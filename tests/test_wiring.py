"""Every wiring of the product, one message in and one out: a real `wasb serve` per CRM
(embedded, vtenext through the fake webservice) on the database of this run (SQLite, or
PostgreSQL when WASB_TEST_DATABASE names one: `make test` runs the suite once per database),
between the WhatsApp simulator and that CRM, on each job queue engine the database has
(embedded on both; procrastinate, PostgreSQL's default, on PostgreSQL). The customer's signed message becomes a ticket
in the CRM; the agent's reply reaches the customer's phone and is marked sent.

The vtenext-only paths (an agent's comment written in the CRM, template sync) are in
tests/crm/test_vtenext_whatsapp.py on the same fixture."""
from __future__ import annotations

import pytest

from tests.crm.test_vtenext_flow import vtenext_env
from tests.fakes.vtenext_fake import FakeCRM, FakeServer
from tests.support.databases import BACKEND
from tests.support.wired import wired_process

CUSTOMER = "393351032246"
SENT = ("sent", "delivered", "read")  # the simulator moves on from sent quickly: any of these was sent


@pytest.fixture
def crm(request):
    """The CRM of the wiring: None for the embedded one, else the fake vtenext, served."""
    if request.param == "embedded":
        yield None
        return
    server = FakeServer(FakeCRM(flavour="vtenext"))
    server.start()
    yield server
    server.stop()


QUEUES = ["embedded"] + (["procrastinate"] if BACKEND == "postgresql" else [])


@pytest.fixture
def wired(crm, queue, database_url, tmp_path):
    env = vtenext_env(crm) if crm is not None else {"WASB_CRM": "embedded"}
    env["WASB_QUEUE"] = queue
    with wired_process(database_url, tmp_path, env) as (srv, sim):
        yield srv, sim


def ticket_in_crm(srv, crm, ticket_id) -> tuple[str, str]:
    """(description, status) of the ticket as the CRM itself holds it."""
    if crm is None:
        ticket = srv.get(f"/api/v1/tickets/{ticket_id}")
        return ticket["description"], ticket["status"]
    row = crm.crm.row(ticket_id)
    return row["description"], row["ticketstatus"]


@pytest.mark.parametrize("database", [BACKEND])
@pytest.mark.parametrize("queue", QUEUES)
@pytest.mark.parametrize("crm", ["embedded", "vtenext"], indirect=True)
def test_one_message_in_becomes_a_ticket_and_one_reply_out_reaches_the_phone(wired, crm, queue, database):
    srv, sim = wired
    inbound = sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Daniele", "text": "Buongiorno"})
    assert inbound.status_code == 200 and inbound.json()["webhook_status"] == 200, inbound.text  # signed, taken
    srv.wait_idle()
    (conversation,) = srv.get(f"/api/v1/conversations?phone=%2B{CUSTOMER}")
    description, status = ticket_in_crm(srv, crm, conversation["ticket_id"])
    assert description.endswith("Buongiorno") and status == "Open"

    reply = srv.api("POST", f"/api/v1/conversations/{conversation['id']}/messages",
                    json={"type": "text", "body": "Salve, come posso aiutarla?"})
    assert reply.status_code == 201, reply.text
    (sent,) = srv.wait_until(lambda: sim.get("/_sim/sent", params={"to": CUSTOMER}).json(),
                             what="the reply at the simulator")
    assert (sent["type"], sent["text"]) == ("text", "Salve, come posso aiutarla?")
    srv.wait_until(lambda: [m for m in srv.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
                            if m["id"] == reply.json()["id"] and m["wamid"] == sent["wamid"]
                            and m["status"] in SENT], what="the reply marked sent")


@pytest.mark.parametrize("database", [BACKEND])
@pytest.mark.parametrize("queue", QUEUES)
@pytest.mark.parametrize("crm", ["embedded", "vtenext"], indirect=True)
def test_a_campaign_to_the_crm_s_people_reaches_their_phones(wired, crm, queue, database):
    """The CRM's segment is read through its port, the messages go through the queue engine."""
    srv, sim = wired
    assert sim.post("/_sim/templates", json={"name": "novita", "language": "it", "category": "MARKETING",
                                             "status": "APPROVED", "body_text": "Ciao {{1}}, novità in negozio"}
                    ).status_code == 200
    assert srv.api("POST", "/api/v1/templates/sync").status_code == 200
    (template,) = srv.get("/api/v1/templates?name=novita")
    people = {"393351110001": "Marta Neri", "393351110002": "Luca Bassi"}
    for number, name in people.items():
        created = srv.api("POST", "/api/v1/people", json={"kind": "contact", "name": name, "mobile": "+" + number})
        assert created.status_code == 201, created.text
    draft = srv.api("POST", "/api/v1/campaigns", json={
        "name": "Novità", "template_id": template["id"], "audience": {"kind": "contact"},
        "mapping": {"1": "person.first_name"}})
    assert draft.status_code == 201, draft.text
    assert draft.json()["recipients"] == len(people)
    assert srv.api("POST", f"/api/v1/campaigns/{draft.json()['id']}/start").status_code == 200

    def at_phones():
        sent = {n: [m for m in sim.get("/_sim/sent", params={"to": n}).json() if m["type"] == "template"]
                for n in people}
        return sent if all(sent.values()) else None

    sent = srv.wait_until(at_phones, what="the campaign on both phones")
    assert sent["393351110001"][0]["template"]["rendered"] == "Ciao Marta, novità in negozio"
    assert sent["393351110002"][0]["template"]["rendered"] == "Ciao Luca, novità in negozio"
