"""What the OpenAPI document promises about errors holds: a route's own 422 has the documented
shape, 404s are documented where they happen, a 405 lists every method of its path, and
`/api/v1/templates/sync` is not mistaken for a template id (schemathesis found each)."""
from __future__ import annotations

import httpx
import jsonschema_rs
import pytest

from tests.support.databases import create_database, drop_database
from tests.support.server import WasbServer


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("contract")
    url = create_database(workdir)
    # Document links need the public address (else 503 before the document is looked up).
    server = WasbServer(url, workdir, extra_env={"WASB_PUBLIC_URL": "https://wasb.example"}).start()
    yield server
    server.stop()
    drop_database(url)


@pytest.fixture(scope="module")
def spec(srv) -> dict:
    return httpx.get(srv.url + "/openapi.json").json()


def _documented(spec: dict, path: str, method: str, status: int) -> dict:
    responses = spec["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}: {sorted(responses)}"
    return responses[str(status)]["content"]["application/json"]["schema"]


def _assert_conforms(spec: dict, path: str, method: str, response: httpx.Response) -> None:
    schema = {**_documented(spec, path, method, response.status_code), "components": spec["components"]}
    jsonschema_rs.validator_for(schema).validate(response.json())


def test_a_routes_own_422_has_the_documented_shape(srv, spec):
    refused = srv.api("GET", "/api/v1/people", params={"phone": "not a number"})
    assert refused.status_code == 422 and isinstance(refused.json()["detail"], str)
    _assert_conforms(spec, "/api/v1/people", "get", refused)


def test_a_validation_422_still_has_the_documented_shape(srv, spec):
    refused = srv.api("GET", "/api/v1/conversations/0")
    assert refused.status_code == 422 and isinstance(refused.json()["detail"], list)
    _assert_conforms(spec, "/api/v1/conversations/{conversation_id}", "get", refused)


@pytest.mark.parametrize("path, method, url", [
    ("/api/v1/conversations/{conversation_id}", "get", "/api/v1/conversations/7"),
    ("/api/v1/people/{person_id}", "get", "/api/v1/people/7"),
    ("/api/v1/tickets/{ticket_id}", "get", "/api/v1/tickets/7"),
    ("/api/v1/templates/{template_id}", "get", "/api/v1/templates/7"),
    ("/api/v1/jobs/{name}", "get", "/api/v1/jobs/noSuchJob"),
    ("/api/v1/inbound-events/{event_id}/retry", "post", "/api/v1/inbound-events/7/retry"),
    ("/api/v1/documents/{document_id}/links", "post", "/api/v1/documents/7/links"),
])
def test_not_found_is_documented_where_it_happens(srv, spec, path, method, url):
    missing = srv.api(method.upper(), url)
    assert missing.status_code == 404
    _assert_conforms(spec, path, method, missing)


@pytest.mark.parametrize("method, url, allowed", [
    ("OPTIONS", "/api/v1/people", {"GET", "POST"}),
    ("DELETE", "/api/v1/people", {"GET", "POST"}),
    ("OPTIONS", "/api/v1/settings", {"GET", "PUT"}),
    ("PATCH", "/api/v1/jobs/syncTemplates", {"GET", "PUT"}),
    ("GET", "/api/v1/templates/sync", {"POST"}),
    ("PUT", "/ui/people/1", {"GET", "POST"}),
])
def test_a_405_lists_every_method_of_the_path(srv, method, url, allowed):
    response = srv.api(method, url)
    assert response.status_code == 405, response.text
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def test_every_operation_with_an_id_documents_its_404(spec):
    for path, operations in spec["paths"].items():
        if "{" not in path:
            continue
        for method, operation in operations.items():
            assert "404" in operation["responses"], f"{method.upper()} {path}"


def test_the_document_declares_the_bearer_token_and_every_api_route_asks_for_it(srv, spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "wasb_…",
        "description": "An API token: `wasb token create NAME`, or Admin → Users & tokens in the UI."}
    api = [(path, method, operation) for path, item in spec["paths"].items() for method, operation in item.items()
           if path.startswith("/api/v1/")]
    assert len(api) > 20
    unguarded = [f"{method.upper()} {path}" for path, method, operation in api
                 if operation.get("security") != [{"bearerAuth": []}]]
    assert unguarded == []
    assert "security" not in spec["paths"]["/healthz"]["get"]  # a load balancer asks without a token
    # What the document promises: the token in that header opens a route; no token, 401.
    assert srv.api("GET", "/api/v1/settings").status_code == 200
    assert httpx.get(srv.url + "/api/v1/settings", timeout=30).status_code == 401
