"""A campaign of 2,000 recipients through the real server and the simulator: 10 % opted out
and 5 % invalid numbers left out and counted, the rest sent under the number's send rate,
paused and resumed, while an agent's reply still goes out at once; replies marked with the
campaign; the report lists everyone."""
from __future__ import annotations

import csv
import io
import time

import pytest
from sqlalchemy import insert

from tests.support.polling import wait_until
from tests.support.wired import module_wired
from tests.templates.flows import meta_has_template, sync, template_id
from wasb.contacts.tables import WaContact
from wasb.settings.service import AdminSettings
from wasb.store.engine import open_database

TOTAL, OPTED_OUT, INVALID, OFF_WHATSAPP = 2000, 200, 100, 10
AGENT_CUSTOMER = "393470000001"  # not in the campaign: a customer an agent is talking to


def usable(i: int) -> bool:
    return i % 20 != 19  # every 20th line of the file holds an unusable number


USABLE = [i for i in range(TOTAL) if usable(i)]
OPTED = USABLE[:OPTED_OUT]  # customers who opted out earlier
OFF = USABLE[OPTED_OUT:OPTED_OUT + OFF_WHATSAPP]  # numbers not on WhatsApp


def number(i: int) -> str:
    return f"39347{1000000 + i:07d}"


def audience_csv() -> str:
    """2,000 lines: every 20th an unusable number, the first 200 usable ones opted out."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["phone", "name"])
    for i in range(TOTAL):
        phone = "+" + number(i) if usable(i) else ["abc", "12", "+39 not a number", ""][i // 20 % 4]
        writer.writerow([phone, f"Cliente{i}"])
    return out.getvalue()


def opt_out_first_numbers(database_url: str) -> None:
    """Customers who wrote STOP earlier (the keyword path has tests of its own), and one now."""
    db = open_database(database_url)
    try:
        with db.sessions() as session, session.begin():
            session.execute(insert(WaContact), [
                {"wa_id": number(i), "phone_e164": "+" + number(i), "marketing_opted_out": True,
                 "opt_source": "keyword"} for i in OPTED[1:]])
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "campaigns") as wired:
        wired.sim.post("/_sim/config", json={"batch_window": 0.2}).raise_for_status()  # statuses in batches, as Meta
        meta_has_template(wired.sim, "promo_inverno", category="MARKETING",
                          body_text="Ciao {{1}}, per te lo sconto del {{2}}")
        sync(wired)
        opt_out_first_numbers(wired.database_url)
        wired.customer_writes(number(OPTED[0]), "Cliente0", "STOP")  # the real keyword path
        for i in OFF:  # Meta answers 131026 for these
            wired.sim.post("/_sim/customers", json={"wa_id": number(i), "name": f"Cliente{i}",
                                                    "on_whatsapp": False}).raise_for_status()
        yield wired


def _templates_sent(wired) -> list[dict]:
    return [m for m in wired.sim.get("/_sim/sent").json() if m["type"] == "template"]


def _campaign(wired, campaign_id: int) -> dict:
    return wired.get(f"/api/v1/campaigns/{campaign_id}")


def test_a_campaign_of_2000_is_counted_sent_paused_resumed_and_reported(wired):
    started = time.monotonic()
    answer = wired.api("POST", "/api/v1/campaigns", json={
        "name": "Saldi d'inverno", "template_id": template_id(wired, "promo_inverno"),
        "audience": {"csv": audience_csv(), "csv_name": "clienti.csv"},
        "mapping": {"1": "csv.name"}, "params": {"2": "20%"}})
    prepared_in = time.monotonic() - started
    assert answer.status_code == 201, answer.text
    draft = answer.json()
    sendable = TOTAL - OPTED_OUT - INVALID
    assert draft["status"] == "draft"
    assert draft["recipients"] == sendable
    assert draft["excluded"] == {"opted_out": OPTED_OUT, "invalid": INVALID, "duplicates": 0}
    assert len(draft["excluded_list"]) == OPTED_OUT + INVALID
    invalid_rows = [e for e in draft["excluded_list"] if e["reason"].startswith("invalid")]
    assert {e["row"] for e in invalid_rows} == {i + 2 for i in range(TOTAL) if not usable(i)}  # CSV lines
    assert all("opted out" in e["reason"] for e in draft["excluded_list"] if e not in invalid_rows)
    # Each recipient's own message, and the cost of the sendable ones at Italy's marketing rate.
    assert draft["preview"][0]["text"] == f"Ciao Cliente{OFF[0]}, per te lo sconto del 20%"
    price = AdminSettings().country_prices["IT"]["marketing"]
    assert draft["estimated_cost"] == {"amount": pytest.approx(sendable * price, abs=0.01), "currency": "USD"}
    assert not _templates_sent(wired)  # a draft sends nothing
    print(f"2,000 recipients prepared in {prepared_in:.2f} s")

    # The agent's customer wrote: their window is open for a free-text reply.
    agent_conversation = wired.customer_writes(AGENT_CUSTOMER, "Giulia", "Avete la taglia M?")

    campaign_id = draft["id"]
    assert wired.api("POST", f"/api/v1/campaigns/{campaign_id}/start").status_code == 200
    wait_until(lambda: len(_templates_sent(wired)) >= 200, timeout=60, what="200 campaign messages at Meta")

    # An agent answers while the campaign sends: the reply is not queued behind it.
    asked = time.monotonic()
    reply = wired.api("POST", f"/api/v1/conversations/{agent_conversation['id']}/messages",
                      json={"type": "text", "body": "Sì, la M è disponibile"})
    assert reply.status_code == 201, reply.text
    wait_until(lambda: any(m.get("text") == "Sì, la M è disponibile"
                           for m in wired.sim.get("/_sim/sent", params={"to": AGENT_CUSTOMER}).json()),
               timeout=10, what="the agent's reply at Meta")
    waited = time.monotonic() - asked
    progress = _campaign(wired, campaign_id)["progress"]
    assert progress["pending"] > 0, "the campaign was still sending when the agent replied"
    print(f"the agent's reply reached Meta {waited:.2f} s after it was queued")
    assert waited < 2.0, f"the agent's reply took {waited:.2f} s behind the campaign"

    paused = wired.api("POST", f"/api/v1/campaigns/{campaign_id}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text
    assert wired.api("POST", f"/api/v1/campaigns/{campaign_id}/pause").status_code == 409
    # What was already with the sender goes; then nothing more while paused.
    settled = wait_until(lambda: _steady(wired), timeout=30, what="the sender done with what it had")
    time.sleep(1.0)
    assert len(_templates_sent(wired)) == settled
    held = _campaign(wired, campaign_id)["progress"]
    assert held["pending"] > 0 and settled < sendable

    resumed = wired.api("POST", f"/api/v1/campaigns/{campaign_id}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "running", resumed.text
    done = wait_until(lambda: _finished(wired, campaign_id), timeout=120, what="every campaign message answered")
    progress = done["progress"]
    assert done["status"] == "done" and progress["pending"] == 0
    assert progress["failed"] == OFF_WHATSAPP
    assert progress["sent"] == sendable - OFF_WHATSAPP  # a funnel: the delivered and read ones too
    assert progress["read"] <= progress["delivered"] <= progress["sent"]
    assert any("131026" in f["reason"] and f["count"] == OFF_WHATSAPP for f in progress["failures"]), progress

    # Meta got one message per sendable number, none for the left-out ones, each with its name.
    sent = _templates_sent(wired)
    to = [m["to"] for m in sent]
    assert len(to) == len(set(to)) == sendable - OFF_WHATSAPP
    expected = {number(i) for i in USABLE[OPTED_OUT + OFF_WHATSAPP:]}
    assert set(to) == expected
    by_number = {m["to"]: m for m in sent}
    assert by_number[number(1234)]["template"]["rendered"] == "Ciao Cliente1234, per te lo sconto del 20%"

    # A customer answers: the reply lands in their conversation, marked with the campaign.
    conversation = wired.customer_writes(number(1234), "Cliente1234", "Mi interessa!")
    assert conversation["campaign_id"] == campaign_id
    assert _campaign(wired, campaign_id)["progress"]["replied"] == 1
    wired.customer_writes(number(1234), "Cliente1234", "Quando finisce?")  # one reply per customer counts
    assert _campaign(wired, campaign_id)["progress"]["replied"] == 1

    # The simulator's customers read what they get: once they all have, the figures stay still.
    wait_until(lambda: _campaign(wired, campaign_id)["progress"]["read"] == sendable - OFF_WHATSAPP, timeout=60,
               what="every campaign message read")
    report = wired.api("GET", f"/api/v1/campaigns/{campaign_id}/report.csv")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert len(rows) == TOTAL
    states = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    assert states == {"excluded": OPTED_OUT + INVALID, "queued": sendable}
    line = next(r for r in rows if r["phone"] == "+" + number(1234))
    assert line["status"] == "read" and line["replied_at"]
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == OFF_WHATSAPP and all("131026" in r["reason"] for r in failed)

    # The analytics dashboard's campaign results: the same funnel, the delivered ones priced.
    (result,) = [c for c in wired.get("/api/v1/analytics")["campaigns"] if c["id"] == campaign_id]
    final = _campaign(wired, campaign_id)["progress"]
    assert {k: result[k] for k in ("sent", "delivered", "read", "replied", "failed")} == \
        {k: final[k] for k in ("sent", "delivered", "read", "replied", "failed")}
    delivered_lines = sum(1 for r in rows if r["status"] in ("delivered", "read"))
    assert result["delivered"] == delivered_lines
    assert result["cost"] == pytest.approx(delivered_lines * price, abs=0.001)


def _steady(wired):
    """The count of templates at Meta once it stops growing for half a second."""
    before = len(_templates_sent(wired))
    time.sleep(0.5)
    after = len(_templates_sent(wired))
    return after if after == before else None


def _finished(wired, campaign_id):
    campaign = _campaign(wired, campaign_id)
    progress = campaign["progress"]
    answered = progress["sent"] + progress["failed"]
    return campaign if campaign["status"] == "done" and answered == campaign["recipients"] else None
