"""What admins do: settings, failed inbound events, users and API tokens."""
from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import fixture_bytes
from tests.support.server import APP_SECRET
from tests.support.ui_http import logged_in, try_login
from tests.ui.conftest import ADMIN, AGENT, create_users, log_in, shot
from wasb.crm.embedded.crm import EmbeddedCRM
from wasb.crm.port import CRMError
from wasb.whatsapp.signature import sign_body


def test_an_admin_changes_a_setting(ui_server, page):
    log_in(page, ui_server.url, next_path="/ui/settings")
    page.get_by_label("Ticket priority").fill("Medium")
    page.get_by_label("Default prefix").select_option("00")
    page.locator("label.switch", has_text="Open a ticket").click()  # auto_ticket off
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url("**/ui/settings")
    assert page.get_by_role("status").inner_text() == "Settings saved."
    saved = ui_server.get("/api/v1/settings")
    assert (saved["ticket_priority"], saved["phone_prefix"], saved["auto_ticket"]) == ("Medium", "00", False)
    assert page.get_by_label("Ticket priority").input_value() == "Medium"


def test_saving_stores_only_what_changed_and_structured_settings_have_their_own_controls(ui_server, page):
    log_in(page, ui_server.url, next_path="/ui/settings")
    assert page.locator(".settings-form .setting-json").count() == 0  # no setting is typed as JSON
    fields = page.get_by_role("group", name="CRM phone fields per kind of record")
    assert fields.get_by_label("leads").input_value() == "mobile"
    fields.get_by_label("leads").fill("mobile, phone")
    hours = page.get_by_role("group", name="Business hours")
    assert hours.get_by_label("Monday").input_value() == ""  # no hours: always open
    hours.get_by_label("Saturday").fill("22:00-02:00")
    prices = page.get_by_role("group", name="Price of one template message per category (analytics)")
    assert prices.get_by_label("marketing").input_value() == "0.0691"  # Meta's rate shown as a number
    prices.get_by_label("utility").fill("0.025")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url("**/ui/settings")
    saved = ui_server.get("/api/v1/settings")
    assert saved["crm_phone_fields"]["lead"] == ["mobile", "phone"]
    assert saved["business_hours"] == {"sat": ["22:00-02:00"]}
    assert saved["template_prices"] == {"marketing": 0.0691, "utility": 0.025, "authentication": 0.03}
    stored = stored_setting_keys(ui_server)
    assert stored == {"crm_phone_fields", "business_hours", "template_prices"}  # the defaults shown were not pinned


def stored_setting_keys(server) -> set[str]:
    from sqlalchemy import select

    from wasb.settings.tables import Setting
    from wasb.store.engine import open_database

    db = open_database(server.database_url)
    try:
        with db.read_sessions() as session:
            return {k for k in session.scalars(select(Setting.key)) if not k.startswith("ui_")}
    finally:
        db.dispose()


def test_a_bad_setting_is_refused_with_its_reason_and_nothing_saved(ui_server, page):
    log_in(page, ui_server.url, next_path="/ui/settings")
    page.get_by_label("Ticket priority").fill(" ")
    page.get_by_role("button", name="Save settings").click()
    assert "at least 1 character" in page.locator("#s-ticket_priority-error").inner_text()
    assert ui_server.get("/api/v1/settings")["ticket_priority"] == "High"
    # the browser itself refuses a number out of bounds
    assert page.get_by_label("Time window (days)").get_attribute("min") == "1"


def test_credentials_are_shown_masked(ui_server, page):
    log_in(page, ui_server.url, next_path="/ui/settings")
    text = page.locator(".col-side").inner_text()
    assert "test-access-token" not in text and "test-acc" not in text and "…oken" in text
    assert "test-app-secret" not in text


def test_an_admin_creates_a_user_who_can_log_in(ui_server, page, browser):
    log_in(page, ui_server.url, next_path="/ui/users")
    page.get_by_label("Username", exact=True).fill("carla")
    page.locator("#new-password").fill("carla-password-1")
    page.locator("#new-language").select_option("it")
    page.get_by_role("button", name="Create user").click()
    assert page.get_by_role("status").inner_text() == "User carla created."
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        second = other.new_page()
        log_in(second, ui_server.url, ("carla", "carla-password-1"))
        assert second.get_by_role("heading", name="Posta in arrivo").is_visible()  # her language: Italian
        shot(second, "inbox-italian-laptop")
    finally:
        other.close()


def test_an_api_token_is_shown_once_works_and_can_be_revoked(ui_server, page):
    log_in(page, ui_server.url, next_path="/ui/users")
    page.get_by_label("Name").last.fill("vtenext workflow")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("wasb_")
    shot(page, "token-created-laptop")
    assert ui_server.api("GET", "/api/v1/conversations", token=token).status_code == 200
    page.goto(ui_server.url + "/ui/users")
    assert token not in page.content()  # never shown again
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="vtenext workflow").get_by_role("button", name="Revoke").click()
    page.wait_for_url("**/ui/users")
    assert ui_server.api("GET", "/api/v1/conversations", token=token).status_code == 401


def test_the_cron_table_lists_the_jobs_and_an_admin_sets_a_schedule(ui_server, page):
    log_in(page, ui_server.url, next_path="/ui/jobs")
    names = page.locator("#jobs-table tbody tr .mono.strong").all_inner_texts()
    assert {"syncCustomers", "syncMessages", "syncTemplates", "closeConversations"} <= set(names)
    row = page.locator("#jobs-table tbody tr", has_text="closeConversations")
    row.get_by_label("Schedule").fill("at 17:45")
    row.get_by_role("button", name="Set", exact=True).click()
    assert page.get_by_role("status").inner_text() == "closeConversations saved."
    job = ui_server.get("/api/v1/jobs/closeConversations")
    assert job["schedule"]["text"] == "at 17:45"
    row = page.locator("#jobs-table tbody tr", has_text="closeConversations")
    row.get_by_label("Schedule").fill("whenever")
    row.get_by_role("button", name="Set", exact=True).click()
    assert page.get_by_role("alert").is_visible()  # refused with the scheduler's reason
    assert ui_server.get("/api/v1/jobs/closeConversations")["schedule"]["text"] == "at 17:45"
    shot(page, "jobs-laptop")


@pytest.fixture
def failing_job(database_url, tmp_path):
    """A service whose syncTemplates run fails the way a refused Meta token would."""
    from dataclasses import replace

    from tests.support.inprocess import InProcessServer
    from tests.support.runtime import build, test_config
    from wasb.auth.service import create_token, create_user
    from wasb.scheduler.registry import default_specs

    def refused(app, ctx):
        raise RuntimeError("Meta refused the access token (190)")

    app = build(test_config(database_url, tmp_path))
    specs = default_specs()
    specs["syncTemplates"] = replace(specs["syncTemplates"], run=refused)
    app.scheduled_jobs = specs
    srv = InProcessServer(app).start()
    with app.db.sessions() as s, s.begin():
        create_user(s, *ADMIN, is_admin=True)
        srv.token = create_token(s, "t", is_admin=True)
    yield srv
    srv.stop()


def test_a_failed_job_is_reset_from_the_cron_table(failing_job, page):
    api = {"Authorization": f"Bearer {failing_job.token}"}

    def job():
        return httpx.get(failing_job.url + "/api/v1/jobs/syncTemplates", headers=api).json()

    log_in(page, failing_job.url, next_path="/ui/jobs")
    row = page.locator("#jobs-table tbody tr", has_text="syncTemplates")
    row.get_by_role("button", name="Run now").click()
    assert page.get_by_role("status").inner_text() == "syncTemplates will run in a moment."
    deadline = time.monotonic() + 30
    while job()["attempts"] != 1:
        assert time.monotonic() < deadline, "the run never failed"
        time.sleep(0.05)
    page.goto(failing_job.url + "/ui/jobs")
    row = page.locator("#jobs-table tbody tr", has_text="syncTemplates")
    assert "1 / 5" in row.inner_text() and "Meta refused the access token" in row.inner_text()
    shot(page, "jobs-failed-laptop")
    row.get_by_role("button", name="Reset").click()
    assert page.get_by_role("status").inner_text() == "syncTemplates reset."
    assert job()["attempts"] == 0
    assert "0 / 5" in page.locator("#jobs-table tbody tr", has_text="syncTemplates").inner_text()


# --- failed inbound events: an in-process server whose CRM is down on purpose -------------

class DownCRM(EmbeddedCRM):
    down = {"value": True}

    def find_people_by_phone(self, e164):
        if self.down["value"]:
            # A refusal, not an outage: waiting will not fix it, so the event ends failed.
            raise CRMError("CRM refused the search")
        return super().find_people_by_phone(e164)


@pytest.fixture
def crm_down(database_url, tmp_path):
    from tests.support.inprocess import start_in_process
    from wasb.auth.service import create_token, create_user

    srv = start_in_process(database_url, tmp_path)
    srv.app.crm_factory = lambda session: DownCRM(session, "IT")
    with srv.app.db.sessions() as s, s.begin():
        create_user(s, ADMIN[0], ADMIN[1], is_admin=True)
        srv.token = create_token(s, "t", is_admin=True)
    DownCRM.down["value"] = True
    yield srv
    DownCRM.down["value"] = False
    srv.stop()


def test_the_retry_button_runs_a_failed_event_again(crm_down, page):
    body = fixture_bytes("inbound_text.json")
    assert httpx.post(crm_down.url + "/webhooks/whatsapp", content=body,
                      headers={"X-Hub-Signature-256": sign_body(body, APP_SECRET)}).status_code == 200
    api = {"Authorization": f"Bearer {crm_down.token}"}
    deadline = time.monotonic() + 30
    while not httpx.get(crm_down.url + "/api/v1/inbound-events?state=failed", headers=api).json():
        assert time.monotonic() < deadline, "the event never failed"
        crm_down.time_passes()
        time.sleep(0.05)

    log_in(page, crm_down.url, next_path="/ui/inbound-events")
    row = page.locator("#events-table tbody tr").first
    assert "CRM refused the search" in row.inner_text()
    shot(page, "inbound-events-failed-laptop")

    DownCRM.down["value"] = False  # the admin fixed the CRM
    row.get_by_role("button", name="Retry").click()
    page.wait_for_url("**/ui/inbound-events")
    assert "queued again" in page.get_by_role("status").inner_text()
    deadline = time.monotonic() + 30
    while not httpx.get(crm_down.url + "/api/v1/conversations", headers=api).json():
        assert time.monotonic() < deadline, "the retried event was not processed"
        time.sleep(0.05)
    page.goto(crm_down.url + "/ui/inbox")
    assert page.locator("#inbox-list .conv").count() == 1


@pytest.mark.parametrize("language, switched_off, switched_on", [
    ("en", "syncTemplates switched off.", "syncTemplates switched on."),
    ("it", "syncTemplates disattivato.", "syncTemplates attivato."),
])
def test_the_job_switch_saves_on_change_and_a_reload_keeps_it(ui_server, page, language, switched_off, switched_on):
    admin = add_admin(ui_server, language)
    log_in(page, ui_server.url, admin, next_path="/ui/jobs")
    switch = page.locator("#active-syncTemplates")
    assert switch.is_checked()
    page.locator("label.switch[for=active-syncTemplates]").click()  # no "Set" pressed
    page.get_by_role("status").filter(has_text=switched_off).wait_for()  # the page says it was saved
    assert ui_server.get("/api/v1/jobs/syncTemplates")["active"] is False
    page.reload()
    assert not page.locator("#active-syncTemplates").is_checked()
    page.locator("label.switch[for=active-syncTemplates]").click()
    page.get_by_role("status").filter(has_text=switched_on).wait_for()  # the page says it was saved
    assert ui_server.get("/api/v1/jobs/syncTemplates")["active"] is True
    page.reload()
    assert page.locator("#active-syncTemplates").is_checked()


def test_set_changes_the_schedule_and_leaves_the_switch_as_saved(ui_server, page):
    log_in(page, ui_server.url, next_path="/ui/jobs")
    page.locator("label.switch[for=active-closeConversations]").click()
    page.get_by_role("status").filter(has_text="closeConversations switched off.").wait_for()  # the page says it was saved
    row = page.locator("#jobs-table tbody tr", has_text="closeConversations")
    row.get_by_label("Schedule").fill("at 18:30")
    row.get_by_role("button", name="Set", exact=True).click()
    page.get_by_role("status").filter(has_text="closeConversations saved.").wait_for()
    job = ui_server.get("/api/v1/jobs/closeConversations")
    assert (job["active"], job["schedule"]["text"]) == (False, "at 18:30")


def add_admin(server, language: str) -> tuple[str, str]:
    from wasb.auth.service import create_user
    from wasb.store.engine import open_database

    who = (f"admin-{language}", "admin-password-2")
    db = open_database(server.database_url)
    try:
        with db.sessions() as session, session.begin():
            create_user(session, *who, is_admin=True, language=language)
    finally:
        db.dispose()
    return who


@pytest.mark.parametrize("language, texts", [
    ("en", ("Manage", "New password", "Reset password", "Password reset: the user is logged out everywhere.")),
    ("it", ("Gestisci", "Nuova password", "Reimposta password", "Password reimpostata: l'utente è disconnesso ovunque.")),
])
def test_an_admin_resets_an_agents_forgotten_password_from_the_users_page(ui_server, page, language, texts):
    manage, label, button, done = texts
    who = ADMIN
    if language != "en":
        who = ("adele", "admin-password-it")
        create_users(ui_server, [dict(username=who[0], password=who[1], is_admin=True, language=language)])
    log_in(page, ui_server.url, who, next_path="/ui/users")
    row = page.locator("tr", has_text=AGENT[0])
    assert row.locator("[data-last-login]").inner_text() == ("never" if language == "en" else "mai")
    row.get_by_text(manage).click()
    row.get_by_label(label).fill("fresh-password-9")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=button).click()
    page.wait_for_url("**/ui/users")
    assert page.get_by_role("status").inner_text() == done
    shot(page, f"user-password-reset-{language}")
    with httpx.Client(base_url=ui_server.url) as client:
        assert try_login(client, *AGENT).status_code == 401
    assert logged_in(ui_server.url, AGENT[0], "fresh-password-9").get("/ui/inbox").status_code == 200


def test_consent_keywords_and_replies_have_a_field_per_language(ui_server, page):
    log_in(page, ui_server.url, next_path="/ui/settings")
    keywords = page.get_by_role("group", name="Opt-out keywords per language (the customer's whole message)")
    assert keywords.get_by_label("Italiano").input_value() == "ANNULLA, BASTA, DISISCRIVIMI"
    keywords.get_by_label("Italiano").fill("ANNULLA, BASTA, STOP")
    replies = page.get_by_role("group", name="Reply to an opt-out keyword, per language")
    replies.get_by_label("English").fill("")  # no English reply of its own: the default language's goes
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url("**/ui/settings")
    saved = ui_server.get("/api/v1/settings")
    assert saved["opt_out_keywords"] == {"en": ["STOP", "STOP ALL", "UNSUBSCRIBE"], "it": ["ANNULLA", "BASTA", "STOP"]}
    assert list(saved["opt_out_replies"]) == ["it"]
    assert stored_setting_keys(ui_server) == {"opt_out_keywords", "opt_out_replies"}
