"""Message bodies as Meta's send endpoint expects them."""
from __future__ import annotations

import pytest

from wasb.whatsapp import messages


def test_document_by_link_keeps_filename_and_caption():
    body = messages.media_message("39333", "document", link="https://x/y.pdf", caption="c", filename="y.pdf")
    assert body["document"] == {"link": "https://x/y.pdf", "caption": "c", "filename": "y.pdf"}
    assert body["to"] == "39333" and body["messaging_product"] == "whatsapp"


def test_audio_drops_caption_and_filename_meta_would_reject():
    assert messages.media_message("39333", "audio", media_id="1", caption="c", filename="f")["audio"] == {"id": "1"}


def test_media_needs_exactly_one_of_id_or_link():
    with pytest.raises(ValueError):
        messages.media_message("39333", "image")
    with pytest.raises(ValueError):
        messages.media_message("39333", "image", media_id="1", link="https://x")


def test_bsuid_recipient_goes_in_to_when_there_is_no_phone():
    assert messages.text_message(None, "hi", user_id="US.1")["to"] == "US.1"
    with pytest.raises(ValueError):
        messages.text_message(None, "hi")


def test_positional_and_named_template_parameters():
    assert messages.body_component(["a", "b"])["parameters"] == [
        {"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert messages.body_component({"name": "Ada"})["parameters"] == [
        {"type": "text", "parameter_name": "name", "text": "Ada"}]
    header = messages.header_component(media_kind="image", media_id="42")
    assert header == {"type": "header", "parameters": [{"type": "image", "image": {"id": "42"}}]}
