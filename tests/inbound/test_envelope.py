import pytest

from tests.conftest import FIXTURES, load_fixture
from wasb.whatsapp.webhook import MESSAGE, OTHER, STATUS, TEMPLATE, NotAnEnvelope, lock_keys, parse_envelope


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_fixture_parses_into_items(name):
    items = parse_envelope(load_fixture(name))
    assert items, name
    assert all(i.lock for i in items)


def test_a_batch_yields_every_message_status_and_template_change():
    items = parse_envelope(load_fixture("batched_multiple_messages.json"))
    kinds = [i.kind for i in items]
    assert kinds.count(MESSAGE) == 3 and kinds.count(STATUS) == 2 and kinds.count(TEMPLATE) == 1
    assert lock_keys(items) == ["106540352242922:16505551234", "106540352242922:972987654321",
                                "102290129340398:templates"]


def test_bsuid_fields_are_read_when_present():
    (item,) = parse_envelope(load_fixture("inbound_reaction.json"))
    assert item.user_id == "US.13491208655302741918" and item.wa_id == "972987654321"
    assert item.profile_name == "Test Name"


def test_a_username_only_customer_is_keyed_by_the_bsuid():
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "P"},
        "contacts": [{"profile": {"name": "Ann"}, "user_id": "US.1"}],
        "messages": [{"from_user_id": "US.1", "id": "wamid.a", "timestamp": "1", "type": "text",
                      "text": {"body": "hi"}}]}}]}]}
    (item,) = parse_envelope(body)
    assert item.lock == "P:US.1" and item.wa_id is None and item.profile_name == "Ann"


def test_unknown_fields_and_types_are_kept_not_fatal():
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "account_update", "value": {"event": "X"}},
        {"field": "messages", "value": {"metadata": {"phone_number_id": "P"}, "messages": [
            {"from": "1555", "id": "wamid.z", "type": "hologram", "hologram": {"x": 1}, "novel": True}]}}]}]}
    items = parse_envelope(body)
    assert [i.kind for i in items] == [OTHER, MESSAGE]
    assert items[1].data["novel"] is True


@pytest.mark.parametrize("body", [[], {"object": "page", "entry": []}, {"entry": "x"}, "text"])
def test_non_whatsapp_bodies_are_refused_clearly(body):
    with pytest.raises(NotAnEnvelope):
        parse_envelope(body)
