"""Ids, paging and search text a client can get wrong answer 404 or 422 with a reason, never 500.

Found by schemathesis: numbers past 2^63 (OverflowError), past PostgreSQL's INTEGER (2^31-1),
Unicode digits (`'³'.isdigit()` is true, `int('³')` fails), negative paging and NUL in a query
string (PostgreSQL text cannot hold it). Both the JSON API and the UI pages that take ids.
"""
from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.inbound.test_inbound_to_crm import text_message
from tests.support.databases import create_database, drop_database
from tests.support.server import WasbServer
from wasb.auth.service import create_user
from wasb.store.engine import open_database

HUGE = str(2**63)  # past SQLite's and PostgreSQL's BIGINT
PAST_INT = str(2**31)  # past PostgreSQL's INTEGER, the type of every id column
SUPERSCRIPT_3 = "%C2%B3"  # '³': str.isdigit() says yes, int() says no
NUL = "%00"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """One server for the module: every case only reads, or is refused before it writes."""
    workdir = tmp_path_factory.mktemp("bounds")
    url = create_database(workdir)
    server = WasbServer(url, workdir).start()
    db = open_database(url)
    try:
        with db.sessions() as session, session.begin():
            create_user(session, "ada", "admin-password-1", is_admin=True)
    finally:
        db.dispose()
    # Just now: the customer-service window is open, so a reply is refused for its reply_to alone.
    server.post_webhook(text_message("393351032246", "ciao", "wamid.bounds1", timestamp=str(int(time.time()))))
    server.wait_idle()
    yield server
    server.stop()
    drop_database(url)


@pytest.fixture(scope="module")
def conversation_id(srv) -> int:
    (conversation,) = srv.get("/api/v1/conversations")
    return conversation["id"]


@pytest.fixture(scope="module")
def ui(srv):
    client = httpx.Client(base_url=srv.url, timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/login").text).group(1)
    assert client.post("/ui/login", data={"username": "ada", "password": "admin-password-1",
                                          "csrf": csrf}).status_code == 303
    client.csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/ui/inbox").text).group(1)
    yield client
    client.close()


def _no_server_error(response: httpx.Response, expected: set[int]) -> None:
    assert response.status_code in expected, (response.request.method, str(response.request.url),
                                              response.status_code, response.text[:300])


API_CASES = [
    # integer path ids
    ("GET", f"/api/v1/conversations/{HUGE}", {422}),
    ("GET", f"/api/v1/conversations/{PAST_INT}", {422}),
    ("GET", f"/api/v1/conversations/{SUPERSCRIPT_3}", {422}),
    ("GET", "/api/v1/conversations/0", {422}),
    ("GET", f"/api/v1/templates/{HUGE}", {404, 422}),
    ("GET", f"/api/v1/templates/{PAST_INT}", {404, 422}),
    ("GET", f"/api/v1/messages/{HUGE}/media", {422}),
    ("POST", f"/api/v1/inbound-events/{HUGE}/retry", {422}),
    ("POST", f"/api/v1/inbound-events/{PAST_INT}/retry", {422}),
    ("POST", f"/api/v1/conversations/{HUGE}/messages", {422}),
    # the CRM's ids are text: an id no record can have is not found
    ("GET", f"/api/v1/people/{SUPERSCRIPT_3}", {404}),
    ("GET", f"/api/v1/people/{HUGE}", {404}),
    ("GET", f"/api/v1/people/{PAST_INT}", {404}),
    ("GET", f"/api/v1/tickets/{SUPERSCRIPT_3}", {404}),
    ("GET", f"/api/v1/tickets/{HUGE}", {404}),
    ("GET", f"/api/v1/documents/{SUPERSCRIPT_3}", {404}),
    ("GET", f"/api/v1/documents/{HUGE}/content", {404}),
    ("POST", f"/api/v1/people/{HUGE}/push", {404}),
    ("GET", f"/api/v1/tickets?person={HUGE}", {200}),
    # paging
    ("GET", "/api/v1/conversations?limit=-1", {422}),
    ("GET", "/api/v1/conversations?offset=-1", {422}),
    ("GET", f"/api/v1/conversations?offset={HUGE}", {422}),
    ("GET", f"/api/v1/conversations?limit={HUGE}", {422}),
    ("GET", "/api/v1/people?offset=-5", {422}),
    ("GET", "/api/v1/tickets?limit=-5", {422}),
    ("GET", "/api/v1/inbound-events?offset=-1", {422}),
    # NUL in query text
    ("GET", f"/api/v1/people?q=a{NUL}b", {422}),
    ("GET", f"/api/v1/people?phone={NUL}", {422}),
    ("GET", f"/api/v1/conversations?status={NUL}", {422}),
    ("GET", f"/api/v1/conversations?phone={NUL}", {422}),
    ("GET", f"/api/v1/inbound-events?state={NUL}", {422}),
    ("GET", f"/api/v1/templates?name={NUL}", {422}),
    ("GET", f"/api/v1/tickets?person={NUL}", {422}),
    ("GET", f"/api/v1/reports/usage?from={NUL}", {422}),
    ("GET", f"/api/v1/jobs/{NUL}", {404, 422}),
]


@pytest.mark.parametrize("method, path, expected", API_CASES, ids=[f"{m} {p}" for m, p, _ in API_CASES])
def test_the_api_refuses_what_no_row_can_match(srv, method, path, expected):
    response = srv.api(method, path, json={"type": "text", "body": "x"} if method == "POST" else None)
    _no_server_error(response, expected)
    if response.status_code != 200:
        assert response.json()["detail"], "the refusal says why"


def test_a_reply_to_an_id_past_the_integer_range_is_refused(srv, conversation_id):
    for ref in (HUGE, PAST_INT, "³"):
        response = srv.api("POST", f"/api/v1/conversations/{conversation_id}/messages",
                           json={"type": "text", "body": "hello", "reply_to": ref})
        _no_server_error(response, {422})
        assert "reply_to" in response.json()["detail"]


def test_nul_in_a_json_text_is_refused(srv, conversation_id):
    for path, body in ((f"/api/v1/conversations/{conversation_id}/messages", {"type": "text", "body": "a\x00b"}),
                       ("/api/v1/people", {"kind": "lead", "name": "a\x00b"})):
        response = srv.api("POST", path, json=body)
        _no_server_error(response, {422})
    assert not any(p["name"] == "a\x00b" for p in srv.get("/api/v1/people"))


UI_GETS = [
    (f"/ui/conversations/{HUGE}", {422}),
    (f"/ui/conversations/{PAST_INT}", {422}),
    (f"/ui/conversations/{SUPERSCRIPT_3}", {422}),
    (f"/ui/conversations/{HUGE}/thread", {422}),
    (f"/ui/inbox/list?current={HUGE}", {422}),
    (f"/ui/inbox/list?q={NUL}", {422}),
    (f"/ui/people/{SUPERSCRIPT_3}", {404}),
    (f"/ui/people/{HUGE}", {404}),
    (f"/ui/people/{HUGE}/edit", {404}),
    (f"/ui/tickets/{SUPERSCRIPT_3}", {404}),
    (f"/ui/tickets/{HUGE}", {404}),
    ("/ui/tickets?page=-5", {200}),  # a page below 1 is the first page
    ("/ui/tickets?page=0", {200}),
    (f"/ui/tickets?page={HUGE}", {422}),
    (f"/ui/people?page={HUGE}", {422}),
    (f"/ui/people?q={NUL}", {422}),
]


@pytest.mark.parametrize("path, expected", UI_GETS, ids=[p for p, _ in UI_GETS])
def test_ui_pages_refuse_what_no_row_can_match(ui, path, expected):
    _no_server_error(ui.get(path, headers={"accept": "text/html"}), expected)


UI_POSTS = [
    (f"/ui/inbound-events/{HUGE}/retry", {422}),
    (f"/ui/users/{HUGE}/unlock", {422}),
    (f"/ui/tokens/{PAST_INT}/revoke", {422}),
    (f"/ui/conversations/{HUGE}/close", {422}),
    (f"/ui/people/{HUGE}/push", {404, 422}),
]


@pytest.mark.parametrize("path, expected", UI_POSTS, ids=[p for p, _ in UI_POSTS])
def test_ui_actions_refuse_what_no_row_can_match(ui, path, expected):
    # As the page's fetch calls send them: the answer is the status, not a redirect.
    _no_server_error(ui.post(path, data={"csrf": ui.csrf}, headers={"x-requested-with": "fetch"}), expected)


def test_the_template_picker_refuses_a_template_id_past_the_integer_range(ui, conversation_id):
    for value in (HUGE, PAST_INT, "³"):
        response = ui.post(f"/ui/conversations/{conversation_id}/template",
                           data={"csrf": ui.csrf, "template_id": value}, headers={"x-requested-with": "fetch"})
        _no_server_error(response, {422})
