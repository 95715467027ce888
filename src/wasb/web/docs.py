"""/docs: Swagger UI from the files the fastapi-offline package ships (Swagger UI 5, which
reads OpenAPI 3.1), so it works where no CDN is
reachable and under a Content-Security-Policy without inline scripts (FastAPI's own page
loads its assets from a CDN and starts Swagger UI with an inline script)."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
import fastapi_offline

START_SCRIPT = Path(__file__).resolve().parent / "static" / "docs.js"
# Only the package's static files are used: its own page starts Swagger UI inline.
SWAGGER_UI = Path(fastapi_offline.__file__).resolve().parent / "static"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>WASB API</title>
<link rel="icon" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/docs/start.js")
def start_script() -> FileResponse:
    return FileResponse(START_SCRIPT, media_type="text/javascript")


def install_docs(app: FastAPI) -> None:
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_UI), name="docs-assets")
    app.include_router(router)
