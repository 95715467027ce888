"""Error answers that must hold for every route (the `Allow` of a 405, how a refused parameter
is said) and how they are documented in the OpenAPI document, which must say what the API does."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Match

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path.

    Starlette's 405 names the methods of the first route whose path matched; a path served by
    several routes (`GET` and `POST /api/v1/people`) would advertise only one of them. Each
    method is tried against the app's routes as a request of that method would be routed."""
    allowed = []
    for method in METHODS:
        scope = {"type": "http", "path": request.scope["path"], "root_path": request.scope.get("root_path", ""),
                 "method": method, "headers": []}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def with_full_allow(request: Request, exc: HTTPException) -> HTTPException:
    if exc.status_code != 405:
        return exc
    methods = allowed_methods(request)
    if not methods:
        return exc
    return HTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": ", ".join(methods)})


def validation_message(exc: RequestValidationError) -> str:
    """One line a person can read: `path conversation_id: Input should be less than or equal to …`."""
    parts = []
    for error in exc.errors():
        where = " ".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


class Problem(BaseModel):
    """What every refusal answers: `detail` says why (some add fields, e.g. a 409's `existing`)."""
    detail: str


REASONS = {
    400: "The body could not be read (not UTF-8, or broken multipart).",
    401: "No valid API token (Authorization: Bearer …) and no logged-in session.",
    403: "The token or user is not an admin.",
    404: "No such record (or no route: an id in the wrong format).",
    409: "The record's state does not allow it now (`detail` says which).",
    410: "The record is known but its file is gone.",
    413: "The file is too large.",
    502: "The CRM or WhatsApp answered with an error.",
    503: "The CRM cannot be reached or refuses the service's credentials, or a setting the answer needs is missing (e.g. WASB_PUBLIC_URL for document links).",
}


def errors(*codes: int) -> dict[int | str, dict]:
    """`responses=` for a route or router: the refusals it can answer, documented in the OpenAPI."""
    return {code: {"model": Problem, "description": REASONS[code]} for code in codes}


def links(**targets: tuple[str, str, dict[str, str]]) -> dict:
    """OpenAPI links from a response to the operations that take what it returns (e.g. the id
    of a created record), so that tools such as schemathesis follow them:
    `links(GetPerson=("/api/v1/people/{person_id}", "get", {"person_id": "$response.body#/id"}))`."""
    def ref(path: str, method: str) -> str:
        return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method

    return {"links": {name: {"operationRef": ref(path, method), "parameters": parameters}
                      for name, (path, method, parameters) in targets.items()}}


def document_refusals(openapi: dict) -> dict:
    """FastAPI documents every 422 as a list of validation errors, but a route's own refusal
    (`HTTPException(422, "reason")`) sends `detail` as one string: document both shapes."""
    schema = openapi.get("components", {}).get("schemas", {}).get("HTTPValidationError")
    if schema:
        listed = schema["properties"]["detail"]
        schema["properties"]["detail"] = {"title": "Detail", "anyOf": [
            {"type": "string", "description": "The route's reason, in words."},
            {key: value for key, value in listed.items() if key != "title"}]}
        schema["required"] = ["detail"]
    return openapi


def install_openapi(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = document_refusals(build())
        return app.openapi_schema

    app.openapi = openapi
