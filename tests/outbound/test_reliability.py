"""Sending survives Meta's limits, a refused token, a crash mid-call and races, without
ever sending a message twice."""
from collections import Counter

from tests.outbound.flows import customer_writes, message, send, sent_to, wait_status

# PostgreSQL: the killed process's job is recognised as stalled when the new one starts.
RESTART = {"WASB_WORKER_STALLED_SECONDS": "1"}


def test_a_burst_above_meta_throughput_is_all_sent_in_order_and_no_130429_fails_a_message(start_wasb, sim):
    # A process of its own: sharing the test's interpreter, the service may not outrun Meta's limit.
    wasb = start_wasb()
    sim.post("/_sim/limits", json={"messages_per_second": 5, "pair_burst": 6}).raise_for_status()
    customers = ["393330000001", "393330000002", "393330000003"]
    conversations = {c: customer_writes(sim, wasb, wa_id=c, text="ciao")["id"] for c in customers}
    rows = []
    for n in range(8):
        for customer, conversation_id in conversations.items():
            answer = send(wasb, conversation_id, type="text", body=f"{customer} #{n}")
            assert answer.status_code == 201
            rows.append((conversation_id, answer.json()["id"]))
    finished = [wait_status(wasb, c, m, "sent", "delivered", "read", "failed", timeout=90) for c, m in rows]
    assert [m["status"] for m in finished if m["status"] == "failed"] == []
    assert max(m["send_attempts"] for m in finished) > 1  # Meta did refuse some: they waited and went again
    sent = sim.get("/_sim/sent").json()
    assert Counter(s["text"] for s in sent) == Counter(f"{c} #{n}" for c in customers for n in range(8))
    for customer in customers:  # one customer's messages leave in the order they were written
        assert [s["text"] for s in sent if s["to"] == customer] == [f"{customer} #{n}" for n in range(8)]


def test_statuses_that_overtake_the_send_answer_end_on_the_right_row(wasb, sim):
    sim.post("/_sim/config", json={"response_delay": 1.0, "sent_delay": 0}).raise_for_status()
    conversation = customer_writes(sim, wasb)
    row = send(wasb, conversation["id"], type="text", body="Presto!").json()
    read = wait_status(wasb, conversation["id"], row["id"], "read")
    (sent,) = sent_to(sim)
    assert read["wamid"] == sent["wamid"] and read["send_attempts"] == 1 and read["error"] is None
    statuses = [item for hook in sim.get("/_sim/webhooks").json()
                for item in hook["body"]["entry"][0]["changes"][0]["value"].get("statuses", [])]
    assert {s["status"] for s in statuses} == {"sent", "delivered", "read"}
    assert {s["biz_opaque_callback_data"] for s in statuses} == {f"wasb:{row['id']}"}


def test_a_crash_after_meta_accepted_does_not_send_again_and_statuses_reconcile_the_row(start_wasb, sim):
    wasb = start_wasb()
    conversation = customer_writes(sim, wasb)
    # Meta accepts, but its answer comes late and its statuses later still: the service dies in between.
    sim.post("/_sim/config", json={"response_delay": 5, "sent_delay": 2, "retry_delays": [1] * 90}).raise_for_status()
    row = send(wasb, conversation["id"], type="text", body="Una volta sola").json()
    wasb.wait_until(lambda: sent_to(sim), 60, "Meta to accept the message")
    wasb.kill()
    wasb = start_wasb(**RESTART)
    reconciled = wait_status(wasb, conversation["id"], row["id"], "read", timeout=90)
    (sent,) = sent_to(sim)
    assert reconciled["wamid"] == sent["wamid"] and reconciled["send_attempts"] == 1
    # The customer's next message leaves after the first one's job is over: still one send of the first.
    sim.post("/_sim/config", json={"response_delay": 0, "sent_delay": 0}).raise_for_status()
    second = send(wasb, conversation["id"], type="text", body="Seconda").json()
    # (on PostgreSQL the first job first waits out IN_FLIGHT: another process might be sending)
    wait_status(wasb, conversation["id"], second["id"], "read", timeout=90)
    assert [s["text"] for s in sent_to(sim)] == ["Una volta sola", "Seconda"]


def test_a_send_never_confirmed_by_meta_is_failed_after_the_grace_period_not_sent_again(start_wasb, sim):
    wasb = start_wasb()
    conversation = customer_writes(sim, wasb)
    # Meta accepts, the service dies before the answer, and every status webhook is lost.
    sim.post("/_sim/config", json={"response_delay": 5, "sent_delay": 0.5, "retry_delays": []}).raise_for_status()
    row = send(wasb, conversation["id"], type="text", body="Persa?").json()
    wasb.wait_until(lambda: sent_to(sim), 60, "Meta to accept the message")
    wasb.kill()
    wasb = start_wasb(WASB_SEND_CONFIRM_GRACE_SECONDS="2", **RESTART)
    failed = wait_status(wasb, conversation["id"], row["id"], "failed", timeout=90)
    assert failed["error"]["message"] == "not confirmed by WhatsApp; not re-sent to avoid a duplicate"
    assert failed["wamid"] is None and len(sent_to(sim)) == 1


def test_a_refused_token_keeps_messages_queued_until_an_admin_saves_the_right_one(start_wasb, sim, sim_settings):
    wasb = start_wasb(WASB_ACCESS_TOKEN="expired-token-from-last-year")
    conversation = customer_writes(sim, wasb)
    row = send(wasb, conversation["id"], type="text", body="Ci sentiamo?").json()
    health = wasb.wait_until(lambda: (h := wasb.get("/healthz"))["channel"]["status"] == "unhealthy" and h,
                             20, "the channel to be unhealthy")
    assert health["status"] == "degraded" and "access token" in health["channel"]["reason"]
    assert health["channel"]["error_code"] == 190 and health["channel"]["since"]
    waiting = message(wasb, conversation["id"], row["id"])
    assert waiting["status"] == "queued" and waiting["wamid"] is None and waiting["error"]["code"] == 190
    settings = wasb.get("/api/v1/settings")
    assert settings["channel"]["status"] == "unhealthy" and settings["access_token"] == ""
    assert sent_to(sim) == []

    sim_token = sim_settings["access_token"]
    saved = wasb.api("PUT", "/api/v1/settings", json={"access_token": sim_token})
    assert saved.status_code == 200 and saved.json()["access_token"] != sim_token
    sent = wait_status(wasb, conversation["id"], row["id"], "read", timeout=60)
    assert sent["error"] is None and len(sent_to(sim)) == 1
    assert wasb.get("/healthz")["channel"]["status"] == "healthy"
    assert sim_token not in wasb.read_log()


def test_the_access_token_is_masked_when_read_back_and_kept_when_the_mask_is_sent_back(wasb):
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature"
    assert wasb.api("PUT", "/api/v1/settings", json={"access_token": token}).status_code == 200
    settings = wasb.get("/api/v1/settings")
    assert settings["access_token"] == "…ture" and "eyJ0" not in settings["access_token"]
    settings["send_rate_per_second"] = 250
    assert wasb.api("PUT", "/api/v1/settings", json=settings).status_code == 200
    again = wasb.get("/api/v1/settings")
    assert again["access_token"] == "…ture" and again["send_rate_per_second"] == 250
    assert wasb.api("GET", "/api/v1/settings", token=wasb.agent_token).status_code == 403
