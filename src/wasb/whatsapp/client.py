"""A small synchronous client for Meta's WhatsApp Cloud API (the Graph API).

Synchronous because the sender calls it from worker threads; one `httpx.Client`
(connection pool) per channel. Every failure comes out as a `wasb.whatsapp.errors`
exception carrying Meta's code, message and details; nothing else escapes (network
trouble and timeouts become `RetryableError`).

The access token is only ever put in the Authorization header: it is not logged,
not in `repr()`, not in exception texts.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from wasb.metrics import META_ERRORS
from wasb.whatsapp import messages
from wasb.whatsapp.errors import (
    GraphError, OutcomeUnknownError, PermanentError, RetryableError, error_from_response,
)
from wasb.whatsapp.media import MediaInfo
from wasb.whatsapp.messages import SendResult

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class GraphClient:
    def __init__(
        self,
        base_url: str,
        version: str,
        access_token: str,
        phone_number_id: str,
        waba_id: str = "",
        *,
        http: httpx.Client | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.api_url = f"{base_url.rstrip('/')}/{version.strip('/')}"
        self.version = version
        self.phone_number_id = phone_number_id
        self.waba_id = waba_id
        self._access_token = access_token
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout)
        self._timeout = timeout

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> GraphClient:
        """A client for the channel configured in `wasb.config.Config`."""
        return cls(config.graph_url, config.graph_version, config.access_token.get_secret_value(),
                   config.phone_number_id, config.waba_id, **kwargs)

    def with_token(self, access_token: str) -> GraphClient:
        """The same channel with another token (an admin replaced it), sharing the connection pool."""
        return GraphClient(self.api_url.rsplit("/", 1)[0], self.version, access_token, self.phone_number_id,
                           self.waba_id, http=self._http, timeout=self._timeout)

    def __repr__(self) -> str:
        return f"GraphClient({self.api_url!r}, phone_number_id={self.phone_number_id!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending -------------------------------------------------------------------------

    def send(self, body: Mapping[str, Any]) -> SendResult:
        """Send a prepared message body (see `wasb.whatsapp.messages`)."""
        answer = self._request("POST", f"{self.api_url}/{self.phone_number_id}/messages", json=dict(body))
        try:
            return SendResult.from_response(answer)
        except ValueError as exc:
            raise PermanentError(None, f"unexpected answer to a send: {exc}") from None

    def send_text(self, to: str | None, body: str, preview_url: bool = False,
                  reply_to: str | None = None, *, user_id: str | None = None) -> SendResult:
        return self.send(messages.text_message(to, body, preview_url=preview_url,
                                               reply_to=reply_to, user_id=user_id))

    def send_template(self, to: str | None, name: str, language: str,
                      components: Sequence[Mapping[str, Any]] | None = None, *,
                      body: messages.TemplateValues | None = None,
                      header: messages.TemplateValues | None = None,
                      buttons: Sequence[Mapping[str, Any]] = (),
                      reply_to: str | None = None, user_id: str | None = None) -> SendResult:
        """A template by (name, language). Give raw `components`, or `body`/`header` values
        (a list for `{{1}}`-style templates, a dict for named ones) plus `buttons`
        (`messages.quick_reply_button(...)`)."""
        parts = list(components or [])
        if header is not None:
            parts.append(messages.header_component(header))
        if body is not None:
            parts.append(messages.body_component(body))
        parts.extend(buttons)
        return self.send(messages.template_message(to, name, language, parts,
                                                   reply_to=reply_to, user_id=user_id))

    def send_media(self, to: str | None, kind: str, media_id: str | None = None,
                   link: str | None = None, caption: str | None = None,
                   filename: str | None = None, reply_to: str | None = None, *,
                   user_id: str | None = None) -> SendResult:
        return self.send(messages.media_message(to, kind, media_id=media_id, link=link,
                                                caption=caption, filename=filename,
                                                reply_to=reply_to, user_id=user_id))

    def send_reaction(self, to: str | None, message_id: str, emoji: str, *,
                      user_id: str | None = None) -> SendResult:
        return self.send(messages.reaction_message(to, message_id, emoji, user_id=user_id))

    def mark_read(self, message_id: str, *, typing_indicator: bool = False) -> None:
        """Mark a received message (and every earlier one) read: blue ticks on the customer's
        side; with `typing_indicator`, "typing…" until we answer or 25 s pass."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        if typing_indicator:
            body["typing_indicator"] = {"type": "text"}
        answer = self._request("POST", f"{self.api_url}/{self.phone_number_id}/messages", json=body)
        if answer.get("success") is not True:
            raise PermanentError(None, "unexpected answer to a mark-as-read: no success")

    # -- media ---------------------------------------------------------------------------

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """Upload a file for later sending; returns Meta's media id."""
        answer = self._request(
            "POST", f"{self.api_url}/{self.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, content, mime_type)},
        )
        media_id = answer.get("id")
        if not media_id:
            raise PermanentError(None, "Meta's answer to an upload carries no id")
        return str(media_id)

    def get_media(self, media_id: str) -> MediaInfo:
        """Where to download a media id from; the URL is short-lived (minutes)."""
        answer = self._request("GET", f"{self.api_url}/{media_id}",
                               params={"phone_number_id": self.phone_number_id})
        return MediaInfo.from_response(answer)

    def download_media(self, url: str) -> bytes:
        """The bytes behind a URL from `get_media` (Meta wants the bearer token here too)."""
        response = self._send_http("GET", url)
        if response.status_code != 200:
            error = error_from_response(response.status_code, _parse(response))
            META_ERRORS.labels(_code_label(error)).inc()
            raise error
        return response.content

    # -- templates -----------------------------------------------------------------------

    def iter_templates(self, limit: int = 100, **filters: str) -> Iterator[dict[str, Any]]:
        """Every template of the WABA as Meta's raw dicts, page after page until
        `paging.next` is absent. `filters` go to the query (e.g. status="APPROVED")."""
        url: str | None = f"{self.api_url}/{self.waba_id}/message_templates"
        params: dict[str, Any] | None = {"limit": limit, **filters}
        while url:
            answer = self._request("GET", url, params=params)
            yield from answer.get("data") or []
            # `next` is a complete URL (Meta puts the cursor, and sometimes the token, in it).
            url = (answer.get("paging") or {}).get("next")
            params = None

    def list_templates(self, limit: int = 100, **filters: str) -> list[dict[str, Any]]:
        return list(self.iter_templates(limit, **filters))

    # -- plumbing ------------------------------------------------------------------------

    def _send_http(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._access_token}"}
        try:
            return self._http.request(method, url, headers=headers, timeout=self._timeout, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing left this process: safe to try again.
            raise RetryableError(None, f"could not connect to {_where(url)}: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            raise OutcomeUnknownError(None, f"timeout calling {_where(url)}: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise OutcomeUnknownError(None, f"network error calling {_where(url)}: {type(exc).__name__}") from None

    def _request(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send_http(method, url, **kwargs)
        body = _parse(response)
        if response.status_code >= 400:
            error = error_from_response(response.status_code, body)
            META_ERRORS.labels(_code_label(error)).inc()
            log.info("graph %s %s -> %s code=%s fbtrace_id=%s", method, _where(url),
                     response.status_code, error.code, error.fbtrace_id)
            raise error
        if not isinstance(body, dict):
            raise RetryableError(None, f"non-JSON answer from {_where(url)}", http_status=response.status_code)
        return body


def _code_label(error: GraphError) -> str:
    """Meta's error code as a metric label (`http_<status>` when its answer carried none)."""
    return str(error.code) if error.code is not None else f"http_{error.http_status}"


def _parse(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _where(url: str) -> str:
    """Host and path only: query strings may carry an access token (Meta's paging links do)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


__all__ = ["GraphClient", "GraphError", "MediaInfo", "SendResult"]
