"""What API routes share: the app and who is calling."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from wasb.auth.service import Principal, authenticate_token, note_token_use
from wasb.bootstrap import App


def get_app(request: Request) -> App:
    return request.app.state.wasb



# Declared in the OpenAPI document (components.securitySchemes, and `security` on every route
# that asks who is calling), so /docs offers "Authorize"; a missing header is not refused
# here: a logged-in UI session may call the API too.
bearer = HTTPBearer(scheme_name="bearerAuth", bearerFormat="wasb_…", auto_error=False,
                    description="An API token: `wasb token create NAME`, or Admin → Users & tokens in the UI.")


def principal(request: Request, app: Annotated[App, Depends(get_app)],
              credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    token = credentials.credentials.strip() if credentials else ""
    if token:
        with app.db.read_sessions() as session:
            found = authenticate_token(session, token)
        if found and found.token_id is not None:
            with app.db.sessions() as session, session.begin():
                note_token_use(session, found.token_id)
        if found:
            return found
    user = getattr(request.state, "user", None)  # set by the web UI's session middleware
    if user is not None:
        return user
    raise HTTPException(401, "a valid API token is needed (Authorization: Bearer …)",
                        headers={"WWW-Authenticate": "Bearer"})


def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not who.is_admin:
        raise HTTPException(403, "this needs an admin")
    return who


AppDep = Annotated[App, Depends(get_app)]
Caller = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(admin)]
