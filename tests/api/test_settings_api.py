"""Admin settings through the REST API."""


def test_settings_have_the_plugins_defaults(server):
    settings = server.get("/api/v1/settings")
    assert settings["auto_ticket"] is True and settings["phone_prefix"] == "+"
    assert settings["time_window_days"] == 1 and settings["ticket_priority"] == "High"
    assert (settings["status_open"], settings["status_waiting"], settings["status_answered"],
            settings["status_closed"]) == ("Open", "Wait For Response", "Answered by customer", "Closed")


def test_a_changed_setting_is_kept_and_used(server):
    changed = server.api("PUT", "/api/v1/settings", json={"ticket_priority": "Urgent", "status_open": "Aperto"})
    assert changed.status_code == 200 and changed.json()["ticket_priority"] == "Urgent"
    assert server.get("/api/v1/settings")["status_open"] == "Aperto"
    from tests.inbound.test_inbound_to_crm import text_message
    server.post_webhook(text_message("393351032246", "ciao", "wamid.s1"))
    server.wait_idle()
    (ticket,) = server.get("/api/v1/tickets")
    assert (ticket["priority"], ticket["status"]) == ("Urgent", "Aperto")


def test_bad_values_and_unknown_keys_are_refused_and_nothing_changes(server):
    bad = server.api("PUT", "/api/v1/settings", json={"phone_prefix": "0039"})
    assert bad.status_code == 422 and "phone_prefix" in bad.text
    unknown = server.api("PUT", "/api/v1/settings", json={"auto_tickets": False})
    assert unknown.status_code == 422 and "auto_tickets" in unknown.text
    assert server.get("/api/v1/settings")["phone_prefix"] == "+"


def test_agents_cannot_read_or_change_settings(server):
    assert server.api("GET", "/api/v1/settings", token=server.agent_token).status_code == 403
    assert server.api("PUT", "/api/v1/settings", token=server.agent_token, json={"auto_ticket": False}).status_code == 403


def test_openapi_documents_the_contract_paths(server):
    import httpx
    spec = httpx.get(server.url + "/openapi.json").json()
    for path in ("/api/v1/people", "/api/v1/conversations/{conversation_id}", "/api/v1/tickets/{ticket_id}",
                 "/api/v1/inbound-events", "/api/v1/settings", "/healthz"):
        assert path in spec["paths"], path
    assert httpx.get(server.url + "/docs").status_code == 200


def test_the_access_token_is_shown_with_at_most_its_last_four_characters(server):
    token = "EAAGm0PX4ZCpsBAKZBxyzSecretSecretSecret1234WXYZ"
    assert server.api("PUT", "/api/v1/settings", json={"access_token": token}).status_code == 200
    shown = server.get("/api/v1/settings")["access_token"]
    visible = shown.replace("…", "")
    assert len(visible) <= 4 and token.endswith(visible)
    assert token[:4] not in shown
    # The masked value sent back unchanged keeps the stored token (an edit of another field).
    assert server.api("PUT", "/api/v1/settings", json={"access_token": shown, "ticket_priority": "Low"}).status_code == 200
    assert server.get("/api/v1/settings")["access_token"] == shown


def test_the_settings_page_shows_no_more_than_the_last_four_characters_of_a_secret():
    from pydantic import SecretStr

    from wasb.config import Config
    from wasb.web.ui.admin_pages import channel_view

    config = Config(_env_file=None, access_token=SecretStr("EAAGm0PX4ZCpsBAKZBxyzSecret1234WXYZ"),
                    app_secret=SecretStr("0123456789abcdef0123456789abcdef"), verify_token=SecretStr("verify-me-now"))
    shown = dict(channel_view(config))
    for label, secret in (("Access token", config.access_token), ("App secret", config.app_secret),
                          ("Verify token", config.verify_token)):
        visible = shown[label].replace("…", "").replace("•", "")
        assert len(visible) <= 4 and secret.get_secret_value().endswith(visible), (label, shown[label])
