"""closeConversations closes by the `close_after` policy; tickets stay open, and the customer's
next message opens a new conversation on the same ticket."""
import time

from tests.inbound.test_inbound_to_crm import text_message
from tests.support.jobs import run_job

HOUR = 3600


def write(server, text, wamid, hours_ago):
    body = text_message("393351032246", text, wamid, str(int(time.time() - hours_ago * HOUR)), "Daniele")
    assert server.post_webhook(body).status_code == 200
    server.wait_idle()


def conversations(server):
    return sorted(server.get("/api/v1/conversations"), key=lambda c: c["id"])


def test_window_policy_closes_hours_after_the_customers_last_message(server):
    write(server, "first", "wamid.w1", hours_ago=30)
    write(server, "second", "wamid.w2", hours_ago=23)
    job = run_job(server, "closeConversations")
    assert job["last_result"] == {"closed": 0, "policy": "window", "hours": 24}
    assert [c["status"] for c in conversations(server)] == ["open"]  # 23 h since the last message

    assert server.api("PUT", "/api/v1/settings", json={"close_after_hours": 22}).status_code == 200
    assert run_job(server, "closeConversations")["last_result"]["closed"] == 1
    (closed,) = conversations(server)
    assert closed["status"] == "closed" and closed["closed_at"]
    ticket = server.get(f"/api/v1/tickets/{closed['ticket_id']}")
    assert ticket["status"] == "Answered by customer"  # closing a conversation never closes its ticket


def test_created_policy_closes_hours_after_the_conversation_started(server):
    write(server, "first", "wamid.c1", hours_ago=30)
    write(server, "recent", "wamid.c2", hours_ago=2)
    assert run_job(server, "closeConversations")["last_result"]["closed"] == 0
    response = server.api("PUT", "/api/v1/settings", json={"close_after": "created"})
    assert response.status_code == 200 and response.json()["close_after"] == "created"
    job = run_job(server, "closeConversations")
    assert job["last_result"] == {"closed": 1, "policy": "created", "hours": 24}
    assert [c["status"] for c in conversations(server)] == ["closed"]


def test_the_next_message_opens_a_new_conversation_on_the_still_open_ticket(server):
    write(server, "my order is late", "wamid.n1", hours_ago=30)
    run_job(server, "closeConversations")
    (old,) = conversations(server)
    assert old["status"] == "closed"
    write(server, "any news?", "wamid.n2", hours_ago=0)
    old, new = conversations(server)
    assert (old["status"], new["status"]) == ("closed", "open")
    assert new["ticket_id"] == old["ticket_id"] and new["person_id"] == old["person_id"]
    ticket = server.get(f"/api/v1/tickets/{old['ticket_id']}")
    assert [c["body"] for c in ticket["comments"]] == ["any news?"]
    assert sorted(c["id"] for c in ticket["conversations"]) == [old["id"], new["id"]]


def test_a_close_policy_that_does_not_exist_is_refused(server):
    response = server.api("PUT", "/api/v1/settings", json={"close_after": "never"})
    assert response.status_code == 422 and "close_after" in response.text
    assert server.api("PUT", "/api/v1/settings", json={"close_after_hours": 0}).status_code == 422
