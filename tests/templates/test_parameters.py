"""What a template needs, read from Meta's component shapes (no I/O)."""
from types import SimpleNamespace

import pytest

from wasb.templates.parameters import (
    ParameterError, as_mapping, check_values, describe_parameters, message_parts,
)


def template(components, parameter_format=None):
    return SimpleNamespace(components=components, parameter_format=parameter_format)


ORDER = template([
    {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::aW..."]}},
    {"type": "BODY", "text": "Order {{1}} ships on {{2}}", "example": {"body_text": [["A-17", "Monday"]]}},
    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"},
                                    {"type": "COPY_CODE", "example": "SAVE10"}]},
], "POSITIONAL")


def test_a_media_header_body_and_copy_code_button_are_described_with_meta_examples():
    described = describe_parameters(ORDER)
    assert described.header_media == "document" and described.keys == ["1", "2", "button.1"]
    assert [s.example for s in described.slots] == ["A-17", "Monday", "SAVE10"]


def test_values_become_meta_components_and_a_media_header_needs_a_document():
    described = describe_parameters(ORDER)
    values = as_mapping(described, ["A-17", "lunedì\n9:00"])
    with pytest.raises(ParameterError, match="document header: give header_document_id"):
        check_values(described, {**values, "button.1": "SAVE10"})
    checked = check_values(described, {**values, "button.1": "SAVE10"}, header_document=True)
    assert checked["2"] == "lunedì 9:00"  # Meta refuses new lines inside parameters
    parts = message_parts(described, checked)
    assert parts["body"] == ["A-17", "lunedì 9:00"] and parts["header_media"] == "document"
    assert parts["buttons"] == [{"type": "button", "sub_type": "copy_code", "index": "1",
                                 "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}]}]


def test_named_templates_take_an_object_and_say_which_names():
    named = describe_parameters(template([
        {"type": "BODY", "text": "Hi {{first_name}}, order {{order_id}}",
         "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Pablo"},
                                                {"param_name": "order_id", "example": "860198"}]}}], "NAMED"))
    assert [s.example for s in named.slots] == ["Pablo", "860198"]
    with pytest.raises(ParameterError, match=r"named parameters \(first_name, order_id\)"):
        as_mapping(named, ["Pablo", "1"])
    parts = message_parts(named, check_values(named, {"first_name": "Pablo", "order_id": 860198}))
    assert parts["body"] == {"first_name": "Pablo", "order_id": "860198"}


def test_a_template_never_synced_is_left_to_meta():
    unknown = describe_parameters(template(None))
    assert unknown.known is False
    assert message_parts(unknown, check_values(unknown, as_mapping(unknown, ["a", "b"])))["body"] == ["a", "b"]
