"""Every page renders for the people who use it, on a laptop and on a phone (screenshots kept)."""
from __future__ import annotations

import pytest

from tests.support.tickets import three_tickets
from tests.ui.conftest import LAPTOP, PHONE, add_agent, log_in, shot
from tests.ui.seed import demo


@pytest.mark.parametrize("size_name,size", [("laptop", LAPTOP), ("phone", PHONE)])
def test_every_page_renders_with_real_data(ui_server, browser, size_name, size):
    data = demo(ui_server)
    ctx = browser.new_context(viewport=size, locale="en-GB")
    page = ctx.new_page()
    try:
        page.goto(ui_server.url + "/ui/login")
        shot(page, f"login-{size_name}")
        log_in(page, ui_server.url)
        daniele = data["daniele"]

        page.goto(ui_server.url + "/ui/inbox")
        rows = page.locator("#inbox-list .conv")
        assert rows.count() == 4
        assert page.locator("#inbox-list").get_by_text("Maria Bianchi").is_visible()
        shot(page, f"inbox-{size_name}")

        page.goto(ui_server.url + f"/ui/conversations/{daniele['id']}")
        thread = page.locator("#thread")
        assert thread.get_by_text("Perfetto, grazie mille").is_visible()
        assert page.locator(".msg-out .ticks-read").count() == 1
        assert "131026" in page.locator(".msg-failed .msg-error").inner_text()
        assert page.locator(".msg-in .quote").get_by_text("Certo, la contattiamo").is_visible()
        shot(page, f"conversation-{size_name}")

        lucia = ui_server.get("/api/v1/conversations?phone=%2B393391112233")[0]
        # An admin said {{1}} is the customer's first name; {{2}} is left to the agent.
        (reply,) = [t for t in ui_server.get("/api/v1/templates") if t["name"] == "ticket_reply"]
        assert ui_server.api("PUT", f"/api/v1/templates/{reply['id']}/parameter-sources",
                             json={"1": "person.first_name"}).status_code == 200
        page.goto(ui_server.url + f"/ui/conversations/{lucia['id']}")
        page.select_option("#template-id", label="ticket_reply · it · utility")
        preview = page.locator(".tpl-params:not([hidden]) .tpl-preview-body")
        assert "Gentile Lucia," in preview.inner_text() and "{{2}}" in preview.inner_text()
        shot(page, f"conversation-window-closed-{size_name}")

        page.goto(ui_server.url + f"/ui/tickets/{daniele['ticket_id']}")
        assert page.get_by_role("heading", name="Comments").is_visible()
        shot(page, f"ticket-{size_name}")

        for name, path, heading in [("tickets", "/ui/tickets", "Tickets"), ("people", "/ui/people", "People"),
                                    ("templates", "/ui/templates", "Templates"), ("settings", "/ui/settings", "Settings"),
                                    ("jobs", "/ui/jobs", "Cron jobs"), ("inbound-events", "/ui/inbound-events", "Inbound events"),
                                    ("users", "/ui/users", "Users & tokens"), ("person-new", "/ui/people/new", "New person")]:
            page.goto(ui_server.url + path)
            assert page.get_by_role("heading", name=heading, exact=True).is_visible(), name
            if name == "jobs":  # what waits, and since when: nothing, the worker has kept up
                assert page.get_by_role("heading", name="Backlog").is_visible()
                assert page.locator("#backlog-intake").inner_text() == "0"
                assert page.locator("#backlog .status").inner_text() == "keeping up"
            shot(page, f"{name}-{size_name}")

        page.goto(ui_server.url + f"/ui/people/{daniele['person_id']}")
        assert page.get_by_role("heading", name="Daniele Asmonti").is_visible()
        shot(page, f"person-{size_name}")
    finally:
        ctx.close()


@pytest.mark.parametrize("language, texts", [
    ("en", ("Status", "Apply filters", "Status", "Clear")),
    ("it", ("Stato", "Applica filtri", "Stato", "Azzera")),
])
def test_an_agent_filters_the_tickets_by_status_and_sorts_them_by_a_column(ui_server, page, language, texts):
    status_label, apply, status_head, clear = texts
    made = three_tickets(ui_server.database_url)
    log_in(page, ui_server.url, add_agent(ui_server, language), next_path="/ui/tickets")
    rows = page.locator("#tickets-table tbody tr a.strong")
    assert rows.all_inner_texts() == [made["refund"], made["late"], made["screen"]]
    page.locator("#tickets-status").select_option("Open")
    page.get_by_role("button", name=apply).click()
    page.wait_for_url("**status=Open*")
    assert rows.all_inner_texts() == [made["screen"]]
    page.get_by_role("link", name=clear).click()
    page.wait_for_url("**/ui/tickets?sort=number&order=desc")
    page.locator("#tickets-table thead").get_by_role("link", name=status_head).click()
    page.wait_for_url("**sort=status*")
    assert rows.all_inner_texts() == [made["screen"], made["late"], made["refund"]]  # Open, Closed, Answered
    shot(page, f"tickets-filtered-{language}")
