"""Sending a stored file to a client: streamed, with a type and a name a browser cannot
be tricked by (a customer's `.html` never runs as one of our pages)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from wasb.domain.filenames import content_disposition
from wasb.domain.media_types import base_mime, shown_inline

CHUNK = 256 * 1024


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def file_response(path: Path, mime_type: str | None, filename: str | None, *, head: bool = False,
                  cache: str = "private, max-age=3600", background: BackgroundTask | None = None) -> Response:
    """Streamed, without Range support on purpose: one request, the whole file."""
    mime = base_mime(mime_type) or "application/octet-stream"
    headers = {
        "Content-Length": str(path.stat().st_size),
        "Content-Disposition": content_disposition("inline" if shown_inline(mime) else "attachment", filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": cache,
    }
    if head:
        return Response(status_code=200, media_type=mime, headers=headers)
    return StreamingResponse(_chunks(path), media_type=mime, headers=headers, background=background)
