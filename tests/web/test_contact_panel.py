"""The contact panel beside a conversation, over HTTP: the CRM record's facts, the person's
other conversations and tickets, and its fields edited from the panel (the audit log keeps
who changed what; a bad e-mail is refused where it was typed). Real server, the simulator's
signed webhooks, the embedded CRM."""
from __future__ import annotations

import re
from contextlib import closing

import pytest
from sqlalchemy import select

from tests.support.ui_http import logged_in, page_csrf
from tests.support.wired import module_wired
from tests.ui.conftest import create_users
from wasb.audit.tables import AuditEntry


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "contact-panel") as w:
        create_users(w, [dict(username="anna", password="anna-password-1")])
        yield w


def _writes(wired, text: str) -> dict:
    return wired.customer_writes("393338880001", "Irene Gialli", text)


def _panel(html: str) -> str:
    return re.search(r'<aside class="pane pane-contact".*?</aside>', html, re.S).group(0)


def test_the_panel_shows_the_record_its_other_conversations_and_tickets_and_edits_its_fields(wired):
    first = _writes(wired, "Buongiorno")
    wired.api("PUT", f"/api/v1/conversations/{first['id']}/assignee", json={"username": "anna"}).raise_for_status()
    with closing(logged_in(wired.url, "anna", "anna-password-1")) as anna:
        path = f"/ui/conversations/{first['id']}"
        assert anna.post(f"{path}/close", data={"csrf": page_csrf(anna, path)}).status_code == 303
        second = _writes(wired, "Sono ancora io")
        person_id = second["person_id"]
        ticket = wired.get(f"/api/v1/tickets/{second['ticket_id']}")
        path = f"/ui/conversations/{second['id']}"

        panel = _panel(anna.get(path).text)
        assert f'href="/ui/people/{person_id}">Irene Gialli</a>' in panel
        assert f'href="/ui/conversations/{first["id"]}"' in panel  # the earlier conversation
        assert f'href="/ui/conversations/{second["id"]}"' not in panel  # not this one
        assert f'>{ticket["number"]}</a>' in panel

        form = {"csrf": page_csrf(anna, path), "back": path, "name": "Irene Gialli", "mobile": "+393338880001",
                "email": "irene@example.com", "company": "Gialli Srl"}
        answer = anna.post(f"/ui/people/{person_id}", data=form)
        assert answer.status_code == 303 and answer.headers["location"].startswith(path)
        person = wired.get(f"/api/v1/people/{person_id}")
        assert (person["email"], person["company"]) == ("irene@example.com", "Gialli Srl")
        panel = _panel(anna.get(path).text)
        assert "irene@example.com" in panel and "Gialli Srl" in panel

        refused = anna.post(f"/ui/people/{person_id}", data={**form, "email": "not an address"})
        assert refused.status_code == 303  # back to the conversation, the reason in the toast
        assert "is not an e-mail address" in anna.get(refused.headers["location"]).text
        assert wired.get(f"/api/v1/people/{person_id}")["email"] == "irene@example.com"

        # `back` only ever leads to a conversation of this service
        answer = anna.post(f"/ui/people/{person_id}", data={**form, "back": "https://evil.example/x"})
        assert answer.headers["location"].startswith(f"/ui/people/{person_id}")

    with wired.app.db.read_sessions() as session:
        changes = session.execute(select(AuditEntry.actor, AuditEntry.field, AuditEntry.old, AuditEntry.new)
                                  .where(AuditEntry.entity == "crm_person", AuditEntry.entity_id == person_id)).all()
    assert ("anna", "email", None, "irene@example.com") in changes
    assert ("anna", "company", "Irene Gialli", "Gialli Srl") in changes  # a new lead's company was its name
    assert not [c for c in changes if c.field in ("name", "mobile")]  # unchanged: not recorded
