"""The rules around a campaign, through the real server and the simulator: who may send one,
what a draft refuses (422), unknown campaigns (404), moves its state does not allow (409);
a cancel that lets the in-flight messages go and skips the rest; a template Meta pauses while
the campaign sends holds the campaign, with a note naming the template."""
from __future__ import annotations

import contextlib
import csv
import io
import time

import pytest

from tests.support.polling import wait_until
from tests.support.wired import module_wired
from tests.templates.flows import meta_has_template, settings, sync, template_id

# The agent's token (tests.support.server.make_tokens: "agent-tool") calls as this user.
AGENT = "token:agent-tool"
PROMO = "promo_regole"  # Ciao {{1}}, lo sconto del {{2}}
SLOW = "promo_lenta"  # Ciao {{1}}: for the campaigns sent at one message a second


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "campaign-rules") as wired:
        meta_has_template(wired.sim, PROMO, category="MARKETING", body_text="Ciao {{1}}, lo sconto del {{2}}")
        meta_has_template(wired.sim, SLOW, category="MARKETING", body_text="Ciao {{1}}")
        meta_has_template(wired.sim, "promo_in_revisione", category="MARKETING", body_text="Ciao {{1}}",
                          status="PENDING")
        meta_has_template(wired.sim, "promo_rifiutata", category="MARKETING", body_text="Ciao {{1}}",
                          status="REJECTED")
        sync(wired)
        yield wired


@contextlib.contextmanager
def one_message_a_second(wired):
    """The number's send rate at its lowest, so a campaign of a few dozen takes long enough to
    act on while it sends; the default rate back afterwards."""
    before = wired.get("/api/v1/settings")["send_rate_per_second"]
    settings(wired, send_rate_per_second=1)
    try:
        yield
    finally:
        settings(wired, send_rate_per_second=before)


def numbers(first: int, count: int) -> list[str]:
    return [f"39348{first + i:07d}" for i in range(count)]


def audience(wa_ids: list[str]) -> str:
    return "phone,name\n" + "".join(f"+{n},Cliente{n[-4:]}\n" for n in wa_ids)


def new_campaign(wired, template: str, wa_ids: list[str], *, token: str | None = None, **body):
    body.setdefault("mapping", {"1": "csv.name"})
    return wired.api("POST", "/api/v1/campaigns", token=token, json={
        "name": f"Campagna {template}", "template_id": template_id(wired, template),
        "audience": {"csv": audience(wa_ids), "csv_name": "clienti.csv"}, **body})


def draft(wired, template: str, wa_ids: list[str], **body) -> dict:
    answer = new_campaign(wired, template, wa_ids, **body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def act(wired, campaign_id: int, verb: str):
    return wired.api("POST", f"/api/v1/campaigns/{campaign_id}/{verb}")


def campaign(wired, campaign_id: int) -> dict:
    return wired.get(f"/api/v1/campaigns/{campaign_id}")


def sent_to(wired, wa_ids: list[str]) -> list[dict]:
    wanted = set(wa_ids)
    return [m for m in wired.sim.get("/_sim/sent").json() if m["type"] == "template" and m["to"] in wanted]


def steady_count(wired, wa_ids: list[str]) -> int | None:
    """The templates at Meta for these numbers, once the count holds for a second."""
    before = len(sent_to(wired, wa_ids))
    time.sleep(1.0)
    after = len(sent_to(wired, wa_ids))
    return after if after == before else None


def answered(view: dict) -> dict | None:
    """The campaign once done and every message of it sent or failed at Meta (a funnel: `sent`
    counts the delivered and read ones too)."""
    p = view["progress"]
    return view if view["status"] == "done" and p["sent"] + p["failed"] == view["recipients"] else None


def report(wired, campaign_id: int) -> list[dict]:
    answer = wired.api("GET", f"/api/v1/campaigns/{campaign_id}/report.csv")
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


# --- who may -------------------------------------------------------------------------------

def test_an_agent_needs_to_be_named_a_campaign_sender(wired):
    token = wired.agent_token
    assert wired.api("GET", "/api/v1/campaigns", token=token).status_code == 403
    refused = new_campaign(wired, PROMO, numbers(100, 1), token=token, params={"2": "10%"})
    assert refused.status_code == 403 and "campaign_senders" in refused.text
    assert wired.api("GET", "/api/v1/campaigns").status_code == 200  # the admin may

    assert settings(wired, campaign_senders=["someone-else"])["campaign_senders"] == ["someone-else"]
    assert wired.api("GET", "/api/v1/campaigns", token=token).status_code == 403
    try:
        settings(wired, campaign_senders=["someone-else", AGENT])
        listed = wired.api("GET", "/api/v1/campaigns", token=token)
        assert listed.status_code == 200, listed.text
        made = new_campaign(wired, PROMO, numbers(100, 1), token=token, params={"2": "10%"})
        assert made.status_code == 201, made.text
        assert made.json()["created_by"] == AGENT
        assert wired.api("GET", f"/api/v1/campaigns/{made.json()['id']}", token=token).status_code == 200
    finally:
        settings(wired, campaign_senders=[])
    assert wired.api("GET", "/api/v1/campaigns", token=token).status_code == 403  # no longer


# --- what a draft refuses ------------------------------------------------------------------

@pytest.mark.parametrize(("template", "status"), [("promo_in_revisione", "PENDING"), ("promo_rifiutata", "REJECTED")])
def test_only_an_approved_template_makes_a_campaign(wired, template, status):
    refused = new_campaign(wired, template, numbers(200, 2))
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert template in detail and status in detail and "approved" in detail
    assert f"Campagna {template}" not in {c["name"] for c in wired.get("/api/v1/campaigns")}  # nothing kept


def test_a_mapping_to_a_column_the_file_lacks_is_refused_naming_it(wired):
    refused = new_campaign(wired, PROMO, numbers(300, 2), mapping={"1": "csv.nome"}, params={"2": "10%"})
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert "'nome'" in detail and "name" in detail  # the column asked for, and the file's columns


def test_a_csv_audience_refuses_crm_fields(wired):
    refused = new_campaign(wired, PROMO, numbers(300, 2), mapping={"1": "person.first_name"}, params={"2": "10%"})
    assert refused.status_code == 422 and "person.first_name" in refused.json()["detail"]


def test_a_parameter_left_unfilled_is_named(wired):
    refused = new_campaign(wired, PROMO, numbers(400, 2))  # {{2}} has no source and no fixed value
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert "missing" in detail and "2" in detail.split("missing", 1)[1]
    assert PROMO in detail


def test_an_empty_file_is_refused(wired):
    answer = wired.api("POST", "/api/v1/campaigns", json={
        "name": "Vuota", "template_id": template_id(wired, PROMO), "audience": {"csv": "\n\n", "csv_name": "x.csv"},
        "params": {"1": "tu", "2": "10%"}})
    assert answer.status_code == 422 and "empty" in answer.json()["detail"]


# --- unknown campaigns and moves a state does not allow -------------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("GET", ""), ("GET", "/recipients"), ("GET", "/report.csv"), ("POST", "/start"), ("POST", "/pause"),
    ("POST", "/resume"), ("POST", "/cancel")])
def test_an_unknown_campaign_is_404(wired, method, path):
    answer = wired.api(method, f"/api/v1/campaigns/987654{path}")
    assert answer.status_code == 404, answer.text


def test_a_draft_is_neither_paused_nor_resumed_and_starts_once(wired):
    wa_ids = numbers(500, 2)
    made = draft(wired, PROMO, wa_ids, params={"2": "10%"})
    for verb in ("pause", "resume"):
        refused = act(wired, made["id"], verb)
        assert refused.status_code == 409 and "draft" in refused.text, refused.text
    assert campaign(wired, made["id"])["status"] == "draft"
    assert not sent_to(wired, wa_ids)

    started = act(wired, made["id"], "start")
    assert started.status_code == 200 and started.json()["status"] == "running", started.text
    again = act(wired, made["id"], "start")
    assert again.status_code == 409, again.text
    wait_until(lambda: len(sent_to(wired, wa_ids)) == 2, timeout=60, what="the two messages at Meta")
    done = wait_until(lambda: (lambda c: c if c["status"] == "done" else None)(campaign(wired, made["id"])),
                      timeout=60, what="the campaign done")
    for verb in ("start", "pause", "resume", "cancel"):
        assert act(wired, made["id"], verb).status_code == 409, verb
    assert sorted(m["template"]["rendered"] for m in sent_to(wired, wa_ids)) == [
        f"Ciao Cliente{n[-4:]}, lo sconto del 10%" for n in sorted(wa_ids)]
    assert done["started_at"] and done["finished_at"]


def test_a_cancelled_draft_sends_nothing_and_cannot_start(wired):
    wa_ids = numbers(600, 3)
    made = draft(wired, PROMO, wa_ids, params={"2": "10%"})
    cancelled = act(wired, made["id"], "cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    assert cancelled.json()["progress"]["skipped"] == 3 and cancelled.json()["progress"]["pending"] == 0
    assert act(wired, made["id"], "start").status_code == 409
    assert act(wired, made["id"], "cancel").status_code == 409
    assert {r["state"] for r in report(wired, made["id"])} == {"skipped"}
    assert not sent_to(wired, wa_ids)


# --- cancel while sending ----------------------------------------------------------------------

def test_cancel_of_a_running_campaign_skips_whoever_was_not_handed_to_the_sender(wired):
    wa_ids = numbers(700, 30)
    made = draft(wired, SLOW, wa_ids)
    with one_message_a_second(wired):
        assert act(wired, made["id"], "start").status_code == 200
        wait_until(lambda: len(sent_to(wired, wa_ids)) >= 2, timeout=60, what="the first messages at Meta")
        cancelled = act(wired, made["id"], "cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
        assert cancelled.json()["progress"]["pending"] == 0

        queued = wired.get(f"/api/v1/campaigns/{made['id']}/recipients?state=queued&limit=1000")
        skipped = wired.get(f"/api/v1/campaigns/{made['id']}/recipients?state=skipped&limit=1000")
        assert len(queued) + len(skipped) == 30
        assert len(queued) >= 2 and skipped, (len(queued), len(skipped))
        assert all(r["reason"] == "the campaign was cancelled" and r["message_id"] is None for r in skipped)

        # The in-flight ones go; nothing more after them.
        wait_until(lambda: len(sent_to(wired, wa_ids)) >= len(queued), timeout=60, what="the in-flight messages")
        settled = wait_until(lambda: steady_count(wired, wa_ids), timeout=60, what="the sender done")
    assert settled == len(queued)
    assert {m["to"] for m in sent_to(wired, wa_ids)} == {r["phone"].lstrip("+") for r in queued}
    assert not {m["to"] for m in sent_to(wired, wa_ids)} & {r["phone"].lstrip("+") for r in skipped}

    view = campaign(wired, made["id"])
    assert view["status"] == "cancelled" and view["finished_at"]
    assert view["progress"]["skipped"] == len(skipped)
    rows = report(wired, made["id"])
    assert len(rows) == 30
    skipped_rows = [r for r in rows if r["state"] == "skipped"]
    assert len(skipped_rows) == len(skipped)
    assert all(r["reason"] == "the campaign was cancelled" and r["status"] == "" for r in skipped_rows)
    assert all(r["status"] in ("queued", "sending", "sent", "delivered", "read") for r in rows if r["state"] == "queued")
    assert act(wired, made["id"], "resume").status_code == 409


# --- the template paused at Meta ------------------------------------------------------------

def test_a_template_meta_pauses_holds_the_campaign_with_a_note(wired):
    wa_ids = numbers(800, 30)
    made = draft(wired, SLOW, wa_ids)
    with one_message_a_second(wired):
        assert act(wired, made["id"], "start").status_code == 200
        wait_until(lambda: len(sent_to(wired, wa_ids)) >= 2, timeout=60, what="the first messages at Meta")
        event = wired.sim.post("/_sim/template-event", json={"name": SLOW, "language": "it", "event": "PAUSED",
                                                             "reason": "LOW_QUALITY"})
        assert event.status_code == 200 and event.json()["webhook_status"] == 200, event.text
        held = wait_until(lambda: (lambda c: c if c["status"] == "paused" else None)(campaign(wired, made["id"])),
                          timeout=60, what="the campaign paused by itself")
        assert SLOW in held["note"] and "PAUSED" in held["note"], held["note"]
        assert held["progress"]["pending"] > 0
        # Nothing more is handed to the sender while the template is paused.
        wait_until(lambda: steady_count(wired, wa_ids), timeout=60, what="the sender done with what it had")
        pending = campaign(wired, made["id"])["progress"]["pending"]
        time.sleep(1.5)
        assert campaign(wired, made["id"])["progress"]["pending"] == pending
        assert campaign(wired, made["id"])["status"] == "paused"

        # Approved again, the campaign resumes and its note is gone.
        event = wired.sim.post("/_sim/template-event", json={"name": SLOW, "language": "it", "event": "APPROVED"})
        assert event.status_code == 200 and event.json()["webhook_status"] == 200, event.text
        wait_until(lambda: wired.get(f"/api/v1/templates/{template_id(wired, SLOW)}")["status"] == "APPROVED",
                   timeout=60, what="the template approved again")
        resumed = act(wired, made["id"], "resume")
        assert resumed.status_code == 200 and resumed.json()["status"] == "running", resumed.text
        assert resumed.json()["note"] is None
        wait_until(lambda: campaign(wired, made["id"])["progress"]["pending"] == 0, timeout=120,
                   what="every recipient handed to the sender")
    done = wait_until(lambda: answered(campaign(wired, made["id"])), timeout=60, what="every message answered")
    assert done["status"] == "done" and done["note"] is None
    # Everyone got the message once, or failed at Meta while the template was paused.
    to = [m["to"] for m in sent_to(wired, wa_ids)]
    assert len(to) == len(set(to))
    failed = [r for r in report(wired, made["id"]) if r["status"] == "failed"]
    assert all("132015" in r["reason"] for r in failed), failed  # the in-flight ones Meta refused while paused
    assert set(to) | {r["phone"].lstrip("+") for r in failed} == set(wa_ids)
