"""An Italian admin sees every page in Italian: no English text from the catalogue in it.

HTTP-level (a logged-in httpx session, the pages' text nodes parsed), so it is fast; one
browser check covers what only a browser shows (the "Chiuse" tab is not cut)."""
from __future__ import annotations

import re
from contextlib import closing
from html.parser import HTMLParser

import httpx
import pytest

from tests.support.server import WasbServer
from tests.ui.conftest import ADMIN, LAPTOP, PHONE, module_ui_server, shot
from tests.ui.seed import add_outbound, conversation_of, customer_writes, demo
from wasb.web.ui.i18n import EN, IT, translator

ITALIAN_ADMIN = ("amministratrice", "password-italiana-1")
# Attributes a person reads (tooltips, placeholders, screen-reader labels, confirmations).
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm")


class _Text(HTMLParser):
    """The text nodes a person reads (not scripts, styles or hidden data), and the readable attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.nodes.append(" ".join(value.split()))
        if tag == "input":
            kinds = dict(attrs)
            if kinds.get("type") in ("submit", "button") and kinds.get("value"):
                self.nodes.append(kinds["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self._skip:
            self.nodes.append(text)


def text_nodes(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.nodes


def _pattern(english: str) -> re.Pattern:
    """An English catalogue value as a pattern: its placeholders stand for any text."""
    parts = re.split(r"\{\w+\}", english.replace("{{", "\0").replace("}}", "\1"))
    body = ".+?".join(re.escape(p.replace("\0", "{").replace("\1", "}")) for p in parts)
    return re.compile(body)


def english_only() -> list[tuple[str, re.Pattern, bool]]:
    """(English, pattern, whole-node only) for each entry whose Italian differs from its English.
    One-word entries ("open", "read") must not be a whole node; longer ones must not appear
    inside one either (a sentence of ours glued to a value), bounded by non-letters."""
    found = []
    english_of = translator("en")
    for key, italian in IT.items():
        english = english_of(key) if "{" not in key else EN.get(key, key)
        if italian == english:
            continue
        words = len(english.split())
        pattern = _pattern(english)
        if words >= 2:
            pattern = re.compile(r"(?<![\w])" + pattern.pattern + r"(?![\w])")
        found.append((english, pattern, words < 2))
    return found


def english_in(nodes: list[str], allowed: set[str] = frozenset()) -> list[tuple[str, str]]:
    catalogue = english_only()
    leaks = []
    for node in nodes:
        if node in allowed:
            continue
        for english, pattern, whole in catalogue:
            if (pattern.fullmatch(node) if whole else pattern.search(node)):
                leaks.append((english, node))
    return leaks


def test_the_check_sees_english_and_lets_italian_pass():
    nodes = text_nodes('<p>Posta in arrivo</p><button title="Close">Chiudi</button><p>3 unread</p>'
                       '<p>Not delivered (131026): undeliverable</p><script>var x = "Inbox"</script><p>read</p>')
    leaks = {english for english, _ in english_in(nodes)}
    assert leaks == {"Close", "{n} unread", "Not delivered", "read"}, leaks
    assert english_in(text_nodes("<p>Ecco il link al catalogo.</p><p>Ordine pronto</p>")) == []


@pytest.fixture(scope="module")
def italian(tmp_path_factory):
    with module_ui_server(tmp_path_factory, "italian", dict(username=ITALIAN_ADMIN[0], password=ITALIAN_ADMIN[1],
                                                              is_admin=True, language="it")) as srv:
        data = demo(srv)
        # A media message, a template message and a closed conversation, for their labels.
        customer_writes(srv, "393400000001", "Chiusa ieri", "wamid.C1", name="Carla")
        srv.wait_idle()
        carla = conversation_of(srv, "393400000001")
        add_outbound(srv, carla["id"], "Buongiorno Carla", "wamid.C2", author="ada", template="ticket_reply")
        # A team's canned reply, for its row and labels on its page and in the composer's picker.
        assert srv.api("POST", "/api/v1/canned-replies", json={"shortcut": "orari", "title": "Orari",
                                                               "body": "Siamo aperti 9-18", "shared": True}).status_code == 201
        # A campaign, for its page's labels (every parameter a fixed text).
        template = next(t for t in srv.get("/api/v1/templates?status=APPROVED") if not t["parameters"]["header_media"])
        fixed = {p["key"]: "x" for p in template["parameters"]["parameters"]}
        campaign = srv.api("POST", "/api/v1/campaigns", json={
            "name": "Saldi", "template_id": template["id"], "params": fixed,
            "audience": {"csv": "phone\n+393400000007\nabc\n"}})
        assert campaign.status_code == 201, campaign.text
        data["campaign_id"] = campaign.json()["id"]
        with closing(_session(srv, ADMIN)) as client:
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/ui/inbox").text).group(1)
            closed = client.post(f"/ui/conversations/{carla['id']}/close", data={"csrf": csrf})
            assert closed.status_code == 303, closed.text
        yield srv, data


def _session(srv: WasbServer, who) -> httpx.Client:
    client = httpx.Client(base_url=srv.url, timeout=30, headers={"accept-language": "it-IT"})
    login = client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
    answer = client.post("/ui/login", data={"username": who[0], "password": who[1], "csrf": csrf,
                                            "next": "/ui/inbox"})
    assert answer.status_code == 303, answer.text
    return client


def every_page(srv: WasbServer, data: dict) -> list[str]:
    conversations = [c["id"] for c in srv.get("/api/v1/conversations?limit=100")]
    tickets = srv.get("/api/v1/tickets")
    people = srv.get("/api/v1/people")
    templates = srv.get("/api/v1/templates")
    pages = ["/ui/inbox", "/ui/inbox?view=mine", "/ui/inbox?view=unassigned", "/ui/inbox?view=closed",
             "/ui/inbox?q=nessuno", "/ui/tickets", "/ui/people", "/ui/people/new", "/ui/templates", "/ui/settings",
             "/ui/canned-replies", "/ui/analytics", "/ui/jobs", "/ui/users", "/ui/webhooks", *(f"/ui/inbound-events?state={s}" for s in ("failed", "pending", "processed", "all"))]
    pages += [f"/ui/conversations/{i}" for i in conversations]
    pages += [f"/ui/tickets/{t['id']}" for t in _items(tickets)]
    pages += [f"/ui/people/{p['id']}" for p in _items(people)] + [f"/ui/people/{p['id']}/edit" for p in _items(people)[:1]]
    pages += [f"/ui/templates/{t['id']}" for t in templates]
    pages += ["/ui/campaigns", f"/ui/campaigns/new?template={templates[0]['id']}",
              f"/ui/campaigns/{data['campaign_id']}"]
    # The fragments live updates swap in.
    pages += [f"/ui/conversations/{i}/thread" for i in conversations[:2]] + ["/ui/inbox/list?view=closed"]
    pages += [f"/ui/tickets/{t['id']}/{part}" for t in _items(tickets)[:2] for part in ("comments", "facts")]
    return pages


def _items(answer) -> list[dict]:
    return answer["items"] if isinstance(answer, dict) else answer


def test_every_page_in_italian_shows_no_english_from_the_catalogue(italian):
    srv, data = italian
    with closing(_session(srv, ITALIAN_ADMIN)) as client:
        leaks: dict[str, list] = {}
        pages = every_page(srv, data)
        assert len(pages) > 20
        for path in pages:
            page = client.get(path)
            assert page.status_code == 200, (path, page.status_code)
            found = english_in(text_nodes(page.text))
            if found:
                leaks[path] = sorted(set(found))
        login = httpx.get(srv.url + "/ui/login", headers={"accept-language": "it-IT"})
        if found := english_in(text_nodes(login.text)):
            leaks["/ui/login"] = found
        assert leaks == {}, "\n".join(f"{path}: {found}" for path, found in leaks.items())


def _csrf(client: httpx.Client, path: str = "/ui/jobs") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text).group(1)


def test_english_month_names_never_show_in_italian(italian):
    srv, _ = italian
    with closing(_session(srv, ITALIAN_ADMIN)) as client:
        inbox = " ".join(text_nodes(client.get("/ui/inbox").text))
    # Lucia wrote 30 hours ago: her row shows a day and a month, not a time.
    assert re.search(r"\b\d\d (gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic)\b", inbox), inbox
    assert not re.search(r"\b\d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b", inbox), inbox


def test_an_italian_admin_reads_and_writes_schedules_in_italian(italian):
    srv, _ = italian
    with closing(_session(srv, ITALIAN_ADMIN)) as client:
        jobs = client.get("/ui/jobs").text
        shown = re.findall(r'name="schedule" value="([^"]+)"', jobs)
        assert shown and all(s.startswith("ogni ") for s in shown), shown
        assert "Scarica i template di messaggio da Meta" in jobs and "Azzera" in jobs
        saved = client.post("/ui/jobs/syncTemplates/set", data={"csrf": _csrf(client), "schedule": "ogni 900 s"})
        assert saved.status_code == 303, saved.text
        assert 'name="schedule" value="ogni 900 s"' in client.get("/ui/jobs").text
        assert srv.get("/api/v1/jobs")  # the API keeps its English wording
        refused = client.post("/ui/jobs/syncTemplates/set", headers={"x-requested-with": "fetch"},
                              data={"csrf": _csrf(client), "schedule": "ogni tanto"})
        assert refused.status_code == 422
        assert refused.json()["message"].startswith("Una pianificazione è “ogni N s”"), refused.json()
        daily = client.post("/ui/jobs/syncTemplates/set", data={"csrf": _csrf(client), "schedule": "alle 06:30"})
        assert daily.status_code == 303
        assert 'name="schedule" value="alle 06:30"' in client.get("/ui/jobs").text


def test_a_wrong_phone_number_is_refused_in_italian(italian):
    srv, _ = italian
    with closing(_session(srv, ITALIAN_ADMIN)) as client:
        answer = client.post("/ui/people", data={"csrf": _csrf(client, "/ui/people/new"), "kind": "lead",
                                                 "name": "Numero Sbagliato", "mobile": "chiamami"})
    assert answer.status_code == 422
    assert "“chiamami” non è un numero di telefono valido." in text_nodes(answer.text)


def test_a_refused_canned_reply_is_explained_in_italian(italian):
    srv, _ = italian
    with closing(_session(srv, ITALIAN_ADMIN)) as client:
        csrf = _csrf(client, "/ui/canned-replies")
        bad = client.post("/ui/canned-replies", data={"csrf": csrf, "shortcut": "con spazi", "title": "T", "body": "B"})
        taken = client.post("/ui/canned-replies", data={"csrf": csrf, "shortcut": "orari", "title": "T", "body": "B",
                                                        "scope": "shared"})
    assert bad.status_code == 422 and "Una scorciatoia è fatta da 1 a 32 lettere, cifre, - o _." in text_nodes(bad.text)
    assert taken.status_code == 409 and "Il team ha già una risposta con questa scorciatoia." in text_nodes(taken.text)


def test_metas_failure_reason_is_shown_with_our_sentence_in_italian(italian):
    from wasb.web.ui.meta_reasons import reason_in
    from wasb.whatsapp.errors import GraphError, agent_message

    stored = agent_message(GraphError(131026, "Message undeliverable", "Unable to deliver the message"))
    shown = reason_in("it")(stored)
    assert shown.startswith("Il messaggio non è stato consegnato: il numero potrebbe non essere su WhatsApp")
    assert shown.endswith("WhatsApp: “Unable to deliver the message” (codice 131026).")  # Meta's words stay Meta's
    assert reason_in("en")(stored) == stored
    srv, data = italian
    with closing(_session(srv, ITALIAN_ADMIN)) as client:
        page = text_nodes(client.get(f"/ui/conversations/{data['daniele']['id']}").text)
    # The demo's failed message (131026): our part of the line is Italian.
    assert any(node.startswith("Non consegnato (131026)") for node in page), page


def test_a_template_message_on_the_ticket_shows_a_tag_not_the_stored_prefix(italian):
    srv, data = italian
    ticket_id = data["daniele"]["ticket_id"]
    # What the mirror of an agent's template message writes into the CRM (outbound.service.comment_text).
    assert srv.api("POST", f"/api/v1/tickets/{ticket_id}/comments",
                   json={"body": "[template ticket_reply] Gentile Daniele, abbiamo risposto."}).status_code == 201
    with closing(_session(srv, ITALIAN_ADMIN)) as client:
        nodes = text_nodes(client.get(f"/ui/tickets/{ticket_id}").text)
    assert "Gentile Daniele, abbiamo risposto." in nodes
    assert "template · ticket_reply" in nodes, nodes
    assert not any(node.startswith("[template") for node in nodes)


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_every_inbox_tab_is_whole_in_italian(italian, browser, size):
    srv, _ = italian
    ctx = browser.new_context(viewport=size, locale="it-IT")
    try:
        page = ctx.new_page()
        log_in_italian(page, srv.url)
        tabs = page.locator(".pane-list .tabs")
        box = tabs.bounding_box()
        for label in ("Aperte", "Mie", "Non assegnate", "Chiuse"):
            tab = tabs.get_by_role("link", name=label)
            edge = tab.bounding_box()
            # Whole inside the bar, nothing scrolled or clipped away.
            assert edge["x"] >= box["x"] - 0.5 and edge["x"] + edge["width"] <= box["x"] + box["width"] + 0.5, (label, edge, box)
        assert tabs.evaluate("el => el.scrollWidth <= el.clientWidth")
        shot(page, f"inbox-tabs-it-{'laptop' if size == LAPTOP else 'phone'}")
    finally:
        ctx.close()


def log_in_italian(page, base_url: str) -> None:
    page.goto(f"{base_url}/ui/login")
    page.locator("#username").fill(ITALIAN_ADMIN[0])
    page.locator("#password").fill(ITALIAN_ADMIN[1])
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/ui/inbox*")


def test_why_a_comment_waits_is_said_in_italian_with_the_templates_name_kept():
    from wasb.web.ui.meta_reasons import reason_in

    italian = reason_in("it")
    assert italian("no fallback template is configured (setting fallback_template); the comment waits") == \
        "nessun template di riserva configurato (impostazione fallback_template); il commento attende"
    assert italian("the fallback template ticket_update (it) could not be sent: not approved") == \
        "il template di riserva ticket_update (it) non si è potuto inviare: not approved"
    assert italian("not sent: " + "A value in the message is not valid.") == "non inviato: Un valore del messaggio non è valido."
    assert italian("Something Meta says that we do not know") == "Something Meta says that we do not know"
