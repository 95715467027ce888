"""Errors the way Meta's Graph API answers them (status, body), for the simulator.

`message` is "(#<code>) <title>" as Meta writes it; `error_data.details` says why.
HTTP statuses follow Meta's error-code table: 401 for an invalid token, 400 for
almost everything else, including the throughput (130429) and pair-rate (131056) limits.
"""
from __future__ import annotations

import secrets
import string
from typing import Any

from starlette.responses import JSONResponse

# code -> (HTTP status, title, default details)
CATALOGUE: dict[int, tuple[int, str, str]] = {
    100: (400, "Invalid parameter", "Invalid parameter"),
    190: (401, "Error validating access token",
          "The access token could not be decrypted or has expired."),
    130429: (400, "Rate limit hit",
             "Message failed to send because there were too many messages sent from this phone "
             "number in a short period of time"),
    131026: (400, "Message undeliverable", "Message Undeliverable."),
    131047: (400, "Re-engagement message",
             "Message failed to send because more than 24 hours have passed since the customer "
             "last replied to this number."),
    131051: (400, "Unsupported message type", "Message type is not currently supported."),
    131053: (400, "Media upload error", "Media upload error"),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this phone "
             "number to the same phone number in a short period of time"),
    132000: (400, "Number of parameters does not match the expected number of params",
             "The number of parameters provided does not match the expected number of parameters."),
    132001: (400, "Template name does not exist in the translation",
             "template name does not exist in the translation"),
    132012: (400, "Parameter format does not match format in the created template",
             "Parameter format does not match format in the created template"),
}

_TRACE_ALPHABET = string.ascii_letters + string.digits + "-_"


def fbtrace_id() -> str:
    return "A" + "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(22))


class MetaError(Exception):
    """Raised by the simulator's rules; rendered as Meta's error body."""

    def __init__(self, code: int, details: str | None = None, *, subcode: int | None = None,
                 message: str | None = None) -> None:
        status, title, default_details = CATALOGUE.get(code, (400, "Error", "Error"))
        self.code = code
        self.status = status
        self.message = message or f"(#{code}) {title}"
        self.details = details or default_details
        self.subcode = subcode
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": "OAuthException", "code": self.code}
        if self.code == 190:
            # Graph's token errors carry no WhatsApp error_data.
            error["error_subcode"] = self.subcode or 463
        else:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
            if self.subcode is not None:
                error["error_subcode"] = self.subcode
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)

    def as_webhook_error(self) -> dict[str, Any]:
        """The same error as it appears in a failed status webhook."""
        title = CATALOGUE.get(self.code, (400, "Error", ""))[1]
        return {"code": self.code, "title": title, "message": title,
                "error_data": {"details": self.details},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}


def unknown_object(object_id: str, method: str = "get") -> MetaError:
    """What Graph answers for an id that does not exist (or is not yours)."""
    return MetaError(
        100, subcode=33,
        message=(f"Unsupported {method} request. Object with ID '{object_id}' does not exist, "
                 "cannot be loaded due to missing permissions, or does not support this operation."),
        details=f"Object with ID '{object_id}' does not exist.",
    )
