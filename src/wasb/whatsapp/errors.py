"""The Graph API's errors, as a small family the sender can act on.

Meta answers a failed call with
`{"error": {"message", "type", "code", "error_data": {"details"}, "error_subcode", "fbtrace_id"}}`.
Meta asks integrators to branch on `code` (and read `details`), not on the HTTP status or
the title inside `message`, so the mapping below is by code first and HTTP status only
when the body carries no code (proxies, gateways, HTML error pages).

    RetryableError     try again later: throughput, pair rate, Meta having a bad moment, network
      OutcomeUnknownError  the answer was lost after the request left: it may have been done
    WindowClosedError  free-form message outside the 24-hour window: send a template instead
    AuthError          the token is wrong or expired: nothing will work until an admin fixes it
    PermanentError     this message will never go out as it is
"""
from __future__ import annotations

from typing import Any

# Meta's codes, grouped by what the sender should do about them.
AUTH_CODES = frozenset({0, 3, 10, 190, 131005}) | frozenset(range(200, 300))
RETRYABLE_CODES = frozenset({
    1,       # API Unknown: "invalid request or possible server error"
    2,       # API Service: temporary downtime or overload
    4,       # API Too Many Calls (app-level rate limit)
    80007,   # WABA rate limit
    130429,  # throughput of the business number reached
    131000,  # "Something went wrong"
    131016,  # service unavailable
    131056,  # pair rate limit: too many messages to the same recipient
    133004,  # server temporarily unavailable
})
WINDOW_CLOSED_CODE = 131047
# Permanent for the message, and about the whole business account or number rather than
# this message: the channel's health says so until a send goes through again.
ACCOUNT_CODES = frozenset({
    368,     # temporarily blocked for policy violations
    131031,  # business account locked
    131042,  # payment problem
    131045,  # certificate / registration problem of the number
    131048,  # spam rate limit: the number is restricted
    133010,  # the number is not registered
})
# A template refused for its state at Meta: the catalogue learns it from the refusal.
TEMPLATE_STATUS_BY_CODE = {132015: "PAUSED", 132016: "DISABLED"}

# Sentences for a person (an agent reading why their message failed), by Meta code.
HUMAN_MESSAGES: dict[int, str] = {
    0: "WhatsApp could not authenticate the business account; the access token needs to be renewed.",
    1: "WhatsApp answered with an unknown error; it will try again.",
    2: "WhatsApp is down or overloaded for a moment; it will try again.",
    3: "The access token lacks a capability or permission WhatsApp requires; an administrator must fix it.",
    4: "The app sent too many requests to WhatsApp; it will try again shortly.",
    10: "The access token does not have permission for this action; check the app's permissions.",
    100: "WhatsApp rejected the request because a parameter is missing or wrong.",
    190: "The WhatsApp access token has expired or is not valid; an administrator must update it.",
    368: "The WhatsApp Business account is temporarily blocked for policy violations.",
    80007: "The WhatsApp Business account reached its rate limit; it will try again shortly.",
    130429: "Too many messages are being sent from this number right now; it will try again shortly.",
    131000: "WhatsApp had an internal problem sending this message; it will try again.",
    131005: "Access was denied; the access token lacks the permission to send messages.",
    131008: "A required parameter of the message is missing.",
    131009: "A value in the message is not valid.",
    131016: "WhatsApp is temporarily unavailable; it will try again.",
    131021: "The recipient is the business number itself; a message cannot be sent to it.",
    131026: "The message could not be delivered: the number may not be on WhatsApp, "
            "or the customer may need to update their app or accept the new terms.",
    131031: "The WhatsApp Business account is locked; contact Meta support.",
    131042: "There is a payment problem with the WhatsApp Business account.",
    131045: "The business phone number has a registration (certificate) problem.",
    WINDOW_CLOSED_CODE: "More than 24 hours have passed since the customer last wrote; "
                        "send an approved template.",
    131048: "WhatsApp limited this number because earlier messages were reported as spam.",
    131049: "WhatsApp did not deliver this marketing message to keep customer engagement healthy; "
            "try again later.",
    131050: "The customer stopped marketing messages from this business in WhatsApp: "
            "they are marked opted out of marketing.",
    131051: "WhatsApp does not support this type of message.",
    131052: "The media sent by the customer could not be downloaded.",
    131053: "The attachment could not be uploaded or fetched by WhatsApp; "
            "check the file type, its size and that its link is reachable.",
    131056: "Too many messages were sent to this customer in a short time; it will try again shortly.",
    132000: "The number of values does not match the template's placeholders.",
    132001: "This template does not exist in this language or is not approved.",
    132005: "The template text is too long once its placeholders are filled in.",
    132007: "The template's content breaks WhatsApp's policy.",
    132012: "A template value has the wrong format (for example a header image given as text).",
    132015: "The template is paused because of low quality.",
    132016: "The template is disabled because of low quality.",
    133004: "WhatsApp's server is temporarily unavailable; it will try again.",
    133010: "The business phone number is not registered with WhatsApp.",
    135000: "WhatsApp refused the message because of an unknown problem with its parameters.",
}


class GraphError(Exception):
    """An error answered by (or on the way to) Meta's Graph API, with Meta's own fields."""

    def __init__(
        self,
        code: int | None,
        message: str,
        details: str | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        error_subcode: int | None = None,
    ) -> None:
        super().__init__(f"({code}) {message}" if code is not None else message)
        self.code = code
        self.message = message
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.error_subcode = error_subcode

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
                f"http_status={self.http_status!r}, fbtrace_id={self.fbtrace_id!r})")


class RetryableError(GraphError):
    """Try again later; nothing is wrong with the message itself."""


class OutcomeUnknownError(RetryableError):
    """The request may have reached Meta but its answer was lost (a read timeout, a dropped
    connection): a message may have gone out, so re-sending it could make a duplicate."""


class WindowClosedError(GraphError):
    """A free-form message outside the 24-hour customer-service window (131047)."""


class PermanentError(GraphError):
    """The message will never be accepted as it is."""


class AuthError(GraphError):
    """The access token is wrong, expired or lacks permission (190, HTTP 401)."""


def error_class_for(code: int | None, http_status: int | None) -> type[GraphError]:
    if code == WINDOW_CLOSED_CODE:
        return WindowClosedError
    if code in AUTH_CODES or (code is None and http_status in (401, 403)):
        return AuthError
    if code in RETRYABLE_CODES:
        return RetryableError
    if code is None and http_status is not None and (http_status >= 500 or http_status in (408, 429)):
        return RetryableError
    if code is not None and http_status is not None and http_status >= 500:
        # An unknown code on a 5xx answer: Meta's side is struggling, so trying again is sane.
        return RetryableError
    if http_status == 401:
        return AuthError
    return PermanentError


def error_from_response(status: int, body: Any) -> GraphError:
    """The GraphError for a failed answer; `body` is the parsed JSON, raw text or None."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        text = body if isinstance(body, str) else ""
        cls = error_class_for(None, status)
        return cls(None, f"HTTP {status}" + (f": {text[:200]}" if text else ""), http_status=status)
    code = _int_or_none(error.get("code"))
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    cls = error_class_for(code, status)
    return cls(
        code,
        str(error.get("message") or f"HTTP {status}"),
        details=details if isinstance(details, str) else None,
        fbtrace_id=error.get("fbtrace_id"),
        http_status=status,
        error_subcode=_int_or_none(error.get("error_subcode")),
    )


def human_message(error: GraphError) -> str:
    """A sentence an agent understands, for any GraphError (known code or not)."""
    if error.code in HUMAN_MESSAGES:
        return HUMAN_MESSAGES[error.code]
    if error.code is not None and 200 <= error.code < 300:
        return HUMAN_MESSAGES[10]
    if error.code is None and isinstance(error, RetryableError):
        return "WhatsApp could not be reached; it will try again shortly."
    if isinstance(error, AuthError):
        return HUMAN_MESSAGES[190]
    detail = error.details or error.message
    return f"WhatsApp refused the message (code {error.code}): {detail}"


def agent_message(error: GraphError) -> str:
    """The sentence for the agent followed by Meta's own words (its `details`, else its
    message), so the row says both what it means and what WhatsApp said."""
    sentence = human_message(error)
    meta = error.details or error.message
    if error.code is None or not meta or meta in sentence:
        return sentence
    return f"{sentence} WhatsApp: “{meta}” (code {error.code})."


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
