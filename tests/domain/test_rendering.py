import pytest

from tests.conftest import load_fixture
from wasb.domain.rendering import render_message


def first_message(name):
    return load_fixture(name)["entry"][0]["changes"][0]["value"]["messages"][0]


@pytest.mark.parametrize("fixture,expected", [
    ("inbound_text.json", "Does it come in another color?"),
    ("inbound_image_caption.json", "[image] "),
    ("inbound_document.json", "[document] "),
    ("inbound_location.json", "[location] "),
    ("inbound_contacts.json", "[contacts] "),
    ("inbound_unsupported_131051.json", "[unsupported] Message type unknown"),
])
def test_each_message_kind_has_a_readable_line(fixture, expected):
    assert render_message(first_message(fixture)).startswith(expected)


def test_button_replies_show_what_the_customer_tapped():
    message = first_message("inbound_template_quick_reply_button.json")
    assert render_message(message) == message["button"]["text"]
    interactive = first_message("inbound_interactive_button_reply.json")
    assert render_message(interactive) == interactive["interactive"]["button_reply"]["title"]
