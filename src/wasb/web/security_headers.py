"""Security headers on every answer of the web app: what a browser may load, run and frame.

- Content-Security-Policy: scripts only from this origin (no inline scripts or event
  handlers: the UI's script is /ui/static/app.js), no plugins, no <base>, forms post
  here only, and `frame-ancestors 'none'` (with X-Frame-Options: DENY for old browsers)
  so no other site can frame a page and trick a click.
- /docs (Swagger UI, served from a Python package's copy, never a CDN) gets its own
  policy: its scripts are files too, but it sets inline styles and data: images.
- /public/ (document copies fetched by WhatsApp) is left as its routes answer.
- Strict-Transport-Security only over HTTPS: when the request came in over TLS, or a
  proxy that uvicorn trusts (FORWARDED_ALLOW_IPS) said X-Forwarded-Proto: https, or
  WASB_PUBLIC_URL is https:// (then plain-HTTP hits are local ones, which browsers ignore
  HSTS on anyway).

Pure ASGI, so the UI's server-sent event stream is not buffered.
"""
from __future__ import annotations

from starlette.datastructures import MutableHeaders

UI_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
             "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
             "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
HSTS = "max-age=31536000"
COMMON = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    # The full URL only to this origin (page paths name conversations and tickets).
    "referrer-policy": "same-origin",
}


class SecurityHeadersMiddleware:
    def __init__(self, app, *, public_url_is_https: bool = False):
        self.app = app
        self.public_url_is_https = public_url_is_https

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith("/public/"):
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        policy = DOCS_POLICY if path == "/docs" or path.startswith("/docs/") else UI_POLICY
        https = scope.get("scheme") == "https" or self.public_url_is_https

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", policy)
                if https:
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        return await self.app(scope, receive, send_with_headers)
