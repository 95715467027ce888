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
