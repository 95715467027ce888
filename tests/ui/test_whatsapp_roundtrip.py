"""The whole round trip in browsers: the service wired to the WhatsApp simulator (as `make run`
wires them), an agent in the WASB UI and the customer on the simulator's phone page."""
from __future__ import annotations

from tests.ui.conftest import AGENT, log_in, shot

CUSTOMER = "393331234567"


def _customer_has_written(wired, text: str = "Buongiorno, il mio ordine non è arrivato") -> dict:
    wired.customer_writes(CUSTOMER, text, name="Giulia Verdi")
    (conversation,) = wired.server.wait_until(
        lambda: wired.server.get(f"/api/v1/conversations?phone=%2B{CUSTOMER}"), what="the customer's conversation")
    return conversation


def _out(page, text: str):
    return page.locator("#thread .msg-out", has_text=text)


def test_a_customer_types_on_the_phone_and_the_message_appears_live_in_the_open_inbox(wired_ui, context):
    agent = context.new_page()
    log_in(agent, wired_ui.url, AGENT)
    assert agent.locator("#inbox-list .conv").count() == 0
    assert agent.locator(".tab-count[data-count='unassigned']").inner_text() == "0"
    wired_ui.sim.post("/_sim/customers", json={"wa_id": CUSTOMER, "name": "Giulia Verdi"}).raise_for_status()

    phone = context.new_page()
    phone.goto(f"{wired_ui.sim_url}/phone#customer={CUSTOMER}")
    phone.fill("#text", "Salve, avete la taglia M?")
    phone.click("#send")
    phone.locator("#thread .bubble-row.mine", has_text="taglia M").locator(".tick", has_text="✓✓").wait_for()

    row = agent.locator("#inbox-list .conv", has_text="Giulia Verdi")
    row.wait_for()  # no reload: the server-sent event brought it
    assert "Salve, avete la taglia M?" in row.inner_text()
    assert row.locator(".badge-unread").inner_text().strip() == "1"
    assert agent.locator(".tab-count[data-count='unassigned']").inner_text() == "1"  # the tab's count too
    shot(agent, "inbox-live-from-phone-laptop")


def test_the_agents_answer_reaches_the_phone_and_its_ticks_come_back_live(wired_ui, context):
    conversation = _customer_has_written(wired_ui)
    agent = context.new_page()
    log_in(agent, wired_ui.url, AGENT, next_path=f"/ui/conversations/{conversation['id']}")
    reply = "Buongiorno Giulia, controllo subito."
    agent.get_by_role("combobox", name="Message", exact=True).fill(reply)
    # Opening the conversation marked the customer's message read at Meta; writing asked for
    # the typing indicator (the composer's script, with the page's CSRF token).
    marks = wired_ui.server.wait_until(
        lambda: (got := wired_ui.sim.get("/_sim/read").json()) and got[-1]["typing"] and got,
        what="the agent's typing indicator at the simulator")
    assert [m["typing"] for m in marks] == [False, True]
    agent.keyboard.press("Enter")

    # Sent, then delivered: the simulator's status webhooks reach the open page without a reload.
    _out(agent, reply).and_(agent.locator("[data-status='delivered']")).wait_for()
    assert _out(agent, reply).locator(".ticks").get_attribute("aria-label") == "delivered"
    assert _out(agent, reply).locator(".ticks-read").count() == 0  # nobody has looked at the phone yet
    (sent,) = wired_ui.sent_to(CUSTOMER)
    assert (sent["type"], sent["text"]) == ("text", reply)

    # The customer opens the chat on the phone: the answer is there, and looking at it reads it.
    phone = context.new_page()
    phone.goto(f"{wired_ui.sim_url}/phone#customer={CUSTOMER}")
    bubble = phone.locator("#thread .bubble-row.theirs", has_text=reply)
    bubble.locator(".tick.read").wait_for()
    assert bubble.locator(".tick").inner_text() == "✓✓"
    assert phone.locator("#thread .bubble-row.mine", has_text="il mio ordine").count() == 1
    mine = phone.locator("#thread .bubble-row.mine", has_text="il mio ordine")
    assert mine.locator(".tick").get_attribute("title") == "read by the business"  # blue ticks
    shot(phone, "simulator-phone-agent-reply")

    # The read receipt comes back to the agent's page, live: the ticks turn blue.
    _out(agent, reply).locator(".ticks-read").wait_for()
    assert _out(agent, reply).get_attribute("data-status") == "read"
    shot(agent, "conversation-reply-read-laptop")
    message = next(m for m in wired_ui.server.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
                   if m["direction"] == "out")
    assert (message["status"], message["wamid"]) == ("read", sent["wamid"])


def test_a_comment_added_on_the_ticket_page_goes_out_on_whatsapp_and_shows_its_ticks(wired_ui, page):
    conversation = _customer_has_written(wired_ui)
    ticket_id = conversation["ticket_id"]
    log_in(page, wired_ui.url, AGENT, next_path=f"/ui/tickets/{ticket_id}")
    comment = "Il corriere consegna domani mattina."
    page.get_by_label("Add a comment").fill(comment)
    page.get_by_role("button", name="Comment").click()
    page.wait_for_url(f"**/ui/tickets/{ticket_id}")
    assert page.locator(".toast").first.inner_text() == "Comment added and sent on WhatsApp."

    # The ticket process sent it as text (the window is open) …
    (sent,) = wired_ui.server.wait_until(lambda: wired_ui.sent_to(CUSTOMER), what="the comment on WhatsApp")
    assert (sent["type"], sent["text"]) == ("text", comment)
    # … and the comment on the page shows the message's ticks as the statuses arrive.
    ours = page.locator("#ticket-comments .comment-agent", has_text=comment)
    ours.locator(".comment-whatsapp .ticks[aria-label='delivered']").wait_for()
    # The customer reads it: the page, not reloaded, turns the ticks blue.
    page.evaluate("window.__not_reloaded = true")
    wired_ui.sim.post("/_sim/read", json={"customer": CUSTOMER}).raise_for_status()
    ours.locator(".comment-whatsapp .ticks-read").wait_for()
    assert page.evaluate("window.__not_reloaded") is True
    shot(page, "ticket-comment-read-laptop")

    ticket = wired_ui.server.get(f"/api/v1/tickets/{ticket_id}")
    assert ticket["status"] == wired_ui.server.get("/api/v1/settings")["status_waiting"]
    assert [(c["body"], c["author_user"]) for c in ticket["comments"] if c["author_user"]] == [(comment, AGENT[0])]
    thread = wired_ui.server.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
    assert [m["body"] for m in thread if m["direction"] == "out"] == [comment]


def test_sync_now_brings_metas_templates_and_send_template_from_a_record_reaches_the_phone(wired_ui, page):
    wired_ui.sim.post("/_sim/templates", json={
        "name": "order_update", "language": "en", "category": "UTILITY", "status": "APPROVED",
        "body_text": "Hi {{1}}, your order {{2}} is on its way."}).raise_for_status()
    wired_ui.sim.post("/_sim/templates", json={
        "name": "spring_promo", "language": "it", "category": "MARKETING", "status": "REJECTED",
        "body_text": "Primavera: -20% per {{1}}"}).raise_for_status()
    log_in(page, wired_ui.url, AGENT, next_path="/ui/templates")
    assert page.locator("table tbody td.mono").count() == 0
    page.get_by_role("button", name="Sync now").click()
    toast = page.locator(".toast", has_text="templates at Meta")
    toast.wait_for()
    assert toast.inner_text().startswith("2 templates at Meta: 2 new")
    rows = {r.locator("td").first.inner_text(): r.inner_text() for r in page.locator("table tbody tr").all()}
    assert set(rows) == {"order_update", "spring_promo"}
    assert "approved" in rows["order_update"] and "rejected" in rows["spring_promo"]
    shot(page, "templates-synced-laptop")

    person = wired_ui.server.api("POST", "/api/v1/people", json={
        "kind": "contact", "name": "Lea Neri", "mobile": "+393471112222"}).json()
    page.goto(f"{wired_ui.url}/ui/people/{person['id']}")
    form = page.locator("#person-template")
    form.get_by_label("Template").select_option(label="order_update · en · utility")
    form.get_by_label("{{1}}").fill("Lea Neri")  # no source set for the template: the agent types it
    form.get_by_label("{{2}}").fill("#77")
    form.get_by_role("button", name="Send template").click()
    page.wait_for_url(f"**/ui/people/{person['id']}")

    (sent,) = wired_ui.server.wait_until(lambda: wired_ui.sent_to("393471112222"), what="the template at the phone")
    assert sent["type"] == "template" and sent["template"]["name"] == "order_update"
    assert sent["text"] == "Hi Lea Neri, your order #77 is on its way."


def test_outside_the_window_a_comment_waits_the_fallback_template_goes_and_the_customers_reply_releases_it(
        wired_ui, context):
    from tests.ui.seed import shift_last_inbound

    wired_ui.sim.post("/_sim/templates", json={
        "name": "ticket_update", "language": "it", "category": "UTILITY", "status": "APPROVED",
        "body_text": "Novità sul ticket {{1}}. Ci risponda per leggerle."}).raise_for_status()
    assert wired_ui.server.api("POST", "/api/v1/templates/sync").status_code == 200
    (template,) = wired_ui.server.get("/api/v1/templates?name=ticket_update")
    assert wired_ui.server.api("PUT", f"/api/v1/templates/{template['id']}/parameter-sources",
                               json={"1": "ticket.number"}).status_code == 200
    assert wired_ui.server.api("PUT", "/api/v1/settings", json={
        "fallback_template": {"name": "ticket_update", "language": "it"}}).status_code == 200
    conversation = _customer_has_written(wired_ui, "Il pacco è arrivato rotto")
    shift_last_inbound(wired_ui.server, CUSTOMER, 25)  # the customer wrote 25 h ago: the window is closed

    page = context.new_page()
    log_in(page, wired_ui.url, AGENT, next_path=f"/ui/tickets/{conversation['ticket_id']}")
    comment = "Le spediamo un pacco nuovo oggi."
    page.get_by_label("Add a comment").fill(comment)
    page.get_by_role("button", name="Comment").click()
    page.wait_for_url(f"**/ui/tickets/{conversation['ticket_id']}")
    ours = page.locator("#ticket-comments .comment-agent", has_text=comment)
    ours.locator(".ticks[aria-label='held']").wait_for()
    assert "the template ticket_update asks them to write" in page.locator(".toast").first.inner_text()
    assert "waiting for the customer to write" in ours.locator(".comment-whatsapp").inner_text()
    shot(page, "ticket-comment-held-laptop")

    # Only the template reached the phone: the comment itself waits.
    (template,) = wired_ui.server.wait_until(lambda: wired_ui.sent_to(CUSTOMER), what="the fallback template")
    assert template["type"] == "template" and template["template"]["name"] == "ticket_update"
    assert comment not in (template["text"] or "")

    # The customer answers the template on the phone: the window opens and the comment goes out.
    page.evaluate("window.__not_reloaded = true")
    phone = context.new_page()
    phone.goto(f"{wired_ui.sim_url}/phone#customer={CUSTOMER}")
    phone.locator("#thread .bubble-row.theirs", has_text="Novità sul ticket").wait_for()
    phone.fill("#text", "Va bene, grazie")
    phone.click("#send")
    phone.locator("#thread .bubble-row.theirs", has_text=comment).wait_for()
    shot(phone, "simulator-phone-released-comment")
    ours.locator(".ticks[aria-label='read']").wait_for()  # the phone is open: read, and live on the ticket
    assert page.evaluate("window.__not_reloaded") is True
    assert [m["type"] for m in wired_ui.sent_to(CUSTOMER)] == ["template", "text"]
