"""Templates from Meta: every page, (name, language) identity, deletions kept, parameters described."""
from tests.support.jobs import run_job
from tests.templates.flows import meta_has_template, sync, template_id


def test_sync_reads_every_page_and_keeps_each_language_of_a_name_apart(wasb, sim):
    for n in range(230):  # the service asks for 100 per page: three pages
        meta_has_template(sim, f"avviso_{n:03}", body_text=f"Avviso {n}: {{{{1}}}}")
    it = meta_has_template(sim, "ticket_update", "it", "Il ticket {{1}} ({{2}}) è stato aggiornato")
    en = meta_has_template(sim, "ticket_update", "en_US", "Ticket {{1}} ({{2}}) was updated")
    summary = sync(wasb)
    assert summary["seen"] == 232 and len(summary["created"]) == 232 and summary["deleted"] == []
    listed = wasb.get("/api/v1/templates")
    assert len(listed) == 232
    assert {t["name"] for t in listed} >= {"avviso_000", "avviso_229"}
    versions = {t["language"]: t for t in listed if t["name"] == "ticket_update"}
    assert versions["it"]["meta_id"] == it["id"] and versions["en_US"]["meta_id"] == en["id"]
    assert versions["en_US"]["components"][0]["text"] == "Ticket {{1}} ({{2}}) was updated"
    assert versions["it"]["status"] == "APPROVED" and versions["it"]["category"] == "UTILITY"
    assert [p["key"] for p in versions["it"]["parameters"]["parameters"]] == ["1", "2"]
    assert versions["it"]["parameters"]["format"] == "POSITIONAL"

    again = sync(wasb)
    assert again["seen"] == 232 and again["created"] == [] and again["updated"] == [] and again["unchanged"] == 232
    assert len(wasb.get("/api/v1/templates?language=en_US")) == 1


def test_a_template_gone_from_meta_is_marked_deleted_and_can_no_longer_be_sent(wasb, sim):
    meta_has_template(sim, "promemoria")
    meta_has_template(sim, "saldi", body_text="Saldi per {{1}}")
    sync(wasb)
    sim.post("/_sim/reset").raise_for_status()  # Meta forgets every template…
    again = meta_has_template(sim, "promemoria")  # …but this one, created anew (a new Meta id)
    summary = sync(wasb)
    assert summary["deleted"] == ["saldi (it)"] and summary["updated"] == ["promemoria (it)"]
    assert wasb.get("/api/v1/templates?name=promemoria")[0]["meta_id"] == again["id"]
    assert [t["name"] for t in wasb.get("/api/v1/templates")] == ["promemoria"]
    (gone,) = [t for t in wasb.get("/api/v1/templates?include_deleted=true") if t["name"] == "saldi"]
    assert gone["deleted"] is True and gone["components"]  # kept: old messages still name it
    refused = wasb.api("POST", f"/api/v1/templates/{gone['id']}/send",
                       json={"to": {"phone": "+39 335 103 2246"}, "params": ["Anna"]})
    assert refused.status_code == 422 and "deleted" in refused.json()["detail"]

    meta_has_template(sim, "saldi", body_text="Saldi per {{1}}")
    assert sync(wasb)["restored"] == ["saldi (it)"]
    assert template_id(wasb, "saldi") == gone["id"]


def test_parameters_are_described_from_header_body_and_buttons(wasb, sim):
    meta_has_template(sim, "appuntamento", body_text="Ciao {{nome}}, l'appuntamento è il {{data}}",
                      header_text="Studio {{studio}}",
                      buttons=[{"type": "URL", "text": "Dettagli", "url": "https://example.com/a/{{1}}"},
                               {"type": "QUICK_REPLY", "text": "Confermo"}])
    sync(wasb)
    (template,) = wasb.get("/api/v1/templates?name=appuntamento")
    described = template["parameters"]
    assert described["format"] == "NAMED" and described["header_media"] is None
    assert [(p["key"], p["component"]) for p in described["parameters"]] == [
        ("header.studio", "header"), ("nome", "body"), ("data", "body"), ("button.0", "button")]
    assert described["parameters"][-1]["sub_type"] == "url"


def test_template_webhooks_keep_the_table_current_between_syncs(wasb, sim):
    meta_has_template(sim, "richiamo")
    sync(wasb)
    sim.post("/_sim/template-event", json={"name": "richiamo", "language": "it", "event": "PAUSED"}).raise_for_status()
    wasb.wait_idle()
    (template,) = wasb.get("/api/v1/templates?name=richiamo")
    assert template["status"] == "PAUSED"
    refused = wasb.api("POST", f"/api/v1/templates/{template['id']}/send",
                       json={"to": {"phone": "+39 335 103 2246"}, "params": ["Anna"]})
    assert refused.status_code == 422 and "PAUSED" in refused.json()["detail"]


def test_quality_and_category_webhooks_and_the_synced_quality_and_rejection_reason(wasb, sim):
    meta_has_template(sim, "offerta")
    meta_has_template(sim, "bozza", status="PENDING")
    sim.post("/_sim/template-event", json={"name": "offerta", "language": "it", "quality": "GREEN"}).raise_for_status()
    sim.post("/_sim/template-event", json={"name": "bozza", "language": "it", "event": "REJECTED",
                                           "reason": "INVALID_FORMAT"}).raise_for_status()
    sync(wasb)  # the list asked with its fields: quality score and rejection reason come with it
    templates = {t["name"]: t for t in wasb.get("/api/v1/templates")}
    assert (templates["offerta"]["quality"], templates["offerta"]["category"]) == ("GREEN", "UTILITY")
    assert (templates["bozza"]["status"], templates["bozza"]["rejected_reason"]) == ("REJECTED", "INVALID_FORMAT")

    sim.post("/_sim/template-event", json={"name": "offerta", "language": "it", "quality": "RED"}).raise_for_status()
    sim.post("/_sim/template-event", json={"name": "offerta", "language": "it", "category": "MARKETING",
                                           "impending": True}).raise_for_status()
    wasb.wait_idle()
    (offerta,) = wasb.get("/api/v1/templates?name=offerta")
    assert (offerta["quality"], offerta["category"]) == ("RED", "UTILITY")  # a notice: not changed yet
    sim.post("/_sim/template-event", json={"name": "offerta", "language": "it",
                                           "category": "MARKETING"}).raise_for_status()
    wasb.wait_idle()
    (offerta,) = wasb.get("/api/v1/templates?name=offerta")
    assert offerta["category"] == "MARKETING"


def test_the_scheduled_sync_templates_job_runs_the_same_sync_and_reports_it(wasb, sim):
    meta_has_template(sim, "promemoria")
    job = run_job(wasb, "syncTemplates")
    assert job["last_error"] is None and job["last_result"]["created"] == ["promemoria (it)"]
    assert [t["name"] for t in wasb.get("/api/v1/templates")] == ["promemoria"]
