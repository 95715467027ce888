"""Errors the way Meta's Graph API answers them (status, body), for the simulator.

`message` is "(#<code>) <title>" as Meta writes it; `error_data.details` says why.
HTTP statuses follow Meta's error-code table: 401 for an invalid token, 403 for permission
and integrity problems, 500/503 for Meta's own trouble, 400 for the rest, including the
throughput (130429) and pair-rate (131056) limits.
"""
from __future__ import annotations

import secrets
import string
from typing import Any

from starlette.responses import JSONResponse

# code -> (HTTP status, title, default details), after Meta's error-code reference
# (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes). Titles go in
# `message` as "(#code) title"; the details are Meta's description of the code.
CATALOGUE: dict[int, tuple[int, str, str]] = {
    0: (401, "AuthException", "We were unable to authenticate the app user."),
    1: (400, "API Unknown", "Invalid request or possible server error."),
    2: (503, "API Service", "Temporary due to downtime or due to being overloaded."),
    3: (500, "API Method", "Capability or permissions issue."),
    4: (400, "API Too Many Calls", "The app has reached its API call rate limit."),
    10: (403, "Permission Denied", "Permission is either not granted or has been removed."),
    100: (400, "Invalid parameter", "Invalid parameter"),
    190: (401, "Error validating access token",
          "The access token could not be decrypted or has expired."),
    368: (403, "Temporarily blocked for policies violations",
          "The WhatsApp Business Account associated with the app has been restricted or disabled "
          "for violating a platform policy."),
    80007: (400, "Rate limit issues",
            "The WhatsApp Business Account has reached its rate limit."),
    130429: (400, "Rate limit hit",
             "Message failed to send because there were too many messages sent from this phone "
             "number in a short period of time"),
    131000: (500, "Something went wrong", "Message failed to send due to an unknown error."),
    131005: (403, "Access denied", "Permission is either not granted or has been removed."),
    131008: (400, "Required parameter is missing", "The request is missing a required parameter."),
    131009: (400, "Parameter value is not valid", "One or more parameter values are invalid."),
    131016: (503, "Service unavailable", "A service is temporarily unavailable."),
    131021: (400, "Recipient cannot be sender", "Sender and recipient phone number is the same."),
    131026: (400, "Message undeliverable", "Message Undeliverable."),
    131031: (403, "Account has been locked",
             "The WhatsApp Business Account associated with the app has been restricted or "
             "disabled for violating a platform policy, or we were unable to verify data included "
             "in the request against data set on the WhatsApp Business Account."),
    131041: (400, "Group unknown",
             "The group was not found, either because it doesn't exist or you are not a member."),
    131042: (400, "Business eligibility payment issue",
             "There was an error related to your payment method."),
    131045: (400, "Incorrect certificate",
             "Message failed to send due to a phone number registration error."),
    131047: (400, "Re-engagement message",
             "Message failed to send because more than 24 hours have passed since the customer "
             "last replied to this number."),
    131048: (400, "Spam rate limit hit",
             "Message failed to send because there are restrictions on how many messages can be "
             "sent from this phone number. This may be because too many previous messages were "
             "blocked or flagged as spam."),
    131049: (400, "Meta chose not to deliver.",
             "This message was not delivered to maintain healthy ecosystem engagement."),
    131050: (400, "Unable to deliver the message",
             "Unable to deliver the message. This recipient has chosen to stop receiving marketing "
             "messages on WhatsApp from your business."),
    131051: (400, "Unsupported message type", "Message type is not currently supported."),
    131052: (400, "Media download error", "Unable to download the media sent by the user."),
    131053: (400, "Media upload error", "Media upload error"),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this phone "
             "number to the same phone number in a short period of time"),
    132000: (400, "Number of parameters does not match the expected number of params",
             "The number of parameters provided does not match the expected number of parameters."),
    132001: (404, "Template name does not exist in the translation",
             "template name does not exist in the translation"),
    132005: (400, "Template Hydrated Text Too Long",
             "Translated text is too long."),
    132007: (400, "Template Format Character Policy Violated",
             "Template content violates a WhatsApp policy."),
    132012: (400, "Parameter format does not match format in the created template",
             "Parameter format does not match format in the created template"),
    132015: (400, "Template is Paused", "Template is paused due to low quality so it cannot be sent in a "
                                         "template message."),
    132016: (400, "Template is Disabled", "Template has been paused too many times due to low quality "
                                           "and is now permanently disabled."),
    133004: (503, "Server Temporarily Unavailable", "Server is temporarily unavailable."),
    133010: (400, "Phone number Not Registered",
             "The phone number is not registered on the WhatsApp Business Platform."),
    135000: (400, "Generic user error",
             "Message failed to send because of an unknown error with your request parameters."),
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
