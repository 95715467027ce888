"""Consent: a customer who writes STOP (or ANNULLA…) is opted out of marketing, told so in
their language, and no marketing template reaches Meta for them while service replies and
utility templates still go; START brings them back. Meta's 131050 does the same as STOP, an
agent can do it by hand, and the admin's CRM checkbox follows (and is read back by
syncCustomers). Through a real server (served in the test's process) and the simulator; one
server for the module, a customer of its own per test."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.outbound.conftest import sim_overrides
from tests.outbound.flows import customer_writes, send, sent_to, wait_status
from tests.support.inprocess import module_service
from tests.support.jobs import run_job
from tests.support.ui_http import add_user, logged_in, page_csrf
from wasb.audit.tables import AuditEntry
from wasb.crm.embedded.tables import CrmPerson
from wasb.settings.service import AdminSettings
from wasb.store.base import utcnow
from wasb.store.engine import open_database

CRM_FIELD = "emailoptout"
DEFAULTS = AdminSettings()
STOPPED_EN, STOPPED_IT = DEFAULTS.opt_out_replies["en"], DEFAULTS.opt_out_replies["it"]
BACK_EN, BACK_IT = DEFAULTS.opt_in_replies["en"], DEFAULTS.opt_in_replies["it"]
DONE = ("sent", "delivered", "read")


@pytest.fixture(scope="module")
def shared(tmp_path_factory, simulator_url, sim_settings):
    with module_service(tmp_path_factory, "consent", **sim_overrides(simulator_url, sim_settings)) as service:
        saved = service.api("PUT", "/api/v1/settings", json={"consent_crm_field": CRM_FIELD})
        assert saved.status_code == 200, saved.text
        yield service


@pytest.fixture
def wasb(shared, sim):
    """The module's server, with the simulator (reset for each test) posting to it and
    knowing a marketing and a utility template."""
    sim.post("/_sim/config", json={"webhook_url": shared.url + "/webhooks/whatsapp"}).raise_for_status()
    for name, category in (("promo", "MARKETING"), ("order_update", "UTILITY")):
        sim.post("/_sim/templates", json={"name": name, "language": "it", "category": category,
                                          "body_text": "Ciao {{1}}!"}).raise_for_status()
    synced = shared.api("POST", "/api/v1/templates/sync")
    assert synced.status_code == 200, synced.text
    return shared


def template(wasb, conversation_id, name):
    return send(wasb, conversation_id, type="template",
                template={"name": name, "language": "it", "parameters": ["Daniele"]})


def consent_of(wasb, conversation_id):
    return wasb.get(f"/api/v1/conversations/{conversation_id}")["contact"]["consent"]


def texts_to(sim, wa_id):
    return [s["text"] for s in sent_to(sim, wa_id) if s["type"] == "text"]


def wait_texts(wasb, sim, wa_id, count):
    return wasb.wait_until(lambda: len(t := texts_to(sim, wa_id)) >= count and t, 20, f"{count} text(s) to {wa_id}")


def audit_of(wasb, contact_id):
    db = open_database(wasb.database_url)
    try:
        with db.read_sessions() as s:
            rows = s.scalars(select(AuditEntry).where(AuditEntry.entity == "wa_contact",
                                                      AuditEntry.entity_id == str(contact_id),
                                                      AuditEntry.field.in_(["marketing_opted_out", "opt_source"]))
                             .order_by(AuditEntry.id)).all()
            return [(r.actor, r.field, r.old, r.new) for r in rows]
    finally:
        db.dispose()


def crm_field(wasb, person_id):
    db = open_database(wasb.database_url)
    try:
        with db.read_sessions() as s:
            return (s.scalar(select(CrmPerson.custom_fields).where(CrmPerson.id == int(person_id))) or {}).get(CRM_FIELD)
    finally:
        db.dispose()


def test_stop_opts_out_in_english_refuses_marketing_sends_utility_and_start_brings_them_back(wasb, sim):
    customer = "447700900101"
    conversation = customer_writes(sim, wasb, text="  stop ", wa_id=customer, name="Ann")
    assert wait_texts(wasb, sim, customer, 1) == [STOPPED_EN]  # the confirmation, in English
    consent = consent_of(wasb, conversation["id"])
    assert consent["marketing_opted_out"] is True and consent["source"] == "keyword" and consent["changed_at"]
    contact_id = wasb.get(f"/api/v1/conversations/{conversation['id']}")["contact"]["id"]
    assert audit_of(wasb, contact_id) == [("customer", "marketing_opted_out", "False", "True"),
                                          ("customer", "opt_source", None, "keyword")]
    assert crm_field(wasb, conversation["person_id"]) is True  # the admin's CRM checkbox follows

    refused = template(wasb, conversation["id"], "promo")
    assert refused.status_code == 409, refused.text
    assert refused.json()["reason"] == "marketing_opted_out" and refused.json()["source"] == "keyword"
    assert "opted out of marketing" in refused.json()["detail"]
    utility = template(wasb, conversation["id"], "order_update")
    assert utility.status_code == 201, utility.text
    assert wait_status(wasb, conversation["id"], utility.json()["id"], *DONE, "failed")["status"] in DONE
    reply = send(wasb, conversation["id"], type="text", body="Your order ships tomorrow")
    assert reply.status_code == 201, reply.text  # a service reply still goes
    assert [s["template"]["name"] for s in sent_to(sim, customer) if s["type"] == "template"] == ["order_update"]

    customer_writes(sim, wasb, text="START", wa_id=customer, name="Ann")
    wasb.wait_until(lambda: BACK_EN in texts_to(sim, customer), 60, "the opt-in confirmation")
    assert consent_of(wasb, conversation["id"])["marketing_opted_out"] is False
    assert crm_field(wasb, conversation["person_id"]) is False
    promo = template(wasb, conversation["id"], "promo")
    assert promo.status_code == 201, promo.text
    assert wait_status(wasb, conversation["id"], promo.json()["id"], *DONE, "failed")["status"] in DONE


def test_annulla_opts_out_in_italian_and_a_keyword_inside_a_sentence_does_not(wasb, sim):
    customer = "393351000202"
    conversation = customer_writes(sim, wasb, text="Non annulla niente, grazie", wa_id=customer)
    assert consent_of(wasb, conversation["id"])["marketing_opted_out"] is False
    customer_writes(sim, wasb, text="Annulla", wa_id=customer)
    assert wait_texts(wasb, sim, customer, 1) == [STOPPED_IT]  # the Italian keyword is answered in Italian
    assert consent_of(wasb, conversation["id"])["marketing_opted_out"] is True
    (promo,) = wasb.get("/api/v1/templates?name=promo")
    refused = wasb.api("POST", f"/api/v1/templates/{promo['id']}/send",
                       json={"to": {"phone": "+" + customer}, "params": ["Daniele"]})
    assert refused.status_code == 409 and refused.json()["reason"] == "marketing_opted_out", refused.text
    assert template(wasb, conversation["id"], "order_update").status_code == 201
    customer_writes(sim, wasb, text="iscrivimi", wa_id=customer)
    wasb.wait_until(lambda: BACK_IT in texts_to(sim, customer), 60, "the Italian opt-in confirmation")
    assert consent_of(wasb, conversation["id"])["marketing_opted_out"] is False


@pytest.mark.parametrize("via", ["response", "webhook"])
def test_metas_131050_opts_the_customer_out(wasb, sim, via):
    customer = {"response": "393351000303", "webhook": "393351000304"}[via]
    conversation = customer_writes(sim, wasb, text="Buongiorno", wa_id=customer)
    injected = sim.post("/_sim/inject", json={"code": 131050, "to": customer, "via": via})
    assert injected.status_code == 200, injected.text
    row = template(wasb, conversation["id"], "promo").json()
    # Refused in the answer, or accepted then failed by a status webhook ("sent" first).
    failed = wait_status(wasb, conversation["id"], row["id"], "failed")
    assert failed["error"]["code"] == 131050
    consent = wasb.wait_until(lambda: (c := consent_of(wasb, conversation["id"]))["marketing_opted_out"] and c,
                              20, "the customer to be opted out")
    assert consent["source"] == "meta_error"
    assert texts_to(sim, customer) == []  # Meta told us, not the customer: nothing to confirm
    again = template(wasb, conversation["id"], "promo")
    assert again.status_code == 409 and again.json()["source"] == "meta_error", again.text


def test_an_agent_opts_a_person_out_and_back_in_through_the_api(wasb, sim):
    customer = "393351000404"
    conversation = customer_writes(sim, wasb, text="Buongiorno", wa_id=customer)
    answer = wasb.api("PUT", f"/api/v1/conversations/{conversation['id']}/consent",
                      json={"marketing_opted_out": True}, token=wasb.agent_token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["contact"]["consent"]["source"] == "agent"
    person_id = conversation["person_id"]
    assert wasb.get(f"/api/v1/people/{person_id}")["consent"]["marketing_opted_out"] is True
    assert crm_field(wasb, person_id) is True
    assert template(wasb, conversation["id"], "promo").status_code == 409
    contact_id = answer.json()["contact"]["id"]
    (actor, *_), _ = audit_of(wasb, contact_id)
    assert actor not in ("customer", "meta", "")  # the agent's token is named, not a guess

    back = wasb.api("PUT", f"/api/v1/people/{person_id}/consent", json={"marketing_opted_out": False})
    assert back.status_code == 200 and back.json()["consent"]["marketing_opted_out"] is False, back.text
    assert crm_field(wasb, person_id) is False
    assert wasb.api("PUT", "/api/v1/conversations/999999/consent",
                    json={"marketing_opted_out": True}).status_code == 404
    assert wasb.api("PUT", f"/api/v1/conversations/{conversation['id']}/consent",
                    json={"marketing_opted_out": "perhaps"}).status_code == 422
    assert wasb.api("PUT", f"/api/v1/people/{person_id}/consent", json={"marketing_opted_out": 1}).status_code == 422


def test_the_crm_checkbox_ticked_in_the_crm_opts_out_at_the_next_sync_customers(wasb, sim):
    customer = "393351000505"
    conversation = customer_writes(sim, wasb, text="Buongiorno", wa_id=customer)
    db = open_database(wasb.database_url)
    try:
        with db.sessions() as s, s.begin():  # someone ticks the box in the CRM
            s.execute(update(CrmPerson).where(CrmPerson.id == int(conversation["person_id"]))
                      .values(custom_fields={CRM_FIELD: True}, modified_at=utcnow()))
    finally:
        db.dispose()
    result = run_job(wasb, "syncCustomers")
    assert result["last_result"]["consent_changes"] >= 1, result
    consent = consent_of(wasb, conversation["id"])
    assert consent["marketing_opted_out"] is True and consent["source"] == "crm"
    assert template(wasb, conversation["id"], "promo").status_code == 409


def test_the_conversation_page_shows_the_opt_out_and_an_agent_can_change_it(wasb, sim):
    customer = "393351000606"
    conversation = customer_writes(sim, wasb, text="BASTA", wa_id=customer)
    add_user(wasb.database_url, "giulia", "giulia-password")
    client = logged_in(wasb.url, "giulia", "giulia-password")
    try:
        page = client.get(f"/ui/conversations/{conversation['id']}")
        assert 'id="opted-out-badge"' in page.text and "Opted out of marketing" in page.text
        assert "keyword written by the customer" in page.text
        assert "System: consent confirmation" in page.text  # the reply is the system's, not an agent's
        assert 'id="opted-out-badge"' in client.get(f"/ui/people/{conversation['person_id']}").text
        (promo,) = wasb.get("/api/v1/templates?name=promo")
        csrf = page_csrf(client, f"/ui/conversations/{conversation['id']}")
        picked = client.post(f"/ui/conversations/{conversation['id']}/template", headers={"X-Requested-With": "fetch"},
                             data={"csrf": csrf, "template_id": promo["id"], "param_1": "Daniele"})
        assert picked.status_code == 409, picked.text  # the agent is told, in words, before anything is queued
        assert "opted out of marketing messages" in picked.json()["message"]
        refused = client.post(f"/ui/conversations/{conversation['id']}/consent", data={"opted_out": "no"})
        assert refused.status_code in (400, 403), refused.status_code  # no CSRF token: refused
        assert consent_of(wasb, conversation["id"])["marketing_opted_out"] is True
        csrf = page_csrf(client, f"/ui/conversations/{conversation['id']}")
        done = client.post(f"/ui/conversations/{conversation['id']}/consent", data={"opted_out": "no", "csrf": csrf})
        assert done.status_code in (200, 303), done.text
        assert 'id="opted-out-badge"' not in client.get(f"/ui/conversations/{conversation['id']}").text
    finally:
        client.close()
    assert consent_of(wasb, conversation["id"])["source"] == "agent"


def test_a_marketing_template_queued_before_the_opt_out_never_reaches_meta(wasb, sim):
    customer = "393351000707"
    conversation = customer_writes(sim, wasb, text="Buongiorno", wa_id=customer)
    # Meta has a bad moment: the template waits in the queue for its next try.
    assert sim.post("/_sim/inject", json={"code": 131000, "to": customer}).status_code == 200
    row = template(wasb, conversation["id"], "promo").json()
    opted = wasb.api("PUT", f"/api/v1/conversations/{conversation['id']}/consent", json={"marketing_opted_out": True})
    assert opted.status_code == 200, opted.text
    failed = wait_status(wasb, conversation["id"], row["id"], "failed", *DONE, timeout=30)
    assert failed["status"] == "failed" and "opted out of marketing" in failed["error"]["message"]
    assert [s for s in sent_to(sim, customer) if s["type"] == "template"] == []


def test_a_word_cannot_both_opt_out_and_opt_back_in(wasb):
    refused = wasb.api("PUT", "/api/v1/settings", json={"opt_in_keywords": {"en": ["START", "stop"]}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == "a word cannot both opt out and opt back in: stop"
    assert wasb.get("/api/v1/settings")["opt_in_keywords"]["en"] == ["START"]
