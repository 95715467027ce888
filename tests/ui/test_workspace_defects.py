"""Issue 16, item 11: the smaller defects an agent or admin met, each checked where it showed
(HTTP and the pages' text where that is enough; the browser for what is visual)."""
from __future__ import annotations

import html
import json
import re
from contextlib import closing
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import select

from tests.support.server import WasbServer
from tests.ui.conftest import ADMIN, LAPTOP, PHONE, log_in, module_ui_server, shot
from tests.ui.seed import conversation_of, customer_writes, demo, envelope
from tests.ui.test_italian_pages import _session, text_nodes

ITALIAN_ADMIN = ("amministratore-it", "password-italiana-2")
SCRIPT = "<script>alert(1)</script> ciao"


def _media(wa_id: str, name: str, wamid: str, kind: str, media: dict) -> dict:
    at = str(int(datetime.now(timezone.utc).timestamp()))
    return envelope({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                     "messages": [{"from": wa_id, "id": wamid, "timestamp": at, "type": kind, kind: media}]})


def _add_template_with_buttons(server: WasbServer) -> None:
    from wasb.store.engine import open_database
    from wasb.templates.tables import Template

    db = open_database(server.database_url)
    try:
        with db.sessions() as session, session.begin():
            session.add(Template(meta_id="meta-richiamo-it", name="richiamo", language="it", category="UTILITY",
                                 status="APPROVED", quality="GREEN", parameter_format="POSITIONAL", components=[
                                     {"type": "BODY", "text": "Possiamo richiamarla oggi?"},
                                     {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Sì, grazie"},
                                                                     {"type": "QUICK_REPLY", "text": "Più tardi"}]}]))
    finally:
        db.dispose()


def _set_starting_template(server: WasbServer, conversation_id: int, name: str) -> None:
    from wasb.conversations.tables import Conversation
    from wasb.store.engine import open_database

    db = open_database(server.database_url)
    try:
        with db.sessions() as session, session.begin():
            session.get(Conversation, conversation_id).starting_template = name
    finally:
        db.dispose()


def _csrf(client: httpx.Client, path: str = "/ui/inbox") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text).group(1)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    with module_ui_server(tmp_path_factory, "workspace", dict(username=ITALIAN_ADMIN[0], password=ITALIAN_ADMIN[1],
                                                                is_admin=True, language="it")) as srv:
        data = demo(srv)
        assert srv.post_webhook(_media("393401111111", "Paolo", "wamid.P1", "image",
                                       {"id": "MEDIA-P1", "mime_type": "image/jpeg", "caption": "Foto del pacco"})).status_code == 200
        assert srv.post_webhook(_media("393402222222", "Rita", "wamid.R1", "document",
                                       {"id": "MEDIA-R1", "mime_type": "application/pdf", "filename": "fattura.pdf"})).status_code == 200
        customer_writes(srv, "393403333333", SCRIPT, "wamid.S1", name="Sandro")
        customer_writes(srv, "393400000001", "Prima volta", "wamid.C1", name="Carla")
        srv.wait_idle()
        first = conversation_of(srv, "393400000001")
        with closing(_session(srv, ADMIN)) as client:
            assert client.post(f"/ui/conversations/{first['id']}/close",
                               data={"csrf": _csrf(client)}).status_code == 303
        customer_writes(srv, "393400000001", "Seconda volta", "wamid.C2", name="Carla")
        srv.wait_idle()
        _add_template_with_buttons(srv)
        yield srv, data


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_toast_never_covers_the_composer(workspace, browser, size):
    srv, data = workspace
    ctx = browser.new_context(viewport=size, locale="en-GB")
    try:
        page = ctx.new_page()
        log_in(page, srv.url, next_path=f"/ui/conversations/{data['daniele']['id']}")
        page.select_option("#assign-%d" % data["daniele"]["id"], "bruno")  # saved at once: a toast says so
        toast = page.locator("#toasts .toast").first
        toast.wait_for()
        shot(page, f"toast-{'laptop' if size == LAPTOP else 'phone'}")
        for target in ("#composer", ".btn-send"):
            a, b = toast.bounding_box(), page.locator(target).bounding_box()
            apart = (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                     or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])
            assert apart, (target, a, b)
    finally:
        ctx.close()


def _rows(html: str) -> dict[str, str]:
    """The inbox list's rows: the customer's name -> the row's HTML."""
    return {re.search(r'class="conv-name">([^<]+)<', row).group(1): row
            for row in re.findall(r'<a class="conv.*?</a>', html, re.S)}


def test_inbox_previews_show_an_icon_and_the_caption_or_file_name_not_the_raw_kind(workspace):
    srv, _ = workspace
    with closing(_session(srv, ADMIN)) as client:
        html = client.get("/ui/inbox/list?view=open").text
    nodes = text_nodes(html)
    assert not [n for n in nodes if n.startswith(("[image]", "[document]", "[template"))], nodes
    rows = _rows(html)
    assert 'data-kind="image"' in rows["Paolo"] and "Foto del pacco" in text_nodes(rows["Paolo"])
    assert 'data-kind="document"' in rows["Rita"] and "fattura.pdf" in text_nodes(rows["Rita"])


def test_a_template_preview_shows_its_buttons(workspace):
    srv, _ = workspace
    lucia = conversation_of(srv, "393391112233")  # her window is closed: the template picker shows
    with closing(_session(srv, ADMIN)) as client:
        html = client.get(f"/ui/conversations/{lucia['id']}").text
        listed = text_nodes(client.get("/ui/templates").text)
    preview = re.search(r'<fieldset class="tpl-params" data-template="\d+"[^>]*>(?:(?!</fieldset>).)*Possiamo richiamarla'
                        r'(?:(?!</fieldset>).)*</fieldset>', html, re.S).group(0)
    assert re.findall(r'<ul class="tpl-buttons"[^>]*><li>([^<]+)</li><li>([^<]+)</li></ul>', preview) == [("Sì, grazie", "Più tardi")]
    assert "[Sì, grazie] [Più tardi]" in listed


def test_one_person_keeps_one_avatar_colour(workspace):
    srv, _ = workspace
    conversations = [c for c in srv.get("/api/v1/conversations?limit=100") if "393400000001" in c["name"]]
    assert len(conversations) == 2
    tone = re.compile(r'class="avatar (avatar-\d)')
    with closing(_session(srv, ADMIN)) as client:
        listed = {tone.search(_rows(client.get(f"/ui/inbox/list?view={view}").text)["Carla"]).group(1)
                  for view in ("open", "closed")}
        headers = {tone.search(client.get(f"/ui/conversations/{c['id']}").text.split('class="conv-head"')[1]).group(1)
                   for c in conversations}
    assert len(listed | headers) == 1, (listed, headers)


def test_the_conversation_is_named_with_the_number_as_the_ticket_writes_it(workspace):
    srv, data = workspace
    conversation = srv.get(f"/api/v1/conversations/{data['daniele']['id']}")
    ticket = srv.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    assert conversation["name"].endswith(" - +393351032246"), conversation["name"]
    assert conversation["name"].split(" - ")[1] == ticket["title"].split(" - ")[1]


def test_starting_template_shows_only_on_a_conversation_a_template_started(workspace):
    srv, data = workspace
    maria = conversation_of(srv, "393479876543")
    _set_starting_template(srv, maria["id"], "order_update")
    with closing(_session(srv, ADMIN)) as client:
        customer_started = text_nodes(client.get(f"/ui/conversations/{data['daniele']['id']}").text)
        template_started = text_nodes(client.get(f"/ui/conversations/{maria['id']}").text)
    assert "Starting template" not in customer_started
    assert "Starting template" in template_started and "order_update" in template_started


def test_tab_counts_follow_the_search(workspace):
    srv, _ = workspace
    count = re.compile(r'data-count="(\w+)">(\d+)<')
    with closing(_session(srv, ADMIN)) as client:
        everything = dict(count.findall(client.get("/ui/inbox").text))
        searched = dict(count.findall(client.get("/ui/inbox?q=Maria").text))
        live = client.get("/ui/inbox/list?view=open&q=Maria").text  # the live refresh brings them too
    assert int(everything["open"]) > 1
    assert searched == {"open": "1", "mine": "0", "unassigned": "1"}, searched
    counts = json.loads(html.unescape(re.search(r'data-counts="([^"]+)"', live).group(1)))
    assert counts == {"open": 1, "mine": 0, "unassigned": 1}, counts


def test_users_created_shows_the_date(workspace):
    srv, _ = workspace
    with closing(_session(srv, ADMIN)) as client:
        html = client.get("/ui/users").text
    created = re.findall(r'<time datetime="[^"]+">([^<]+)</time>', html)
    assert created and all(re.fullmatch(r"\d\d [A-Z][a-z]{2} \d{4}", c) for c in created), created


def test_a_new_user_speaks_the_creating_admins_language(workspace):
    srv, _ = workspace
    with closing(_session(srv, ITALIAN_ADMIN)) as client:
        form = client.get("/ui/users").text
        assert re.search(r'<option value="it" selected>Italiano</option>', form)
        made = client.post("/ui/users", data={"csrf": _csrf(client, "/ui/users"), "username": "nuova-collega",
                                              "password": "password-nuova-1", "role": "agent"})
        assert made.status_code == 303, made.text
    from wasb.auth.tables import User
    from wasb.store.engine import open_database

    db = open_database(srv.database_url)
    try:
        with db.sessions() as session:
            assert session.scalar(select(User.language).where(User.username == "nuova-collega")) == "it"
    finally:
        db.dispose()


def test_inbound_events_show_type_detail_and_the_escaped_payload(workspace):
    srv, _ = workspace
    with closing(_session(srv, ADMIN)) as client:
        html = client.get("/ui/inbound-events?state=all").text
    nodes = text_nodes(html)
    assert "message" in nodes
    assert any(n.startswith("text ← 393351032246 Buongiorno") for n in nodes), nodes
    assert any(n.startswith("image ← 393401111111") for n in nodes)
    assert html.count('<details class="payload">') >= 6
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ciao" in html and SCRIPT not in html
    assert '&#34;phone_number_id&#34;' in html or '"phone_number_id"' in html
