"""Steps the template, action and process tests share."""
from __future__ import annotations


def meta_has_template(sim, name, language="it", body_text="Buongiorno {{1}}", status="APPROVED", **extra):
    answer = sim.post("/_sim/templates", json={"name": name, "language": language, "category": "UTILITY",
                                               "status": status, "body_text": body_text, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()


def sync(server):
    answer = server.api("POST", "/api/v1/templates/sync")
    assert answer.status_code == 200, answer.text
    return answer.json()


def template_id(server, name, language="it"):
    (found,) = [t for t in server.get(f"/api/v1/templates?name={name}&include_deleted=true")
                if t["language"] == language]
    return found["id"]


def send_template(server, template, **body):
    return server.api("POST", f"/api/v1/templates/{template}/send", json=body)


def new_person(server, name, mobile=None, kind="contact", **fields):
    answer = server.api("POST", "/api/v1/people", json={"kind": kind, "name": name, "mobile": mobile, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()


def settings(server, **changes):
    answer = server.api("PUT", "/api/v1/settings", json=changes)
    assert answer.status_code == 200, answer.text
    return answer.json()
