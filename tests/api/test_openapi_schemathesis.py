"""The OpenAPI document is the API: schemathesis checks every documented operation of a real
`wasb serve` (coverage, fuzzing and examples per operation, then stateful sequences), wired to
the WhatsApp simulator so that sync and sends reach a Graph API, with an admin API token.

Checks: no 5xx, every status, content type, header and body as documented, 405 with a
complete `Allow` for undocumented methods, invalid input refused, valid input accepted.
Deterministic (fixed seed, derandomized) and bounded: about a minute or two per backend.

Not tested here, because they are not in the OpenAPI document: the webhook (`/webhooks/whatsapp`,
Meta's signed callbacks: tests/inbound) and the UI's pages and logout (they would end the
session under test; tests/ui and tests/api/test_input_bounds.py cover their parameters).
"""
from __future__ import annotations

import time

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.inbound.test_inbound_to_crm import text_message
from tests.support.databases import create_database, drop_database
from tests.support.server import WasbServer
from tests.support.simulator_fixtures import sim_settings, simulator_url, webhook_recorder  # noqa: F401 (fixtures)

# Examples per operation in the fuzzing phase (coverage adds its own boundary cases) and
# stateful runs: sized so that the whole module stays near two minutes on a 2-core machine.
MAX_EXAMPLES = 30
SEED = 20261130
# Not positive_data_acceptance: what a JSON Schema cannot say is checked by the routes and refused
# with a 422 that says why (a phone number must be one, a setting must exist, `from` is a date).
# Not ignored_auth: the token is checked by the routes, not declared as an OpenAPI security scheme
# (tests/api/test_settings_api.py and tests/ui/test_auth.py cover who may call what).
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "negative_data_rejection",
          "unsupported_method", "allow_header_conformance", "missing_required_header",
          "use_after_free", "ensure_resource_availability")
CONFIG = f"""
seed = {SEED}
workers = 1

[generation]
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"

[checks]
enabled = false
{chr(10).join(f"{name}.enabled = true" for name in CHECKS)}

[phases]
examples.enabled = true
coverage.enabled = true
fuzzing.enabled = true
stateful.enabled = true
stateful.max-steps = 8
"""


@pytest.fixture(scope="module")
def api_server(tmp_path_factory, simulator_url, sim_settings):  # noqa: F811
    workdir = tmp_path_factory.mktemp("schemathesis")
    url = create_database(workdir)
    env = {"WASB_GRAPH_URL": simulator_url, "WASB_GRAPH_VERSION": sim_settings["graph_version"],
           "WASB_APP_SECRET": sim_settings["app_secret"], "WASB_ACCESS_TOKEN": sim_settings["access_token"],
           "WASB_PHONE_NUMBER_ID": sim_settings["phone_number_id"], "WASB_WABA_ID": sim_settings["waba_id"],
           # As in production: document links need the public address (a 503 without it).
           "WASB_PUBLIC_URL": "https://wasb.example"}
    server = WasbServer(url, workdir, extra_env=env).start()
    httpx.post(simulator_url + "/_sim/reset").raise_for_status()
    httpx.post(simulator_url + "/_sim/config", json={
        "webhook_url": server.url + "/webhooks/whatsapp", "sent_delay": 0, "delivered_delay": 0.01,
        "read_delay": 0.01}).raise_for_status()
    _seed(server, sim_settings["app_secret"])
    yield server
    server.stop()
    drop_database(url)


def _seed(server: WasbServer, app_secret: str) -> None:
    """Records for the generated calls to find: a customer's conversation (and its lead and
    ticket), a person, a document and the synchronized templates."""
    now = str(int(time.time()))
    assert server.post_webhook(text_message("393351032246", "buongiorno", "wamid.seed1", timestamp=now),
                               secret=app_secret).status_code == 200
    server.wait_idle()
    assert server.api("POST", "/api/v1/people", json={"kind": "contact", "name": "Maria Bianchi",
                                                      "mobile": "+393479876543"}).status_code == 201
    assert server.api("POST", "/api/v1/documents",
                      files={"file": ("listino.pdf", b"%PDF-1.4 listino", "application/pdf")}).status_code == 201
    assert server.api("POST", "/api/v1/templates/sync").status_code == 200


@pytest.mark.timeout(600)
def test_the_api_answers_as_its_openapi_document_says(api_server, tmp_path):
    """`st run`, the schemathesis CLI, as an operator would run it against the real server."""
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    st = str(Path(sys.executable).with_name("st"))
    run = subprocess.run(
        [st, "--config-file", str(tmp_path / "schemathesis.toml"), "--no-color", "run", api_server.url + "/openapi.json",
         "--header", f"Authorization: Bearer {api_server.admin_token}", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    report = run.stdout[-25000:] + run.stderr[-3000:]
    print(run.stdout[-4000:])  # the summary: operations, phases, checks (pytest -rP shows it)
    assert run.returncode == 0, report
    assert "No issues found" in run.stdout or " passed" in run.stdout, report
