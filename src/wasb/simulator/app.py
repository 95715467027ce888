"""The simulator's ASGI app and its entry point (`wasb simulator` calls `run`)."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

from wasb.simulator import control_routes, graph_routes, phone_routes
from wasb.simulator.simulator import DEFAULT_WEBHOOK_URL, SimSettings, Simulator
from wasb.web.security_headers import SecurityHeadersMiddleware

log = logging.getLogger(__name__)


def create_app(config_like: Any = None, *, webhook_url: str = DEFAULT_WEBHOOK_URL,
               simulator: Simulator | None = None) -> Starlette:
    """The simulator as an ASGI app. `config_like` is a `wasb.config.Config` (the default,
    read from WASB_* variables), an object with the same attributes, or a dict."""
    sim = simulator or Simulator(SimSettings.from_config(config_like, webhook_url))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await sim.poster.close()

    # Order matters: the fixed paths first, Graph's catch-all `/{version}/{node}` last.
    # The phone page gets the service's security headers (CSP without inline scripts too).
    app = Starlette(routes=control_routes.routes + phone_routes.routes + graph_routes.routes,
                    lifespan=lifespan, middleware=[Middleware(SecurityHeadersMiddleware)])
    app.state.simulator = sim
    return app


def run(host: str = "127.0.0.1", port: int = 8001,
        webhook_url: str = DEFAULT_WEBHOOK_URL, config: Any = None) -> None:
    import uvicorn

    app = create_app(config, webhook_url=webhook_url)
    settings = app.state.simulator.settings
    if not settings.access_token:
        log.warning("WASB_ACCESS_TOKEN is empty: the simulator accepts any bearer token")
    if not settings.app_secret:
        log.warning("WASB_APP_SECRET is empty: webhooks are signed with an empty secret")
    print(f"WhatsApp simulator on http://{host}:{port}  (Graph API: WASB_GRAPH_URL=http://{host}:{port})")
    print(f"  phone page: http://{host}:{port}/phone   webhooks to: {webhook_url}")
    print(f"  phone_number_id={settings.phone_number_id} waba_id={settings.waba_id}")
    uvicorn.run(app, host=host, port=port, log_level="info")
