"""What agents do around a conversation: take it, close it, file records, set ticket status."""
from __future__ import annotations

from tests.ui.conftest import AGENT, log_in, shot
from tests.ui.seed import conversation_of, customer_writes


def _one_conversation(server):
    customer_writes(server, "393331234567", "Buongiorno", "wamid.A1", name="Giulia Verdi")
    server.wait_idle()
    return conversation_of(server, "393331234567")


def test_an_agent_takes_a_conversation_and_finds_it_under_mine(ui_server, page):
    conversation = _one_conversation(ui_server)
    log_in(page, ui_server.url, AGENT, next_path=f"/ui/conversations/{conversation['id']}")
    page.get_by_label("Assigned to").select_option(AGENT[0])
    page.locator("#toasts .toast").wait_for()
    assert ui_server.get(f"/api/v1/conversations/{conversation['id']}")["assigned_user"] == AGENT[0]
    page.goto(ui_server.url + "/ui/inbox?view=mine")
    assert page.locator("#inbox-list .conv").count() == 1
    page.goto(ui_server.url + "/ui/inbox?view=unassigned")
    assert page.locator("#inbox-list .conv").count() == 0
    counts = {key: page.locator(f".tab-count[data-count='{key}']").inner_text() for key in ("open", "mine", "unassigned")}
    assert counts == {"open": "1", "mine": "1", "unassigned": "0"}


def test_closing_a_conversation_moves_it_to_closed_and_keeps_the_ticket_open(ui_server, page):
    conversation = _one_conversation(ui_server)
    log_in(page, ui_server.url, AGENT, next_path=f"/ui/conversations/{conversation['id']}")
    page.locator("#close-conversation").click()
    page.wait_for_url(f"**/ui/conversations/{conversation['id']}")
    assert ui_server.get(f"/api/v1/conversations/{conversation['id']}")["status"] == "closed"
    assert ui_server.get(f"/api/v1/tickets/{conversation['ticket_id']}")["status"] != "Closed"
    page.goto(ui_server.url + "/ui/inbox?view=closed")
    assert page.locator("#inbox-list .conv").count() == 1


def test_the_inbox_search_finds_by_text_and_by_number_in_any_writing(ui_server, page):
    _one_conversation(ui_server)
    customer_writes(ui_server, "393479876543", "Where is my order?", "wamid.B1", name="Maria Bianchi")
    ui_server.wait_idle()
    log_in(page, ui_server.url, AGENT)
    page.keyboard.press("/")
    page.keyboard.type("order")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=order*")
    assert page.locator("#inbox-list .conv").all_inner_texts()[0].startswith("M")
    assert page.locator("#inbox-list .conv").count() == 1
    page.goto(ui_server.url + "/ui/inbox?q=333 123 4567")
    assert page.locator("#inbox-list .conv", has_text="Giulia Verdi").count() == 1


def test_j_and_k_move_through_the_inbox_and_enter_opens(ui_server, page):
    _one_conversation(ui_server)
    customer_writes(ui_server, "393479876543", "Second customer", "wamid.B1", name="Maria Bianchi")
    ui_server.wait_idle()
    log_in(page, ui_server.url, AGENT)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    first = page.locator("#inbox-list .conv").first
    assert "selected" in first.get_attribute("class")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/conversations/*")
    assert page.locator("#conversation").is_visible()


def test_the_composer_queues_the_agents_message_in_the_conversation(ui_server, page):
    conversation = _one_conversation(ui_server)
    log_in(page, ui_server.url, AGENT, next_path=f"/ui/conversations/{conversation['id']}")
    page.get_by_role("combobox", name="Message", exact=True).fill("Buongiorno, come posso aiutarla?")
    page.keyboard.press("Enter")

    def outbound():
        detail = ui_server.get(f"/api/v1/conversations/{conversation['id']}")
        return [m for m in detail["messages"] if m["direction"] == "out"]

    (message,) = ui_server.wait_until(outbound, what="the agent's message")
    assert message["body"] == "Buongiorno, come posso aiutarla?" and message["author"] == AGENT[0]
    assert message["type"] == "text"


def test_a_person_is_created_with_the_same_number_rules_as_the_api(ui_server, page):
    ui_server.api("POST", "/api/v1/people", json={"kind": "contact", "name": "Daniele", "mobile": "+393351032246"})
    log_in(page, ui_server.url, AGENT, next_path="/ui/people/new")
    page.get_by_label("Name").fill("Someone Else")
    page.get_by_label("Mobile").fill("0039 335 103 2246")
    page.get_by_role("button", name="Save").click()
    assert "already belongs to contact Daniele" in page.locator("#form-error").inner_text()
    page.get_by_label("Mobile").fill("not a number")
    page.get_by_role("button", name="Save").click()
    assert page.locator("#form-error").is_visible()
    page.get_by_label("Mobile").fill("347 987 6543")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/ui/people/*")
    assert page.get_by_role("heading", name="Someone Else").is_visible()
    (person,) = ui_server.get("/api/v1/people?phone=%2B393479876543")
    assert person["mobile"] == "+393479876543" and person["kind"] == "lead"


def test_an_agent_edits_a_persons_number(ui_server, page):
    created = ui_server.api("POST", "/api/v1/people", json={"kind": "lead", "name": "Lea", "mobile": "+393331112222"}).json()
    log_in(page, ui_server.url, AGENT, next_path=f"/ui/people/{created['id']}/edit")
    page.get_by_label("Mobile").fill("00393339998888")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/ui/people/{created['id']}")
    assert ui_server.get(f"/api/v1/people/{created['id']}")["mobile"] == "+393339998888"


def test_an_agent_sets_a_ticket_status(ui_server, page):
    conversation = _one_conversation(ui_server)
    log_in(page, ui_server.url, AGENT, next_path=f"/ui/tickets/{conversation['ticket_id']}")
    page.get_by_label("Status").select_option("Wait For Response")
    page.get_by_role("button", name="Set").click()
    page.wait_for_url(f"**/ui/tickets/{conversation['ticket_id']}")
    assert ui_server.get(f"/api/v1/tickets/{conversation['ticket_id']}")["status"] == "Wait For Response"
    shot(page, "ticket-status-laptop")


def test_when_the_window_has_closed_the_composer_offers_approved_templates_with_a_live_preview(ui_server, page):
    from tests.ui.seed import add_template, shift_last_inbound

    conversation = _one_conversation(ui_server)
    add_template(ui_server, "order_update", "en", "Hi {{1}}, your order {{2}} is on its way.", header="Order update")
    add_template(ui_server, "promo_spring", "it", "Primavera: -20% per {{1}}", status="REJECTED")
    shift_last_inbound(ui_server, "393331234567", 25)  # the customer's last message is now 25 h old
    log_in(page, ui_server.url, AGENT, next_path=f"/ui/conversations/{conversation['id']}")
    assert page.locator("#composer").count() == 0  # no free text outside the window
    options = page.locator("#template-id option").all_inner_texts()
    assert any(o.startswith("order_update") for o in options)
    assert not any(o.startswith("promo_spring") for o in options)  # only approved templates
    page.select_option("#template-id", label="order_update · en · utility")
    assert page.get_by_label("{{1}}").input_value() == ""  # no source set: the agent types it
    page.get_by_label("{{1}}").fill("Giulia Verdi")
    page.get_by_label("{{2}}").fill("#4411")
    preview = page.locator(".tpl-params:not([hidden]) .tpl-preview")
    assert "Hi Giulia Verdi, your order #4411 is on its way." in preview.inner_text()
    shot(page, "conversation-template-picker-laptop")


def test_a_record_offers_send_template_with_fields_from_the_record(ui_server, page):
    from tests.ui.seed import add_template

    created = ui_server.api("POST", "/api/v1/people", json={"kind": "contact", "name": "Lea Neri",
                                                           "mobile": "+393331112222"}).json()
    add_template(ui_server, "order_update", "en", "Hi {{1}}, your order {{2}} is on its way.")
    (template,) = ui_server.get("/api/v1/templates?name=order_update")
    ui_server.api("PUT", f"/api/v1/templates/{template['id']}/parameter-sources",
                  json={"1": "person.name"}).raise_for_status()  # the admin's mapping
    log_in(page, ui_server.url, AGENT, next_path=f"/ui/people/{created['id']}")
    form = page.locator("#person-template")
    form.get_by_label("Template").select_option(label="order_update · en · utility")
    assert form.get_by_label("{{1}}").input_value() == "Lea Neri"
    form.get_by_label("{{2}}").fill("#77")
    assert "Hi Lea Neri, your order #77" in form.locator(".tpl-params:not([hidden]) .tpl-preview").inner_text()
    shot(page, "person-send-template-laptop")
    form.get_by_role("button", name="Send template").click()
    page.wait_for_url(f"**/ui/people/{created['id']}")
    (conversation,) = ui_server.wait_until(lambda: ui_server.get("/api/v1/conversations?phone=%2B393331112222"),
                                           what="the record's conversation")
    messages = ui_server.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
    assert [(m["type"], m["template"]) for m in messages] == [("template", "order_update")]
