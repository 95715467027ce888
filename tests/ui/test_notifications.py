"""What waits for the agent: the sidebar's badge and the tab title count the agent's and
unassigned conversations with customer messages no agent has seen, live; a new customer
message the agent is not looking at shows a browser notification (and, when chosen, a tone).
English and Italian, through the simulator's signed webhooks; plus `/ui/unread` over HTTP."""
from __future__ import annotations

from contextlib import closing

import httpx
import pytest

from tests.support.ui_http import logged_in, page_csrf
from tests.support.wired import module_wired
from tests.ui.conftest import LAPTOP, create_users, log_in, shot

WORDS = {"en": {"notifications": "Browser notifications", "sound": "Sound", "account": "Account",
                "badge": "Conversations waiting for you: {n}", "inbox": "Inbox", "tickets": "Tickets"},
         "it": {"notifications": "Notifiche del browser", "sound": "Suono", "account": "Account",
                "badge": "Conversazioni che ti aspettano: {n}", "inbox": "Posta in arrivo", "tickets": "Ticket"}}

# Stands in for the browser's notifications and counts the tones, so the test sees what the page asked for.
RECORDER = """
window.__notified = [];
window.__tones = 0;
class RecordedNotification {
  constructor(title, options) {
    this.title = title; this.options = options || {}; this.onclick = null;
    window.__notified.push(this);
  }
  close() {}
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
}
window.Notification = RecordedNotification;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__tones += 1; return start.apply(this, args); };
"""


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "ui-notifications") as w:
        create_users(w, [dict(username=f"agent-{lang}", password=f"agent-password-{lang}", language=lang)
                         for lang in WORDS] + [dict(username="other", password="other-password-1")])
        yield w


@pytest.fixture
def notifying(browser):
    """A browser context that may notify, with the page's notifications and tones recorded."""
    ctx = browser.new_context(viewport=LAPTOP, locale="en-GB", permissions=["notifications"])
    ctx.set_default_timeout(30_000)
    ctx.add_init_script(RECORDER)
    yield ctx
    ctx.close()


def _writes(wired, wa_id: str, name: str, text: str) -> dict:
    answer = wired.sim.post("/_sim/inbound", json={"from": wa_id, "name": name, "text": text})
    assert answer.json()["webhook_status"] == 200, answer.text  # signed by the simulator, taken by the service
    wired.wait_idle()
    (conversation,) = wired.get(f"/api/v1/conversations?phone=%2B{wa_id}&status=open")
    return conversation


def _badge(page) -> int:
    badge = page.locator("#unread-badge")
    return 0 if badge.is_hidden() else int(badge.inner_text())


@pytest.mark.parametrize("lang", ["en", "it"])
def test_the_badge_and_title_count_live_and_a_notification_opens_the_conversation(wired, notifying, lang):
    words = WORDS[lang]
    numbers = {"en": ("393334440001", "393334440002"), "it": ("393334440011", "393334440012")}[lang]
    first = _writes(wired, numbers[0], "Paolo Neri", "Buongiorno")
    page = notifying.new_page()
    # English: the agent is on another page (tickets); Italian: another conversation is open.
    start = "/ui/tickets" if lang == "en" else f"/ui/conversations/{first['id']}"
    log_in(page, wired.url, (f"agent-{lang}", f"agent-password-{lang}"), next_path=start)
    page.locator("body[data-unread='ready']").wait_for(state="attached")  # the live stream is open, counted
    before = _badge(page)
    assert page.title().startswith(f"({before}) ") if before else not page.title().startswith("(")

    # The preferences: notifications asked for on the agent's click; a tone only in English.
    page.get_by_label(words["account"]).click()
    page.get_by_label(words["notifications"]).check()
    page.wait_for_function(f"() => localStorage.getItem('wasb.notify.agent-{lang}') === 'on'")
    if lang == "en":
        page.get_by_label(words["sound"]).check()
        page.wait_for_function("() => window.__tones === 1")  # the sample the toggle plays
    shot(page, f"notifications-menu-{lang}")
    page.get_by_label(words["account"]).click()

    conversation = _writes(wired, numbers[1], "Elena Russo", "Is the blue one back in stock?")
    page.wait_for_function(f"() => document.getElementById('unread-badge').textContent === '{before + 1}'")
    page.wait_for_function(f"() => document.title.startsWith('({before + 1}) ')")
    assert page.locator("#unread-badge").is_visible()
    assert page.locator("#unread-badge").get_attribute("title") == words["badge"].format(n=before + 1)
    page.wait_for_function("() => window.__notified.length === 1")
    notified = page.evaluate("() => ({title: window.__notified[0].title, body: window.__notified[0].options.body})")
    assert notified == {"title": "Elena Russo", "body": "Is the blue one back in stock?"}
    # The tone sounds with the notification when chosen (English), never unchosen (Italian).
    assert page.evaluate("() => window.__tones") == (2 if lang == "en" else 0)
    shot(page, f"notifications-badge-{lang}")

    # Clicking the notification opens the conversation, which marks it seen: the counts go down.
    page.evaluate("() => window.__notified[0].onclick()")
    page.wait_for_url(f"**/ui/conversations/{conversation['id']}")
    page.locator(".msg-in", has_text="Is the blue one back in stock?").wait_for()
    assert _badge(page) == before
    assert not page.title().startswith(f"({before + 1})")
    assert wired.get(f"/api/v1/conversations/{conversation['id']}")["unread"] == 0
    shot(page, f"notifications-opened-{lang}")


def _waiting_per_api(wired, *unassigned_or: str) -> int:
    """The count as the REST API's conversations tell it: open, unread, assigned to one of these or no one."""
    rows = wired.get("/api/v1/conversations?status=open&limit=500")
    return sum(1 for c in rows if c["unread"] and c["assigned_user"] in (None, *unassigned_or))


def test_the_count_endpoint_counts_mine_and_unassigned_and_names_the_latest_customer_message(wired):
    mine = _writes(wired, "393334440021", "Marta Gialli", "Una domanda")
    theirs = _writes(wired, "393334440022", "Nico Blu", "Un'altra domanda")
    with closing(logged_in(wired.url, "other", "other-password-1")) as other, \
            closing(logged_in(wired.url, "agent-en", "agent-password-en")) as agent:
        for client, conversation, username in ((agent, mine, "agent-en"), (other, theirs, "other")):
            answer = client.post(f"/ui/conversations/{conversation['id']}/assign",
                                 data={"csrf": page_csrf(client, "/ui/tickets"), "username": username})
            assert answer.status_code == 303
        unassigned = _waiting_per_api(wired)
        before = agent.get("/ui/unread").json()
        assert before["count"] == unassigned + 1 == _waiting_per_api(wired, "agent-en")  # mine, not theirs
        assert other.get("/ui/unread").json()["count"] == unassigned + 1  # theirs, not mine
        assert before["mark"] >= 1 and before["messages"] == []

        # Asked about both: only the agent's own is named (the other agent's is not theirs to hear of).
        answer = agent.get("/ui/unread", params={"ids": [mine["id"], theirs["id"]]}).json()
        assert [(m["conversation"], m["name"], m["text"], m["url"]) for m in answer["messages"]] == [
            (mine["id"], "Marta Gialli", "Una domanda", f"/ui/conversations/{mine['id']}")]
        assert answer["messages"][0]["message"] <= answer["mark"]

        # Opening the conversation marks it seen: one less waits, and its page's title says how many.
        page = agent.get(f"/ui/conversations/{mine['id']}")
        after = agent.get("/ui/unread").json()["count"]
        assert after == before["count"] - 1 == _waiting_per_api(wired, "agent-en")
        assert (f"<title>({after}) " in page.text) if after else ("<title>(" not in page.text)
        # Still named when asked (read or not): a page tells of what it had not seen before.
        assert [m["conversation"] for m in agent.get("/ui/unread", params={"ids": [mine["id"]]}).json()["messages"]
                ] == [mine["id"]]

        assert agent.get("/ui/unread", params={"ids": ["abc"]}).status_code == 422
    # A fetch without a session is told to log in.
    assert httpx.get(wired.url + "/ui/unread", headers={"x-requested-with": "fetch"}).status_code == 401
