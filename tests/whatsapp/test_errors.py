"""Meta's error codes map to what the sender should do, with a sentence for the agent."""
from __future__ import annotations

import pytest

from wasb.whatsapp.errors import (
    HUMAN_MESSAGES,
    AuthError,
    PermanentError,
    RetryableError,
    WindowClosedError,
    agent_message,
    error_from_response,
    human_message,
)


def meta_error(code: int, details: str = "why") -> dict:
    return {"error": {"message": f"(#{code}) title", "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": details},
                      "fbtrace_id": "Atrace"}}


@pytest.mark.parametrize(("code", "status", "kind"), [
    (130429, 400, RetryableError), (131056, 400, RetryableError), (131000, 500, RetryableError),
    (4, 429, RetryableError), (80007, 400, RetryableError),
    (131047, 400, WindowClosedError),
    (190, 401, AuthError), (10, 403, AuthError),
    (131026, 400, PermanentError), (132000, 400, PermanentError), (132001, 400, PermanentError),
    (132012, 400, PermanentError), (131051, 400, PermanentError), (131053, 400, PermanentError),
    (100, 400, PermanentError), (131008, 400, PermanentError), (133010, 400, PermanentError),
    (999999, 400, PermanentError), (999999, 503, RetryableError),
    (1, 400, RetryableError), (2, 503, RetryableError), (131016, 503, RetryableError),
    (133004, 503, RetryableError), (3, 500, AuthError), (131005, 403, AuthError), (0, 401, AuthError),
    (368, 403, PermanentError), (131031, 403, PermanentError), (131048, 400, PermanentError),
    (131049, 400, PermanentError), (132015, 400, PermanentError), (132016, 400, PermanentError),
])
def test_meta_codes_map_to_what_the_sender_should_do(code, status, kind):
    error = error_from_response(status, meta_error(code, "the details"))
    assert type(error) is kind
    assert (error.code, error.details, error.fbtrace_id, error.http_status) == (code, "the details", "Atrace", status)


@pytest.mark.parametrize(("status", "body", "kind"), [
    (502, "<html>Bad gateway</html>", RetryableError),
    (503, None, RetryableError),
    (401, "", AuthError),
    (404, {"unexpected": True}, PermanentError),
])
def test_answers_without_a_meta_body_map_by_http_status(status, body, kind):
    error = error_from_response(status, body)
    assert type(error) is kind and error.code is None


def test_every_known_code_has_a_sentence_ending_with_a_full_stop():
    for code in HUMAN_MESSAGES:
        sentence = human_message(error_from_response(400, meta_error(code)))
        assert sentence == HUMAN_MESSAGES[code]
        assert sentence.endswith(".")


def test_unknown_code_still_reads_like_a_sentence_with_metas_details():
    sentence = human_message(error_from_response(400, meta_error(135999, "Something odd happened")))
    assert "135999" in sentence and "Something odd happened" in sentence


def test_the_agent_reads_our_sentence_then_metas_own_words():
    error = error_from_response(400, meta_error(131026, "Message Undeliverable."))
    assert agent_message(error) == (HUMAN_MESSAGES[131026] + " WhatsApp: “Message Undeliverable.” (code 131026).")
    unknown = error_from_response(400, meta_error(135999, "Something odd happened"))
    assert agent_message(unknown) == human_message(unknown)  # Meta's words are in it already
