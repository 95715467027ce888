"""Signed webhooks of unusual but possible shapes, replayed to a running `wasb serve`: each
ends processed or failed on its own, with a reason, and never holds up the others."""
import orjson
from sqlalchemy import select

from tests.conftest import load_fixture
from tests.crm.test_vtenext_flow import crm_server  # noqa: F401  (fixture)
from tests.fakes.vtenext_fake import vtenext_fake, vtenext_server  # noqa: F401  (fixtures)
from tests.support.queue_rows import engine_of, queued_jobs
from wasb.inbound.intake import PROCESS_TASK
from wasb.inbound.tables import InboundEvent
from wasb.store.engine import open_database

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"


def events(server, state=None):
    return server.get("/api/v1/inbound-events" + (f"?state={state}" if state else ""))


def jobs_left(server) -> list:
    """The inbound jobs still queued (retries waiting) or given up."""
    db = open_database(server.database_url)
    try:
        with db.sessions() as session:
            return [(j.lock, j.status, j.attempts, j.last_error)
                    for j in queued_jobs(session, engine_of(server.database_url), task=PROCESS_TASK)]
    finally:
        db.dispose()


# Meta's `account_update` example (webhooks reference, account_update): neither messages nor templates.
ACCOUNT_UPDATE = {"entry": [{"id": WABA_ID, "time": 1739321024, "changes": [{
    "value": {"phone_number": "15550783881", "event": "PARTNER_ADDED",
              "waba_info": {"waba_id": "494527133743989", "owner_business_id": "2729063490586005"}},
    "field": "account_update"}]}], "object": "whatsapp_business_account"}


def errors_only_change():
    """A `messages` change that carries only `errors` (Meta's "webhook payload with errors")."""
    body = load_fixture("inbound_value_errors_131000.json")
    value = body["entry"][0]["changes"][0]["value"]
    del value["messages"], value["contacts"]
    return body


def test_changes_that_are_neither_messages_nor_templates_are_kept_as_processed(server):
    for body in (ACCOUNT_UPDATE, errors_only_change()):
        assert server.post_webhook(body).status_code == 200
    server.wait_idle()
    kept = events(server)
    assert [e["state"] for e in kept] == ["processed", "processed"], kept
    assert jobs_left(server) == []


def message(wa_id, wamid, text="hello", **fields):
    """One customer's text message as Meta sends it (fields override the message's own)."""
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": "1764000000", "type": "text",
                          "text": {"body": text}, **fields}]}}]}]}


def status(wa_id, wamid, **fields):
    body = load_fixture("status_delivered.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_NUMBER_ID
    value["statuses"] = [{**value["statuses"][0], "id": wamid, "recipient_id": wa_id, **fields}]
    return body


def template_event(**fields):
    body = load_fixture("template_quality_update.json")
    body["entry"][0]["changes"][0]["value"].update(fields)
    return body


def messages_of(server, wa_id):
    found = [c for c in server.get("/api/v1/conversations") if wa_id in (c.get("name") or "")]
    return [m for c in found for m in server.get(f"/api/v1/conversations/{c['id']}")["messages"]]


def post_all(server, *bodies):
    for body in bodies:
        response = server.post_webhook(body)
        assert response.status_code == 200, response.text
    server.wait_idle()
    return events(server)


def test_a_dict_quality_in_a_template_event_fails_alone_and_the_next_one_applies(server):
    bad, good = post_all(server, template_event(new_quality_score={"score": "RED"}),
                         template_event(new_quality_score="RED"))[::-1]
    assert bad["state"] == "failed" and "`new_quality_score` is an object, not a string" in bad["error"], bad
    assert good["state"] == "processed"
    (template,) = server.get("/api/v1/templates")
    assert template["quality"] == "RED"
    assert jobs_left(server) == []  # no retry waits behind the WABA's template lock


def test_a_list_status_fails_alone_and_the_customers_next_message_applies(server):
    bad, good = post_all(server, status("393331112222", "wamid.out1", status=["delivered"]),
                         message("393331112222", "wamid.in1", "still there?"))[::-1]
    assert bad["state"] == "failed" and "`statuses[].status` is a list, not a string" in bad["error"], bad
    assert good["state"] == "processed"
    assert [m["body"] for m in messages_of(server, "393331112222")] == ["still there?"]
    assert jobs_left(server) == []


def test_errors_that_are_not_a_list_are_read_as_no_error(server):
    unsupported = load_fixture("inbound_unsupported_131051.json")
    inbound = unsupported["entry"][0]["changes"][0]["value"]["messages"][0]
    inbound["errors"] = {"code": 131051, "title": "Message type unknown"}
    failed_status = status("393331112222", "wamid.out2", status="failed", errors="Re-engagement message")
    kept = post_all(server, unsupported, failed_status)
    assert [e["state"] for e in kept] == ["processed", "processed"], kept
    (stored,) = messages_of(server, "972987654321")
    assert stored["wamid"] == "wamid.xyzxyz" and stored["type"] == "unsupported"
    assert jobs_left(server) == []


def test_messages_without_an_id_fail_with_the_reason_and_are_never_stored(server):
    customer = "393334445555"
    kept = post_all(server, message(customer, "", "first"), message(customer, "", "second"),
                    message(customer, None, "third"), message(customer, "wamid.ok", "fourth"))[::-1]
    assert [e["state"] for e in kept] == ["failed", "failed", "failed", "processed"], kept
    assert all("the message has no `id`" in e["error"] for e in kept[:3])
    # Only the message Meta could redeliver recognisably is stored (no '' or NULL wamid).
    assert [(m["wamid"], m["body"]) for m in messages_of(server, customer)] == [("wamid.ok", "fourth")]
    assert jobs_left(server) == []


def test_an_unforeseen_shape_fails_its_item_alone_and_the_rest_of_the_body_applies(server):
    customer = "393336667777"
    # A reaction that is a list, not an object: no check foresees it, applying it fails.
    body = message(customer, "wamid.cards", type="reaction", reaction=["not a reaction"])
    value = body["entry"][0]["changes"][0]["value"]
    value["messages"].append({"from": customer, "id": "wamid.after", "timestamp": "1764000001", "type": "text",
                              "text": {"body": "after the odd one"}})
    (event,) = post_all(server, body)
    assert event["state"] == "failed" and "message wamid.cards: AttributeError" in event["error"], event
    assert "wamid.after" not in event["error"]
    assert [m["wamid"] for m in messages_of(server, customer)] == ["wamid.after"]
    assert jobs_left(server) == []
    # An admin's retry runs it again: the same item fails the same way, named once; nothing doubles.
    assert server.api("POST", f"/api/v1/inbound-events/{event['id']}/retry").json()["state"] == "pending"
    server.wait_idle()
    (again,) = events(server)
    assert again["state"] == "failed" and again["error"] == event["error"], again
    assert [m["wamid"] for m in messages_of(server, customer)] == ["wamid.after"]


def test_a_text_with_nul_is_kept_with_the_replacement_character_and_the_raw_body_exact(server):
    """PostgreSQL text and jsonb cannot hold NUL: stored text carries U+FFFD in its place (on
    every backend), the raw body keeps the exact bytes."""
    customer = "393338889999"
    raw = orjson.dumps(message(customer, "wamid.nul", "before\u0000after"))
    assert b"before\\u0000after" in raw
    (event,) = post_all(server, raw)
    assert event["state"] == "processed", event
    (stored,) = messages_of(server, customer)
    assert stored["body"] == "before\ufffdafter"
    conversation = next(c for c in server.get("/api/v1/conversations") if customer in c["name"])
    ticket = server.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    assert ticket["description"].endswith("before\ufffdafter")
    db = open_database(server.database_url)
    try:
        with db.sessions() as session:
            assert session.scalar(select(InboundEvent.body).where(InboundEvent.id == event["id"])) == raw
    finally:
        db.dispose()


def test_with_an_external_crm_a_bad_item_fails_alone_and_the_customers_next_message_reaches_the_crm(
        crm_server, vtenext_fake):
    """An external CRM: the job commits before each CRM call, so a failing item is undone back
    to the last commit; the items before and after it still reach the CRM, once."""
    customer = "393351032246"
    body = message(customer, "wamid.x1", "first")
    value = body["entry"][0]["changes"][0]["value"]
    value["messages"] += [
        {"from": customer, "id": "wamid.x2", "timestamp": "1764000001", "type": "reaction", "reaction": ["odd"]},
        {"from": customer, "id": "wamid.x3", "timestamp": "1764000002", "type": "text", "text": {"body": "third"}}]
    (event,) = post_all(crm_server, body)
    assert event["state"] == "failed" and "message wamid.x2: AttributeError" in event["error"], event
    later = post_all(crm_server, message(customer, "wamid.x4", "fourth"))[0]
    assert later["state"] == "processed"
    assert sorted(m["wamid"] for m in messages_of(crm_server, customer)) == ["wamid.x1", "wamid.x3", "wamid.x4"]
    conversation = next(c for c in crm_server.get("/api/v1/conversations") if customer in c["name"])
    ticket = vtenext_fake.row(conversation["ticket_id"])
    comments = [r["commentcontent"] for r in vtenext_fake.rows("ModComments") if r["related_to"] == ticket["id"]]
    assert ticket["description"].endswith("first")
    assert sorted(comments) == ["Customer wrote:\nfourth", "Customer wrote:\nthird"]
    assert jobs_left(crm_server) == []


def test_contact_cards_of_an_odd_shape_are_still_shown(server):
    """A card that is not an object is shown as a card without details, not dropped."""
    customer = "393336667700"
    (event,) = post_all(server, message(customer, "wamid.cards", type="contacts", contacts=["not a card"]))
    assert event["state"] == "processed", event
    assert [(m["type"], m["body"]) for m in messages_of(server, customer)] == [("contacts", "👤 Contact card: —")]
