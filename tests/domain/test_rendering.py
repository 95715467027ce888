import pytest

from tests.conftest import load_fixture
from wasb.domain.rendering import render_message


def first_message(name):
    return load_fixture(name)["entry"][0]["changes"][0]["value"]["messages"][0]


@pytest.mark.parametrize("fixture,expected", [
    ("inbound_text.json", "Does it come in another color?"),
    ("inbound_image_caption.json", "[image] "),
    ("inbound_document.json", "[document] "),
    ("inbound_location.json", "📍 Location: Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301 "
                              "(37.44221496582, -122.16165924072)\n"),
    ("inbound_contacts.json", "👤 Contact card: Chandler Bing, +1 555-555-5555\n👤 Contact card: Monica"),
    ("inbound_unsupported_131051.json", "[unsupported] Message type is currently not supported."),
    ("inbound_interactive_list_reply.json", "Priority Mail Express"),
])
def test_each_message_kind_has_a_readable_line(fixture, expected):
    assert render_message(first_message(fixture)).startswith(expected)


def test_button_replies_show_what_the_customer_tapped():
    message = first_message("inbound_template_quick_reply_button.json")
    assert render_message(message) == message["button"]["text"]
    interactive = first_message("inbound_interactive_button_reply.json")
    assert render_message(interactive) == interactive["interactive"]["button_reply"]["title"]


def test_an_order_reads_as_items_and_total():
    one = {"type": "order", "order": {"catalog_id": "c1", "product_items": [
        {"product_retailer_id": "SKU-1", "quantity": 2, "item_price": 10, "currency": "EUR"}]}}
    assert render_message(one) == "🛒 Order: 2 × SKU-1 at 10.00 EUR, total 20.00 EUR"
    two = {"type": "order", "order": {"catalog_id": "c1", "text": "by Friday please", "product_items": [
        {"product_retailer_id": "A", "quantity": 1, "item_price": 5.5, "currency": "EUR"},
        {"product_retailer_id": "B", "quantity": 3, "item_price": 0.1, "currency": "EUR"}]}}
    assert render_message(two) == ("🛒 Order:\n1 × A at 5.50 EUR\n3 × B at 0.10 EUR\nTotal 5.80 EUR\n"
                                   "by Friday please")


def test_a_flow_reply_lists_its_fields_and_keeps_odd_json_visible():
    reply = {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {
        "name": "flow", "body": "Sent",
        "response_json": '{"flow_token": "t-1", "size": "M", "extras": ["gift", "card"], "newsletter": true}'}}}
    assert render_message(reply) == "📋 Form reply:\nsize: M\nextras: gift, card\nnewsletter: yes"
    broken = {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {"response_json": "{oops"}}}
    assert render_message(broken) == "📋 Form reply:\n{oops"


def test_number_change_sticker_and_ad_lines():
    change = {"type": "system", "from": "393351111111",
              "system": {"type": "user_changed_number", "wa_id": "393352222222", "body": "User A changed"}}
    assert render_message(change) == "Customer changed number from +393351111111 to +393352222222"
    legacy = {"type": "system", "from": "1", "system": {"type": "customer_changed_number", "new_wa_id": "2"}}
    assert render_message(legacy) == "Customer changed number from +1 to +2"
    assert render_message({"type": "sticker", "sticker": {"animated": True}}) == "[animated sticker]"
    assert render_message({"type": "sticker", "sticker": {"animated": False}}) == "[sticker]"
    ad = {"type": "text", "text": {"body": "Is it available?"},
          "referral": {"source_url": "https://fb.me/1", "source_type": "ad", "headline": "Winter sale"}}
    assert render_message(ad) == "Started from ad: Winter sale · https://fb.me/1\nIs it available?"
