"""Pages run under a Content-Security-Policy without inline scripts, cannot be framed,
and say so in their headers; a page whose script breaks the policy fails here."""
from __future__ import annotations

import httpx

from tests.ui.conftest import log_in
from tests.ui.seed import demo


def csp_of(response_headers: dict) -> dict[str, str]:
    policy = response_headers["content-security-policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def assert_protected(headers: dict) -> None:
    policy = csp_of(headers)
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_the_pages_an_agent_works_in_log_no_csp_violation(ui_server, page):
    data = demo(ui_server)
    daniele = data["daniele"]
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    log_in(page, ui_server.url)
    for path, ready in [("/ui/inbox", "#inbox-list .conv"),
                        (f"/ui/conversations/{daniele['id']}", "#thread"),
                        (f"/ui/tickets/{daniele['ticket_id']}", "#ticket-comments"),
                        ("/ui/settings", "#settings-form")]:
        response = page.goto(ui_server.url + path)
        assert response.status == 200, path
        assert_protected(response.headers)
        page.locator(ready).first.wait_for()
        page.wait_for_load_state("networkidle") if "conversations" not in path else page.wait_for_timeout(300)
    # Scripts did run (the keyboard shortcut dialog is made by app.js) ...
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    # ... and nothing was refused.
    violations = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert violations == [], violations


def test_the_api_docs_work_without_a_cdn_under_their_policy(ui_server, page):
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    response = page.goto(ui_server.url + "/docs")
    assert response.status == 200
    assert_protected(response.headers)
    page.get_by_text("/api/v1/settings").first.wait_for()  # Swagger UI drew the operations
    violations = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert violations == [], violations


def test_the_api_answers_carry_the_headers_and_hsts_follows_https(ui_server):
    plain = httpx.get(ui_server.url + "/api/v1/settings", headers={"Authorization": f"Bearer {ui_server.admin_token}"})
    assert plain.status_code == 200
    assert_protected(plain.headers)
    assert "strict-transport-security" not in plain.headers  # plain HTTP: a browser would ignore it anyway
    # Behind a TLS proxy on 127.0.0.1 (trusted by uvicorn for X-Forwarded-Proto): HSTS.
    proxied = httpx.get(ui_server.url + "/ui/login", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["strict-transport-security"].startswith("max-age=")


def test_the_simulators_phone_page_runs_under_the_same_policy(page):
    from tests.support.harness import serving
    from wasb.simulator.app import create_app as create_simulator
    from tests.support.wired import SIM_SETTINGS

    with serving(create_simulator(SIM_SETTINGS, webhook_url="http://127.0.0.1:9/unset")) as sim_url:
        httpx.post(sim_url + "/_sim/customers", json={"wa_id": "393331234567", "name": "Mario Rossi"}).raise_for_status()
        response = page.goto(f"{sim_url}/phone#customer=393331234567")
        assert_protected(response.headers)
        page.fill("#text", "Typed on the phone")
        page.click("#send")
        page.wait_for_selector("text=Typed on the phone")  # the page's script ran; the fixture checks the console


def test_the_api_docs_offer_the_bearer_token_and_calls_made_with_it_succeed(ui_server, page):
    page.goto(ui_server.url + "/docs")
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux")
    assert "bearerAuth" in dialog.inner_text() and "wasb token create" in dialog.inner_text()
    dialog.locator("input").first.fill(ui_server.admin_token)
    dialog.locator(".auth-btn-wrapper button.authorize").click()
    dialog.locator(".auth-btn-wrapper .btn-done").click()
    operation = page.locator(".opblock-get", has=page.locator("[data-path='/api/v1/settings']")).first
    operation.locator(".opblock-summary").first.click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"  # Swagger UI sent the token it was given
