"""A template's parameter sources (set by an admin): Send Template fills what they give for
the recipient and nothing else; the agent (or the caller) gives the rest."""
from __future__ import annotations

from tests.templates.flows import meta_has_template, new_person, send_template, sync, template_id

BODY = "Spring offer for {{1}}: {{2}}% off"


def set_sources(server, template, sources, token=None):
    return server.api("PUT", f"/api/v1/templates/{template}/parameter-sources", json=sources, token=token)


def test_send_template_fills_the_mapped_parameters_and_never_guesses_the_others(wasb, sim):
    meta_has_template(sim, "spring_offer", body_text=BODY)
    sync(wasb)
    template = template_id(wasb, "spring_offer")
    person = new_person(wasb, "Luca Verdi", mobile="+393331230001")
    unmapped = send_template(wasb, template, to={"person_id": person["id"]}, params={"2": "20"})
    assert unmapped.status_code == 422 and "missing: 1 (body {{1}})" in unmapped.json()["detail"]

    assert set_sources(wasb, template, {"1": "person.first_name"}, token=wasb.agent_token).status_code == 403
    saved = set_sources(wasb, template, {"1": "person.first_name"})
    assert saved.status_code == 200 and saved.json()["parameter_sources"] == {"1": "person.first_name"}
    sent = send_template(wasb, template, to={"person_id": person["id"]}, params={"2": "20"})
    assert sent.status_code == 201, sent.text
    assert sent.json()["body"] == "Spring offer for Luca: 20% off"
    still = send_template(wasb, template, to={"person_id": person["id"]})  # {{2}} has no source: still asked
    assert still.status_code == 422 and "missing: 2 (body {{2}})" in still.json()["detail"]
    explicit = send_template(wasb, template, to={"person_id": person["id"]}, params=["Signor Verdi", "15"])
    assert explicit.json()["body"] == "Spring offer for Signor Verdi: 15% off"  # what the caller gives wins

    assert set_sources(wasb, template, {}).json()["parameter_sources"] == {}  # back to "ask the agent"
