"""Template parameters (issue 16): nothing is guessed into a customer's message. A picker fills
only what an admin mapped on the template's page, refuses an empty parameter field by field
keeping what was typed; the fallback template is chosen in Settings with a picker."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.ui.conftest import ADMIN, AGENT, log_in, shot
from tests.ui.seed import add_template, conversation_of, customer_writes, shift_last_inbound

WORDS = {
    "en": {"send": "Send template", "fill": "Fill in {{1}}", "saved": "Parameter sources saved.",
           "settings_saved": "Settings saved.", "save_settings": "Save settings",
           "fallback": "Template sent when the 24-hour window is closed", "first_name": "Customer's first name",
           "ask": "Ask the agent", "not_saved": "Nothing was saved", "utility": "utility"},
    "it": {"send": "Invia template", "fill": "Compila {{1}}", "saved": "Fonti dei parametri salvate.",
           "settings_saved": "Impostazioni salvate.", "save_settings": "Salva impostazioni",
           "fallback": "Template inviato a finestra di 24 ore chiusa", "first_name": "Nome di battesimo del cliente",
           "ask": "Chiedi all'operatore", "not_saved": "Non è stato salvato nulla", "utility": "servizio"},
}
LANGUAGES = pytest.mark.parametrize("lang", ["en", "it"])


def speaks(server, who, lang: str) -> None:
    from wasb.auth.tables import User
    from wasb.store.engine import open_database

    db = open_database(server.database_url)
    try:
        with db.sessions() as session, session.begin():
            session.execute(update(User).where(User.username == who[0]).values(language=lang))
    finally:
        db.dispose()


def template_id(server, name: str, language: str) -> int:
    (found,) = [t for t in server.get(f"/api/v1/templates?name={name}") if t["language"] == language]
    return found["id"]


def closed_window_conversation(server) -> dict:
    customer_writes(server, "393331234567", "Buongiorno", "wamid.A1", name="Giulia Bianchi")
    server.wait_idle()
    shift_last_inbound(server, "393331234567", 25)
    return conversation_of(server, "393331234567")


def template_messages(server, conversation_id: int) -> list[dict]:
    return [m for m in server.get(f"/api/v1/conversations/{conversation_id}")["messages"] if m["type"] == "template"]


@LANGUAGES
def test_without_a_mapping_the_picker_leaves_parameters_empty_and_refuses_an_empty_one(ui_server, page, lang):
    words = WORDS[lang]
    conversation = closed_window_conversation(ui_server)
    add_template(ui_server, "appointment", "en", "Your appointment is on {{1}} at {{2}}.")
    speaks(ui_server, AGENT, lang)
    log_in(page, ui_server.url, AGENT, next_path=f"/ui/conversations/{conversation['id']}")
    page.select_option("#template-id", label=f"appointment · en · {words['utility']}")
    first, second = page.get_by_label("{{1}}"), page.get_by_label("{{2}}")
    assert (first.input_value(), second.input_value()) == ("", "")  # not "Giulia Bianchi"
    first.fill("   ")  # passes the browser's `required`, not the server
    second.fill("10:30")
    page.locator("#template-composer button[type=submit]").click()
    error = page.locator(f"#p-{template_id(ui_server, 'appointment', 'en')}-1-error")
    error.wait_for(state="visible")
    assert words["fill"] in error.inner_text()
    assert first.get_attribute("aria-invalid") == "true" and second.get_attribute("aria-invalid") == "false"
    assert second.input_value() == "10:30" and first.input_value() == "   "  # what was typed stays
    assert template_messages(ui_server, conversation["id"]) == []
    shot(page, f"template-picker-refused-{lang}-laptop")
    first.fill("30 November")
    page.locator("#template-composer button[type=submit]").click()
    (sent,) = ui_server.wait_until(lambda: template_messages(ui_server, conversation["id"]), what="the template")
    assert sent["body"] == "Your appointment is on 30 November at 10:30."


@LANGUAGES
def test_an_admin_maps_a_parameter_and_the_picker_fills_only_that_one(ui_server, page, browser, lang):
    words = WORDS[lang]
    person = ui_server.api("POST", "/api/v1/people", json={"kind": "contact", "name": "Lea Neri",
                                                          "mobile": "+393331112222"}).json()
    add_template(ui_server, "order_update", "en", "Hi {{1}}, your order {{2}} is on its way.")
    template = template_id(ui_server, "order_update", "en")
    speaks(ui_server, ADMIN, lang)
    log_in(page, ui_server.url, ADMIN, next_path="/ui/templates")
    page.get_by_role("link", name="order_update").click()
    page.wait_for_url(f"**/ui/templates/{template}")
    assert page.locator("#src-2 option:checked").inner_text() == words["ask"]
    page.locator("#src-1").select_option(label=words["first_name"])
    page.locator("#save-sources").click()
    page.wait_for_url(f"**/ui/templates/{template}")
    assert page.get_by_role("status").inner_text() == words["saved"]
    page.reload()
    assert page.locator("#src-1 option:checked").inner_text() == words["first_name"]
    assert ui_server.get(f"/api/v1/templates/{template}")["parameter_sources"] == {"1": "person.first_name"}
    shot(page, f"template-sources-{lang}-laptop")

    agent = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        picker = agent.new_page()
        log_in(picker, ui_server.url, AGENT, next_path=f"/ui/people/{person['id']}")
        form = picker.locator("#person-template")
        form.get_by_label("Template").select_option(label="order_update · en · utility")
        assert form.get_by_label("{{1}}").input_value() == "Lea"
        assert form.get_by_label("{{2}}").input_value() == ""
    finally:
        agent.close()


@LANGUAGES
def test_the_fallback_template_is_picked_in_settings_and_used_when_the_window_is_closed(ui_server, page, lang):
    words = WORDS[lang]
    add_template(ui_server, "ticket_update", "it", "Novità sul ticket {{1}}: ci scriva per leggerle.")
    add_template(ui_server, "order_update", "en", "Hi {{1}}, your order {{2}} is on its way.")
    ui_server.api("PUT", f"/api/v1/templates/{template_id(ui_server, 'ticket_update', 'it')}/parameter-sources",
                  json={"1": "ticket.number"}).raise_for_status()
    speaks(ui_server, ADMIN, lang)
    log_in(page, ui_server.url, ADMIN, next_path="/ui/settings")
    picker = page.get_by_label(words["fallback"])
    assert picker.evaluate("e => e.tagName") == "SELECT"  # a picker, not a text field for a dictionary
    picker.select_option(label="ticket_update · it")
    page.get_by_role("button", name=words["save_settings"]).click()
    page.wait_for_url("**/ui/settings")
    assert page.get_by_role("status").inner_text() == words["settings_saved"]
    page.reload()
    assert page.get_by_label(words["fallback"]).locator("option:checked").inner_text() == "ticket_update · it"
    assert ui_server.get("/api/v1/settings")["fallback_template"] == {"name": "ticket_update", "language": "it"}

    conversation = closed_window_conversation(ui_server)
    ticket = ui_server.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    delivery = ui_server.api("POST", f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "Pronto"}).json()
    assert delivery["outcome"] == "held" and delivery["template_message_id"] is not None, delivery
    (fallback,) = template_messages(ui_server, conversation["id"])
    assert (fallback["template"], fallback["body"]) == (
        "ticket_update", f"Novità sul ticket {ticket['number']}: ci scriva per leggerle.")


@LANGUAGES
def test_one_invalid_setting_is_marked_beside_its_field_and_every_typed_value_stays(ui_server, page, lang):
    words = WORDS[lang]
    speaks(ui_server, ADMIN, lang)
    log_in(page, ui_server.url, ADMIN, next_path="/ui/settings")
    page.locator("#s-ticket_priority").fill("Medium")
    page.locator("#s-crm_phone_fields-lead").fill("mobile, phone")
    page.locator("#s-crm_timezone").fill("Mars/Olympus")
    page.locator("input[name=contact_push_kinds][value=lead]").check()
    page.get_by_role("button", name=words["save_settings"]).click()
    error = page.locator("#s-crm_timezone-error")
    error.wait_for(state="visible")
    assert "Mars/Olympus" in error.inner_text()
    assert words["not_saved"] in page.locator("#form-error").inner_text()
    assert page.locator("#s-crm_timezone").get_attribute("aria-invalid") == "true"
    assert page.locator("#s-ticket_priority").input_value() == "Medium"
    assert page.locator("#s-crm_phone_fields-lead").input_value() == "mobile, phone"
    assert page.locator("#s-crm_timezone").input_value() == "Mars/Olympus"
    assert page.locator("input[name=contact_push_kinds][value=lead]").is_checked()
    saved = ui_server.get("/api/v1/settings")
    assert (saved["ticket_priority"], saved["crm_timezone"]) == ("High", "Europe/Rome")  # nothing half-saved
    shot(page, f"settings-invalid-field-{lang}-laptop")
    page.locator("#s-crm_timezone").fill("Europe/Zurich")
    page.get_by_role("button", name=words["save_settings"]).click()
    page.wait_for_url("**/ui/settings")
    saved = ui_server.get("/api/v1/settings")
    assert (saved["ticket_priority"], saved["crm_timezone"], saved["crm_phone_fields"]["lead"],
            sorted(saved["contact_push_kinds"])) == ("Medium", "Europe/Zurich", ["mobile", "phone"], ["contact", "lead"])
