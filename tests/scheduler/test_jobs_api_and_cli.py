"""The jobs panel through a running server's API, and `wasb jobs` from a terminal."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.jobs import run_job, stop_job
from tests.support.inprocess import InProcessService
from tests.support.server import run_cli

DEFAULTS = {"syncCustomers": "every 600 s", "syncMessages": "every 300 s", "syncTemplates": "every 3600 s",
            "closeConversations": "every 300 s", "analytics": "every 300 s"}


def test_jobs_are_listed_with_their_default_schedules(server):
    jobs = server.get("/api/v1/jobs")
    assert {j["name"]: j["schedule"]["text"] for j in jobs} == DEFAULTS
    for job in jobs:
        assert (job["active"], job["status"], job["attempts_text"], job["queued"]) == (True, "idle", "0 / 5", False)
        assert job["next_run_at"] and job["last_run_at"] is None


def test_jobs_are_for_admins_only(server):
    assert server.api("GET", "/api/v1/jobs", token=server.agent_token).status_code == 403
    assert server.api("POST", "/api/v1/jobs/syncMessages/run", token=server.agent_token).status_code == 403
    assert server.api("GET", "/api/v1/jobs", token="not-a-token").status_code == 401


def test_an_admin_sets_active_schedule_and_max_attempts(server):
    response = server.api("PUT", "/api/v1/jobs/syncCustomers",
                          json={"active": False, "schedule": "at 17:45", "max_attempts": 3})
    assert response.status_code == 200, response.text
    job = server.get("/api/v1/jobs/syncCustomers")
    assert (job["active"], job["schedule"]["text"], job["attempts_text"]) == (False, "at 17:45", "0 / 3")
    job = server.api("PUT", "/api/v1/jobs/syncCustomers", json={"schedule": {"every_seconds": 120}}).json()
    assert job["schedule"] == {"kind": "every", "every_seconds": 120, "at": None, "text": "every 120 s"}


@pytest.mark.parametrize("body, reason", [
    ({"schedule": "at 25:00"}, "HH:MM"), ({"schedule": "every 1 s"}, "every N seconds"),
    ({"max_attempts": 0}, "max attempts"), ({"active": "yes"}, "true or false"), ({"status": "idle"}, "not editable"),
])
def test_bad_job_settings_are_refused_with_a_reason(server, body, reason):
    response = server.api("PUT", "/api/v1/jobs/syncCustomers", json=body)
    assert response.status_code == 422 and reason in response.text
    assert server.get("/api/v1/jobs/syncCustomers")["schedule"]["text"] == "every 600 s"


def test_unknown_jobs_are_404(server):
    assert server.api("POST", "/api/v1/jobs/syncEverything/run").status_code == 404
    assert server.api("PUT", "/api/v1/jobs/syncEverything", json={"active": False}).status_code == 404


def test_a_run_asked_through_the_api_is_recorded_with_its_result(server):
    job = run_job(server, "syncMessages")
    assert (job["status"], job["attempts_text"], job["last_error"]) == ("idle", "0 / 5", None)
    assert job["last_duration_seconds"] >= 0
    assert job["last_result"]["send_queued_outbound"] == {"sent": 0, "failed": 0, "waiting": 0}
    # syncTemplates against Meta's stand-in: tests/templates/test_template_sync.py


def test_two_concurrent_run_requests_queue_one_run(database_url, tmp_path):
    # No worker in this server: the queued run waits, so the second request always
    # finds it (with a worker, a fast run could end between the two requests).
    srv = InProcessService(database_url, tmp_path, worker=False).start()
    try:
        with ThreadPoolExecutor(2) as pool:
            codes = sorted(pool.map(lambda _: srv.api("POST", "/api/v1/jobs/syncCustomers/run").status_code, range(2)))
        assert codes == [202, 409]
        assert srv.get("/api/v1/jobs/syncCustomers")["queued"] is True
        again = srv.api("POST", "/api/v1/jobs/syncCustomers/run")
        assert again.status_code == 409 and "already queued" in again.text
        cli = run_cli(srv.env, "jobs", "run", "syncCustomers")
        assert cli.returncode != 0 and "already running or queued" in cli.stderr
    finally:
        srv.stop()


def test_a_stopped_job_is_refused_until_an_admin_resets_it(server, database_url):
    stop_job(database_url, "syncCustomers")
    job = server.get("/api/v1/jobs/syncCustomers")
    assert (job["status"], job["attempts_text"]) == ("stopped", "5 / 5")
    refused = server.api("POST", "/api/v1/jobs/syncCustomers/run")
    assert refused.status_code == 409 and "reset" in refused.text
    reset = server.api("POST", "/api/v1/jobs/syncCustomers/reset")
    assert reset.status_code == 200 and (reset.json()["status"], reset.json()["attempts_text"]) == ("idle", "0 / 5")
    assert run_job(server, "syncCustomers")["status"] == "idle"


def test_cli_lists_runs_and_resets_jobs(server, database_url):
    listed = run_cli(server.env, "jobs", "list")
    assert listed.returncode == 0, listed.stderr
    for name, schedule in DEFAULTS.items():
        assert any(line.startswith(name) and schedule in line and "0 / 5" in line for line in listed.stdout.splitlines())

    ran = run_cli(server.env, "jobs", "run", "closeConversations")
    assert ran.returncode == 0, ran.stderr
    assert "closeConversations done in" in ran.stdout and '"closed": 0' in ran.stdout
    assert server.get("/api/v1/jobs/closeConversations")["last_run_at"] is not None

    unknown = run_cli(server.env, "jobs", "run", "syncEverything")
    assert unknown.returncode != 0 and "no scheduled job" in unknown.stderr

    stop_job(database_url, "syncMessages")
    refused = run_cli(server.env, "jobs", "run", "syncMessages")
    assert refused.returncode != 0 and "wasb jobs reset syncMessages" in refused.stderr
    reset = run_cli(server.env, "jobs", "reset", "syncMessages")
    assert reset.returncode == 0 and "idle, attempts 0 / 5" in reset.stdout
    assert server.get("/api/v1/jobs/syncMessages")["status"] == "idle"
