"""What API routes share: the app and who is calling."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from wasb.auth.service import Principal, authenticate_token
from wasb.bootstrap import App


def get_app(request: Request) -> App:
    return request.app.state.wasb



def principal(request: Request, app: Annotated[App, Depends(get_app)]) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        with app.db.read_sessions() as session:
            found = authenticate_token(session, token.strip())
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
