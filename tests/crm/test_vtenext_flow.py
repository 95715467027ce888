"""The product on a vtenext / vtiger CRM: a real `wasb serve` with WASB_CRM=vtenext,
talking over HTTP to the protocol-faithful fake (each test runs on both flavours)."""
from __future__ import annotations

import time

import httpx
import pytest

from tests.fakes.vtenext_fake import ACCESS_KEY
from tests.inbound.test_inbound_to_crm import text_message
from tests.support.crm_seed import job_rows, make_retries_due
from tests.support.server import WasbServer, run_cli

NUMBER = "393351032246"


# The status written when the customer answers: vtiger's picklist has no "Answered by
# customer", so a vtiger install names one it has (WASB never writes a value the CRM lacks).
ANSWERED = {"vtenext": "Answered by customer", "vtiger": "In Progress"}


def vtenext_env(fake_server, **extra: str) -> dict[str, str]:
    return {"WASB_CRM": "vtenext", "WASB_CRM_URL": fake_server.url, "WASB_CRM_USER": "admin",
            "WASB_CRM_ACCESS_KEY": ACCESS_KEY, "WASB_CRM_POLL_SECONDS": "0.2", "WASB_CRM_TIMEOUT_SECONDS": "3",
            "WASB_STATUS_ANSWERED": ANSWERED[fake_server.crm.flavour], **extra}


@pytest.fixture
def crm_server(database_url, tmp_path, vtenext_server):
    srv = WasbServer(database_url, tmp_path, extra_env=vtenext_env(vtenext_server)).start()
    yield srv
    srv.stop()


def conversation_of(server, wa_id: str) -> dict:
    (found,) = [c for c in server.get("/api/v1/conversations?limit=500") if c["contact"]["wa_id"] == wa_id]
    return server.get(f"/api/v1/conversations/{found['id']}")


def comments_on(fake, ticket_id: str) -> list[dict]:
    rows = [r for r in fake.rows("ModComments") if r["related_to"] == ticket_id]
    return sorted(rows, key=lambda r: int(r["id"].split("x")[1]))


def keep_retrying_until_idle(server, timeout: float = 60) -> None:
    """Let backoffs elapse until every event is processed."""
    deadline = time.monotonic() + timeout
    while server.busy():
        assert time.monotonic() < deadline, "events still pending"
        make_retries_due(server.database_url)
        time.sleep(0.2)


# --- the inbound flow ---------------------------------------------------------------

def test_a_new_number_becomes_a_crm_record_a_helpdesk_ticket_and_customer_comments(crm_server, vtenext_fake):
    crm_server.post_webhook(text_message(NUMBER, "Buongiorno, vorrei contattarvi", "wamid.f1", "1764000000", "Daniele"))
    crm_server.wait_idle()
    conversation = conversation_of(crm_server, NUMBER)
    person = vtenext_fake.row(conversation["person_id"])
    if vtenext_fake.flavour == "vtenext":
        # A new number is a Lead (with the company vtenext requires)...
        assert conversation["person_id"].startswith("2x")
        assert (person["lastname"], person["company"], person["mobile"]) == ("Daniele", "Daniele", "+393351032246")
    else:
        # ...but a vtiger ticket cannot point at a Lead: there it is a Contact.
        assert conversation["person_id"].startswith("12x")
        assert (person["lastname"], person["mobile"]) == ("Daniele", "+393351032246")
        assert vtenext_fake.rows("Leads") == []
    ticket = vtenext_fake.row(conversation["ticket_id"])
    assert ticket["ticket_title"] == "2025-11-24 16:00:00 - +393351032246"
    assert ticket["description"] == "2025-11-24 16:00:00\nBuongiorno, vorrei contattarvi"
    assert (ticket["ticketstatus"], ticket["ticketpriorities"]) == ("Open", "High")
    link = "contact_id" if vtenext_fake.flavour == "vtiger" else "parent_id"
    assert ticket[link] == conversation["person_id"]

    crm_server.post_webhook(text_message(NUMBER, "SI ✓ grazie", "wamid.f2", "1764000010", "Daniele"))
    crm_server.wait_idle()
    (comment,) = comments_on(vtenext_fake, ticket["id"])
    assert comment["commentcontent"] == "Daniele wrote:\nSI ✓ grazie"
    assert comment["creator"] == vtenext_fake.users["admin"].id  # the reference user = the login user
    if vtenext_fake.flavour == "vtenext":
        assert comment["visibility_comm"] == "All"  # else agents could not see it
    assert vtenext_fake.row(ticket["id"])["ticketstatus"] == ANSWERED[vtenext_fake.flavour]
    # The API reads the same ticket back from the CRM, with the customer's comment.
    via_api = crm_server.get(f"/api/v1/tickets/{ticket['id']}")
    assert [(c["author"], c["customer_name"], c["body"]) for c in via_api["comments"]] == [
        ("customer", "Daniele", "SI ✓ grazie")]
    assert [m["body"] for m in conversation_of(crm_server, NUMBER)["messages"]] == [
        "Buongiorno, vorrei contattarvi", "SI ✓ grazie"]


@pytest.mark.parametrize("writing", ["+39 335 103 2246", "0039-335-1032246", "335 1032246"])
def test_a_contact_typed_in_the_crm_is_matched_in_any_writing(crm_server, vtenext_fake, writing):
    contact = vtenext_fake.insert("Contacts", firstname="Daniele", lastname="Asmonti", mobile=writing)
    crm_server.post_webhook(text_message(NUMBER, "ciao", "wamid.k1"))
    crm_server.wait_idle()
    conversation = conversation_of(crm_server, NUMBER)
    assert conversation["person_id"] == contact and conversation["association_error"] is None
    assert vtenext_fake.rows("Leads") == [] and len(vtenext_fake.rows("Contacts")) == 1
    link = "contact_id" if vtenext_fake.flavour == "vtiger" else "parent_id"
    assert vtenext_fake.row(conversation["ticket_id"])[link] == contact


def test_two_crm_records_with_the_number_are_an_association_error_naming_both(crm_server, vtenext_fake):
    # Only an external CRM can hold this: the embedded one refuses a second mobile.
    contact = vtenext_fake.insert("Contacts", lastname="Rossi", mobile="+39 335 1032246")
    lead = vtenext_fake.insert("Leads", lastname="Rossi", company="ACME", mobile="3351032246")
    crm_server.post_webhook(text_message(NUMBER, "ciao", "wamid.d1"))
    crm_server.wait_idle()
    conversation = conversation_of(crm_server, NUMBER)
    assert conversation["person_id"] is None and conversation["ticket_id"] is None
    assert contact in conversation["association_error"] and lead in conversation["association_error"]
    assert "2 CRM records" in conversation["association_error"]
    assert vtenext_fake.rows("HelpDesk") == []  # nothing guessed
    assert conversation["messages"][0]["body"] == "ciao"  # the message itself is kept


def test_emoji_reach_a_crm_that_stores_them_as_question_marks_in_a_readable_form(crm_server, vtenext_fake):
    assert vtenext_fake.emoji_loss
    crm_server.post_webhook(text_message(NUMBER, "Grazie 👍", "wamid.e1", "1764000000", "Ann 🌸"))
    crm_server.post_webhook(text_message(NUMBER, "A presto 😀", "wamid.e2", "1764000010", "Ann 🌸"))
    crm_server.wait_idle()
    conversation = conversation_of(crm_server, NUMBER)
    assert [m["body"] for m in conversation["messages"]] == ["Grazie 👍", "A presto 😀"]  # the original kept
    ticket = vtenext_fake.row(conversation["ticket_id"])
    assert ticket["description"].endswith("Grazie :thumbs_up:")
    (comment,) = comments_on(vtenext_fake, ticket["id"])
    assert comment["commentcontent"].endswith("wrote:\nA presto :grinning_face:")
    assert "????" not in ticket["description"] + comment["commentcontent"]


def test_crm_check_prints_what_the_crm_offers_and_fails_on_what_is_missing(crm_server, vtenext_fake):
    result = run_cli(crm_server.env, "crm", "check")
    out = result.stdout
    assert "module HelpDesk: id prefix" in out and "phone fields matched in Leads: mobile" in out
    assert result.returncode == 0, out + result.stderr
    assert out.strip().endswith("OK")
    crm_server.api("PUT", "/api/v1/settings", json={"status_answered": "Answered by customer"})
    result = run_cli(crm_server.env, "crm", "check")
    if vtenext_fake.flavour == "vtiger":
        # vtiger has no "Answered by customer" status: the admin adds it or changes the setting.
        assert result.returncode == 1
        assert "MISSING: ticket status value 'Answered by customer'" in result.stdout
    else:
        assert result.returncode == 0
    env = {**crm_server.env, "WASB_CRM_ACCESS_KEY": "wrong-key-123456"}
    refused = run_cli(env, "crm", "check")
    assert refused.returncode == 1 and "MISSING: login" in refused.stdout
    assert ACCESS_KEY not in refused.stdout + refused.stderr


def test_the_reference_user_setting_takes_a_webservice_id_on_an_external_crm(crm_server, vtenext_fake):
    bad = crm_server.api("PUT", "/api/v1/settings", json={"reference_user": "admin"})
    assert bad.status_code == 422 and "19x5" in bad.json()["detail"]
    mario = vtenext_fake.users["mario"].id
    assert crm_server.api("PUT", "/api/v1/settings", json={"reference_user": mario}).status_code == 200
    crm_server.post_webhook(text_message(NUMBER, "one", "wamid.r1", "1764000000", "Daniele"))
    crm_server.post_webhook(text_message(NUMBER, "two", "wamid.r2", "1764000010", "Daniele"))
    crm_server.wait_idle()
    ticket_id = conversation_of(crm_server, NUMBER)["ticket_id"]
    assert vtenext_fake.row(ticket_id)["assigned_user_id"] == mario
    (comment,) = comments_on(vtenext_fake, ticket_id)
    assert comment["assigned_user_id"] == mario
    # Created by the login user, owned by the reference user: still WASB's own, never
    # taken for an agent's answer to send back to the customer.
    assert comment["creator"] == vtenext_fake.users["admin"].id
    wait_for_polls(crm_server)
    assert outbound(crm_server, NUMBER) == []


# --- faults -------------------------------------------------------------------------

def test_an_outage_in_the_middle_of_a_burst_loses_nothing_and_keeps_each_customers_order(
        crm_server, vtenext_server, vtenext_fake):
    customers = [f"3933510322{i:02d}" for i in range(10)]
    vtenext_fake.slow = 0.01
    handle = vtenext_fake.handle

    def goes_down_mid_burst(method, params):
        # The outage lands while the burst is being worked through, whatever the machine's
        # speed: the CRM answers 500s from the 9th ticket on.
        result = handle(method, params)
        if params.get("elementType") == "HelpDesk" and len(vtenext_fake.rows("HelpDesk")) >= 8:
            vtenext_fake.down = "500"
        return result

    vtenext_fake.handle = goes_down_mid_burst
    for round_ in range(5):
        for n, wa_id in enumerate(customers):
            body = text_message(wa_id, f"{wa_id} message {round_}", f"wamid.{wa_id}.{round_}",
                                str(1764000000 + round_ * 60 + n), f"Customer {n}")
            assert crm_server.post_webhook(body).status_code == 200
    crm_server.wait_until(lambda: vtenext_fake.down == "500", what="the outage")  # 500s with an empty body...
    vtenext_fake.handle = handle
    assert len(crm_server.get("/api/v1/inbound-events?state=processed&limit=100")) >= 7
    status = crm_server.wait_until(
        lambda: (s := crm_server.get("/api/v1/crm/status"))["backlog"]["waiting_jobs"] and s, what="jobs waiting")
    assert status["state"] == "unavailable" and status["reachable"] is False
    assert "CRMUnavailable" in status["last_error"] and status["backlog"]["pending_jobs"] > 0
    health = httpx.get(crm_server.url + "/healthz").json()
    assert health["status"] == "degraded" and health["backlog"] > 0
    vtenext_server.stop()  # ...then it refuses connections
    make_retries_due(crm_server.database_url)
    time.sleep(0.5)
    assert crm_server.get("/api/v1/inbound-events?state=failed") == []
    vtenext_fake.down = None
    vtenext_server.start()
    keep_retrying_until_idle(crm_server)

    assert crm_server.get("/api/v1/inbound-events?state=failed") == []
    assert crm_server.get("/api/v1/crm/status")["backlog"]["pending_jobs"] == 0
    assert httpx.get(crm_server.url + "/healthz").json()["status"] == "ok"
    assert len(vtenext_fake.rows("HelpDesk")) == 10
    assert len(vtenext_fake.rows("ModComments")) == 40  # no comment written twice
    for wa_id in customers:
        conversation = conversation_of(crm_server, wa_id)
        assert [m["body"] for m in conversation["messages"]] == [f"{wa_id} message {r}" for r in range(5)]
        ticket = vtenext_fake.row(conversation["ticket_id"])
        assert ticket["description"].endswith(f"{wa_id} message 0")
        assert [c["commentcontent"].split("\n", 1)[1] for c in comments_on(vtenext_fake, ticket["id"])] == [
            f"{wa_id} message {r}" for r in range(1, 5)]
        assert ticket["ticketstatus"] == ANSWERED[vtenext_fake.flavour]
    assert len(vtenext_fake.rows("Leads") + vtenext_fake.rows("Contacts")) == 10


def test_a_crm_error_on_one_customer_does_not_hold_up_the_others(crm_server, vtenext_fake):
    crm_server.post_webhook(text_message("393330000001", "first", "wamid.a1", "1764000000", "Anna"))
    crm_server.wait_idle()
    anna_ticket = conversation_of(crm_server, "393330000001")["ticket_id"]
    handle = vtenext_fake.handle

    def refuses_annas_comments(method, params):  # e.g. a broken workflow on her ticket
        if params.get("operation") == "create" and anna_ticket in params.get("element", ""):
            from tests.fakes.vtenext_fake import WSFault
            raise WSFault("INTERNAL_SERVER_ERROR", "Workflow error")
        return handle(method, params)

    vtenext_fake.handle = refuses_annas_comments
    crm_server.post_webhook(text_message("393330000001", "second", "wamid.a2", "1764000010", "Anna"))
    crm_server.post_webhook(text_message("393330000001", "third", "wamid.a3", "1764000020", "Anna"))
    for i in range(3):
        crm_server.post_webhook(text_message(f"39333000010{i}", f"hello {i}", f"wamid.b{i}", "1764000030", f"B{i}"))
    crm_server.wait_until(lambda: len(vtenext_fake.rows("HelpDesk")) == 4, what="the other customers' tickets")
    assert comments_on(vtenext_fake, anna_ticket) == []
    (waiting,) = crm_server.wait_until(lambda: [
        j for j in job_rows(crm_server.database_url, "inbound.process") if j["status"] == "todo" and j["last_error"]],
        what="Anna's job waiting to retry")
    assert "INTERNAL_SERVER_ERROR" in waiting["last_error"] and waiting["lock"].endswith("393330000001")

    vtenext_fake.handle = handle
    keep_retrying_until_idle(crm_server)
    assert [c["commentcontent"] for c in comments_on(vtenext_fake, anna_ticket)] == [
        "Anna wrote:\nsecond", "Anna wrote:\nthird"]


def test_a_timeout_after_the_crm_wrote_the_comment_does_not_write_it_twice(
        database_url, tmp_path, vtenext_server, vtenext_fake):
    srv = WasbServer(database_url, tmp_path,
                     extra_env=vtenext_env(vtenext_server, WASB_CRM_TIMEOUT_SECONDS="0.5")).start()
    try:
        srv.post_webhook(text_message(NUMBER, "first", "wamid.t1", "1764000000", "Daniele"))
        srv.wait_idle()
        handle = vtenext_fake.handle
        answers_late = {"left": 1}

        def writes_then_answers_late(method, params):
            result = handle(method, params)
            if params.get("operation") == "create" and answers_late["left"]:
                answers_late["left"] -= 1
                time.sleep(1.0)  # the comment is stored, but WASB stops waiting first
            return result

        vtenext_fake.handle = writes_then_answers_late
        srv.post_webhook(text_message(NUMBER, "second", "wamid.t2", "1764000010", "Daniele"))
        srv.wait_until(lambda: answers_late["left"] == 0, what="the late answer")
        keep_retrying_until_idle(srv)
        ticket_id = conversation_of(srv, NUMBER)["ticket_id"]
        (comment,) = comments_on(vtenext_fake, ticket_id)
        assert comment["commentcontent"] == "Daniele wrote:\nsecond"
        assert vtenext_fake.row(ticket_id)["ticketstatus"] == ANSWERED[vtenext_fake.flavour]
        vtenext_fake.handle = handle
    finally:
        srv.stop()


def test_wrong_credentials_are_flagged_without_a_login_loop_and_reset_by_an_admin(
        database_url, tmp_path, vtenext_server, vtenext_fake):
    wrong = "NotTheRightKey00"
    srv = WasbServer(database_url, tmp_path,
                     extra_env=vtenext_env(vtenext_server, WASB_CRM_ACCESS_KEY=wrong)).start()
    try:
        srv.post_webhook(text_message(NUMBER, "ciao", "wamid.w1"))
        status = srv.wait_until(lambda: (s := srv.get("/api/v1/crm/status"))["auth_failure"] and s,
                                what="the credentials flagged")
        assert status["state"] == "auth_failure" and "INVALID_USER_CREDENTIALS" in status["auth_failure"]
        assert "reset-auth" in status["action"]
        assert wrong not in str(status)
        health = httpx.get(srv.url + "/healthz").json()
        assert health["status"] == "degraded" and health["crm_auth_failure"]
        srv.post_webhook(text_message(NUMBER, "ci sei?", "wamid.w2", "1764000100"))
        for _ in range(5):  # many retries later...
            make_retries_due(database_url)
            time.sleep(0.2)
        # one attempt (one retry on SQLite), then never again: 5 would lock the user
        refused = 2 if database_url.startswith("sqlite") else 1
        assert vtenext_fake.login_attempts == refused
        assert vtenext_fake.failed_logins["admin"] == refused
        assert srv.get("/api/v1/inbound-events?state=failed") == []  # waiting, attempts not used up
        assert {j["attempts"] for j in job_rows(database_url, "inbound.process")} <= {0, 1}
        lookup = srv.api("GET", "/api/v1/people?q=Rossi")  # the API says why, not a 500
        assert lookup.status_code == 503 and "credentials" in lookup.json()["detail"]
        assert vtenext_fake.login_attempts == refused
        agent = srv.api("POST", "/api/v1/crm/reset-auth", token=srv.agent_token)
        assert agent.status_code == 403

        vtenext_fake.users["admin"].access_key = wrong  # the admin fixes the CRM user's key
        reset = srv.api("POST", "/api/v1/crm/reset-auth")
        assert reset.status_code == 200 and reset.json()["auth_failure"] is None
        srv.wait_idle()
        assert vtenext_fake.login_attempts == refused + 1
        (comment,) = comments_on(vtenext_fake, conversation_of(srv, NUMBER)["ticket_id"])
        assert comment["commentcontent"].endswith("ci sei?")
        assert srv.get("/api/v1/crm/status")["state"] == "ok"
    finally:
        srv.stop()


# --- agent comments in the CRM go to WhatsApp -------------------------------------

def outbound(server, wa_id: str) -> list[dict]:
    return [m for m in conversation_of(server, wa_id)["messages"] if m["direction"] == "out"]


def last_poll(server) -> str | None:
    last = server.get("/api/v1/crm/status")["agent_comments"]["last_poll"]
    return None if last is None else last["at"]


def wait_for_polls(server, count: int = 3) -> None:
    seen = set()
    server.wait_until(lambda: (seen.add(last_poll(server)), len(seen) > count)[1], what="more polls")


def test_agent_comments_are_picked_up_once_each_even_across_a_restart(
        database_url, tmp_path, vtenext_server, vtenext_fake):
    env = vtenext_env(vtenext_server)
    srv = WasbServer(database_url, tmp_path, extra_env=env).start()
    try:
        srv.post_webhook(text_message(NUMBER, "Buongiorno", "wamid.c1", "1764000000", "Daniele"))
        srv.post_webhook(text_message(NUMBER, "vorrei un preventivo", "wamid.c2", "1764000010", "Daniele"))
        srv.wait_idle()
        ticket_id = conversation_of(srv, NUMBER)["ticket_id"]
        other_ticket = vtenext_fake.insert("HelpDesk", ticket_title="not WhatsApp", ticketstatus="Open")
        vtenext_fake.add_agent_comment(other_ticket, "internal matter")
        vtenext_fake.add_agent_comment(ticket_id, "Buongiorno, come posso aiutarla?")
        vtenext_fake.add_agent_comment(ticket_id, "note to self", user="admin")  # the reference user
        if vtenext_fake.flavour == "vtenext":
            vtenext_fake.add_agent_comment(ticket_id, "confidential", visibility="Private")
        (message,) = srv.wait_until(lambda: outbound(srv, NUMBER), what="the agent's comment as a message")
        assert message["body"] == "Buongiorno, come posso aiutarla?"
        # The customer wrote long ago (these webhooks carry 2025 timestamps): the window is closed,
        # so the ticket process holds the comment until they write again.
        assert message["status"] == "held" and message["author"] == vtenext_fake.users["mario"].id
        wait_for_polls(srv)
        assert len(outbound(srv, NUMBER)) == 1
    finally:
        srv.stop()

    restarted = WasbServer(database_url, tmp_path, extra_env=env, admin_token=srv.admin_token,
                           agent_token=srv.agent_token).start()
    try:
        wait_for_polls(restarted)
        assert len(outbound(restarted, NUMBER)) == 1  # not sent again after the restart
        vtenext_fake.add_agent_comment(ticket_id, "Ha ricevuto il preventivo?")
        restarted.wait_until(lambda: len(outbound(restarted, NUMBER)) == 2, what="the comment after the restart")
        wait_for_polls(restarted)
        assert [m["body"] for m in outbound(restarted, NUMBER)] == [
            "Buongiorno, come posso aiutarla?", "Ha ricevuto il preventivo?"]
        # The customer's own messages, written by the reference user, never come back.
        assert [m["direction"] for m in conversation_of(restarted, NUMBER)["messages"]].count("in") == 2
        assert len(comments_on(vtenext_fake, ticket_id)) == 1 + 2 + (1 if vtenext_fake.flavour == "vtenext" else 0) + 1
    finally:
        restarted.stop()


def test_the_phone_fields_setting_decides_where_a_number_is_looked_for(crm_server, vtenext_fake):
    contact = vtenext_fake.insert("Contacts", lastname="Bianchi", phone="+39 335 103 2246")
    bad = crm_server.api("PUT", "/api/v1/settings", json={"crm_timezone": "Mars/Olympus", "crm_phone_fields": {}})
    assert bad.status_code == 422 and "crm_timezone" in bad.json()["detail"]
    assert crm_server.api("PUT", "/api/v1/settings", json={"crm_phone_fields": {"contact": ["x'); DROP"]}}
                          ).status_code == 422
    saved = crm_server.api("PUT", "/api/v1/settings", json={"crm_phone_fields": {"contact": ["mobile", "phone"]}})
    assert saved.status_code == 200
    assert saved.json()["crm_phone_fields"] == {"lead": ["mobile"], "contact": ["mobile", "phone"],
                                                "account": ["phone"]}
    crm_server.post_webhook(text_message(NUMBER, "ciao", "wamid.p1"))
    crm_server.wait_idle()
    assert conversation_of(crm_server, NUMBER)["person_id"] == contact  # by default only `mobile` is read
    assert vtenext_fake.rows("Leads") == []


def test_the_tickets_page_filters_by_the_crms_users_by_name(crm_server, vtenext_fake, database_url):
    """On vtenext/vtiger a ticket's owner is a Users id: the page offers the CRM's users by
    name, shows the owner's name in the list, and the filter keeps only that user's tickets."""
    from tests.support.ui_http import add_user, logged_in

    crm_server.post_webhook(text_message(NUMBER, "Buongiorno", "wamid.u1", "1764000000", "Daniele"))
    crm_server.wait_idle()
    ticket_id = conversation_of(crm_server, NUMBER)["ticket_id"]
    mario = vtenext_fake.users["mario"].id
    vtenext_fake.set_fields(ticket_id, assigned_user_id=mario)
    add_user(database_url, "anna", "a long enough password", is_admin=True)
    browser = logged_in(crm_server.url, "anna", "a long enough password")
    try:
        page = browser.get("/ui/tickets").text
        assert f'<option value="{mario}">Mario Rossi</option>' in page
        assert "Mario Rossi</td>" in page and f">{mario}<" not in page
        assert vtenext_fake.row(ticket_id)["ticket_no"] in browser.get("/ui/tickets", params={"assigned": mario}).text
        admin = vtenext_fake.users["admin"].id
        assert vtenext_fake.row(ticket_id)["ticket_no"] not in browser.get("/ui/tickets", params={"assigned": admin}).text
    finally:
        browser.close()
