"""What is served without login: temporary document links, for Meta's fetcher."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.background import BackgroundTask

from wasb.documents.links import PUBLIC_PREFIX, claim_link, find_link, finish_fetch, link_store
from wasb.web.api.deps import AppDep
from wasb.web.files import file_response

router = APIRouter(prefix=PUBLIC_PREFIX, tags=["public"], include_in_schema=False)

NOT_FOUND = "not found"  # the same answer for every refusal: nothing to learn from it


@router.api_route("/{token}/{filename}", methods=["GET", "HEAD"])
def get_link(token: str, filename: str, request: Request, app: AppDep):
    store = link_store(app.config)
    if request.method == "HEAD":  # a look before the fetch does not use the link up
        with app.db.sessions() as session, session.begin():
            record = find_link(session, store, token, filename)
            if record is None:
                raise HTTPException(404, NOT_FOUND)
            return file_response(store.resolve(record.path), record.mime_type, record.filename, head=True,
                                 cache="no-store")
    with app.db.sessions() as session, session.begin():
        opened = claim_link(session, store, token, filename)
    if opened is None:
        raise HTTPException(404, NOT_FOUND)
    return file_response(opened.path, opened.mime_type, opened.filename, cache="no-store",
                         background=BackgroundTask(_delete_after_sending, app, opened.id))


def _delete_after_sending(app, link_id: int) -> None:
    with app.db.sessions() as session, session.begin():
        finish_fetch(session, link_store(app.config), link_id)
